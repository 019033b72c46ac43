//! Benchmark: the pages HR and department heads open, served by the real release
//! `icsat serve` over HTTP, for a wave of 100,000 responses (issue #6: "dashboard and
//! report pages for a wave of 100,000 responses answer in under 200 ms").
//!
//!     cargo build --release && cargo run --release --example dashboard_bench [-- RESPONDENTS [DATABASE_URL]]
//!
//! The organisation, survey and answers are those of `report_bench` (60 departments,
//! 30 numeric questions over six services, 5 waves of `RESPONDENTS` respondents each,
//! default 100000; the generation code is copied from there). Without a URL it uses a
//! SQLite file in a temporary folder; a PostgreSQL URL (for example
//! `postgres://postgres@127.0.0.1:5432/test`) gets a schema of its own, dropped at the end.
//! The environment variable `ICSAT_BENCH_WAVES` sets the number of waves instead of 5;
//! issue #15's 36 waves of 100,000 on each backend (the example finds `icsat` next to
//! its own folder, so build both):
//!
//!     cargo build --release --bin icsat --example dashboard_bench
//!     ICSAT_BENCH_WAVES=36 target/release/examples/dashboard_bench 100000
//!     ICSAT_BENCH_WAVES=36 target/release/examples/dashboard_bench 100000 postgres://postgres@127.0.0.1:5432/test
//!
//! Every wave is counted (its final release, `reports::release::make`) before the server starts, so the
//! pages read stored counts as they do in production.
//!
//! Then it adds an admin and a head (of "Division 1", 11 teams), signs both in over HTTP
//! with one-time links (`GET /login/{token}`, then the form's POST with its CSRF field and
//! the pre-sign-in cookie), and times, with one HTTP connection per account kept open,
//! 30 requests of each page (after 3 warm-up requests): the admin dashboard, the admin
//! wave page (rates, heatmaps, drivers), the admin trend page, the head's `/results` pages,
//! the report JSON and the CSV summary. Printed per route: median, 90th percentile and
//! slowest time in ms, and the size of the (uncompressed) response.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use icsat::db::{Conn, DatabaseUrl, Db};
use icsat::reports::org::Org;
use icsat::users::Role;

mod bench_org;

use bench_org::*;

/// Waves stored, unless `ICSAT_BENCH_WAVES` says otherwise.
const WAVES: usize = 5;
/// Timed requests per route, after warm-up requests.
const RUNS: usize = 30;
const WARM_UP: usize = 3;
const SLUG: &str = "dashboard-bench";
const HEAD_DEPARTMENT: &str = "Division 1";

/// Stores the waves and counts them.
fn generate(
    conn: &mut Conn,
    definitions: &Path,
    teams: &[String],
    respondents: usize,
    waves: usize,
) -> Result<(), BoxError> {
    let (toml, questions) = survey(SLUG);
    std::fs::create_dir_all(definitions)?;
    std::fs::write(definitions.join(format!("{SLUG}.toml")), &toml)?;
    let loaded = icsat::surveys::load(&[definitions.to_path_buf()])?;
    icsat::surveys::sync(conn, &loaded)?;
    let (version_id, definition) = icsat::surveys::current(conn, SLUG)?;
    let survey_id = icsat::waves::survey_id(conn, SLUG)?.ok_or("survey not stored")?;
    let org = Org::load(conn)?;
    let sizes = department_sizes(&org, teams, respondents);
    eprintln!("storing {waves} waves of {respondents} responses");
    bulk_load_settings(conn, true)?;
    let mut rng = Rng(0x1c5a_7001 ^ respondents as u64);
    let mut wave_ids = Vec::new();
    for w in 0..waves {
        let label = wave_label(w);
        let started = Instant::now();
        let id = store_wave(
            conn, survey_id, version_id, &label, w, &questions, &sizes, &mut rng,
        )?;
        eprintln!(
            "  wave {label}: stored in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        wave_ids.push(id);
    }
    bulk_load_settings(conn, false)?;
    for (w, id) in wave_ids.iter().enumerate() {
        let started = Instant::now();
        icsat::reports::release::make(conn, *id, &definition, true)?;
        eprintln!(
            "  wave {}: counted in {:.2} s",
            wave_label(w),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn wave_label(w: usize) -> String {
    format!("{}-03", 2023 + w)
}

/// A PostgreSQL schema of the benchmark's own, dropped when this goes out of scope.
struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    fn create(base: &str) -> Result<(PgSchema, String), BoxError> {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let name = format!("dashboard_bench_{}", std::process::id());
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
        use diesel::Connection;
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
        // target/release/examples/dashboard_bench -> target/release/icsat
        let exe = std::env::current_exe()?;
        let binary: PathBuf = exe
            .parent()
            .and_then(Path::parent)
            .ok_or("no folder above the example")?
            .join(format!("icsat{}", std::env::consts::EXE_SUFFIX));
        if !binary.is_file() {
            return Err(format!(
                "{} is missing: run `cargo build --release` first",
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
                "dashboard-bench-secret-0123456789abcdef0123456789abcdef",
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

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// The value of cookie `name` set by a response.
fn set_cookie(headers: &ureq::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Signs in with a one-time link; returns the `Cookie` header of the session.
fn sign_in(agent: &ureq::Agent, base_url: &str, link: &str) -> Result<String, BoxError> {
    let token = link.rsplit('/').next().ok_or("no token in the link")?;
    let url = format!("{base_url}/login/{token}");
    let mut page = agent.get(&url).call()?;
    if page.status() != 200 {
        return Err(format!("GET /login/{{token}}: status {}", page.status()).into());
    }
    let pre = set_cookie(page.headers(), "icsat_pre").ok_or("no pre-sign-in cookie")?;
    let body = page.body_mut().read_to_string()?;
    let marker = "name=\"csrf\" value=\"";
    let at = body
        .find(marker)
        .ok_or("no csrf field on the sign-in page")?
        + marker.len();
    let csrf = body[at..].split('"').next().ok_or("bad csrf field")?;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", csrf)
        .finish();
    let response = agent
        .post(&url)
        .header("Cookie", &format!("icsat_pre={pre}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(form.as_bytes())?;
    if response.status() != 303 && response.status() != 302 {
        return Err(format!("POST /login/{{token}}: status {}", response.status()).into());
    }
    let session = set_cookie(response.headers(), "icsat_session").ok_or("no session cookie")?;
    Ok(format!("icsat_session={session}"))
}

/// One timed route.
struct Route {
    label: &'static str,
    path: String,
    median: Duration,
    p90: Duration,
    max: Duration,
    bytes: usize,
}

fn measure(
    agent: &ureq::Agent,
    base_url: &str,
    cookie: &str,
    label: &'static str,
    path: String,
) -> Result<Route, BoxError> {
    let url = format!("{base_url}{path}");
    let mut times = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for run in 0..WARM_UP + RUNS {
        let started = Instant::now();
        let mut response = agent.get(&url).header("Cookie", cookie).call()?;
        let status = response.status();
        let body = response.body_mut().read_to_vec()?;
        let elapsed = started.elapsed();
        if status != 200 {
            return Err(format!("{path}: status {status}").into());
        }
        bytes = body.len();
        if run >= WARM_UP {
            times.push(elapsed);
        }
    }
    times.sort();
    Ok(Route {
        label,
        path,
        median: times[RUNS / 2],
        p90: times[(RUNS * 9).div_ceil(10) - 1],
        max: times[RUNS - 1],
        bytes,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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
    let waves: usize = match std::env::var("ICSAT_BENCH_WAVES") {
        Ok(n) => n.trim().parse()?,
        Err(_) => WAVES,
    };
    if waves == 0 {
        return Err("ICSAT_BENCH_WAVES must be a positive number, e.g. 36".into());
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
    let (admin_link, head_link) = {
        let db = Db::open(&parsed)?;
        let (departments, teams) = department_tree();
        let departments_path = dir.path().join("departments.csv");
        std::fs::write(&departments_path, departments)?;
        let mut roster = String::from("email,name,department\n");
        for (i, team) in teams.iter().enumerate() {
            writeln!(roster, "person{i}@example.com,Person {i},{team}")?;
        }
        let roster_path = dir.path().join("roster.csv");
        std::fs::write(&roster_path, roster)?;
        icsat::roster::import(&db, &roster_path, Some(&departments_path), false)?;
        let mut conn = db.get()?;
        let started = Instant::now();
        generate(&mut conn, &definitions, &teams, respondents, waves)?;
        eprintln!(
            "generated and counted in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        icsat::users::add(&mut conn, "hr@example.com", Role::Admin, None)?;
        icsat::users::add(
            &mut conn,
            "head@example.com",
            Role::Head,
            Some(HEAD_DEPARTMENT),
        )?;
        let base = "http://localhost";
        (
            icsat::auth::sign_in::issue_link(&mut conn, base, "hr@example.com")?,
            icsat::auth::sign_in::issue_link(&mut conn, base, "head@example.com")?,
        )
    };

    let server = Server::start(&url, &definitions, &dir.path().join("outbox"))?;
    let base_url = server.base_url.clone();
    // One agent (and so one kept-alive connection) per account.
    let admin_agent = agent();
    let head_agent = agent();
    let admin = sign_in(&admin_agent, &base_url, &admin_link)?;
    let head = sign_in(&head_agent, &base_url, &head_link)?;

    let latest = wave_label(waves - 1);
    let load_before = load_average();
    let mut routes = Vec::new();
    let mut run =
        |agent: &ureq::Agent, cookie: &str, label, path: String| -> Result<(), BoxError> {
            routes.push(measure(agent, &base_url, cookie, label, path)?);
            Ok(())
        };
    run(&admin_agent, &admin, "admin dashboard", "/admin".into())?;
    run(
        &admin_agent,
        &admin,
        "admin wave page (heatmaps)",
        format!("/admin/surveys/{SLUG}/waves/{latest}"),
    )?;
    run(
        &admin_agent,
        &admin,
        "admin trend page",
        format!("/admin/surveys/{SLUG}/trend"),
    )?;
    run(
        &head_agent,
        &head,
        "head: list of surveys",
        "/results".into(),
    )?;
    run(
        &head_agent,
        &head,
        "head: results page",
        format!("/results/{SLUG}"),
    )?;
    run(
        &admin_agent,
        &admin,
        "report JSON (admin, company)",
        format!("/api/surveys/{SLUG}/waves/{latest}/report"),
    )?;
    run(
        &head_agent,
        &head,
        "report JSON (head)",
        format!("/api/surveys/{SLUG}/waves/{latest}/report"),
    )?;
    run(
        &admin_agent,
        &admin,
        "CSV summary (admin)",
        format!("/results/{SLUG}/waves/{latest}/summary.csv"),
    )?;
    let load_after = load_average();
    let binary = server.binary.display().to_string();
    drop(server);

    println!();
    println!(
        "dashboard benchmark: {kind}, {respondents} respondents per wave, {waves} waves, \
         60 departments, 30 questions; `{binary} serve` over HTTP/1.1 (keep-alive)"
    );
    println!("load average (1, 5, 15 min): {load_before} before, {load_after} after");
    println!("times in ms of {RUNS} requests after {WARM_UP} warm-up requests");
    println!(
        "{:<30} {:>8} {:>8} {:>8} {:>10}  path",
        "route", "median", "p90", "max", "bytes"
    );
    for r in &routes {
        println!(
            "{:<30} {:>8.1} {:>8.1} {:>8.1} {:>10}  {}",
            r.label,
            ms(r.median),
            ms(r.p90),
            ms(r.max),
            r.bytes,
            r.path
        );
    }
    Ok(())
}
