//! The audit log: who did what and when, for those who run and review the service —
//! sign-ins, exports, waves opened and closed, releases, reminders and resends, account
//! and roster changes, backups, purges. Never anything about answers or respondents:
//! an entry names the actor (an account's address, or `cli`, `scheduler`, `serve`),
//! what they did and to which survey, wave or account. Submissions are never logged.
//! Kept `ICSAT_RETAIN_AUDIT_DAYS` (see `retention`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_log;
use crate::db::{Conn, DbError};

pub const SIGN_IN: &str = "sign-in";
pub const SIGN_OUT: &str = "sign-out";
pub const EXPORT: &str = "export";
pub const WAVE_OPEN: &str = "wave-open";
pub const WAVE_CLOSE: &str = "wave-close";
pub const RELEASE: &str = "release";
pub const REMIND: &str = "remind";
pub const RESEND: &str = "resend";
pub const USER_ADD: &str = "user-add";
pub const USER_UPDATE: &str = "user-update";
pub const USER_DEACTIVATE: &str = "user-deactivate";
pub const ROSTER_IMPORT: &str = "roster-import";
pub const RESPONSES_IMPORT: &str = "responses-import";
pub const PURGE: &str = "purge";
pub const BACKUP: &str = "backup";
pub const RESTORE: &str = "restore";
pub const PUBLISH: &str = "publish";
pub const UNPUBLISH: &str = "unpublish";
pub const ACTION: &str = "action";
pub const INTEGRATION_ADD: &str = "integration-add";
pub const INTEGRATION_REVOKE: &str = "integration-revoke";

/// One entry, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable)]
pub struct Entry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// Who runs a command: `cli`, with the operating-system user when known.
pub fn cli_actor() -> String {
    match std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        Ok(user) if !user.trim().is_empty() => format!("cli ({})", user.trim()),
        _ => "cli".to_string(),
    }
}

/// Adds an entry at `at`.
pub fn record_at(
    conn: &mut Conn,
    at: NaiveDateTime,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), DbError> {
    crate::with_conn!(*conn, c => diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(at),
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::detail.eq(detail),
        ))
        .execute(c))?;
    Ok(())
}

/// Adds an entry now. A failure is logged, not returned: what was done is done (the
/// export was sent, the release stored), and an error now would only hide that.
pub fn record(conn: &mut Conn, actor: &str, action: &str, subject: &str, detail: &str) {
    if let Err(e) = record_at(conn, crate::db::now(), actor, action, subject, detail) {
        tracing::error!(error = %e, action, "an audit entry could not be stored");
    }
}

/// [`record`] from async code, off the executor.
pub async fn record_async(
    db: &crate::db::Db,
    actor: String,
    action: &'static str,
    subject: String,
    detail: String,
) {
    let done = db
        .run(move |conn| -> Result<(), DbError> {
            record(conn, &actor, action, &subject, &detail);
            Ok(())
        })
        .await;
    if let Err(e) = done {
        tracing::error!(error = %e, action, "an audit entry could not be stored");
    }
}

/// Entries newest first: those at or after `since`, older than the entry `before` (for
/// paging), at most `limit`.
pub fn list(
    conn: &mut Conn,
    since: Option<NaiveDateTime>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    Ok(crate::with_conn!(*conn, c => {
        let mut query = audit_log::table.into_boxed();
        if let Some(since) = since {
            query = query.filter(audit_log::at.ge(since));
        }
        if let Some(before) = before {
            query = query.filter(audit_log::id.lt(before));
        }
        query
            .order(audit_log::id.desc())
            .limit(limit)
            .select((
                audit_log::id,
                audit_log::at,
                audit_log::actor,
                audit_log::action,
                audit_log::subject,
                audit_log::detail,
            ))
            .load::<Entry>(c)
    })?)
}
