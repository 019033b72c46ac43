//! Continuous feedback after a request. A ticketing system holding an integration key
//! tells icsat that a person's request to a service was closed; icsat decides whether
//! to ask them (the service's cooldown, one invitation per person and month, then its
//! sampling rate) and, if so, invites them to the service's feedback survey of the
//! month, by mail, through the outbox.
//!
//! Each service with a `feedback` plan in the catalogue has a survey of its own,
//! `feedback-{id}`, generated from the plan (`surveys::feedback`) and stored with the
//! other surveys. Its waves are calendar months (UTC), opened by their first request and
//! closed by the scheduler when the month ends; answers go through the same inbox,
//! sealing, releases and thresholds as any survey, and reports and trends read the
//! months as waves. The request's reference is never stored: nothing ties an answer,
//! or even an invitation, to a ticket.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;

use crate::db::schema::{employees, feedback_requests, integration_keys};
use crate::db::{Conn, DbError};
use crate::definitions::Catalogue;
use crate::surveys::feedback::survey_slug;
use crate::waves::lifecycle::{self, Mailer};
use crate::waves::{tokens, WaveError};

/// Longest reference accepted (it is only checked, never kept).
pub const MAX_REFERENCE_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("unknown or revoked integration key: send the key `icsat integration add` printed, as `Authorization: Bearer KEY`")]
    UnknownKey,
    #[error("there is no service {id:?}; known services: {}", known.join(", "))]
    UnknownService { id: String, known: Vec<String> },
    #[error("service {0:?} asks for no feedback after requests: give it a `feedback` plan in services.toml")]
    NoFeedback(String),
    #[error("no active employee has the address {0:?} in the roster")]
    UnknownEmployee(String),
    #[error("{0}")]
    Invalid(String),
    #[error("an integration named {0:?} exists already; choose another name or revoke it first")]
    NameTaken(String),
    #[error("there is no integration named {0:?}")]
    UnknownIntegration(String),
    #[error(transparent)]
    Wave(#[from] WaveError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for FeedbackError {
    fn from(e: diesel::result::Error) -> Self {
        FeedbackError::Db(DbError::Query(e))
    }
}

/// A new integration: its key, printed once; only the key's hash is stored.
pub fn add_integration(
    conn: &mut Conn,
    name: &str,
    now: NaiveDateTime,
) -> Result<String, FeedbackError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(FeedbackError::Invalid(
            "an integration's name is 1 to 100 characters on one line, e.g. servicenow".into(),
        ));
    }
    let (token, _) = tokens::new_token();
    let key = format!("icsat_{token}");
    let stored = crate::with_conn!(*conn, c => diesel::insert_into(integration_keys::table)
        .values((
            integration_keys::name.eq(name),
            integration_keys::key_hash.eq(tokens::hash(&key)),
            integration_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if stored == 0 {
        return Err(FeedbackError::NameTaken(name.to_string()));
    }
    Ok(key)
}

/// Revokes an integration: its key stops working at once.
pub fn revoke_integration(
    conn: &mut Conn,
    name: &str,
    now: NaiveDateTime,
) -> Result<(), FeedbackError> {
    let changed = crate::with_conn!(*conn, c => diesel::update(integration_keys::table
        .filter(integration_keys::name.eq(name.trim()))
        .filter(integration_keys::revoked_at.is_null()))
        .set(integration_keys::revoked_at.eq(now))
        .execute(c))?;
    if changed == 0 {
        return Err(FeedbackError::UnknownIntegration(name.to_string()));
    }
    Ok(())
}

/// An integration as `icsat integration list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Integration {
    pub name: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// Requests decided, and how many of them asked.
    pub requests: i64,
    pub asked: i64,
}

pub fn integrations(conn: &mut Conn) -> Result<Vec<Integration>, FeedbackError> {
    let rows: Vec<(i64, String, NaiveDateTime, Option<NaiveDateTime>)> = crate::with_conn!(*conn, c => integration_keys::table
        .order(integration_keys::name)
        .select((integration_keys::id, integration_keys::name, integration_keys::created_at, integration_keys::revoked_at))
        .load(c))?;
    let counts: Vec<(i64, bool, i64)> = crate::with_conn!(*conn, c => feedback_requests::table
        .group_by((feedback_requests::integration_id, feedback_requests::asked))
        .select((feedback_requests::integration_id, feedback_requests::asked, diesel::dsl::count_star()))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at, revoked_at)| {
            let of = |asked: Option<bool>| {
                counts
                    .iter()
                    .filter(|(i, a, _)| *i == id && asked.is_none_or(|x| x == *a))
                    .map(|(_, _, n)| n)
                    .sum()
            };
            Integration {
                name,
                created_at,
                revoked_at,
                requests: of(None),
                asked: of(Some(true)),
            }
        })
        .collect())
}

/// The integration a key belongs to, if it is live.
pub fn authenticate(conn: &mut Conn, key: &str) -> Result<i64, FeedbackError> {
    let key = key.trim();
    if !key.starts_with("icsat_") || key.len() > 100 {
        return Err(FeedbackError::UnknownKey);
    }
    crate::with_conn!(*conn, c => integration_keys::table
        .filter(integration_keys::key_hash.eq(tokens::hash(key)))
        .filter(integration_keys::revoked_at.is_null())
        .select(integration_keys::id)
        .first::<i64>(c)
        .optional())?
    .ok_or(FeedbackError::UnknownKey)
}

/// A closed request, as the ticketing system reports it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Request {
    pub email: String,
    pub service: String,
    /// The ticket's own reference: checked for size, never stored.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Whether the person was asked, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub asked: bool,
    pub reason: &'static str,
}

impl Decision {
    const ASKED: Decision = Decision {
        asked: true,
        reason: "asked",
    };
    const COOLDOWN: Decision = Decision {
        asked: false,
        reason: "cooldown",
    };
    const THIS_MONTH: Decision = Decision {
        asked: false,
        reason: "asked_this_month",
    };
    const NOT_SAMPLED: Decision = Decision {
        asked: false,
        reason: "not_sampled",
    };
}

/// The month wave's label and bounds, in UTC: `2026-12`, from the 1st to the next 1st
/// at midnight in `tz` (the catalogue's zone).
pub fn month(now: NaiveDateTime, tz: chrono_tz::Tz) -> (String, NaiveDateTime, NaiveDateTime) {
    use chrono::TimeZone;
    let local = tz.from_utc_datetime(&now).date_naive();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let midnight = |day: NaiveDate| {
        let local = day.and_hms_opt(0, 0, 0).unwrap_or(now);
        crate::definitions::resolve_local(tz, local).naive_utc()
    };
    (
        first.format("%Y-%m").to_string(),
        midnight(first),
        midnight(next),
    )
}

/// Decides one request and, when asked, invites the person; the decision is stored
/// (and the mail queued) before this returns. Bad input changes nothing.
pub fn decide(
    conn: &mut Conn,
    mailer: &Mailer,
    catalogue: &Catalogue,
    integration_id: i64,
    request: &Request,
    now: NaiveDateTime,
    rng: &mut impl Rng,
) -> Result<Decision, FeedbackError> {
    if let Some(reference) = &request.reference {
        if reference.chars().count() > MAX_REFERENCE_CHARS {
            return Err(FeedbackError::Invalid(format!(
                "\"reference\" is longer than {MAX_REFERENCE_CHARS} characters"
            )));
        }
    }
    let service =
        catalogue
            .get(request.service.trim())
            .ok_or_else(|| FeedbackError::UnknownService {
                id: request.service.clone(),
                known: catalogue.ids().iter().map(|s| s.to_string()).collect(),
            })?;
    let plan = service
        .feedback
        .as_ref()
        .ok_or_else(|| FeedbackError::NoFeedback(service.id.value.clone()))?;
    let email = crate::roster::csv_input::normalise_email(&request.email).map_err(|_| {
        FeedbackError::Invalid(format!(
            "\"email\": {:?} is not an email address",
            request.email
        ))
    })?;
    let employee: i64 = crate::with_conn!(*conn, c => employees::table
        .filter(employees::email.eq(&email))
        .filter(employees::active.eq(true))
        .select(employees::id)
        .first(c)
        .optional())?
    .ok_or_else(|| FeedbackError::UnknownEmployee(email.clone()))?;
    let slug = survey_slug(&service.id);
    let (_, definition) = crate::surveys::current(conn, &slug).map_err(WaveError::from)?;
    let (label, opens_at, closes_at) = month(now, catalogue.timezone);
    // Drawn before the transaction: the draw is the decision's only randomness.
    let sampled = rng.random_bool(plan.sampling.clamp(0.0, 1.0));
    let service_id = service.id.value.clone();
    let cooldown = chrono::Duration::days(i64::from(plan.cooldown_days));
    conn.transaction(|conn| -> Result<Decision, FeedbackError> {
        let recent: i64 = if plan.cooldown_days > 0 {
            crate::with_conn!(*conn, c => feedback_requests::table
                .filter(feedback_requests::employee_id.eq(employee))
                .filter(feedback_requests::service.eq(&service_id))
                .filter(feedback_requests::asked.eq(true))
                .filter(feedback_requests::decided_at.gt(now - cooldown))
                .count()
                .get_result(c))?
        } else {
            0
        };
        let decision = if recent > 0 {
            Decision::COOLDOWN
        } else if !sampled {
            Decision::NOT_SAMPLED
        } else {
            let wave = lifecycle::open_empty(conn, &slug, &label, opens_at, closes_at)?;
            if lifecycle::invite_one(conn, mailer, &definition, &wave, employee)? {
                Decision::ASKED
            } else {
                Decision::THIS_MONTH
            }
        };
        crate::with_conn!(*conn, c => diesel::insert_into(feedback_requests::table)
            .values((
                feedback_requests::integration_id.eq(integration_id),
                feedback_requests::service.eq(&service_id),
                feedback_requests::employee_id.eq(employee),
                feedback_requests::asked.eq(decision.asked),
                feedback_requests::reason.eq(decision.reason),
                feedback_requests::decided_at.eq(now),
            ))
            .execute(c))?;
        Ok(decision)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_run_from_the_first_to_the_next_first() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let (label, from, to) = month(at("2026-12-31 23:59"), chrono_tz::Tz::UTC);
        assert_eq!(label, "2026-12");
        assert_eq!(from, at("2026-12-01 00:00"));
        assert_eq!(to, at("2027-01-01 00:00"));
        // 23:59 UTC on New Year's Eve is already January in Berlin, whose months
        // begin at 23:00 UTC in winter.
        let (label, from, to) = month(at("2026-12-31 23:59"), chrono_tz::Europe::Berlin);
        assert_eq!(label, "2027-01");
        assert_eq!(from, at("2026-12-31 23:00"));
        assert_eq!(to, at("2027-01-31 23:00"));
    }
}
