//! Results shared back with employees ("What we heard"): HR publishes a wave once its
//! final release exists, employees get a personal link by mail, and the page shows the
//! company's results, their department's (as far as the threshold allows), how the
//! company rates each internal service, the response rate and the actions taken
//! ([`crate::actions`]). Everything shown comes from the wave's final release, under the
//! same suppression as every other output; `web::heard` builds the page.
//!
//! A link is a new random token whose hash is stored with the wave and the department
//! whose results it shows, nothing else: it cannot be joined to the employee, their
//! survey link or their answers.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{employees, invitations, publications, result_links};
use crate::db::{Conn, DbError};
use crate::definitions::Definition;
use crate::i18n;
use crate::mail::{self, HeardMailContext, MailError, MailKind, OutgoingMail};
use crate::reports::release;
use crate::waves::lifecycle::{timezone, Mailer};
use crate::waves::{tokens, Wave};

/// How long published results stay up unless told otherwise.
pub const DEFAULT_SHARING_DAYS: u32 = 90;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("wave {0} has no final results yet: close it first (icsat wave close), then publish")]
    NotFinal(String),
    #[error("wave {0} is not published")]
    NotPublished(String),
    #[error("the sharing period must be 1 to 3650 days, not {0}")]
    BadPeriod(u32),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Report(#[from] crate::reports::ReportError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for PublishError {
    fn from(e: diesel::result::Error) -> Self {
        PublishError::Db(DbError::Query(e))
    }
}

/// A wave's publication.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, serde::Serialize)]
pub struct Publication {
    pub wave_id: i64,
    pub published_at: NaiveDateTime,
    pub published_by: String,
    pub expires_at: NaiveDateTime,
    pub unpublished_at: Option<NaiveDateTime>,
}

impl Publication {
    /// Shown to employees at `now`.
    pub fn live(&self, now: NaiveDateTime) -> bool {
        self.unpublished_at.is_none() && now < self.expires_at
    }
}

/// The wave's publication, live or not; `None` if it was never published.
pub fn find(conn: &mut Conn, wave_id: i64) -> Result<Option<Publication>, PublishError> {
    Ok(crate::with_conn!(*conn, c => publications::table
        .find(wave_id)
        .first::<Publication>(c)
        .optional())?)
}

/// Publishes `wave` for `days` from `now` (again, after an unpublish or when it ran
/// out). Refused before the wave's final release: only final figures are shared.
pub fn publish(
    conn: &mut Conn,
    wave: &Wave,
    by: &str,
    days: u32,
    now: NaiveDateTime,
) -> Result<Publication, PublishError> {
    if !(1..=3650).contains(&days) {
        return Err(PublishError::BadPeriod(days));
    }
    let is_final = release::latest(conn, wave.id)?.is_some_and(|r| r.info.is_final);
    if !is_final {
        return Err(PublishError::NotFinal(wave.label.clone()));
    }
    let publication = Publication {
        wave_id: wave.id,
        published_at: now,
        published_by: by.to_string(),
        expires_at: now + Duration::days(i64::from(days)),
        unpublished_at: None,
    };
    crate::with_conn!(*conn, c => diesel::insert_into(publications::table)
        .values((
            publications::wave_id.eq(wave.id),
            publications::published_at.eq(now),
            publications::published_by.eq(by),
            publications::expires_at.eq(publication.expires_at),
            publications::unpublished_at.eq(None::<NaiveDateTime>),
        ))
        .on_conflict(publications::wave_id)
        .do_update()
        .set((
            publications::published_at.eq(now),
            publications::published_by.eq(by),
            publications::expires_at.eq(publication.expires_at),
            publications::unpublished_at.eq(None::<NaiveDateTime>),
        ))
        .execute(c))?;
    Ok(publication)
}

/// Hides a published wave again (its links stop working); false if it was not live.
pub fn unpublish(conn: &mut Conn, wave: &Wave, now: NaiveDateTime) -> Result<bool, PublishError> {
    let changed = crate::with_conn!(*conn, c => diesel::update(publications::table
        .find(wave.id)
        .filter(publications::unpublished_at.is_null()))
        .set(publications::unpublished_at.eq(Some(now)))
        .execute(c))?;
    Ok(changed == 1)
}

/// The wave and department a results link shows, while its wave is published.
pub fn link(
    conn: &mut Conn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<(i64, i64)>, PublishError> {
    if token.len() > 100 || token.is_empty() {
        return Ok(None);
    }
    let hash = tokens::hash(token);
    let found: Option<(i64, i64)> = crate::with_conn!(*conn, c => result_links::table
        .find(&hash)
        .select((result_links::wave_id, result_links::department_id))
        .first(c)
        .optional())?;
    let Some((wave_id, department_id)) = found else {
        return Ok(None);
    };
    Ok(find(conn, wave_id)?
        .filter(|p| p.live(now))
        .map(|_| (wave_id, department_id)))
}

/// A new link to `department`'s page of a published wave; returns its token (only its
/// hash is stored).
pub fn new_link(
    conn: &mut Conn,
    wave_id: i64,
    department_id: i64,
    now: NaiveDateTime,
) -> Result<String, PublishError> {
    let (token, hash) = tokens::new_token();
    crate::with_conn!(*conn, c => diesel::insert_into(result_links::table)
        .values((
            result_links::token_hash.eq(&hash),
            result_links::wave_id.eq(wave_id),
            result_links::department_id.eq(department_id),
            result_links::created_at.eq(now),
        ))
        .execute(c))?;
    Ok(token)
}

/// Queues "What we heard" to every active employee invited to the wave, each with a
/// new link to their department's results; in one transaction. A second call queues
/// nothing for those already told (one message per employee and wave, whoever calls).
/// Returns how many were queued.
pub fn notify(
    conn: &mut Conn,
    mailer: &Mailer,
    wave: &Wave,
    definition: &Definition,
    now: NaiveDateTime,
) -> Result<usize, PublishError> {
    let Some(publication) = find(conn, wave.id)?.filter(|p| p.live(now)) else {
        return Err(PublishError::NotPublished(wave.label.clone()));
    };
    type Row = (i64, i64, String, String, String);
    let people: Vec<Row> = crate::with_conn!(*conn, c => invitations::table
        .inner_join(employees::table)
        .filter(invitations::wave_id.eq(wave.id))
        .filter(employees::active.eq(true))
        .select((employees::id, invitations::department_id, employees::name, employees::email, employees::attributes))
        .order(employees::id)
        .load(c))?;
    let until_utc = publication.expires_at.and_utc();
    let told: std::collections::HashSet<String> = {
        use crate::db::schema::mail_outbox;
        crate::with_conn!(*conn, c => mail_outbox::table
            .filter(mail_outbox::wave_id.eq(wave.id))
            .filter(mail_outbox::kind.eq(MailKind::Heard.as_str()))
            .select(mail_outbox::dedupe_key)
            .load::<String>(c))?
        .into_iter()
        .collect()
    };
    let todo: Vec<&Row> = people
        .iter()
        .filter(|row| !told.contains(&heard_key(wave.id, row.0)))
        .collect();
    let chunks: Vec<&[&Row]> = todo.chunks(1000).collect();
    let build = |chunk: &[&Row]| -> Result<Built, PublishError> {
        let mut links = Vec::with_capacity(chunk.len());
        let mut mails = Vec::with_capacity(chunk.len());
        for (employee_id, department_id, name, email, attributes) in chunk.iter().copied() {
            let (token, hash) = tokens::new_token();
            links.push((hash, *department_id));
            let wanted = crate::waves::lifecycle::roster_language(attributes);
            let lang = i18n::pick(
                &definition.languages,
                &definition.language,
                &wanted.as_deref().into_iter().collect::<Vec<_>>(),
            );
            let mut link = format!("{}/heard/{token}", mailer.base_url);
            if lang != definition.language {
                link.push_str("?lang=");
                link.push_str(&lang);
            }
            let words = i18n::words(&lang);
            let context = HeardMailContext {
                name: name.clone(),
                survey_title: definition.title.get(&lang).to_string(),
                link,
                until: words.date_time(&until_utc.with_timezone(&timezone(definition))),
                help_contact: mailer.help_contact.clone(),
                lang,
            };
            let (subject, text, html) = mailer.templates.heard(&context)?;
            mails.push(OutgoingMail {
                dedupe_key: heard_key(wave.id, *employee_id),
                kind: MailKind::Heard,
                wave_id: Some(wave.id),
                to_name: name.clone(),
                to_email: email.clone(),
                subject,
                text,
                html,
            });
        }
        Ok((links, mail::compose_for_outbox(&mails, &mailer.from, now)?))
    };
    // Rendering and composing the mails is most of the work and needs no database:
    // every core but the writer's builds chunks while this thread stores the ones ready,
    // so the transaction holds its locks only for the inserts.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (ready, built) = std::sync::mpsc::sync_channel::<Result<Built, PublishError>>(workers);
        for _ in 0..workers {
            let ready = ready.clone();
            let (next, chunks, build) = (&next, &chunks, &build);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                // A closed channel means the writer gave up: stop building.
                if ready.send(build(chunk)).is_err() {
                    break;
                }
            });
        }
        drop(ready);
        conn.transaction(|conn| {
            let mut queued = 0;
            for chunk in built {
                let (links, mails) = chunk?;
                let rows: Vec<_> = links
                    .iter()
                    .map(|(hash, department_id)| {
                        (
                            result_links::token_hash.eq(hash),
                            result_links::wave_id.eq(wave.id),
                            result_links::department_id.eq(*department_id),
                            result_links::created_at.eq(now),
                        )
                    })
                    .collect();
                if !rows.is_empty() {
                    crate::with_conn!(*conn, c => diesel::insert_into(result_links::table)
                        .values(&rows)
                        .execute(c))?;
                }
                queued += mail::store_composed(conn, &mails, now)?;
            }
            Ok(queued)
        })
    })
}

/// One "What we heard" message per employee and wave.
fn heard_key(wave_id: i64, employee_id: i64) -> String {
    format!("heard:{wave_id}:{employee_id}")
}

/// A chunk of links (token hash, department) and their mails, ready to store.
type Built = (Vec<(String, i64)>, Vec<mail::ComposedMail>);

/// A comment of the wave's final release (the whole audience's, as every report shows
/// it), and whether HR marked it as shareable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shareable {
    pub ordinal: i32,
    pub question: String,
    pub text: String,
    pub shared: bool,
}

/// The whole audience's comments of the wave's final release, with HR's marks; empty
/// before a final release or where the comments are withheld.
pub fn shareable(conn: &mut Conn, wave_id: i64) -> Result<Vec<Shareable>, PublishError> {
    use crate::db::schema::shared_comments;
    let Some(released) = release::latest(conn, wave_id)?.filter(|r| r.info.is_final) else {
        return Ok(Vec::new());
    };
    let org = crate::reports::org::Org::load(conn)?;
    let Some(listed) = release::numbered_comments(conn, &released, &org, None)? else {
        return Ok(Vec::new());
    };
    let marked: Vec<i32> = crate::with_conn!(*conn, c => shared_comments::table
        .filter(shared_comments::release_id.eq(released.id))
        .select(shared_comments::ordinal)
        .load(c))?;
    Ok(listed
        .into_iter()
        .map(|(ordinal, c)| Shareable {
            ordinal,
            question: c.question,
            text: c.text,
            shared: marked.contains(&ordinal),
        })
        .collect())
}

/// Marks exactly `ordinals` of the wave's final release's comments as shareable (the
/// others not); returns how many are marked. Ordinals that are not a shown comment are
/// left out.
pub fn share(
    conn: &mut Conn,
    wave_id: i64,
    ordinals: &[i32],
    by: &str,
    now: NaiveDateTime,
) -> Result<usize, PublishError> {
    use crate::db::schema::shared_comments;
    let Some(released) = release::latest(conn, wave_id)?.filter(|r| r.info.is_final) else {
        return Err(PublishError::NotFinal(format!("{wave_id}")));
    };
    let shown: Vec<i32> = shareable(conn, wave_id)?
        .iter()
        .map(|s| s.ordinal)
        .collect();
    let chosen: Vec<i32> = ordinals
        .iter()
        .copied()
        .filter(|o| shown.contains(o))
        .collect();
    conn.transaction(|conn| {
        crate::with_conn!(*conn, c => diesel::delete(shared_comments::table
            .filter(shared_comments::release_id.eq(released.id)))
            .execute(c))?;
        for ordinal in &chosen {
            crate::with_conn!(*conn, c => diesel::insert_into(shared_comments::table)
                .values((
                    shared_comments::release_id.eq(released.id),
                    shared_comments::ordinal.eq(ordinal),
                    shared_comments::marked_by.eq(by),
                    shared_comments::marked_at.eq(now),
                ))
                .execute(c))?;
        }
        Ok(chosen.len())
    })
}
