//! `icsat demo`: a demo company with three years of history, built through the real code
//! paths (roster import, survey catalogue, waves, the response store and sealing, counts),
//! then served.
//!
//! The company has 25 departments in a tree, each with a head, and about 600 employees.
//! Every shipped survey runs on its own schedule over the three years before today
//! (annual surveys and pulses, pulses with their samples), with response rates and
//! answers that differ by department and change over time: IT improves year on year,
//! Facilities declines. A few departments stay under the anonymity threshold. One IT
//! pulse is open now, opened by hand two days ago, with part of its invitations
//! answered. Everything is drawn from a seeded generator, so the same seed gives the same
//! answers (response ids and links stay random, as they must).

mod answers;
pub mod company;
mod loop_closing;
pub mod shipped;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::schema::{employees, invitations, waves};
use crate::db::{Conn, Db, DbError};
use crate::definitions::{Anonymity, Definition, Schedule};
use crate::responses::submit::{self, Invitation};
use crate::responses::{inbox, store, NewResponse};
use crate::waves::lifecycle::{self, Mailer, Opened};
use crate::waves::{audience, tokens, NewWave, Origin, WaveError};

/// The survey of the wave that is open when the demo starts.
pub const OPEN_SURVEY: &str = "it-pulse";

/// How far back the history goes.
const YEARS: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database {0} already holds employees or waves; the demo needs an empty database (or leave ICSAT_DATABASE_URL unset to use icsat-demo.db)")]
    NotEmpty(String),
    #[error("cannot prepare the demo files: {0}")]
    Files(String),
    #[error("the demo needs the survey {0} in the definitions folder")]
    MissingSurvey(String),
    #[error(transparent)]
    Roster(#[from] crate::roster::RosterError),
    #[error(transparent)]
    Survey(#[from] crate::surveys::SurveyError),
    #[error(transparent)]
    Wave(#[from] WaveError),
    #[error(transparent)]
    User(#[from] crate::users::UserError),
    #[error(transparent)]
    Report(#[from] crate::reports::ReportError),
    #[error(transparent)]
    Action(#[from] crate::actions::ActionError),
    #[error(transparent)]
    Publish(#[from] crate::publishing::PublishError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        DemoError::Db(DbError::Query(e))
    }
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub employees: usize,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            employees: 600,
            seed: 2027,
        }
    }
}

/// What was built, for the closing message.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub employees: usize,
    pub departments: usize,
    pub waves: usize,
    pub invitations: usize,
    pub responses: usize,
    /// `SURVEY/LABEL` of the open wave.
    pub open_wave: String,
    pub admin_email: String,
    pub head_email: String,
    pub head_department: String,
    /// Actions recorded on the annual survey's results.
    pub actions: usize,
    /// An employee's link to the published results of the latest annual survey.
    pub heard_link: Option<String>,
}

/// An employee as the demo answers for them.
struct DemoEmployee {
    id: i64,
    department_id: i64,
    /// Department mood plus the person's own temper.
    offset: f64,
    /// Added to the department's response rate (some people never answer).
    eagerness: f64,
    base_rate: f64,
    /// Reporting attributes as a response keeps them.
    attributes: String,
}

/// A wave of the history, before it is stored.
struct PlannedWave {
    slug: String,
    label: String,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

/// The schedule moved back so that its openings cover the years before `now` (shipped
/// schedules may start in the future), keeping month, day and time.
fn schedule_for_history(schedule: &Schedule, now: DateTime<Utc>) -> Schedule {
    let mut moved = schedule.clone();
    let year = now.year() - YEARS as i32 - 1;
    if let Some(opens) = moved
        .opens
        .date()
        .with_day(1)
        .and_then(|d| d.with_year(year))
        .and_then(|d| d.with_day(schedule.opens.day().min(28)))
    {
        moved.opens = opens.and_time(schedule.opens.time());
    }
    moved
}

fn plan_waves(definitions: &[(String, Definition)], now: DateTime<Utc>) -> Vec<PlannedWave> {
    let from = now - Duration::days(365 * YEARS);
    let mut planned = Vec::new();
    for (slug, definition) in definitions {
        let Some(schedule) = &definition.schedule else {
            continue;
        };
        let schedule = schedule_for_history(schedule, now);
        for opens_at in schedule.openings(from, now) {
            let closes_at = schedule.closes(opens_at);
            // Only closed waves are history; the open pulse is opened separately and
            // the pulse before it is at least six weeks old.
            let recent = slug == OPEN_SURVEY && now - opens_at < Duration::days(45);
            if closes_at < now - Duration::hours(1) && !recent {
                planned.push(PlannedWave {
                    slug: slug.clone(),
                    label: schedule.wave_label(opens_at),
                    opens_at,
                    closes_at,
                });
            }
        }
    }
    // A year of continuous feedback: each feedback survey's last twelve full months.
    for (slug, definition) in definitions
        .iter()
        .filter(|(slug, _)| slug.starts_with(crate::surveys::feedback::SURVEY_PREFIX))
    {
        let tz = crate::waves::lifecycle::timezone(definition);
        let (_, this_month, _) = crate::services::feedback::month(now.naive_utc(), tz);
        let mut start = this_month;
        for _ in 0..FEEDBACK_MONTHS {
            // A day before this month's start lies in the month before.
            let earlier = start - Duration::days(1);
            let (label, opens, closes) = crate::services::feedback::month(earlier, tz);
            planned.push(PlannedWave {
                slug: slug.clone(),
                label,
                opens_at: opens.and_utc(),
                closes_at: closes.and_utc(),
            });
            start = opens;
        }
    }
    planned.sort_by(|a, b| (a.opens_at, &a.slug).cmp(&(b.opens_at, &b.slug)));
    planned
}

/// Months of continuous feedback the demo has for each service that asks for it.
const FEEDBACK_MONTHS: usize = 12;
/// Share of the employees who closed a request to a service in a month and were asked.
const FEEDBACK_SHARE: f64 = 0.2;

fn check_empty(conn: &mut Conn, url: &str) -> Result<(), DemoError> {
    let people: i64 = crate::with_conn!(*conn, c => employees::table.count().get_result(c))?;
    let any_waves: i64 = crate::with_conn!(*conn, c => waves::table.count().get_result(c))?;
    if people > 0 || any_waves > 0 {
        return Err(DemoError::NotEmpty(url.to_string()));
    }
    Ok(())
}

/// Loads the roster through `icsat roster import`'s code, from files written to a
/// temporary folder.
fn import_roster(
    db: &Db,
    options: &DemoOptions,
    rng: &mut StdRng,
) -> Result<Vec<company::Person>, DemoError> {
    let (roster, departments, people) = company::files(options.employees, rng);
    let dir = std::env::temp_dir().join(format!(
        "icsat-demo-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let files = (|| -> std::io::Result<_> {
        std::fs::create_dir_all(&dir)?;
        let roster_path = dir.join("roster.csv");
        let departments_path = dir.join("departments.csv");
        std::fs::write(&roster_path, roster)?;
        std::fs::write(&departments_path, departments)?;
        Ok((roster_path, departments_path))
    })();
    let (roster_path, departments_path) = match files {
        Ok(paths) => paths,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(DemoError::Files(e.to_string()));
        }
    };
    let imported = crate::roster::import(db, &roster_path, Some(&departments_path), false);
    let _ = std::fs::remove_dir_all(&dir);
    imported?;
    Ok(people)
}

type EmployeeRow = (i64, String, i64, Option<String>, String);

fn load_employees(
    conn: &mut Conn,
    people: &[company::Person],
    rng: &mut StdRng,
) -> Result<Vec<DemoEmployee>, DemoError> {
    let rows: Vec<EmployeeRow> = crate::with_conn!(*conn, c => employees::table
        .filter(employees::active.eq(true))
        .order(employees::id)
        .select((employees::id, employees::email, employees::department_id, employees::location, employees::attributes))
        .load(c))?;
    let plan_of: HashMap<&str, usize> = people
        .iter()
        .map(|p| (p.email.as_str(), p.department))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, email, department_id, location, attributes)| {
            let plan = plan_of
                .get(email.as_str())
                .map(|i| &company::DEPARTMENTS[*i]);
            let mut attributes: BTreeMap<String, String> =
                serde_json::from_str(&attributes).unwrap_or_default();
            if let Some(location) = location {
                attributes.insert("location".into(), location);
            }
            DemoEmployee {
                id,
                department_id,
                offset: plan.map_or(0.0, |p| p.mood * 0.8) + answers::normal(rng, 0.35),
                eagerness: answers::normal(rng, 0.12),
                base_rate: plan.map_or(0.0, |p| p.rate),
                attributes: serde_json::to_string(&attributes).unwrap_or_else(|_| "{}".into()),
            }
        })
        .collect())
}

/// Share of those invited who answer a wave of this survey.
fn response_rate(slug: &str, who: &DemoEmployee, wave_mood: f64) -> f64 {
    let base = match slug {
        "internal-services" => 0.74,
        "enps-pulse" => 0.62,
        // A two-question form right after the help: about half answer.
        s if s.starts_with(crate::surveys::feedback::SURVEY_PREFIX) => 0.35,
        _ => 0.6,
    };
    (base + who.base_rate + who.eagerness + wave_mood).clamp(0.05, 0.97)
}

fn years_since(first: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (t - first).num_hours() as f64 / (24.0 * 365.25)
}

/// Stores one closed wave: the wave, its invitations (answered or not, sent when it
/// opened), the responses sealed in random order, and the counts.
#[allow(clippy::too_many_arguments)]
fn store_wave(
    conn: &mut Conn,
    planned: &PlannedWave,
    version_id: i64,
    survey_id: i64,
    definition: &Definition,
    people: &[DemoEmployee],
    asked: &mut HashMap<i64, u32>,
    first: DateTime<Utc>,
    rng: &mut StdRng,
) -> Result<(usize, usize), DemoError> {
    let everyone: Vec<i64> = people.iter().map(|p| p.id).collect();
    let share = if planned
        .slug
        .starts_with(crate::surveys::feedback::SURVEY_PREFIX)
    {
        FEEDBACK_SHARE
    } else {
        definition.schedule.as_ref().map_or(1.0, Schedule::sample)
    };
    let invited: Vec<i64> = if share < 1.0 {
        audience::sample(&everyone, asked, share, rng)
    } else {
        everyone
    };
    let by_id: HashMap<i64, &DemoEmployee> = people.iter().map(|p| (p.id, p)).collect();
    let years = years_since(first, planned.opens_at);
    let wave_mood = answers::normal(rng, 0.03);
    let open_days = (planned.closes_at - planned.opens_at).num_days().max(1);
    let anonymous = definition.anonymity.value == Anonymity::Anonymous;
    let mut rows = Vec::with_capacity(invited.len());
    let mut responses = Vec::new();
    for id in &invited {
        *asked.entry(*id).or_default() += 1;
        let Some(who) = by_id.get(id) else { continue };
        let answered = rng.random_bool(response_rate(&planned.slug, who, wave_mood));
        let responded_on: Option<NaiveDate> = answered.then(|| {
            // Most answer in the first days, after the invitation or a reminder.
            let day = (rng.random::<f64>().powi(2) * open_days as f64) as i64;
            (planned.opens_at + Duration::days(day)).date_naive()
        });
        rows.push((
            who.id,
            who.department_id,
            tokens::new_token().1,
            responded_on,
        ));
        if answered {
            let respondent = answers::Respondent {
                offset: who.offset,
                years,
            };
            responses.push(NewResponse {
                department_id: Some(who.department_id),
                attributes: who.attributes.clone(),
                employee_id: (!anonymous).then_some(who.id),
                answers: answers::answers(definition, &respondent, rng),
            });
        }
    }
    // Stored in an order unrelated to the roster, as sealing would leave them.
    rand::seq::SliceRandom::shuffle(responses.as_mut_slice(), rng);
    let opened = planned.opens_at.naive_utc();
    let closed = planned.closes_at.naive_utc();
    let invitation_count = rows.len();
    let response_count = responses.len();
    let wave_id = conn.transaction(|conn| -> Result<i64, DemoError> {
        let wave_id = crate::waves::insert(
            conn,
            &NewWave {
                survey_id,
                version_id,
                label: &planned.label,
                origin: if planned.slug.starts_with(crate::surveys::feedback::SURVEY_PREFIX) {
                    Origin::Feedback
                } else {
                    Origin::Schedule
                },
                status: "closed",
                opens_at: opened,
                closes_at: Some(closed),
                closed_at: Some(closed),
            },
        )?
        .ok_or_else(|| DemoError::Files(format!("wave {} exists twice", planned.label)))?;
        for chunk in rows.chunks(1000) {
            let values: Vec<_> = chunk
                .iter()
                .map(|(employee_id, department_id, hash, responded_on)| {
                    (
                        invitations::wave_id.eq(wave_id),
                        invitations::employee_id.eq(*employee_id),
                        invitations::department_id.eq(*department_id),
                        invitations::token_hash.eq(hash),
                        invitations::created_at.eq(opened),
                        invitations::sent_at.eq(Some(opened)),
                        invitations::responded_on.eq(*responded_on),
                    )
                })
                .collect();
            crate::with_conn!(*conn, c => diesel::insert_into(invitations::table).values(&values).execute(c))?;
        }
        store::insert(conn, wave_id, &responses)?;
        Ok(wave_id)
    })?;
    // As any closed wave: its final release, then its responses generalised and its
    // answered marks counted, then the classes its filtered views are made of.
    crate::reports::release::make(conn, wave_id, definition, true)?;
    crate::responses::generalise::at_close(conn, wave_id, definition)?;
    crate::reports::cube::make(conn, wave_id, definition)?;
    Ok((invitation_count, response_count))
}

/// Opens the current IT pulse through the real lifecycle (invitations queued as mail)
/// and answers part of it through the real submission, then seals.
fn open_current_wave(
    conn: &mut Conn,
    mailer: &Mailer,
    people: &[DemoEmployee],
    first: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> Result<(String, usize, usize), DemoError> {
    let (_, definition) = crate::surveys::current(conn, OPEN_SURVEY)?;
    let opens_at = now - Duration::days(2);
    let closes_at = match &definition.schedule {
        Some(s) => s.closes(opens_at).max(now + Duration::days(3)),
        None => now + Duration::days(8),
    };
    let tz = lifecycle::timezone(&definition);
    let label = crate::definitions::wave_label(now, tz);
    let wave_id = match lifecycle::open(
        conn,
        mailer,
        OPEN_SURVEY,
        &label,
        opens_at,
        closes_at,
        Origin::Manual,
    )? {
        Opened::New { wave_id, .. } | Opened::Existing { wave_id } => wave_id,
    };
    let wave: crate::waves::Wave = crate::with_conn!(*conn, c => waves::table
        .find(wave_id)
        .select(crate::waves::Wave::as_select())
        .first(c))?;
    let invited: Vec<(i64, i64, i64)> = crate::with_conn!(*conn, c => invitations::table
        .filter(invitations::wave_id.eq(wave_id))
        .order(invitations::id)
        .select((invitations::id, invitations::employee_id, invitations::department_id))
        .load(c))?;
    let by_id: HashMap<i64, &DemoEmployee> = people.iter().map(|p| (p.id, p)).collect();
    let anonymous = definition.anonymity.value == Anonymity::Anonymous;
    let years = years_since(first, now);
    let mut answered = 0;
    for (id, employee_id, department_id) in &invited {
        let Some(who) = by_id.get(employee_id) else {
            continue;
        };
        // Two days in: a bit more than half of those who will answer have.
        if !rng.random_bool(response_rate(OPEN_SURVEY, who, 0.0) * 0.6) {
            continue;
        }
        let invitation = Invitation {
            id: *id,
            employee_id: *employee_id,
            department_id: *department_id,
            responded_on: None,
            name: String::new(),
            attributes: submit::attributes_of(conn, *employee_id)?,
            wave: wave.clone(),
        };
        let respondent = answers::Respondent {
            offset: who.offset,
            years,
        };
        let values = answers::answers(&definition, &respondent, rng);
        let at = (now - Duration::minutes(rng.random_range(1..2 * 24 * 60))).naive_utc();
        if submit::submit(conn, &invitation, anonymous, values, at)? == submit::Outcome::Stored {
            answered += 1;
        }
    }
    inbox::seal(conn)?;
    let definition = crate::reports::wave_definition(conn, wave.version_id)?;
    // The open pulse releases figures as it goes: one interim release, as the scheduler
    // of `icsat serve` would have made by now.
    crate::reports::release::make(conn, wave_id, &definition, false)?;
    Ok((format!("{OPEN_SURVEY}/{label}"), invited.len(), answered))
}

/// Builds the demo into `db` (which must be empty). `progress(done, total)` counts waves.
pub fn build(
    db: &Db,
    definitions_dir: &Path,
    mailer: &Mailer,
    options: &DemoOptions,
    now: DateTime<Utc>,
    progress: &dyn Fn(u64, u64),
) -> Result<DemoSummary, DemoError> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut conn = db.get()?;
    check_empty(&mut conn, &db_description(db))?;
    let loaded = crate::surveys::load(&[definitions_dir.to_path_buf()])?;
    crate::surveys::sync(&mut conn, &loaded)?;
    if !loaded.iter().any(|l| l.slug() == OPEN_SURVEY) {
        return Err(DemoError::MissingSurvey(OPEN_SURVEY.to_string()));
    }
    drop(conn);
    let people = import_roster(db, options, &mut rng)?;
    let mut conn = db.get()?;
    crate::users::add(
        &mut conn,
        company::ADMIN_EMAIL,
        crate::users::Role::Admin,
        None,
    )?;
    let employees = load_employees(&mut conn, &people, &mut rng)?;

    let mut surveys: Vec<(String, Definition)> = Vec::new();
    let mut ids: HashMap<String, (i64, i64)> = HashMap::new();
    let mut slugs: Vec<String> = loaded.iter().map(|l| l.slug().to_string()).collect();
    slugs.sort();
    for slug in slugs {
        let (version_id, definition) = crate::surveys::current(&mut conn, &slug)?;
        let survey_id = crate::waves::survey_id(&mut conn, &slug)?
            .ok_or_else(|| DemoError::MissingSurvey(slug.clone()))?;
        ids.insert(slug.clone(), (version_id, survey_id));
        surveys.push((slug, definition));
    }
    let planned = plan_waves(&surveys, now);
    let first = planned.first().map_or(now, |w| w.opens_at);
    let total = planned.len() as u64 + 1;
    let mut asked: HashMap<String, HashMap<i64, u32>> = HashMap::new();
    let (mut invitation_total, mut response_total) = (0, 0);
    for (done, wave) in planned.iter().enumerate() {
        let Some((_, definition)) = surveys.iter().find(|(s, _)| *s == wave.slug) else {
            continue;
        };
        let (version_id, survey_id) = ids[&wave.slug];
        let (invited, answered) = store_wave(
            &mut conn,
            wave,
            version_id,
            survey_id,
            definition,
            &employees,
            asked.entry(wave.slug.clone()).or_default(),
            first,
            &mut rng,
        )?;
        invitation_total += invited;
        response_total += answered;
        progress(done as u64 + 1, total);
    }
    let (open_wave, invited, answered) =
        open_current_wave(&mut conn, mailer, &employees, first, now, &mut rng)?;
    invitation_total += invited;
    response_total += answered;
    progress(total, total);
    // The loop closed on the annual survey: its actions, and its latest wave published.
    let mut annual: Vec<(DateTime<Utc>, String, DateTime<Utc>)> = planned
        .iter()
        .filter(|w| w.slug == loop_closing::SURVEY)
        .map(|w| (w.opens_at, w.label.clone(), w.closes_at))
        .collect();
    annual.sort();
    let annual: Vec<(String, DateTime<Utc>)> = annual.into_iter().map(|(_, l, c)| (l, c)).collect();
    let (actions, heard_link) = match surveys.iter().find(|(s, _)| s == loop_closing::SURVEY) {
        Some((_, definition)) => loop_closing::close_the_loop(
            &mut conn,
            &people,
            definition,
            &annual,
            &mailer.base_url,
            now,
        )?,
        None => (0, None),
    };
    let head_email = company::head_of(&people, company::HEAD_DEPARTMENT)
        .unwrap_or_default()
        .to_string();
    Ok(DemoSummary {
        employees: employees.len(),
        departments: company::DEPARTMENTS.len(),
        waves: planned.len() + 1,
        invitations: invitation_total,
        responses: response_total,
        open_wave,
        admin_email: company::ADMIN_EMAIL.to_string(),
        head_email,
        head_department: company::HEAD_DEPARTMENT.to_string(),
        actions,
        heard_link,
    })
}

fn db_description(db: &Db) -> String {
    match db.backend() {
        crate::db::Backend::Sqlite => "(SQLite)".to_string(),
        crate::db::Backend::Postgres => "(PostgreSQL)".to_string(),
    }
}

/// Prints how to sign in as the demo's HR admin and department head.
/// One-time sign-in links (15 minutes, single use) for the demo's HR admin and head;
/// where one cannot be made, the address to ask for a link at `/login` instead.
pub fn sign_in_links(conn: &mut Conn, base_url: &str, summary: &DemoSummary) -> String {
    let mut link = |email: &str| {
        crate::auth::sign_in::issue_link(conn, base_url, email)
            .unwrap_or_else(|_| format!("{base_url}/login (as {email})"))
    };
    let admin = link(&summary.admin_email);
    let head = link(&summary.head_email);
    let mut text = format!(
        "sign in (each link works once, for 15 minutes; for a new one, ask at {base_url}/login \
         and open the mail in the outbox folder)\n  HR admin ({}):\n    {admin}\n  \
         head of {} ({}):\n    {head}\n",
        summary.admin_email, summary.head_department, summary.head_email
    );
    if let Some(heard) = &summary.heard_link {
        text.push_str(&format!(
            "what employees see of the last annual survey, with {} actions (an employee of \
             Manufacturing South; no sign-in):\n    {heard}\n",
            summary.actions
        ));
    }
    text
}
