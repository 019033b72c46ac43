//! Nudges through the outbox, so that results lead to actions: to heads and service
//! owners when a wave's final results are released ("3 areas below the company, no
//! action yet"), to an action's owner when its due date passes without an update, and a
//! weekly digest to HR of the areas without an action. `icsat serve`'s scheduler calls
//! [`run`] every tick; every nudge has a dedupe key, so it is queued once whichever
//! process gets there first, and a finished wave is marked so it is not looked at again.
//!
//! A nudge names questions, services and departments, never a figure: what it says
//! ("below the company") the recipient's own page shows in numbers.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::actions::{self, areas, Status};
use crate::auth::rights::Rights;
use crate::db::schema::{users, wave_releases, waves};
use crate::db::{Conn, DbError};
use crate::definitions::{Definition, QuestionKind};
use crate::mail::{self, MailError, MailKind, OutgoingMail};
use crate::reports::org::Org;
use crate::reports::{ReportError, WaveQuery};
use crate::waves::lifecycle::Mailer;

/// Waves closed longer ago than this are history: their release is not nudged about.
const FRESH_DAYS: i64 = 14;

#[derive(Debug, thiserror::Error)]
pub enum NudgeError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Action(#[from] actions::ActionError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for NudgeError {
    fn from(e: diesel::result::Error) -> Self {
        NudgeError::Db(DbError::Query(e))
    }
}

/// How many nudges of each kind a run queued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Nudged {
    pub released: usize,
    pub overdue: usize,
    pub digests: usize,
}

/// Queues the nudges that are due at `now`.
pub fn run(conn: &mut Conn, mailer: &Mailer, now: NaiveDateTime) -> Result<Nudged, NudgeError> {
    Ok(Nudged {
        released: released(conn, mailer, now)?,
        overdue: overdue(conn, mailer, now)?,
        digests: digest(conn, mailer, now)?,
    })
}

fn question_text(definition: &Definition, id: &str) -> String {
    definition.question(id).map_or_else(
        || id.to_string(),
        |q| q.text.get(&definition.language).to_string(),
    )
}

fn is_scale(definition: &Definition, id: &str) -> bool {
    definition.question(id).is_some_and(|q| {
        matches!(
            q.kind,
            QuestionKind::Likert { .. } | QuestionKind::Rating { .. }
        )
    })
}

struct Head {
    id: i64,
    email: String,
    department_id: i64,
}

fn heads(conn: &mut Conn) -> Result<Vec<Head>, NudgeError> {
    let rows: Vec<(i64, String, Option<i64>)> = crate::with_conn!(*conn, c => users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq("head"))
        .select((users::id, users::email, users::department_id))
        .order(users::id)
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, email, d)| {
            Some(Head {
                id,
                email,
                department_id: d?,
            })
        })
        .collect())
}

fn queue(
    conn: &mut Conn,
    mailer: &Mailer,
    key: String,
    to: &str,
    subject: String,
    body: String,
    now: NaiveDateTime,
) -> Result<bool, NudgeError> {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;line-height:1.5;color:#222;\">{1}</body></html>",
        escape(&subject),
        body.split("\n\n")
            .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
            .collect::<String>()
    );
    let mail = OutgoingMail {
        dedupe_key: key,
        kind: MailKind::Nudge,
        wave_id: None,
        to_name: String::new(),
        to_email: to.to_string(),
        subject,
        text: body,
        html,
    };
    Ok(mail::enqueue(conn, &mail, &mailer.from, now)?)
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const SIGNATURE: &str = "This message was sent automatically by icsat; replies to it are not read.";

/// Final releases of waves closed in the last [`FRESH_DAYS`] not yet nudged about: to every head whose
/// department has questions below the company without an action, and to every owner of
/// a service that consumer departments rate below the company without an action for them.
fn released(conn: &mut Conn, mailer: &Mailer, now: NaiveDateTime) -> Result<usize, NudgeError> {
    use crate::db::schema::surveys;
    let fresh: Vec<(i64, String, String, Option<NaiveDateTime>)> = crate::with_conn!(*conn, c => wave_releases::table
        .inner_join(waves::table.inner_join(surveys::table))
        .filter(wave_releases::is_final.eq(true))
        .filter(waves::closed_at.gt(now - Duration::days(FRESH_DAYS)))
        .select((waves::id, surveys::slug, waves::label, waves::closed_at))
        .order(waves::id)
        .load(c))?;
    let mut queued = 0;
    for (wave_id, survey, label, closed) in fresh {
        let marker = format!("nudged-release:{wave_id}");
        if crate::db::settings::get(conn, &marker)?.is_some() {
            continue;
        }
        let definition = crate::surveys::current(conn, &survey)
            .map(|(_, d)| d)
            .map_err(|e| ReportError::BadFilter(e.to_string()))?;
        let (report, _) = crate::reports::wave_report(
            conn,
            &WaveQuery {
                survey: &survey,
                wave: Some(&label),
                department: None,
                filters: &[],
            },
        )?;
        let org = Org::load(conn)?;
        let all = actions::list(conn, Rights::Admin, Some(&survey))?;
        let acted = areas::answering(&all, &label, closed);
        let title = definition.title.get(&definition.language).to_string();
        for head in heads(conn)? {
            let Some(department) = org.name(head.department_id).map(str::to_string) else {
                continue;
            };
            let areas: Vec<String> = areas::below_company(&report, &department)
                .into_iter()
                .filter(|id| is_scale(&definition, id))
                .filter(|id| {
                    !acted.iter().any(|a| {
                        a.answers_question(&definition, id) && a.concerns(&org, &department)
                    })
                })
                .collect();
            let mine = org.subtree(head.department_id);
            let mut service_lines = Vec::new();
            for service in definition.services() {
                let owned = org.by_name(service).is_some_and(|d| mine.contains(&d.id));
                if !owned {
                    continue;
                }
                let consumers: Vec<&str> = org
                    .departments
                    .iter()
                    .map(|d| d.name.as_str())
                    .filter(|d| *d != service)
                    .collect();
                let below: Vec<String> = areas::services_below(&report, service, &consumers)
                    .into_iter()
                    .filter(|d| {
                        !acted
                            .iter()
                            .any(|a| a.service.as_deref() == Some(service) && a.concerns(&org, d))
                    })
                    .collect();
                if !below.is_empty() {
                    service_lines.push(format!(
                        "As the owner of {service}: {} rate{} it below the company, with no action for them yet: {}.",
                        plural(below.len(), "department"),
                        if below.len() == 1 { "s" } else { "" },
                        below.join(", ")
                    ));
                }
            }
            if areas.is_empty() && service_lines.is_empty() {
                continue;
            }
            let mut body =
                format!("Hello,\n\nThe final results of {title}, wave {label}, are out.");
            if !areas.is_empty() {
                body.push_str(&format!(
                    " In {department}, {} below the company's favourable share, with no action yet:\n{}",
                    if areas.len() == 1 { "1 question is".to_string() } else { format!("{} questions are", areas.len()) },
                    areas
                        .iter()
                        .map(|id| format!("- {}", question_text(&definition, id)))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            for line in &service_lines {
                body.push_str("\n\n");
                body.push_str(line);
            }
            body.push_str(&format!(
                "\n\nSee the results and plan actions:\n{}/results/{}?wave={}\n{}/results/{}/actions\n\n{SIGNATURE}\n",
                mailer.base_url,
                urlencode(&survey),
                urlencode(&label),
                mailer.base_url,
                urlencode(&survey),
            ));
            let count = areas.len() + service_lines.len();
            let subject = format!(
                "{title} ({label}): {} below the company, no action yet",
                plural(count, "area")
            );
            if queue(
                conn,
                mailer,
                format!("nudge-release:{wave_id}:{}", head.id),
                &head.email,
                subject,
                body,
                now,
            )? {
                queued += 1;
            }
        }
        crate::db::settings::put_once(conn, &marker, &now.to_string())?;
    }
    Ok(queued)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Actions past their due date with no update since it, to their owner, once per date.
fn overdue(conn: &mut Conn, mailer: &Mailer, now: NaiveDateTime) -> Result<usize, NudgeError> {
    let today = now.date();
    let mut queued = 0;
    for a in actions::list(conn, Rights::Admin, None)? {
        let Some(due) = a.due_on else { continue };
        let open = matches!(a.status, Status::Planned | Status::InProgress);
        // Recording the action is not news of it.
        let updated_since = a
            .updates
            .iter()
            .any(|u| u.note != actions::CREATED_NOTE && u.at.date() >= due);
        if !open || due >= today || updated_since {
            continue;
        }
        let body = format!(
            "Hello,\n\nThe action \u{201c}{}\u{201d} ({}, {}) was due on {due} and has had no update since. Add what happened, a new status or a new due date:\n{}/results/{}/actions#action-{}\n\nThe people it answers see its status beside their results.\n\n{SIGNATURE}\n",
            a.title,
            a.survey,
            a.department,
            mailer.base_url,
            urlencode(&a.survey),
            a.id
        );
        if queue(
            conn,
            mailer,
            format!("nudge-overdue:{}:{due}", a.id),
            &a.owner,
            format!("Action due on {due}: {}", a.title),
            body,
            now,
        )? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Once a week (ISO week), to every HR account: per department, the questions of the
/// latest final wave of each survey below the company with no action.
fn digest(conn: &mut Conn, mailer: &Mailer, now: NaiveDateTime) -> Result<usize, NudgeError> {
    use crate::db::schema::surveys;
    let week = now.date().iso_week();
    let stamp = format!("{}-W{:02}", week.year(), week.week());
    let marker = format!("nudged-digest:{stamp}");
    if crate::db::settings::get(conn, &marker)?.is_some() {
        return Ok(0);
    }
    let admins: Vec<(i64, String)> = crate::with_conn!(*conn, c => users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq("admin"))
        .select((users::id, users::email))
        .order(users::id)
        .load(c))?;
    let latest: Vec<(String, String, Option<NaiveDateTime>)> = crate::with_conn!(*conn, c => wave_releases::table
        .inner_join(waves::table.inner_join(surveys::table))
        .filter(wave_releases::is_final.eq(true))
        .filter(wave_releases::made_at.gt(now - Duration::days(366)))
        .select((surveys::slug, waves::label, waves::closed_at))
        .order(waves::opens_at)
        .load(c))?;
    // The latest final wave of each survey.
    let mut by_survey: BTreeMap<String, (String, Option<NaiveDateTime>)> = BTreeMap::new();
    for (survey, label, closed) in latest {
        by_survey.insert(survey, (label, closed));
    }
    let org = Org::load(conn)?;
    let mut lines = Vec::new();
    for (survey, (label, closed)) in &by_survey {
        let Ok((_, definition)) = crate::surveys::current(conn, survey) else {
            continue;
        };
        let (report, _) = crate::reports::wave_report(
            conn,
            &WaveQuery {
                survey,
                wave: Some(label),
                department: None,
                filters: &[],
            },
        )?;
        let all = actions::list(conn, Rights::Admin, Some(survey))?;
        let acted = areas::answering(&all, label, *closed);
        for d in &org.departments {
            let open: Vec<String> = areas::below_company(&report, &d.name)
                .into_iter()
                .filter(|id| is_scale(&definition, id))
                .filter(|id| {
                    !acted
                        .iter()
                        .any(|a| a.answers_question(&definition, id) && a.concerns(&org, &d.name))
                })
                .collect();
            if !open.is_empty() {
                lines.push(format!(
                    "- {}: {} below the company, no action ({survey} {label})",
                    d.name,
                    plural(open.len(), "question")
                ));
            }
        }
    }
    let mut queued = 0;
    if !lines.is_empty() {
        let body = format!(
            "Hello,\n\nAreas where a department is below the company's favourable share and no action answers it yet:\n{}\n\nThe dashboard: {}/admin\n\n{SIGNATURE}\n",
            lines.join("\n"),
            mailer.base_url
        );
        for (id, email) in admins {
            if queue(
                conn,
                mailer,
                format!("nudge-digest:{stamp}:{id}"),
                &email,
                format!(
                    "Weekly: {} with areas that have no action",
                    plural(lines.len(), "department")
                ),
                body.clone(),
                now,
            )? {
                queued += 1;
            }
        }
    }
    crate::db::settings::put_once(conn, &marker, &now.to_string())?;
    Ok(queued)
}
