//! Group commit for SQLite: small write transactions of many requests share one
//! transaction, each in its own savepoint, on one long-lived writer connection.
//!
//! SQLite writes one transaction at a time, and every commit costs a write of the pages it
//! touched to the WAL. Under load, requests that each commit alone spend most of their time
//! waiting for the lock and rewriting the same pages; a connection whose pages another
//! connection changed also rereads them. Here a writer thread takes every request queued
//! since its last commit, runs each in a savepoint (a failing one is rolled back alone),
//! commits once, and only then answers each request: nobody hears "stored" before the
//! commit, and when the commit fails everybody hears that nothing was stored.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::SqliteConnection;

use super::{Conn, DbError};

/// At most this many requests share one transaction, so that one commit's latency stays
/// bounded however long the queue.
const MAX_GROUP: usize = 256;

/// What a job leaves for after the commit: given the commit's error, if any, it answers.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
type Job = Box<dyn FnOnce(&mut Conn) -> Finish + Send>;

/// The queue of one SQLite pool's grouped writes; its thread starts with the first job
/// and ends when the last clone of the pool's [`Db`](super::Db) is gone.
pub struct GroupCommit {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
}

impl GroupCommit {
    pub(super) fn new() -> GroupCommit {
        GroupCommit {
            queue: Mutex::new(None),
        }
    }

    /// Runs `work` in a savepoint of a shared transaction and returns its result once
    /// that transaction has committed.
    pub(super) async fn run<T, E, F>(
        &self,
        pool: &Pool<ConnectionManager<SqliteConnection>>,
        work: F,
    ) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn: &mut Conn| {
            let result = in_savepoint(conn, work);
            Box::new(move |commit_failed: Option<&str>| {
                let result = match commit_failed {
                    None => result,
                    // The savepoint's work went with the transaction.
                    Some(reason) => Err(E::from(DbError::GroupCommit(reason.to_string()))),
                };
                let _ = reply.send(result);
            })
        });
        self.submit(pool, job)?;
        // A dropped reply means the writer stopped before answering: nothing committed
        // for this job can be claimed.
        answer.await.map_err(|_| E::from(DbError::TaskFailed))?
    }

    fn submit(
        &self,
        pool: &Pool<ConnectionManager<SqliteConnection>>,
        job: Job,
    ) -> Result<(), DbError> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let job = match queue.as_ref() {
            Some(sender) => match sender.send(job) {
                Ok(()) => return Ok(()),
                // The writer thread has stopped: start another.
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, receiver) = mpsc::channel();
        let pool = pool.clone();
        std::thread::Builder::new()
            .name("icsat-writer".into())
            .spawn(move || write_groups(pool, receiver))
            .map_err(|_| DbError::TaskFailed)?;
        sender.send(job).map_err(|_| DbError::TaskFailed)?;
        *queue = Some(sender);
        Ok(())
    }
}

/// Runs `work` between SAVEPOINT and RELEASE, or ROLLBACK TO when it fails or panics.
fn in_savepoint<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<DbError>,
{
    let Conn::Sqlite(c) = conn else {
        return Err(E::from(DbError::TaskFailed));
    };
    AnsiTransactionManager::begin_transaction(&mut **c).map_err(|e| E::from(DbError::Query(e)))?;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(E::from(DbError::TaskFailed)));
    let Conn::Sqlite(c) = conn else {
        return Err(E::from(DbError::TaskFailed));
    };
    let ended = match outcome {
        Ok(_) => AnsiTransactionManager::commit_transaction(&mut **c),
        Err(_) => AnsiTransactionManager::rollback_transaction(&mut **c),
    };
    match (outcome, ended) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(e)) => Err(E::from(DbError::Query(e))),
        (Err(e), _) => Err(e),
    }
}

/// The writer thread: one connection kept for as long as it works (its page cache stays
/// valid, as no other connection of this process writes meanwhile), one transaction per
/// group of queued jobs.
fn write_groups(pool: Pool<ConnectionManager<SqliteConnection>>, queue: mpsc::Receiver<Job>) {
    let mut conn: Option<Conn> = None;
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let connection = match conn.take() {
            Some(c) => Ok(c),
            None => pool.get().map_err(DbError::from).and_then(|mut c| {
                // This connection does nearly all the writing, so its cache is the one
                // that saves rereading pages (the default is 2 MB).
                c.batch_execute("PRAGMA cache_size = -65536")?;
                Ok(Conn::Sqlite(c))
            }),
        };
        let mut connection = match connection {
            Ok(c) => c,
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(error = %reason, "no connection for grouped writes");
                // Dropping the jobs unrun answers each that nothing was stored.
                drop(jobs);
                continue;
            }
        };
        let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
        let committed = connection.transaction(|c| {
            for job in jobs.drain(..) {
                finishes.push(job(c));
            }
            Ok::<(), DbError>(())
        });
        let failure = committed.as_ref().err().map(ToString::to_string);
        if let Some(reason) = &failure {
            tracing::error!(error = %reason, jobs = finishes.len(), "a grouped write transaction failed");
        } else {
            conn = Some(connection);
        }
        for finish in finishes {
            finish(failure.as_deref());
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use crate::db::{DatabaseUrl, Db, DbError};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    fn count(db: &Db) -> i64 {
        let mut conn = db.get().expect("connection");
        crate::with_conn!(conn, c => diesel::sql_query("SELECT count(*) AS n FROM t").get_result::<Count>(c))
            .expect("count")
            .n
    }

    /// Concurrent writers share transactions; one that fails is rolled back alone, and
    /// every caller hears its own outcome only after the commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_writer_takes_nothing_else_with_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("g.db").display()))
            .expect("url");
        let db = Db::connect(&url).expect("db");
        let mut conn = db.get().expect("connection");
        crate::with_conn!(conn, c => c.batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
            .expect("table");
        drop(conn);
        let writers = (0..200i64).map(|k| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write_grouped(move |conn| {
                    let sql = format!("INSERT INTO t (k) VALUES ({k})");
                    crate::with_conn!(*conn, c => c.batch_execute(&sql))?;
                    if k % 10 == 7 {
                        // After its own insert, so the savepoint must undo it.
                        return Err(DbError::TaskFailed);
                    }
                    Ok::<i64, DbError>(k)
                })
                .await
            })
        });
        let mut stored = 0;
        for (k, writer) in (0..200i64).zip(writers.collect::<Vec<_>>()) {
            match writer.await.expect("task") {
                Ok(back) => {
                    assert_eq!(back, k);
                    stored += 1;
                }
                Err(_) => assert_eq!(k % 10, 7, "only the failing writers fail"),
            }
        }
        assert_eq!(stored, 180);
        assert_eq!(count(&db), 180);
    }
}
