//! Benchmark: publishing a wave's results to its employees ("What we heard", issue #16):
//! "the published results page ≥ 2,000 pages/s on SQLite at 100,000 respondents per wave
//! (it reads a release), publishing with `--notify` queues 100,000 emails in < 10 s".
//!
//!     cargo build --release --bin icsat --example heard_bench
//!     target/release/examples/heard_bench                      # SQLite, 100000 respondents
//!     target/release/examples/heard_bench 100000 postgres://postgres@127.0.0.1:5432/test
//!
//! (`target` is `$CARGO_TARGET_DIR` when set; or `cargo run --release --example heard_bench
//! [-- RESPONDENTS [DATABASE_URL]]` after `cargo build --release --bin icsat`: the example
//! starts the `icsat` next to its own folder.) Without a URL it uses a SQLite file in a
//! temporary folder; a PostgreSQL URL gets a schema of its own, dropped at the end. The
//! load generator is `wrk` (Debian's `apt-get install -y wrk`) when it is on the PATH,
//! else threads of ureq agents; `HEARD_BENCH_CLIENT=ureq` picks the latter anyway.
//!
//! Setup (not timed): the organisation, survey and answers of `report_bench` and
//! `dashboard_bench` (`bench_org`: 60 departments, 30 numeric questions over six
//! services; the roster import of the departments brings one person per team, never
//! invited), one wave of RESPONDENTS respondents (default 100000), and as many active
//! employees, each invited to the wave (rows in `employees` and `invitations`, inserted
//! in chunks in one transaction) and marked as having answered in their department. The
//! wave is then closed as `wave close` finishes it (`waves::lifecycle::finish_closing`:
//! its final release, its responses generalised and its participation counted, its
//! classes), and HR adds twelve actions (one per service, six for departments) that the
//! page lists beside the results.
//!
//! Timed, in process, on the pool's ordinary connections: `publishing::publish`, then
//! `publishing::notify` (one "What we heard" mail per invited employee, each with a new
//! link, rendered and queued in the `mail_outbox` table; nothing is sent), as
//! `POST .../publish` with `notify=1` runs them. Printed: the seconds of each and of both,
//! and the rows queued (counted in `mail_outbox`, kind 'heard', and in `result_links`).
//! The queued mails are then marked sent (as the sender would), so the server started
//! next has no mail to send while it is measured.
//!
//! Then 1,000 links with known tokens (`publishing::new_link`; notify stores only their
//! hashes) for the departments of 1,000 employees spread evenly over the roster, the real
//! release `icsat serve` on the same database, and `GET /heard/{token}` over 8 kept-alive
//! connections (2 wrk threads, each going round its own half of the links): 3 s of
//! warm-up (every department's page is rendered once and kept), then 10 s measured.
//! Printed: pages/s, p50/p99/max latency, the size of a page, and the check that every
//! response was 200 and contained "What we heard" (the example fails otherwise). Load
//! averages (1, 5, 15 min) are printed before each timed phase: the machine may be shared.
//!
//! Last, where a request's time goes before its kept page is found: the lookups
//! `web::heard::employee` makes (the link, the wave, the latest release for its number,
//! the actions' stamp), each timed alone in process before the server starts, beside the
//! release's number read alone (`max(seq)`) and the size of the release's stored content.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use icsat::actions::{Actor, NewAction, Status};
use icsat::auth::rights::Rights;
use icsat::db::schema::{employees, invitations, mail_outbox, result_links, waves};
use icsat::db::{Conn, DatabaseUrl, Db, DbError};
use icsat::definitions::Definition;
use icsat::reports::org::Org;
use icsat::users::Role;
use icsat::waves::Wave;

mod bench_org;

use bench_org::*;

const SLUG: &str = "heard-bench";
const WAVE: &str = "2026-03";
const ADMIN: &str = "hr@example.com";
/// Rows per INSERT of employees and invitations.
const ROWS: usize = 1_000;
/// Links with known tokens the page is requested with.
const LINKS: usize = 1_000;
const THREADS: usize = 2;
const CONNECTIONS: usize = 8;
const WARM_UP: Duration = Duration::from_secs(3);
const MEASURED: Duration = Duration::from_secs(10);
/// What every page must contain.
const MARK: &str = "What we heard";

/// Stores the wave, invites its employees and closes it; returns the wave and its
/// definition.
fn generate(
    conn: &mut Conn,
    definitions: &Path,
    teams: &[String],
    respondents: usize,
) -> Result<(Wave, Definition), BoxError> {
    let (toml, questions) = survey(SLUG);
    std::fs::create_dir_all(definitions)?;
    std::fs::write(definitions.join(format!("{SLUG}.toml")), &toml)?;
    let loaded = icsat::surveys::load(&[definitions.to_path_buf()])?;
    icsat::surveys::sync(conn, &loaded)?;
    let (version_id, definition) = icsat::surveys::current(conn, SLUG)?;
    let survey_id = icsat::waves::survey_id(conn, SLUG)?.ok_or("survey not stored")?;
    let org = Org::load(conn)?;
    let sizes = department_sizes(&org, teams, respondents);
    bulk_load_settings(conn, true)?;
    let started = Instant::now();
    let mut rng = Rng(0x4ea7_d001 ^ respondents as u64);
    // Wave index 3: opened on 1 March 2026 (`store_wave` dates wave i in 2023 + i).
    let wave_id = store_wave(
        conn, survey_id, version_id, WAVE, 3, &questions, &sizes, &mut rng,
    )?;
    eprintln!(
        "  {respondents} responses stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let invited = invite(conn, wave_id, &sizes)?;
    eprintln!(
        "  {invited} employees and invitations stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    bulk_load_settings(conn, false)?;
    let closed_at = NaiveDate::from_ymd_opt(2026, 3, 15)
        .and_then(|d| d.and_hms_opt(18, 0, 0))
        .ok_or("bad date")?;
    icsat::with_conn!(*conn, c => diesel::update(waves::table.find(wave_id))
        .set(waves::closed_at.eq(Some(closed_at)))
        .execute(c))?;
    let started = Instant::now();
    icsat::waves::lifecycle::finish_closing(conn, wave_id, WAVE, &definition);
    let released = icsat::reports::release::latest(conn, wave_id)?;
    if !released.is_some_and(|r| r.info.is_final) {
        return Err("closing the wave made no final release".into());
    }
    let participation = icsat::waves::status::answered_by_department(conn, wave_id)?;
    let counted: u64 = participation.values().map(|(invited, _)| invited).sum();
    if counted != invited as u64 {
        return Err(format!("participation counts {counted} invited, not {invited}").into());
    }
    eprintln!(
        "  closed (final release, generalised, participation, classes) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    add_actions(conn, &definition)?;
    let wave = icsat::waves::find(conn, survey_id, WAVE)?.ok_or("the wave is missing")?;
    Ok((wave, definition))
}

/// One active employee per respondent, in the respondent's department, each invited to
/// the wave and marked as having answered; returns how many.
fn invite(conn: &mut Conn, wave_id: i64, sizes: &[(i64, usize)]) -> Result<usize, BoxError> {
    let now = icsat::db::now();
    let opened = NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .ok_or("bad date")?;
    let answered = NaiveDate::from_ymd_opt(2026, 3, 4).ok_or("bad date")?;
    let departments: Vec<i64> = sizes
        .iter()
        .flat_map(|&(department, n)| std::iter::repeat_n(department, n))
        .collect();
    let invited = conn.transaction(|conn| -> Result<usize, DbError> {
        for (c, chunk) in departments.chunks(ROWS).enumerate() {
            let rows: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(i, department)| {
                    let i = c * ROWS + i;
                    (
                        employees::email.eq(format!("employee{i}@example.com")),
                        employees::name.eq(format!("Employee {i}")),
                        employees::department_id.eq(*department),
                        employees::attributes.eq("{}"),
                        employees::active.eq(true),
                        employees::created_at.eq(now),
                        employees::updated_at.eq(now),
                    )
                })
                .collect();
            icsat::with_conn!(*conn, c => diesel::insert_into(employees::table)
                .values(&rows)
                .execute(c))?;
        }
        let people: Vec<(i64, i64)> = icsat::with_conn!(*conn, c => employees::table
            .filter(employees::email.like("employee%@example.com"))
            .select((employees::id, employees::department_id))
            .order(employees::id)
            .load(c))?;
        for chunk in people.chunks(ROWS) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&(employee, department)| {
                    (
                        invitations::wave_id.eq(wave_id),
                        invitations::employee_id.eq(employee),
                        invitations::department_id.eq(department),
                        invitations::token_hash.eq(icsat::waves::tokens::new_token().1),
                        invitations::created_at.eq(opened),
                        invitations::sent_at.eq(Some(opened)),
                        invitations::responded_on.eq(Some(answered)),
                    )
                })
                .collect();
            icsat::with_conn!(*conn, c => diesel::insert_into(invitations::table)
                .values(&rows)
                .execute(c))?;
        }
        Ok(people.len())
    })?;
    if invited != departments.len() {
        return Err(format!("{invited} employees stored, not {}", departments.len()).into());
    }
    Ok(invited)
}

/// Twelve actions of HR on the wave: one per service, answering its first question, and
/// six departments' own, answering a "working here" question.
fn add_actions(conn: &mut Conn, definition: &Definition) -> Result<(), BoxError> {
    icsat::users::add(conn, ADMIN, Role::Admin, None)?;
    let actor = Actor {
        email: ADMIN.to_string(),
        rights: Rights::Admin,
    };
    let now = icsat::db::now();
    let statuses = [Status::Planned, Status::InProgress, Status::Done];
    let mut made = Vec::new();
    for (s, service) in SERVICES.iter().enumerate() {
        made.push(NewAction {
            survey: SLUG.to_string(),
            wave: Some(WAVE.to_string()),
            title: format!("{service}: answer every request within two working days"),
            description: format!("{service} publishes its response times every month."),
            service: Some(service.to_string()),
            questions: vec![format!("{}-q0", service.to_lowercase())],
            due_on: NaiveDate::from_ymd_opt(2027, 1 + s as u32, 15),
            status: Some(statuses[s % 3]),
            ..Default::default()
        });
    }
    for (d, department) in [
        "Division 1",
        "Division 2",
        "Division 3",
        "Division 4",
        "Team 1-0",
        "Team 2-1",
    ]
    .iter()
    .enumerate()
    {
        made.push(NewAction {
            survey: SLUG.to_string(),
            wave: Some(WAVE.to_string()),
            title: format!("{department}: a monthly hour to plan the work together"),
            department: Some(department.to_string()),
            questions: vec![format!("you-q{}", 1 + d % 5)],
            status: Some(statuses[d % 3]),
            ..Default::default()
        });
    }
    for new in &made {
        icsat::actions::add(conn, definition, &actor, new, now)?;
    }
    Ok(())
}

/// What publishing with notification did.
struct Published {
    publish: Duration,
    notify: Duration,
    notified: usize,
    outbox_rows: i64,
    link_rows: i64,
}

/// Publishes the wave and notifies its employees, timed; counts what was queued.
fn publish(conn: &mut Conn, wave: &Wave, definition: &Definition) -> Result<Published, BoxError> {
    let mailer = icsat::waves::lifecycle::Mailer {
        templates: icsat::mail::Templates::new()?,
        base_url: "https://surveys.example.com".into(),
        from: "Surveys <surveys@example.com>".into(),
        help_contact: "people@example.com".into(),
    };
    let now = icsat::db::now();
    let started = Instant::now();
    icsat::publishing::publish(
        conn,
        wave,
        ADMIN,
        icsat::publishing::DEFAULT_SHARING_DAYS,
        now,
    )?;
    let publish = started.elapsed();
    let started = Instant::now();
    let notified = icsat::publishing::notify(conn, &mailer, wave, definition, now)?;
    let notify = started.elapsed();
    let outbox_rows: i64 = icsat::with_conn!(*conn, c => mail_outbox::table
        .filter(mail_outbox::kind.eq("heard"))
        .filter(mail_outbox::wave_id.eq(wave.id))
        .filter(mail_outbox::status.eq("queued"))
        .count()
        .get_result(c))?;
    let link_rows: i64 = icsat::with_conn!(*conn, c => result_links::table
        .filter(result_links::wave_id.eq(wave.id))
        .count()
        .get_result(c))?;
    // As the sender leaves them: the server measured next has nothing to send.
    icsat::with_conn!(*conn, c => diesel::update(mail_outbox::table)
        .set((
            mail_outbox::status.eq("sent"),
            mail_outbox::message.eq(""),
            mail_outbox::sent_at.eq(Some(icsat::db::now())),
            mail_outbox::attempts.eq(1),
        ))
        .execute(c))?;
    Ok(Published {
        publish,
        notify,
        notified,
        outbox_rows,
        link_rows,
    })
}

/// Known links to the departments of `LINKS` employees spread evenly over the roster;
/// returns their paths and how many departments they show.
fn known_links(conn: &mut Conn, wave: &Wave) -> Result<(Vec<String>, usize), BoxError> {
    let departments: Vec<i64> = icsat::with_conn!(*conn, c => invitations::table
        .filter(invitations::wave_id.eq(wave.id))
        .select(invitations::department_id)
        .order(invitations::id)
        .load(c))?;
    if departments.is_empty() {
        return Err("the wave has no invitations".into());
    }
    let now = icsat::db::now();
    let mut paths = Vec::with_capacity(LINKS);
    let mut shown = std::collections::BTreeSet::new();
    for i in 0..LINKS {
        let department = departments[i * departments.len() / LINKS];
        shown.insert(department);
        let token = icsat::publishing::new_link(conn, wave.id, department, now)?;
        paths.push(format!("/heard/{token}"));
    }
    Ok((paths, shown.len()))
}

/// Labelled mean times of the steps.
type Steps = Vec<(&'static str, Duration)>;

/// Rounds of each step in [`steps`].
const STEP_ROUNDS: usize = 200;

/// The lookups `GET /heard/{token}` makes before it finds its kept page
/// (`web::heard::employee`), each timed alone in process on one connection, mean over
/// [`STEP_ROUNDS`] of the known links; and, for comparison, the one figure the handler
/// takes from the release (its number), read alone. Returns the labelled means and the
/// size of the release's stored content.
fn steps(conn: &mut Conn, wave: &Wave, paths: &[String]) -> Result<(Steps, usize), BoxError> {
    use icsat::db::schema::{actions, wave_releases};
    let tokens: Vec<&str> = paths
        .iter()
        .filter_map(|p| p.strip_prefix("/heard/"))
        .collect();
    let now = icsat::db::now();
    let mut timed = |label: &'static str,
                     step: &mut dyn FnMut(&mut Conn, &str) -> Result<(), BoxError>|
     -> Result<(&'static str, Duration), BoxError> {
        let started = Instant::now();
        for round in 0..STEP_ROUNDS {
            step(conn, tokens[round % tokens.len()])?;
        }
        Ok((label, started.elapsed() / STEP_ROUNDS as u32))
    };
    let mut out = vec![
        timed(
            "publishing::link (token -> wave, department)",
            &mut |c, t| {
                icsat::publishing::link(c, t, now)?.ok_or("a known link was not found")?;
                Ok(())
            },
        )?,
        timed("waves::by_id", &mut |c, _| {
            icsat::waves::by_id(c, wave.id)?.ok_or("no wave")?;
            Ok(())
        })?,
        timed(
            "release::latest (read, parse, drop; for its seq)",
            &mut |c, _| {
                icsat::reports::release::latest(c, wave.id)?.ok_or("no release")?;
                Ok(())
            },
        )?,
        timed("the actions' stamp (count, latest change)", &mut |c, _| {
            let _: (i64, Option<chrono::NaiveDateTime>) = icsat::with_conn!(*c, c => actions::table
                .filter(actions::survey.eq(SLUG))
                .select((diesel::dsl::count_star(), diesel::dsl::max(actions::updated_at)))
                .first(c))?;
            Ok(())
        })?,
    ];
    out.push(timed(
        "for comparison: the latest seq alone (max(seq))",
        &mut |c, _| {
            let _: Option<i32> = icsat::with_conn!(*c, c => wave_releases::table
                .filter(wave_releases::wave_id.eq(wave.id))
                .select(diesel::dsl::max(wave_releases::seq))
                .first(c))?;
            Ok(())
        },
    )?);
    let bytes: Vec<String> = icsat::with_conn!(*conn, c => wave_releases::table
        .filter(wave_releases::wave_id.eq(wave.id))
        .select(wave_releases::content)
        .load(c))?;
    Ok((out, bytes.iter().map(String::len).max().unwrap_or(0)))
}

/// A PostgreSQL schema of the benchmark's own, dropped when this goes out of scope.
struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    fn create(base: &str) -> Result<(PgSchema, String), BoxError> {
        use diesel::connection::SimpleConnection;
        let name = format!("heard_bench_{}", std::process::id());
        let mut admin = diesel::PgConnection::establish(base)?;
        admin.batch_execute(&format!("CREATE SCHEMA {name}"))?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        Ok((
            PgSchema {
                base: base.to_string(),
                name,
            },
            url,
        ))
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        match diesel::PgConnection::establish(&self.base) {
            Ok(mut admin) => {
                if let Err(e) =
                    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                {
                    eprintln!("could not drop the schema {}: {e}", self.name);
                }
            }
            Err(e) => eprintln!("could not drop the schema {}: {e}", self.name),
        }
    }
}

/// The running `icsat serve`, stopped when this goes out of scope.
struct Server {
    child: Child,
    base_url: String,
    binary: PathBuf,
}

impl Server {
    fn start(url: &str, definitions: &Path, outbox: &Path) -> Result<Server, BoxError> {
        // target/release/examples/heard_bench -> target/release/icsat
        let exe = std::env::current_exe()?;
        let binary: PathBuf = exe
            .parent()
            .and_then(Path::parent)
            .ok_or("no folder above the example")?
            .join(format!("icsat{}", std::env::consts::EXE_SUFFIX));
        if !binary.is_file() {
            return Err(format!(
                "{} is missing: run `cargo build --release --bin icsat` first",
                binary.display()
            )
            .into());
        }
        let mut child = Command::new(&binary)
            .arg("serve")
            .env("ICSAT_DATABASE_URL", url)
            .env("ICSAT_DEFINITIONS", definitions)
            .env("ICSAT_OUTBOX_DIR", outbox)
            .env(
                "ICSAT_SECRET",
                "heard-bench-secret-0123456789abcdef0123456789abcdef",
            )
            .env("ICSAT_LOG", "warn")
            .env("ICSAT_BIND", "127.0.0.1:0")
            .env_remove("ICSAT_BASE_URL")
            .env_remove("ICSAT_SMTP_URL")
            .env_remove("ICSAT_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(at) = line.find("http://") {
                        break line[at..].trim().to_string();
                    }
                }
                _ => {
                    let status = child.wait()?;
                    return Err(format!("icsat serve stopped before listening: {status}").into());
                }
            }
        };
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            base_url,
            binary,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One run of requests: what came back and how fast.
#[derive(Default)]
struct Run {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Responses that were not 200 or lacked [`MARK`], and connection errors.
    bad: u64,
    statuses: Vec<(u16, u64)>,
    page_bytes: usize,
}

impl Run {
    fn pages_per_second(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

/// The wrk script: thread k of T requests paths k, k+T, ... of BENCH_PATHS in turn;
/// counts statuses and pages without the mark, and prints them with the latencies.
const WRK_SCRIPT: &str = r#"
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(os.getenv("BENCH_THREADS"))
  paths = {}
  local n = 0
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if n % count == id then
      table.insert(paths, line)
    end
    n = n + 1
  end
  mark = os.getenv("BENCH_MARK")
  at = 0
  statuses = {}
  unmarked = 0
  bytes = 0
end

function request()
  at = at % #paths + 1
  return wrk.format("GET", paths[at])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 or not string.find(body, mark, 1, true) then
    unmarked = unmarked + 1
  end
  bytes = #body
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("duration_us %d\n", summary.duration))
  io.write(string.format("errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("p50_us %d\n", latency:percentile(50)))
  io.write(string.format("p99_us %d\n", latency:percentile(99)))
  io.write(string.format("max_us %d\n", latency.max))
  local total = {}
  local unmarked_total = 0
  local page = 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      total[status] = (total[status] or 0) + n
    end
    unmarked_total = unmarked_total + (thread:get("unmarked") or 0)
    page = math.max(page, thread:get("bytes") or 0)
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
  io.write(string.format("unmarked %d\n", unmarked_total))
  io.write(string.format("bytes %d\n", page))
end
"#;

fn wrk(dir: &Path, base_url: &str, paths: &[String], length: Duration) -> Result<Run, BoxError> {
    let script = dir.join("heard_bench.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let list = dir.join("heard_paths.txt");
    let mut text = String::new();
    for path in paths {
        writeln!(text, "{path}")?;
    }
    std::fs::write(&list, text)?;
    let output = Command::new("wrk")
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{}s", length.as_secs()))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script)
        .arg(format!("{base_url}/"))
        .env("BENCH_PATHS", &list)
        .env("BENCH_THREADS", THREADS.to_string())
        .env("BENCH_MARK", MARK)
        .output()?;
    let out = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed ({}): {out}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let mut run = Run::default();
    let mut found = 0;
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| -> Result<u64, BoxError> {
            Ok(words.get(i).ok_or("short wrk line")?.parse()?)
        };
        match words.first().copied() {
            Some("requests") => (run.requests, found) = (number(1)?, found + 1),
            Some("duration_us") => run.seconds = number(1)? as f64 / 1e6,
            Some("errors") => run.bad += number(1)?,
            Some("unmarked") => run.bad += number(1)?,
            Some("p50_us") => run.p50_ms = number(1)? as f64 / 1000.0,
            Some("p99_us") => run.p99_ms = number(1)? as f64 / 1000.0,
            Some("max_us") => run.max_ms = number(1)? as f64 / 1000.0,
            Some("bytes") => run.page_bytes = number(1)? as usize,
            Some("status") => run.statuses.push((number(1)? as u16, number(2)?)),
            _ => {}
        }
    }
    if found == 0 {
        return Err(format!("no figures in wrk's output: {out}").into());
    }
    Ok(run)
}

/// What one thread of [`ureq_threads`] saw.
struct Share {
    times: Vec<Duration>,
    statuses: Vec<u16>,
    bad: u64,
    bytes: usize,
}

/// The same with `CONNECTIONS` threads, each with its own ureq agent (one kept-alive
/// connection) going round its own share of the paths.
fn ureq_threads(base_url: &str, paths: &[String], length: Duration) -> Result<Run, BoxError> {
    let started = Instant::now();
    let until = started + length;
    let results: Vec<Result<Share, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|k| {
                let mine: Vec<String> = paths
                    .iter()
                    .skip(k)
                    .step_by(CONNECTIONS)
                    .map(|p| format!("{base_url}{p}"))
                    .collect();
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .max_redirects(0)
                        .build()
                        .into();
                    let (mut times, mut statuses, mut bad, mut bytes) =
                        (Vec::new(), Vec::new(), 0u64, 0usize);
                    for url in mine.iter().cycle() {
                        if Instant::now() >= until {
                            break;
                        }
                        let sent = Instant::now();
                        let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
                        let status = response.status().as_u16();
                        let body = response
                            .body_mut()
                            .with_config()
                            .limit(16 << 20)
                            .read_to_string()
                            .map_err(|e| e.to_string())?;
                        times.push(sent.elapsed());
                        if status != 200 || !body.contains(MARK) {
                            bad += 1;
                        }
                        statuses.push(status);
                        bytes = body.len();
                    }
                    Ok(Share {
                        times,
                        statuses,
                        bad,
                        bytes,
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut run = Run {
        seconds,
        ..Default::default()
    };
    let mut times = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for result in results {
        let share = result?;
        times.extend(share.times);
        for status in share.statuses {
            *statuses.entry(status).or_insert(0u64) += 1;
        }
        run.bad += share.bad;
        run.page_bytes = run.page_bytes.max(share.bytes);
    }
    if times.is_empty() {
        return Err("no request answered".into());
    }
    times.sort();
    let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    run.requests = times.len() as u64;
    run.p50_ms = at(0.5);
    run.p99_ms = at(0.99);
    run.max_ms = at(1.0);
    run.statuses = statuses.into_iter().collect();
    Ok(run)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn have_wrk() -> bool {
    std::env::var("HEARD_BENCH_CLIENT").map_or(true, |c| c != "ureq")
        && Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let respondents: usize = match args.next() {
        Some(n) => n.trim().replace('_', "").parse()?,
        None => 100_000,
    };
    if respondents == 0 {
        return Err("RESPONDENTS must be a positive number, e.g. 100000".into());
    }
    let dir = tempfile::tempdir()?;
    let given = args.next();
    let (_schema, url) = match &given {
        Some(url) if url.starts_with("postgres") => {
            let (schema, url) = PgSchema::create(url)?;
            (Some(schema), url)
        }
        Some(url) => (None, url.clone()),
        None => (
            None,
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        ),
    };
    let parsed = DatabaseUrl::parse(&url)?;
    let kind = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let definitions = dir.path().join("definitions");
    let db = Db::open(&parsed)?;
    let (departments, teams) = department_tree();
    let departments_path = dir.path().join("departments.csv");
    std::fs::write(&departments_path, departments)?;
    let roster_path = dir.path().join("roster.csv");
    // The import wants people: one per team (not invited; the wave's employees follow).
    let mut roster = String::from("email,name,department\n");
    for (i, team) in teams.iter().enumerate() {
        writeln!(roster, "person{i}@example.com,Person {i},{team}")?;
    }
    std::fs::write(&roster_path, roster)?;
    icsat::roster::import(&db, &roster_path, Some(&departments_path), false)?;
    let mut conn = db.get()?;
    eprintln!("setting up a wave of {respondents} respondents on {kind}");
    let started = Instant::now();
    let (wave, definition) = generate(&mut conn, &definitions, &teams, respondents)?;
    eprintln!("set up in {:.1} s", started.elapsed().as_secs_f64());

    let load_notify = load_average();
    eprintln!("publishing with notification (load average {load_notify})");
    let published = publish(&mut conn, &wave, &definition)?;
    let (paths, shown) = known_links(&mut conn, &wave)?;
    let (steps, release_bytes) = steps(&mut conn, &wave, &paths)?;
    // The server starts as a service would after a while: on PostgreSQL with planner
    // statistics of the tables just filled (autovacuum's), on SQLite with its WAL
    // checkpointed into the file.
    {
        use diesel::connection::SimpleConnection;
        match &mut conn {
            Conn::Postgres(c) => c.batch_execute(
                "ANALYZE departments; ANALYZE employees; ANALYZE invitations; ANALYZE waves; \
                 ANALYZE wave_releases; ANALYZE publications; ANALYZE result_links; \
                 ANALYZE mail_outbox; ANALYZE actions; ANALYZE wave_participation;",
            )?,
            Conn::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?,
        }
    }
    drop(conn);
    drop(db);

    let server = Server::start(&url, &definitions, &dir.path().join("outbox"))?;
    let use_wrk = have_wrk();
    let client = if use_wrk {
        format!("wrk, {THREADS} threads, {CONNECTIONS} connections")
    } else {
        format!("{CONNECTIONS} threads with a ureq agent each")
    };
    let measure = |length: Duration| -> Result<Run, BoxError> {
        if use_wrk {
            wrk(dir.path(), &server.base_url, &paths, length)
        } else {
            ureq_threads(&server.base_url, &paths, length)
        }
    };
    let load_warm_up = load_average();
    eprintln!(
        "warming up for {} s (load average {load_warm_up})",
        WARM_UP.as_secs()
    );
    let warm_up = measure(WARM_UP)?;
    let load_before = load_average();
    eprintln!(
        "measuring for {} s (load average {load_before})",
        MEASURED.as_secs()
    );
    let run = measure(MEASURED)?;
    let load_after = load_average();
    let binary = server.binary.display().to_string();
    drop(server);

    let target_notify = 10.0;
    let target_pages = 2_000.0;
    let both = (published.publish + published.notify).as_secs_f64();
    println!();
    println!(
        "What we heard benchmark: {kind}, one wave of {respondents} respondents and as many \
         invited employees, 60 departments, 30 questions, 12 actions"
    );
    println!(
        "publish + notify (in process; load average before {load_notify}): publish {:.3} s, \
         notify {:.2} s, together {both:.2} s (target < {target_notify} s: {})",
        published.publish.as_secs_f64(),
        published.notify.as_secs_f64(),
        if both < target_notify {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  notify returned {}; mail_outbox rows kind 'heard' queued: {}; result_links of the \
         wave: {}{}",
        published.notified,
        published.outbox_rows,
        published.link_rows,
        if published.notified == respondents
            && published.outbox_rows == respondents as i64
            && published.link_rows == respondents as i64
        {
            " (all as expected)"
        } else {
            " (MISMATCH: expected one per respondent)"
        }
    );
    println!(
        "GET /heard/{{token}}: `{binary} serve` over HTTP/1.1 keep-alive; {client}; {} links \
         over {shown} departments",
        paths.len()
    );
    println!(
        "  load average (1, 5, 15 min): {load_warm_up} before warm-up, {load_before} before \
         the measured run, {load_after} after"
    );
    for (label, r) in [("warm-up", &warm_up), ("measured", &run)] {
        println!(
            "  {label:<8} {:>4.1} s: {:>7} pages, {:>8.0} pages/s, p50 {:.2} ms, p99 {:.2} ms, \
             max {:.1} ms; statuses {:?}; {} bad (not 200, no \"{MARK}\", or errors)",
            r.seconds,
            r.requests,
            r.pages_per_second(),
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.statuses,
            r.bad
        );
    }
    println!("  page size: {} bytes", run.page_bytes);
    println!(
        "  a request's lookups before its kept page, each alone in process on one \
         connection (mean of {STEP_ROUNDS}; the release's stored content is {release_bytes} bytes):"
    );
    for (label, mean) in &steps {
        println!("    {:>8.3} ms  {label}", ms(*mean));
    }
    let all_good = run.bad == 0
        && warm_up.bad == 0
        && run.statuses.iter().all(|(s, _)| *s == 200)
        && run.requests > 0;
    println!(
        "  every response 200 with \"{MARK}\": {}",
        if all_good { "yes" } else { "NO" }
    );
    println!(
        "  target ≥ {target_pages} pages/s: {}",
        if run.pages_per_second() >= target_pages {
            "met"
        } else {
            "MISSED"
        }
    );
    if !all_good {
        return Err("some pages were not served right".into());
    }
    Ok(())
}
