//! Submissions to PostgreSQL in batches: what group commit is for SQLite
//! (`db::group_commit`), done the way PostgreSQL is fast.
//!
//! A submission alone costs PostgreSQL five round trips and a WAL flush (BEGIN, the
//! mark, the inbox row, COMMIT), and holds a pooled connection throughout, so under load
//! requests queued for connections and every other page with them. Here a few writer
//! threads, each on a connection of its own pool ([`Db::separate`]), take every
//! submission queued since their last commit and write them together: one UPDATE marks
//! all their invitations (`RETURNING` says which were still open and unanswered), one
//! INSERT puts the marked ones' rows in the inbox, one COMMIT. Nobody hears "stored"
//! before that commit; when it fails, each submission of the batch is tried again alone,
//! so one bad row cannot take the others with it.
//!
//! Several `serve` processes can do this at once on one database: the mark is a
//! conditional UPDATE of the invitation's row, so of two racing submissions of one link
//! exactly one is stored, whichever process takes it.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamp};

use super::submit::{Invitation, Outcome};
use super::AnswerValue;
use crate::db::schema::invitations;
use crate::db::{Conn, Db, DbError};

/// Writer threads (and connections): while one waits for its commit to be flushed, the
/// others gather and write the next batches.
pub const WRITERS: u32 = 4;

/// At most this many submissions share one transaction, so that a commit's latency stays
/// bounded however long the queue.
const MAX_BATCH: usize = 256;

/// One submission waiting for a writer.
struct Job {
    invitation: Invitation,
    anonymous: bool,
    answers: Vec<AnswerValue>,
    /// The answers as the inbox holds them, made by the request's own thread.
    held: String,
    now: NaiveDateTime,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, DbError>>,
}

/// The queue of one `serve` process's submissions and its writer threads, which end when
/// this is dropped.
pub struct Batcher {
    queue: Mutex<mpsc::Sender<Job>>,
}

impl Batcher {
    /// Starts the writers on a pool of their own, so that page reads and health checks
    /// never wait for a connection a writer holds.
    pub fn start(db: &Db) -> Result<Batcher, DbError> {
        let writers = db.separate(WRITERS)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..WRITERS {
            let db = writers.clone();
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("icsat-writer-{n}"))
                .spawn(move || write_batches(&db, &receiver))
                .map_err(|_| DbError::TaskFailed)?;
        }
        Ok(Batcher {
            queue: Mutex::new(sender),
        })
    }

    /// Stores one submission with the others arriving meanwhile; returns once its batch
    /// has committed.
    pub async fn submit(
        &self,
        invitation: Invitation,
        anonymous: bool,
        answers: Vec<AnswerValue>,
        now: NaiveDateTime,
    ) -> Result<Outcome, DbError> {
        let held = super::inbox::held_json(&answers)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            invitation,
            anonymous,
            answers,
            held,
            now,
            reply,
        };
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| DbError::TaskFailed)?;
        // A dropped reply means the writer stopped before answering: nothing committed
        // for this submission can be claimed.
        answer.await.map_err(|_| DbError::TaskFailed)?
    }
}

/// One writer thread: takes what is queued, writes it as one batch, answers.
fn write_batches(db: &Db, queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut conn: Option<Conn> = None;
    loop {
        let jobs = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(first) = queue.recv() else {
                return;
            };
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        let mut connection = match conn.take().map_or_else(|| writer_connection(db), Ok) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no connection for writing submissions");
                // Dropping the jobs unanswered tells each that nothing was stored.
                drop(jobs);
                continue;
            }
        };
        let outcomes = connection.transaction(|c| write_batch(c, &jobs));
        match outcomes {
            Ok(outcomes) => {
                conn = Some(connection);
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) if jobs.len() > 1 => {
                tracing::warn!(error = %e, jobs = jobs.len(), "a batch of submissions failed; storing each alone");
                drop(connection);
                one_by_one(db, jobs);
            }
            Err(e) => {
                tracing::error!(error = %e, "storing a submission failed");
                for job in jobs {
                    let _ = job.reply.send(Err(DbError::GroupCommit(e.to_string())));
                }
            }
        }
    }
}

/// A connection for a writer thread. Its two statements run with generic plans: with
/// PostgreSQL's default it planned the mark afresh at every batch (its array makes each
/// custom plan look cheaper), a third of a millisecond of the server's time each.
fn writer_connection(db: &Db) -> Result<Conn, DbError> {
    use diesel::connection::SimpleConnection;
    let mut conn = db.get()?;
    crate::with_conn!(conn, c => c.batch_execute("SET plan_cache_mode = force_generic_plan"))?;
    Ok(conn)
}

/// After a failed batch: each submission in a transaction of its own, by the path a
/// command takes, so each hears its own outcome.
fn one_by_one(db: &Db, jobs: Vec<Job>) {
    for job in jobs {
        let outcome = db.get().and_then(|mut conn| {
            conn.transaction(|c| {
                super::submit::store_answers(
                    c,
                    &job.invitation,
                    job.anonymous,
                    job.answers.clone(),
                    job.now,
                )
            })
        });
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "storing a submission failed");
        }
        let _ = job.reply.send(outcome);
    }
}

#[derive(QueryableByName)]
struct Marked {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

crate::cached_statement! {
    /// Marks the unanswered invitations among `ids` whose wave is open at `now` answered
    /// on `day`, and says which it marked.
    struct MarkAll { day: NaiveDate => Date, ids: Vec<i64> => Array<BigInt>, now: NaiveDateTime => Timestamp }
    "UPDATE invitations SET responded_on = ", day: Date, " WHERE id = ANY(", ids: Array<BigInt>,
    ") AND responded_on IS NULL AND EXISTS (SELECT 1 FROM waves \
     WHERE waves.id = invitations.wave_id AND waves.status = 'open' \
     AND (waves.closes_at IS NULL OR waves.closes_at > ", now: Timestamp, ") AND waves.opens_at <= ", now: Timestamp,
    ") RETURNING invitations.id"
}

// Rows come back (`RETURNING`), read by name like `sql_query`'s.
impl diesel::query_builder::Query for MarkAll {
    type SqlType = diesel::sql_types::Untyped;
}

crate::cached_statement! {
    /// Puts the rows in the inbox, one array element per row, in array order (the order
    /// of answering, as a single deposit would).
    struct DepositAll {
        wave_ids: Vec<i64> => Array<BigInt>,
        department_ids: Vec<Option<i64>> => Array<Nullable<BigInt>>,
        attributes: Vec<String> => Array<Text>,
        employee_ids: Vec<Option<i64>> => Array<Nullable<BigInt>>,
        answers: Vec<String> => Array<Text>,
    }
    "INSERT INTO response_inbox (wave_id, department_id, attributes, employee_id, answers) \
     SELECT * FROM unnest(", wave_ids: Array<BigInt>, ", ", department_ids: Array<Nullable<BigInt>>, ", ",
    attributes: Array<Text>, ", ", employee_ids: Array<Nullable<BigInt>>, ", ", answers: Array<Text>, ")"
}

/// The batch's work inside its transaction: the outcome of each job, in order. The
/// wave's state is checked at the batch's own time, which is when the answers are
/// stored.
fn write_batch(conn: &mut Conn, jobs: &[Job]) -> Result<Vec<Outcome>, DbError> {
    let Conn::Postgres(c) = conn else {
        return Err(DbError::TaskFailed);
    };
    let c: &mut diesel::PgConnection = c;
    let now = crate::db::now();
    // A link sent twice in one batch (a double click) is written once: the first wins.
    let mut first_of: HashMap<i64, usize> = HashMap::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        first_of.entry(job.invitation.id).or_insert(i);
    }
    let ids: Vec<i64> = first_of.keys().copied().collect();
    let marked: Vec<Marked> = MarkAll {
        day: now.date(),
        ids,
        now,
    }
    .load(c)?;
    let marked: std::collections::HashSet<i64> = marked.into_iter().map(|m| m.id).collect();
    let storing: Vec<&Job> = jobs
        .iter()
        .enumerate()
        .filter(|(i, job)| {
            marked.contains(&job.invitation.id) && first_of.get(&job.invitation.id) == Some(i)
        })
        .map(|(_, job)| job)
        .collect();
    if !storing.is_empty() {
        DepositAll {
            wave_ids: storing.iter().map(|j| j.invitation.wave.id).collect(),
            department_ids: storing
                .iter()
                .map(|j| Some(j.invitation.department_id))
                .collect(),
            attributes: storing
                .iter()
                .map(|j| j.invitation.attributes.clone())
                .collect(),
            employee_ids: storing
                .iter()
                .map(|j| (!j.anonymous).then_some(j.invitation.employee_id))
                .collect(),
            answers: storing.iter().map(|j| j.held.clone()).collect(),
        }
        .execute(c)?;
    }
    // Links not marked: answered before, or their wave closed. Rare, so asked after.
    let unmarked: Vec<i64> = first_of
        .keys()
        .filter(|id| !marked.contains(id))
        .copied()
        .collect();
    let answered: HashMap<i64, Option<NaiveDate>> = if unmarked.is_empty() {
        HashMap::new()
    } else {
        invitations::table
            .filter(invitations::id.eq_any(&unmarked))
            .select((invitations::id, invitations::responded_on))
            .load::<(i64, Option<NaiveDate>)>(c)?
            .into_iter()
            .collect()
    };
    Ok(jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let id = job.invitation.id;
            if marked.contains(&id) {
                if first_of.get(&id) == Some(&i) {
                    Outcome::Stored
                } else {
                    Outcome::AlreadyAnswered
                }
            } else if answered.get(&id).copied().flatten().is_some() {
                Outcome::AlreadyAnswered
            } else {
                Outcome::Closed
            }
        })
        .collect())
}
