//! The `mail_outbox` table: queueing, claiming with a lease, and the outcome of each
//! attempt. Written once for both backends; only the claim differs (PostgreSQL locks the
//! rows it takes with `FOR UPDATE SKIP LOCKED`, SQLite has one writer at a time anyway
//! and `Conn::transaction` begins it with `BEGIN IMMEDIATE`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::compose::{compose, parse_from, parse_recipient};
use super::{MailError, MailKind, OutgoingMail};
use crate::db::schema::mail_outbox;
use crate::db::Conn;
use crate::with_conn;

/// `mail_outbox.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Queued,
    Sent,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }
}

const QUEUED: &str = "queued";
const SENT: &str = "sent";
const FAILED: &str = "failed";

/// Longest server reply kept in `last_error` (some servers answer with pages of text).
const MAX_ERROR_CHARS: usize = 1000;

/// Builds the message and queues it, due now. A second enqueue with the same
/// `dedupe_key` changes nothing and returns false. Runs plain statements, so it can be
/// called inside the caller's `conn.transaction(...)` and commits or rolls back with it.
///
/// A recipient address that isn't one is not an error for the caller (one bad roster row
/// must not stop a wave from opening): the row is stored as failed, with the reason, for
/// HR to see among the wave's failures.
pub fn enqueue(
    conn: &mut Conn,
    mail: &OutgoingMail,
    from: &str,
    now: NaiveDateTime,
) -> Result<bool, MailError> {
    Ok(enqueue_many(conn, std::slice::from_ref(mail), from, now)? == 1)
}

/// [`enqueue`] of many messages in one statement a chunk (a wave's worth of mail costs
/// one round trip per thousand, not per message); returns how many were new.
pub fn enqueue_many(
    conn: &mut Conn,
    mails: &[OutgoingMail],
    from: &str,
    now: NaiveDateTime,
) -> Result<usize, MailError> {
    let composed = compose_for_outbox(mails, from, now)?;
    store_composed(conn, &composed, now)
}

/// A message built into the row the outbox stores: what [`enqueue_many`] writes, made
/// apart so that a caller with many can build them outside its transaction, on
/// another thread than the one that writes.
pub struct ComposedMail {
    dedupe_key: String,
    kind: MailKind,
    wave_id: Option<i64>,
    recipient: String,
    subject: String,
    message: String,
    status: &'static str,
    last_error: Option<String>,
}

/// Builds each message's MIME text (no I/O). A recipient that is no address becomes a
/// failed row with the reason, as in [`enqueue`].
pub fn compose_for_outbox(
    mails: &[OutgoingMail],
    from: &str,
    now: NaiveDateTime,
) -> Result<Vec<ComposedMail>, MailError> {
    parse_from(from)?;
    mails
        .iter()
        .map(|mail| {
            let (status, message, last_error) = match parse_recipient(&mail.to_email) {
                Some(_) => (QUEUED, compose(mail, from, now)?, None),
                None => (
                    FAILED,
                    String::new(),
                    Some(format!(
                        "{:?} is not an email address: correct it in the roster",
                        mail.to_email
                    )),
                ),
            };
            Ok(ComposedMail {
                dedupe_key: mail.dedupe_key.clone(),
                kind: mail.kind,
                wave_id: mail.wave_id,
                recipient: mail.to_email.trim().to_string(),
                subject: mail.subject.clone(),
                message,
                status,
                last_error,
            })
        })
        .collect()
}

/// Stores composed messages, due now, a thousand a statement; a `dedupe_key` already
/// queued is skipped. Returns how many were new.
pub fn store_composed(
    conn: &mut Conn,
    mails: &[ComposedMail],
    now: NaiveDateTime,
) -> Result<usize, MailError> {
    let mut stored = 0;
    for chunk in mails.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|mail| {
                (
                    mail_outbox::dedupe_key.eq(&mail.dedupe_key),
                    mail_outbox::kind.eq(mail.kind.as_str()),
                    mail_outbox::wave_id.eq(mail.wave_id),
                    mail_outbox::recipient.eq(&mail.recipient),
                    mail_outbox::subject.eq(&mail.subject),
                    mail_outbox::message.eq(&mail.message),
                    mail_outbox::status.eq(mail.status),
                    mail_outbox::attempts.eq(0),
                    mail_outbox::next_attempt_at.eq(now),
                    mail_outbox::last_error.eq(&mail.last_error),
                    mail_outbox::created_at.eq(now),
                )
            })
            .collect();
        stored += with_conn!(*conn, c => diesel::insert_into(mail_outbox::table)
            .values(&rows)
            .on_conflict(mail_outbox::dedupe_key)
            .do_nothing()
            .execute(c))?;
    }
    Ok(stored)
}

/// Messages of each wave by status, for `wave list` and HR's pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    /// Not sent yet: waiting for their first attempt or for a retry.
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

pub fn counts_by_wave(conn: &mut Conn) -> Result<HashMap<i64, MailCounts>, MailError> {
    let rows: Vec<(Option<i64>, String, i64)> = with_conn!(*conn, c => mail_outbox::table
        .filter(mail_outbox::wave_id.is_not_null())
        .group_by((mail_outbox::wave_id, mail_outbox::status))
        .select((mail_outbox::wave_id, mail_outbox::status, diesel::dsl::count_star()))
        .load(c))?;
    let mut counts: HashMap<i64, MailCounts> = HashMap::new();
    for (wave, status, n) in rows {
        let Some(wave) = wave else { continue };
        let entry = counts.entry(wave).or_default();
        let n = u64::try_from(n).unwrap_or(0);
        match status.as_str() {
            SENT => entry.sent += n,
            FAILED => entry.failed += n,
            _ => entry.queued += n,
        }
    }
    Ok(counts)
}

/// Messages of every wave and none by status, and when the oldest queued one was
/// queued: what `/metrics` shows of the outbox.
pub fn totals(conn: &mut Conn) -> Result<(MailCounts, Option<NaiveDateTime>), MailError> {
    let rows: Vec<(String, i64)> = with_conn!(*conn, c => mail_outbox::table
        .group_by(mail_outbox::status)
        .select((mail_outbox::status, diesel::dsl::count_star()))
        .load(c))?;
    let mut counts = MailCounts::default();
    for (status, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        match status.as_str() {
            SENT => counts.sent += n,
            FAILED => counts.failed += n,
            _ => counts.queued += n,
        }
    }
    let oldest: Option<NaiveDateTime> = with_conn!(*conn, c => mail_outbox::table
        .filter(mail_outbox::status.eq(QUEUED))
        .select(diesel::dsl::min(mail_outbox::created_at))
        .get_result(c))?;
    Ok((counts, oldest))
}

/// A message of a wave that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub id: i64,
    pub recipient: String,
    /// The server's reply, or why the message was never built.
    pub reason: String,
    /// Whether "resend" can help (a message that was never built needs a roster fix).
    pub resendable: bool,
}

/// The failed messages of a wave, oldest first.
pub fn failed(conn: &mut Conn, wave_id: i64) -> Result<Vec<Failure>, MailError> {
    let rows: Vec<(i64, String, Option<String>, bool)> = with_conn!(*conn, c => mail_outbox::table
        .filter(mail_outbox::wave_id.eq(wave_id))
        .filter(mail_outbox::status.eq(FAILED))
        .order(mail_outbox::id)
        .select((
            mail_outbox::id,
            mail_outbox::recipient,
            mail_outbox::last_error,
            mail_outbox::message.ne(""),
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, recipient, reason, resendable)| Failure {
            id,
            recipient,
            reason: reason.unwrap_or_default(),
            resendable,
        })
        .collect())
}

/// Failures that share a reason, once the addresses in it are left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailureGroup {
    /// The reason with each address as `<address>`: the same for every member.
    pub reason: String,
    pub count: usize,
    /// How many of them "resend" can help.
    pub resendable: usize,
}

/// The failures grouped by [`reason_group`], the largest group first.
pub fn failure_groups(failures: &[Failure]) -> Vec<FailureGroup> {
    let mut groups: Vec<FailureGroup> = Vec::new();
    for f in failures {
        let reason = reason_group(&f.reason);
        match groups.iter_mut().find(|g| g.reason == reason) {
            Some(g) => {
                g.count += 1;
                g.resendable += usize::from(f.resendable);
            }
            None => groups.push(FailureGroup {
                reason,
                count: 1,
                resendable: usize::from(f.resendable),
            }),
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    groups
}

/// A server's reply without the recipient's address in it, so that "550 5.1.1
/// <ann@x.io>: mailbox unavailable" and the same for bob are one reason; a reply that
/// starts with a quoted (non-)address has it left out too.
pub fn reason_group(reason: &str) -> String {
    let reason = reason.trim();
    let rest = match reason.strip_prefix('"').and_then(|r| r.split_once('"')) {
        Some((_, after)) => format!("\"…\"{after}"),
        None => reason.to_string(),
    };
    rest.split(' ')
        .map(|token| {
            if !token.contains('@') {
                return token.to_string();
            }
            let end = token.trim_end_matches([':', ',', ';', '.', ')']);
            format!("<address>{}", &token[end.len()..])
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Queues again every failed message of a wave whose reason is in `group` (see
/// [`reason_group`]) and that can be sent; returns how many.
pub fn resend_group(
    conn: &mut Conn,
    wave_id: i64,
    group: &str,
    now: NaiveDateTime,
) -> Result<usize, MailError> {
    let mut queued = 0;
    for f in failed(conn, wave_id)? {
        if f.resendable && reason_group(&f.reason) == group && resend(conn, f.id, now)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues a failed message again, due now, with its attempts reset (HR's "resend",
/// e.g. once a mailbox exists). False when the message is not failed. A message that
/// was never built (its address was not one) stays failed: it needs a new enqueue.
pub fn resend(conn: &mut Conn, outbox_id: i64, now: NaiveDateTime) -> Result<bool, MailError> {
    let updated = with_conn!(*conn, c => diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq(outbox_id))
            .filter(mail_outbox::status.eq(FAILED))
            .filter(mail_outbox::message.ne("")),
    )
    .set((
        mail_outbox::status.eq(QUEUED),
        mail_outbox::attempts.eq(0),
        mail_outbox::next_attempt_at.eq(now),
        mail_outbox::claimed_until.eq(None::<NaiveDateTime>),
        mail_outbox::claimed_by.eq(None::<String>),
        mail_outbox::last_error.eq(None::<String>),
    ))
    .execute(c))?;
    Ok(updated == 1)
}

/// A message this process has leased and is about to send.
pub(crate) struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub message: String,
    pub attempts: i32,
}

/// Leases up to `limit` due messages to `worker` until `until`, oldest due first. A
/// message is due when queued, its next attempt has come, and nobody holds a live
/// lease on it (a dead process's lease simply runs out).
pub(crate) fn claim(
    conn: &mut Conn,
    worker: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, MailError> {
    use mail_outbox::dsl as o;
    conn.transaction(|conn| {
        let ids: Vec<i64> = match conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => o::mail_outbox
                .filter(o::status.eq(QUEUED))
                .filter(o::next_attempt_at.le(now))
                .filter(o::claimed_until.is_null().or(o::claimed_until.le(now)))
                .order((o::next_attempt_at.asc(), o::id.asc()))
                .limit(limit)
                .select(o::id)
                .load(&mut **c)?,
            // Two processes claiming at once skip each other's rows instead of waiting
            // for them and then taking them too.
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => o::mail_outbox
                .filter(o::status.eq(QUEUED))
                .filter(o::next_attempt_at.le(now))
                .filter(o::claimed_until.is_null().or(o::claimed_until.le(now)))
                .order((o::next_attempt_at.asc(), o::id.asc()))
                .limit(limit)
                .select(o::id)
                .for_update()
                .skip_locked()
                .load(&mut **c)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows: Vec<(i64, String, String, i32)> = with_conn!(*conn, c => diesel::update(
            o::mail_outbox.filter(o::id.eq_any(&ids)),
        )
        .set((o::claimed_until.eq(Some(until)), o::claimed_by.eq(Some(worker))))
        .returning((o::id, o::recipient, o::message, o::attempts))
        .get_results(c))?;
        rows.sort_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(|(id, recipient, message, attempts)| Claimed {
                id,
                recipient,
                message,
                attempts,
            })
            .collect())
    })
}

/// Extends `worker`'s lease on `ids`; returns those it still holds (a lease that ran out
/// may have been taken by another process, which then sends that message instead).
pub(crate) fn renew(
    conn: &mut Conn,
    worker: &str,
    ids: &[i64],
    until: NaiveDateTime,
) -> Result<Vec<i64>, MailError> {
    use mail_outbox::dsl as o;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let held: Vec<i64> = with_conn!(*conn, c => diesel::update(
        o::mail_outbox
            .filter(o::id.eq_any(ids))
            .filter(o::status.eq(QUEUED))
            .filter(o::claimed_by.eq(worker)),
    )
    .set(o::claimed_until.eq(Some(until)))
    .returning(o::id)
    .get_results(c))?;
    Ok(held)
}

/// Gives back leases not used (a pass that stops early), so others need not wait.
pub(crate) fn release(conn: &mut Conn, worker: &str, ids: &[i64]) -> Result<(), MailError> {
    use mail_outbox::dsl as o;
    if ids.is_empty() {
        return Ok(());
    }
    with_conn!(*conn, c => diesel::update(
        o::mail_outbox
            .filter(o::id.eq_any(ids))
            .filter(o::status.eq(QUEUED))
            .filter(o::claimed_by.eq(worker)),
    )
    .set((
        o::claimed_until.eq(None::<NaiveDateTime>),
        o::claimed_by.eq(None::<String>),
    ))
    .execute(c))?;
    Ok(())
}

/// Gives back every lease `worker` holds on a message not sent yet.
pub(crate) fn release_all(conn: &mut Conn, worker: &str) -> Result<(), MailError> {
    use mail_outbox::dsl as o;
    with_conn!(*conn, c => diesel::update(
        o::mail_outbox
            .filter(o::status.eq(QUEUED))
            .filter(o::claimed_by.eq(worker)),
    )
    .set((
        o::claimed_until.eq(None::<NaiveDateTime>),
        o::claimed_by.eq(None::<String>),
    ))
    .execute(c))?;
    Ok(())
}

/// Sent: the message is emptied, since it may hold a survey or sign-in token.
pub(crate) fn mark_sent(conn: &mut Conn, id: i64, now: NaiveDateTime) -> Result<(), MailError> {
    use mail_outbox::dsl as o;
    with_conn!(*conn, c => diesel::update(o::mail_outbox.filter(o::id.eq(id)).filter(o::status.eq(QUEUED)))
        .set((
            o::status.eq(SENT),
            o::message.eq(""),
            o::sent_at.eq(Some(now)),
            o::attempts.eq(o::attempts + 1),
            o::claimed_until.eq(None::<NaiveDateTime>),
            o::claimed_by.eq(None::<String>),
            o::last_error.eq(None::<String>),
        ))
        .execute(c))?;
    Ok(())
}

/// A temporary failure: try again at `next_attempt_at`.
pub(crate) fn mark_retry(
    conn: &mut Conn,
    id: i64,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> Result<(), MailError> {
    use mail_outbox::dsl as o;
    with_conn!(*conn, c => diesel::update(o::mail_outbox.filter(o::id.eq(id)).filter(o::status.eq(QUEUED)))
        .set((
            o::attempts.eq(attempts),
            o::next_attempt_at.eq(next_attempt_at),
            o::claimed_until.eq(None::<NaiveDateTime>),
            o::claimed_by.eq(None::<String>),
            o::last_error.eq(Some(truncate(error))),
        ))
        .execute(c))?;
    Ok(())
}

/// A permanent failure, or too many temporary ones: kept with the reply for HR.
pub(crate) fn mark_failed(
    conn: &mut Conn,
    id: i64,
    attempts: i32,
    error: &str,
) -> Result<(), MailError> {
    use mail_outbox::dsl as o;
    with_conn!(*conn, c => diesel::update(o::mail_outbox.filter(o::id.eq(id)).filter(o::status.eq(QUEUED)))
        .set((
            o::status.eq(FAILED),
            o::attempts.eq(attempts),
            o::claimed_until.eq(None::<NaiveDateTime>),
            o::claimed_by.eq(None::<String>),
            o::last_error.eq(Some(truncate(error))),
        ))
        .execute(c))?;
    Ok(())
}

fn truncate(error: &str) -> String {
    let error = error.trim();
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &error[..cut]),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(id: i64, reason: &str, resendable: bool) -> Failure {
        Failure {
            id,
            recipient: format!("r{id}@x.io"),
            reason: reason.into(),
            resendable,
        }
    }

    #[test]
    fn reasons_are_grouped_without_their_addresses() {
        assert_eq!(
            reason_group("550 5.1.1 <ann@x.io>: mailbox unavailable"),
            "550 5.1.1 <address>: mailbox unavailable"
        );
        assert_eq!(
            reason_group("\"not an address\" is not an email address: correct it in the roster"),
            "\"…\" is not an email address: correct it in the roster"
        );
        assert_eq!(reason_group("connection refused"), "connection refused");
        let groups = failure_groups(&[
            failure(1, "550 5.1.1 <ann@x.io>: mailbox unavailable", true),
            failure(2, "connection refused", true),
            failure(3, "550 5.1.1 <bob@y.org>: mailbox unavailable", true),
            failure(4, "\"ann at x\" is not an email address: fix it", false),
        ]);
        assert_eq!(
            groups
                .iter()
                .map(|g| (g.reason.as_str(), g.count, g.resendable))
                .collect::<Vec<_>>(),
            vec![
                ("550 5.1.1 <address>: mailbox unavailable", 2, 2),
                ("\"…\" is not an email address: fix it", 1, 0),
                ("connection refused", 1, 1),
            ]
        );
    }
}
