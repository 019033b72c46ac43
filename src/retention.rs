//! Retention: what is erased once it is old enough (`icsat purge`, and `serve` once a
//! day). People who left the roster more than `departed_days` ago lose their employee
//! row and invitations (a closed wave's response rates come from its per-department
//! counts, `wave_participation`, written at close; the anonymous answers stay, and a
//! confidential survey's answers stay without their author); sent and failed mail rows
//! after `mail_days`; expired sessions and sign-in links at once; audit entries after
//! `audit_days`. Time is an argument, so tests move the clock.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    audit_log, employees, invitation_tokens, invitations, leases, login_tokens, mail_outbox,
    response_inbox, responses, sessions, users, wave_participation, wave_releases, waves,
};
use crate::db::{Conn, DbError};

/// Ids per statement: far below either backend's limit of bound parameters.
const CHUNK: usize = 500;
/// The lease that lets one `serve` process of several purge each day.
const LEASE: &str = "retention-purge";

/// How many days each kind of record is kept (`ICSAT_RETAIN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub departed_days: u32,
    pub mail_days: u32,
    pub audit_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            departed_days: 365,
            mail_days: 90,
            audit_days: 730,
        }
    }
}

/// What a purge erased (or, dry, would erase).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub departed_employees: u64,
    pub invitations: u64,
    /// Accounts whose address was a departed employee's: deactivated, not deleted, so
    /// the address cannot sign in again once its employee row is gone.
    pub accounts_deactivated: u64,
    pub mail: u64,
    pub sessions: u64,
    pub sign_in_links: u64,
    pub audit_entries: u64,
}

impl Purged {
    pub fn is_empty(&self) -> bool {
        *self == Purged::default()
    }
}

impl std::fmt::Display for Purged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} departed employees ({} invitations, {} accounts deactivated), {} mail rows, \
             {} expired sessions, {} expired sign-in links, {} audit entries",
            self.departed_employees,
            self.invitations,
            self.accounts_deactivated,
            self.mail,
            self.sessions,
            self.sign_in_links,
            self.audit_entries
        )
    }
}

enum Stop {
    Failed(DbError),
    /// A dry run: what would have gone, then rolled back.
    DryRun(Purged),
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Failed(e)
    }
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Failed(DbError::Query(e))
    }
}

/// Erases what `retention` no longer keeps as of `now`, in one transaction. A dry run
/// does the same work and rolls it back, so its counts are exactly what would go.
pub fn purge(
    conn: &mut Conn,
    retention: &Retention,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Purged, DbError> {
    let outcome = conn.transaction(|conn| {
        let purged = within(conn, retention, now)?;
        if dry_run {
            Err(Stop::DryRun(purged))
        } else {
            Ok(purged)
        }
    });
    match outcome {
        Ok(purged) | Err(Stop::DryRun(purged)) => Ok(purged),
        Err(Stop::Failed(e)) => Err(e),
    }
}

fn days_before(now: DateTime<Utc>, days: u32) -> chrono::NaiveDateTime {
    (now - Duration::days(days as i64)).naive_utc()
}

fn within(conn: &mut Conn, retention: &Retention, now: DateTime<Utc>) -> Result<Purged, Stop> {
    let mut purged = departed(conn, days_before(now, retention.departed_days))?;
    let mail_cutoff = days_before(now, retention.mail_days);
    purged.mail = crate::with_conn!(*conn, c => diesel::delete(mail_outbox::table.filter(
        (mail_outbox::status.eq("sent").and(mail_outbox::sent_at.lt(mail_cutoff)))
            .or(mail_outbox::status.eq("failed").and(mail_outbox::created_at.lt(mail_cutoff))),
    ))
    .execute(c))? as u64;
    let now_naive = now.naive_utc();
    purged.sessions = crate::with_conn!(*conn, c => diesel::delete(
        sessions::table.filter(sessions::expires_at.lt(now_naive)),
    )
    .execute(c))? as u64;
    purged.sign_in_links = crate::with_conn!(*conn, c => diesel::delete(
        login_tokens::table.filter(login_tokens::expires_at.lt(now_naive)),
    )
    .execute(c))? as u64;
    let audit_cutoff = days_before(now, retention.audit_days);
    purged.audit_entries = crate::with_conn!(*conn, c => diesel::delete(
        audit_log::table.filter(audit_log::at.lt(audit_cutoff)),
    )
    .execute(c))? as u64;
    Ok(purged)
}

/// Erases employees who left before `cutoff`, except those invited to a wave that is
/// not finished yet (open, or closed without its per-department counts and final
/// release): that wave's response rate still reads their invitation.
fn departed(conn: &mut Conn, cutoff: chrono::NaiveDateTime) -> Result<Purged, Stop> {
    let mut purged = Purged::default();
    let candidates: Vec<(i64, String)> = crate::with_conn!(*conn, c => employees::table
        .filter(employees::active.eq(false))
        .filter(employees::left_at.lt(cutoff))
        .select((employees::id, employees::email))
        .order(employees::id)
        .load(c))?;
    if candidates.is_empty() {
        return Ok(purged);
    }
    let (all, counted, finals): (Vec<(i64, String)>, Vec<i64>, Vec<i64>) = crate::with_conn!(*conn, c => {
        let all = waves::table.select((waves::id, waves::status)).load(c)?;
        let counted = wave_participation::table
            .select(wave_participation::wave_id)
            .distinct()
            .load(c)?;
        let finals = wave_releases::table
            .filter(wave_releases::is_final.eq(true))
            .select(wave_releases::wave_id)
            .load(c)?;
        Ok::<_, diesel::result::Error>((all, counted, finals))
    })?;
    let (counted, finals): (HashSet<i64>, HashSet<i64>) =
        (counted.into_iter().collect(), finals.into_iter().collect());
    let unfinished: Vec<i64> = all
        .into_iter()
        .filter(|(id, status)| status != "closed" || !counted.contains(id) || !finals.contains(id))
        .map(|(id, _)| id)
        .collect();
    let kept: HashSet<i64> = crate::with_conn!(*conn, c => invitations::table
        .filter(invitations::wave_id.eq_any(&unfinished))
        .select(invitations::employee_id)
        .distinct()
        .load::<i64>(c))?
    .into_iter()
    .collect();
    let going: Vec<&(i64, String)> = candidates
        .iter()
        .filter(|(id, _)| !kept.contains(id))
        .collect();
    for chunk in going.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let emails: Vec<&str> = chunk.iter().map(|(_, e)| e.as_str()).collect();
        let counts = crate::with_conn!(*conn, c => {
            let invitation_ids: Vec<i64> = invitations::table
                .filter(invitations::employee_id.eq_any(&ids))
                .select(invitations::id)
                .load(c)?;
            for part in invitation_ids.chunks(CHUNK) {
                diesel::delete(invitation_tokens::table.filter(invitation_tokens::invitation_id.eq_any(part)))
                    .execute(c)?;
            }
            let invitations = diesel::delete(invitations::table.filter(invitations::employee_id.eq_any(&ids)))
                .execute(c)?;
            // A confidential survey's answers stay, no longer tied to anyone.
            diesel::update(responses::table.filter(responses::employee_id.eq_any(&ids)))
                .set(responses::employee_id.eq(None::<i64>))
                .execute(c)?;
            diesel::update(response_inbox::table.filter(response_inbox::employee_id.eq_any(&ids)))
                .set(response_inbox::employee_id.eq(None::<i64>))
                .execute(c)?;
            let accounts: Vec<i64> = users::table
                .filter(users::email.eq_any(&emails))
                .filter(users::active.eq(true))
                .select(users::id)
                .load(c)?;
            diesel::update(users::table.filter(users::id.eq_any(&accounts)))
                .set(users::active.eq(false))
                .execute(c)?;
            diesel::delete(sessions::table.filter(sessions::user_id.eq_any(&accounts))).execute(c)?;
            let employees = diesel::delete(employees::table.filter(employees::id.eq_any(&ids)))
                .execute(c)?;
            Ok::<_, diesel::result::Error>((employees, invitations, accounts.len()))
        })?;
        purged.departed_employees += counts.0 as u64;
        purged.invitations += counts.1 as u64;
        purged.accounts_deactivated += counts.2 as u64;
    }
    Ok(purged)
}

/// Whether this process should run today's purge: takes the daily lease when it is
/// free, so of several `serve` processes on one database one purges per day.
pub fn claim_daily(conn: &mut Conn, holder: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let now = now.naive_utc();
    // A little under a day, so hourly checks do not push the purge later each day.
    let until = now + Duration::hours(23);
    // Each statement is one conditional write: of processes racing, one gets the row.
    let inserted = crate::with_conn!(*conn, c => diesel::insert_into(leases::table)
        .values((leases::name.eq(LEASE), leases::holder.eq(holder), leases::expires_at.eq(until)))
        .on_conflict(leases::name)
        .do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(true);
    }
    let taken = crate::with_conn!(*conn, c => diesel::update(leases::table
        .filter(leases::name.eq(LEASE))
        .filter(leases::expires_at.le(now)))
        .set((leases::holder.eq(holder), leases::expires_at.eq(until)))
        .execute(c))?;
    Ok(taken == 1)
}
