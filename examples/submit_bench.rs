//! Load benchmark of the survey pages: `wrk` against the real release `icsat serve`,
//! first on `GET /healthz` (the ceiling: a request that does nothing) and `GET /readyz`
//! (one that asks the database), then the form (`GET /s/{token}`), then submissions
//! (`POST /s/{token}`, a distinct link token per request) while a prober asks `/healthz`
//! and `/readyz` every 20 ms, as a load balancer would.
//!
//!     cargo build --release --bin icsat --example submit_bench
//!     target/release/examples/submit_bench                       # SQLite in a temp folder
//!     target/release/examples/submit_bench --database sqlite \
//!         --database postgres://postgres@127.0.0.1:5432/test     # both, compared
//!     target/release/examples/submit_bench --servers 2 \
//!         --database postgres://postgres@127.0.0.1:5432/test     # scale-out
//!
//! Needs Debian's `wrk` (`apt-get install -y wrk`). Setup: a fresh database (a SQLite file
//! in a temporary folder, or a new schema in the given PostgreSQL database, dropped
//! afterwards), a roster of `--employees` people (200,000: tokens never run out), a
//! ten-question survey, a wave opened with `icsat::waves::lifecycle::open` (invitation
//! emails are only queued in the database), and one known link token per invitation.
//! Each line of the request file is `PATH BODY`: the link and a complete form body with
//! its CSRF value (HMAC-SHA256 of "survey-form:{invitation_id}" under `ICSAT_SECRET`).
//! `scripts/submit_bench.lua` gives every wrk thread its own slice of the lines. With
//! `--servers N`, N `serve` processes share the database, each loaded by its own wrk
//! process with its own share of the tokens.
//!
//! Prints requests/s, p50/p99 latency and errors of every run, and the stored responses
//! counted in the database afterwards: "durable stored submissions" are those answered
//! 200; the few requests still in flight when wrk stops (at most one per connection) may
//! be stored without wrk having counted their 200, and the table says how many. With
//! several `--database`, a last table sets the figures side by side.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use sha2::Sha256;

use icsat::db::schema::{answers, invitation_tokens, invitations, mail_outbox, responses, waves};
use icsat::db::{DatabaseUrl, Db};

const SECRET: &str = "submit-bench-secret-not-for-production-0123456789";

const SURVEY: &str = r#"
id = "bench"
title = "Internal services check"
intro = "Ten questions, about three minutes. Your answers are anonymous."
anonymity = "anonymous"
min_group_size = 5
language = "en"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
favorable = [4, 5]

[[sections]]
id = "it"
title = "IT"
about = "IT"
skip_label = "I have not used IT this year"

  [[sections.questions]]
  id = "it-fast"
  type = "likert"
  scale = "agree5"
  text = "IT solves my problems quickly."

  [[sections.questions]]
  id = "it-clear"
  type = "likert"
  scale = "agree5"
  text = "IT explains things in a way I understand."

  [[sections.questions]]
  id = "it-nps"
  type = "nps"
  text = "How likely are you to recommend IT's help to a colleague?"

[[sections]]
id = "hr"
title = "HR"
about = "HR"
skip_label = "I have not dealt with HR this year"

  [[sections.questions]]
  id = "hr-fair"
  type = "likert"
  scale = "agree5"
  text = "HR treats my requests fairly."

  [[sections.questions]]
  id = "hr-rating"
  type = "rating"
  max = 5
  text = "How would you rate HR overall? (1 = poor, 5 = excellent)"

[[sections]]
id = "you"
title = "Working here"

  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "How likely are you to recommend this company as a place to work to a friend?"

  [[sections.questions]]
  id = "growth"
  type = "likert"
  scale = "agree5"
  text = "I see a way to grow here."

  [[sections.questions]]
  id = "channel"
  type = "choice"
  multiple = true
  options = ["Email", "Chat", "Phone", "In person"]
  text = "How do you usually ask for help?"
  required = false

  [[sections.questions]]
  id = "site"
  type = "choice"
  options = ["Office", "Hybrid", "Remote"]
  text = "Where do you mostly work?"

  [[sections.questions]]
  id = "comment"
  type = "text"
  max_length = 1000
  text = "What is one thing that would make your work easier?"
  required = false
"#;

const COMMENTS: [&str; 4] = [
    "",
    "Faster laptop replacements would help a lot.",
    "Please answer chat messages within the same day.",
    "More clarity on how expenses are approved & when they are paid.",
];

#[derive(Parser)]
#[command(about = "Survey-submission load benchmark (wrk against the release icsat serve)")]
struct Args {
    /// Employees, invitations and tokens (enough that tokens never run out)
    #[arg(long, default_value_t = 200_000)]
    employees: usize,
    /// sqlite://PATH of a file that must not exist yet, or a postgres:// URL in which a
    /// fresh schema is made and dropped afterwards; "sqlite" for a file in a temp folder.
    /// Repeat it to run on several databases one after the other and compare them in
    /// one table at the end [default: sqlite]
    #[arg(long)]
    database: Vec<String>,
    /// `serve` processes on the one database, each loaded by a wrk process of its own
    /// with its own share of the tokens (scale-out on PostgreSQL)
    #[arg(long, default_value_t = 1)]
    servers: usize,
    /// Skip the form GET run
    #[arg(long)]
    no_form: bool,
    /// wrk threads
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// wrk connections
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of each wrk run
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The icsat binary [default: the release one beside this example]
    #[arg(long)]
    icsat: Option<PathBuf>,
    /// wrk script [default: scripts/submit_bench.lua of this crate]
    #[arg(long)]
    script: Option<PathBuf>,
    /// Skip the /readyz ceiling run
    #[arg(long)]
    no_healthz: bool,
    /// Only prepare the database and the request file, print how to serve and load it,
    /// and wait for Enter before cleaning up (for profiling by hand)
    #[arg(long)]
    prepare_only: bool,
    /// Extra environment for the server, NAME=VALUE (repeatable)
    #[arg(long = "server-env")]
    server_env: Vec<String>,
    /// Wrap the server in this command (e.g. "perf record -g -o /tmp/perf.data --")
    #[arg(long)]
    server_wrapper: Option<String>,
    /// Scrape /metrics every SECONDS during the submissions, as Prometheus would. The
    /// cost of metrics: one run with `--server-env ICSAT_METRICS=false`, one with
    /// `--scrape-metrics 1`; compare "stored submissions/s"
    #[arg(long, value_name = "SECONDS")]
    scrape_metrics: Option<f64>,
}

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args = Args::parse();
    let databases = if args.database.is_empty() {
        vec!["sqlite".to_string()]
    } else {
        args.database.clone()
    };
    let mut summaries = Vec::new();
    for database in &databases {
        let dir = tempfile::tempdir()?;
        let (url, pg_schema) = database_url(database, dir.path())?;
        let outcome = run(&args, dir.path(), &url);
        if let Some((base, schema)) = &pg_schema {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
        summaries.extend(outcome?);
    }
    if summaries.len() > 1 {
        print_comparison(&args, &summaries);
    }
    Ok(())
}

/// One database's figures, for the table that compares them.
struct Summary {
    backend: String,
    healthz: Option<WrkResult>,
    readyz: Option<WrkResult>,
    form: Option<WrkResult>,
    submit: WrkResult,
    stored_per_s: f64,
    probe: Probe,
    durable: bool,
}

fn print_comparison(args: &Args, runs: &[Summary]) {
    println!();
    println!(
        "side by side: wrk -t{} -c{} -d{}s, {} serve process(es) each",
        args.threads, args.connections, args.seconds, args.servers
    );
    print!("{:<44}", "");
    for run in runs {
        print!(" {:>24}", run.backend);
    }
    println!();
    let line = |label: &str, cell: &dyn Fn(&Summary) -> String| {
        print!("{label:<44}");
        for run in runs {
            print!(" {:>24}", cell(run));
        }
        println!();
    };
    let rate = |r: &Option<WrkResult>| {
        r.as_ref().map_or("-".into(), |r| {
            format!("{:.0}/s p99 {:.1}", r.rps, r.p99_ms)
        })
    };
    line("GET /healthz alone (requests/s, p99 ms)", &|s| {
        rate(&s.healthz)
    });
    line("GET /readyz alone", &|s| rate(&s.readyz));
    line("GET /s/{token} (form)", &|s| rate(&s.form));
    line(
        "form GETs, share of /healthz",
        &|s| match (&s.form, &s.healthz) {
            (Some(f), Some(h)) => format!("{:.1}%", 100.0 * f.rps / h.rps.max(1e-9)),
            _ => "-".into(),
        },
    );
    line("POST /s/{token}: stored submissions/s", &|s| {
        format!("{:.0}", s.stored_per_s)
    });
    line("  p50 / p99 ms", &|s| {
        format!("{:.1} / {:.1}", s.submit.p50_ms, s.submit.p99_ms)
    });
    line("  share of /healthz", &|s| match &s.healthz {
        Some(h) => format!("{:.1}%", 100.0 * s.stored_per_s / h.rps.max(1e-9)),
        None => "-".into(),
    });
    line("/healthz during submissions p50/p99 ms", &|s| {
        s.probe.healthz.describe()
    });
    line("/readyz during submissions p50/p99 ms", &|s| {
        s.probe.readyz.describe()
    });
    line("every 200 stored, nothing doubled", &|s| {
        if s.durable { "yes" } else { "NO" }.to_string()
    });
    if let [first, rest @ ..] = runs {
        for other in rest {
            println!(
                "{} submissions are {:.0}% of {}'s",
                other.backend,
                100.0 * other.stored_per_s / first.stored_per_s.max(1e-9),
                first.backend
            );
        }
    }
}

/// The database URL to use, and for PostgreSQL the base URL and schema to drop.
fn database_url(database: &str, dir: &Path) -> Result<(String, Option<(String, String)>), Error> {
    match database {
        "sqlite" => Ok((format!("sqlite://{}", dir.join("bench.db").display()), None)),
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let schema = format!("submit_bench_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::establish(url)?;
            admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
            let separator = if url.contains('?') { '&' } else { '?' };
            Ok((
                format!("{url}{separator}options=-csearch_path%3D{schema}"),
                Some((url.to_string(), schema)),
            ))
        }
        url => Ok((url.to_string(), None)),
    }
}

fn csrf(invitation_id: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("survey-form:{invitation_id}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A complete, valid form body; answers vary with `i`.
fn body(csrf: &str, i: usize) -> String {
    let mut body = format!("csrf={csrf}&lang=en");
    if i % 7 == 3 {
        body.push_str("&skip.it=1");
    } else {
        let _ = write!(
            body,
            "&q.it-fast={}&q.it-clear={}&q.it-nps={}",
            1 + i % 5,
            1 + (i / 5) % 5,
            i % 11
        );
    }
    let _ = write!(
        body,
        "&q.hr-fair={}&q.hr-rating={}&q.enps={}&q.growth={}",
        1 + (i / 3) % 5,
        1 + (i / 7) % 5,
        (i * 7) % 11,
        1 + (i / 11) % 5
    );
    for option in 0..4 {
        if (i >> option) & 1 == 1 {
            let _ = write!(body, "&q.channel={option}");
        }
    }
    let _ = write!(body, "&q.site={}", i % 3);
    let comment = COMMENTS[i % COMMENTS.len()];
    if !comment.is_empty() {
        body.push_str("&q.comment=");
        body.extend(form_urlencoded::byte_serialize(comment.as_bytes()));
    }
    body
}

fn run(args: &Args, dir: &Path, url: &str) -> Result<Option<Summary>, Error> {
    let display = DatabaseUrl::parse(url)?.display();
    let requests_file = dir.join("requests.txt");
    let defs = dir.join("defs");
    let started = Instant::now();
    let n = prepare(args.employees, dir, url, &defs, &requests_file)?;
    println!(
        "prepared {n} invitations with known tokens on {display} in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let icsat = match &args.icsat {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .map(|p| p.join("icsat"))
            .ok_or("cannot find the icsat binary: pass --icsat")?,
    };
    if !icsat.is_file() {
        return Err(format!(
            "{} does not exist: build it first (cargo build --release --bin icsat)",
            icsat.display()
        )
        .into());
    }
    let script = args
        .script
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/submit_bench.lua"));
    if args.prepare_only {
        println!(
            "\nserve it with:\n  cd {dir} && ICSAT_DATABASE_URL='{url}' ICSAT_DEFINITIONS={defs} \
             ICSAT_SECRET={SECRET} ICSAT_LOG=warn ICSAT_BIND=127.0.0.1:8080 \
             ICSAT_OUTBOX_DIR={dir}/outbox {icsat} serve\n\
             load it with:\n  BENCH_REQUESTS={req} BENCH_THREADS={t} wrk -t{t} -c{c} -d{s}s --latency -s {script} \
             http://127.0.0.1:8080\n\npress Enter to clean up",
            dir = dir.display(),
            defs = defs.display(),
            icsat = icsat.display(),
            req = requests_file.display(),
            t = args.threads,
            c = args.connections,
            s = args.seconds,
            script = script.display(),
        );
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(None);
    }

    let mut servers = Vec::new();
    for _ in 0..args.servers.max(1) {
        match start_server(args, &icsat, dir, url, &defs) {
            Ok(server) => servers.push(server),
            Err(e) => {
                for server in &mut servers {
                    server.stop();
                }
                return Err(e);
            }
        }
    }
    let bases: Vec<String> = servers
        .iter()
        .map(|s| format!("http://127.0.0.1:{}", s.port))
        .collect();
    let pids: Vec<u32> = servers.iter().map(Server::icsat_pid).collect();
    let base = bases[0].clone();
    let result = (|| -> Result<_, Error> {
        let plain = Load {
            threads: args.threads,
            connections: args.connections,
            env: Vec::new(),
        };
        let (healthz, readyz) = if args.no_healthz {
            (None, None)
        } else {
            (
                Some(wrk(
                    args,
                    &pids,
                    &format!("{base}/healthz"),
                    None,
                    &requests_file,
                    &plain,
                )?),
                Some(wrk(
                    args,
                    &pids,
                    &format!("{base}/readyz"),
                    None,
                    &requests_file,
                    &plain,
                )?),
            )
        };
        // The forms before the posts: a link already answered shows another page.
        let form = if args.no_form {
            None
        } else {
            let get = Load {
                env: vec![("BENCH_METHOD", "GET".to_string())],
                ..plain
            };
            Some(wrk(
                args,
                &pids,
                &base,
                Some(&script),
                &requests_file,
                &get,
            )?)
        };
        // On SQLite, watch the WAL file's size while the submissions run.
        let wal = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => Some(PathBuf::from(format!("{}-wal", path.display()))),
            DatabaseUrl::Postgres(_) => None,
        };
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = wal.map(|wal| {
            let watching = watching.clone();
            std::thread::spawn(move || {
                let mut largest = 0u64;
                while watching.load(std::sync::atomic::Ordering::Relaxed) {
                    largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                    std::thread::sleep(Duration::from_millis(100));
                }
                largest
            })
        });
        let scraper = args.scrape_metrics.map(|every| {
            let (watching, url) = (watching.clone(), format!("{base}/metrics"));
            std::thread::spawn(move || scrape_metrics(&url, every, &watching))
        });
        // Health checks as a load balancer makes them, while the submissions run.
        let prober = {
            let (watching, base) = (watching.clone(), base.clone());
            std::thread::spawn(move || probe(&base, &watching))
        };
        // One wrk process per server, each with its own share of the tokens.
        let parts = bases.len();
        let submit = std::thread::scope(|scope| {
            let runs: Vec<_> = bases
                .iter()
                .enumerate()
                .map(|(part, base)| {
                    let load = Load {
                        threads: (args.threads / parts).max(1),
                        connections: (args.connections / parts).max(1),
                        env: vec![
                            ("BENCH_PART", part.to_string()),
                            ("BENCH_PARTS", parts.to_string()),
                        ],
                    };
                    let (pids, script, requests_file) = (&pids, &script, &requests_file);
                    scope.spawn(move || {
                        wrk(args, pids, base, Some(script), requests_file, &load)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().map_err(|_| "wrk thread".to_string())?)
                .collect::<Result<Vec<WrkResult>, String>>()
        });
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        let probe = prober.join().map_err(|_| "the prober stopped")?;
        if let Some(scraper) = scraper {
            let (scrapes, ms) = scraper.join().map_err(|_| "the scraper stopped")??;
            println!(
                "/metrics scraped {scrapes} times during the run, {:.2} ms each on average",
                ms / (scrapes.max(1) as f64)
            );
        }
        let mut submit = WrkResult::combine(submit?);
        submit.largest_wal = watcher.and_then(|w| w.join().ok());
        Ok((healthz, readyz, form, submit, probe))
    })();
    // Requests still in flight when wrk stopped finish on the server; give them a moment.
    std::thread::sleep(Duration::from_secs(1));
    for server in &mut servers {
        server.stop();
    }
    let (healthz, readyz, form, submit, probe) = result?;

    let db = Db::connect(&DatabaseUrl::parse(url)?)?;
    let mut conn = db.get()?;
    // Stored: sealed into the response tables during the run, or waiting in the inbox.
    let waiting = icsat::responses::inbox::waiting(&mut conn)?;
    let (sealed, answer_rows, answered): (i64, i64, i64) = icsat::with_conn!(conn, c => {
        let sealed = responses::table.count().get_result::<i64>(c)?;
        let answer_rows = answers::table.count().get_result::<i64>(c)?;
        let answered = invitations::table
            .filter(invitations::responded_on.is_not_null())
            .count()
            .get_result::<i64>(c)?;
        Ok::<_, diesel::result::Error>((sealed, answer_rows, answered))
    })?;
    let stored = sealed + waiting;

    let ok = submit.status.get(&200).copied().unwrap_or(0);
    println!();
    println!(
        "submit benchmark: {display}, {n} tokens, wrk -t{} -c{} -d{}s, {} serve process(es), {} cores",
        args.threads,
        args.connections,
        args.seconds,
        servers.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<22} {:>11} {:>9} {:>9} {:>9} {:>9}  statuses",
        "run", "requests/s", "p50 ms", "p90 ms", "p99 ms", "errors"
    );
    let row = |label: &str, r: &WrkResult| {
        println!(
            "{label:<22} {:>11.0} {:>9.2} {:>9.2} {:>9.2} {:>9}  {}",
            r.rps,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.errors,
            r.status
                .iter()
                .map(|(s, n)| format!("{s}:{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    if let Some(h) = &healthz {
        row("GET /healthz", h);
    }
    if let Some(h) = &readyz {
        row("GET /readyz", h);
    }
    if let Some(f) = &form {
        row("GET /s/{token}", f);
    }
    row("POST /s/{token}", &submit);
    let cpu = |label: &str, r: &WrkResult| {
        let n = r.rps * r.seconds;
        println!(
            "{label:<22} server CPU {:.2} cores ({:.0} us/request), wrk CPU {:.2} cores ({:.0} us/request); load average before: {}",
            r.server_cpu / r.seconds.max(1e-9),
            1e6 * r.server_cpu / n.max(1.0),
            r.wrk_cpu / r.seconds.max(1e-9),
            1e6 * r.wrk_cpu / n.max(1.0),
            r.load_before
        )
    };
    for (label, r) in [
        ("GET /healthz", &healthz),
        ("GET /readyz", &readyz),
        ("GET /s/{token}", &form),
    ] {
        if let Some(r) = r {
            cpu(label, r);
        }
    }
    cpu("POST /s/{token}", &submit);
    let seconds = submit.seconds.max(1e-9);
    let stored_per_s = ok as f64 / seconds;
    println!(
        "stored submissions/s:  {stored_per_s:.0} (200 responses {ok} in {:.2} s)",
        submit.seconds
    );
    println!(
        "health checks during the submissions (every 20 ms): /healthz {}, /readyz {} (p50/p99 ms, {} failed)",
        probe.healthz.describe(),
        probe.readyz.describe(),
        probe.failed
    );
    println!(
        "stored in the database: {stored} responses ({sealed} sealed with {answer_rows} answers, {waiting} waiting in the inbox), {answered} invitations marked answered"
    );
    let in_flight = stored - ok as i64;
    let durable = stored == answered && (0..=args.connections as i64).contains(&in_flight);
    println!(
        "durable check: stored - 200s = {in_flight} (requests in flight when wrk stopped; at most {} connections){}",
        args.connections,
        if durable { ": OK" } else { ": MISMATCH" }
    );
    if let Some(h) = &healthz {
        println!(
            "fraction of the /healthz ceiling: submissions {:.1}%{}",
            100.0 * stored_per_s / h.rps.max(1e-9),
            form.as_ref().map_or(String::new(), |f| format!(
                ", form GETs {:.1}%",
                100.0 * f.rps / h.rps.max(1e-9)
            ))
        );
    }
    if let Some(bytes) = submit.largest_wal {
        println!(
            "largest SQLite WAL file during the run: {:.1} MB",
            bytes as f64 / 1e6
        );
    }
    if submit.exhausted {
        println!("WARNING: a wrk thread ran out of tokens; use more --employees");
    }
    Ok(Some(Summary {
        backend: match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(_) => "SQLite".to_string(),
            DatabaseUrl::Postgres(_) => "PostgreSQL".to_string(),
        },
        healthz,
        readyz,
        form,
        submit,
        stored_per_s,
        probe,
        durable,
    }))
}

/// Latencies of one health route, probed while the submissions ran.
#[derive(Default)]
struct Latencies(Vec<f64>);

impl Latencies {
    fn describe(&self) -> String {
        if self.0.is_empty() {
            return "-".into();
        }
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        format!("{:.1} / {:.1}", at(0.5), at(0.99))
    }
}

#[derive(Default)]
struct Probe {
    healthz: Latencies,
    readyz: Latencies,
    failed: u64,
}

/// GETs /healthz and /readyz every 20 ms while `watching`, as a load balancer would.
fn probe(base: &str, watching: &std::sync::atomic::AtomicBool) -> Probe {
    let agent = ureq::Agent::new_with_defaults();
    let mut probe = Probe::default();
    while watching.load(std::sync::atomic::Ordering::Relaxed) {
        for (path, into) in [("healthz", 0), ("readyz", 1)] {
            let started = Instant::now();
            let ok = agent.get(format!("{base}/{path}")).call().is_ok();
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if !ok {
                probe.failed += 1;
            }
            if into == 0 {
                probe.healthz.0.push(ms);
            } else {
                probe.readyz.0.push(ms);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    probe
}

/// GETs `url` every `every` seconds while `watching`; returns the scrapes and their
/// total milliseconds. A scrape that fails is an error: the figures would mislead.
fn scrape_metrics(
    url: &str,
    every: f64,
    watching: &std::sync::atomic::AtomicBool,
) -> Result<(u64, f64), String> {
    let agent = ureq::Agent::new_with_defaults();
    let (mut scrapes, mut ms) = (0u64, 0.0);
    while watching.load(std::sync::atomic::Ordering::Relaxed) {
        let started = Instant::now();
        let text = agent
            .get(url)
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !text.contains("icsat_db_pool_max_connections") {
            return Err(format!("{url} answered without metrics"));
        }
        ms += started.elapsed().as_secs_f64() * 1000.0;
        scrapes += 1;
        std::thread::sleep(Duration::from_secs_f64(every.max(0.05)));
    }
    Ok((scrapes, ms))
}

/// Builds the database and the request file; returns the number of invitations.
fn prepare(
    employees: usize,
    dir: &Path,
    url: &str,
    defs: &Path,
    requests_file: &Path,
) -> Result<usize, Error> {
    std::fs::create_dir_all(defs)?;
    std::fs::write(defs.join("bench.toml"), SURVEY)?;
    let mut departments = String::from("department,parent,head_email\nCompany,,\n");
    let mut teams = Vec::new();
    for name in ["IT", "HR", "Finance", "Sales", "Engineering"] {
        writeln!(departments, "{name},Company,")?;
        for team in 0..6 {
            writeln!(departments, "{name} {team},{name},")?;
            teams.push(format!("{name} {team}"));
        }
    }
    let mut roster = String::from("email,name,department,location,hire_date,level\n");
    for i in 0..employees {
        writeln!(
            roster,
            "person{i}@example.com,Person {i},{},{},20{:02}-{:02}-{:02},L{}",
            teams[i % teams.len()],
            ["Berlin", "Lyon", "Porto", "Remote"][i % 4],
            10 + i % 15,
            1 + i % 12,
            1 + i % 28,
            i % 5
        )?;
    }
    let departments_path = dir.join("departments.csv");
    let roster_path = dir.join("roster.csv");
    std::fs::write(&departments_path, departments)?;
    std::fs::write(&roster_path, roster)?;

    let parsed = DatabaseUrl::parse(url)?;
    let db = Db::open(&parsed)?;
    icsat::roster::import(&db, &roster_path, Some(&departments_path), false)?;
    let mut conn = db.get()?;
    let loaded = icsat::surveys::load(&[defs.to_path_buf()])?;
    icsat::surveys::sync(&mut conn, &loaded)?;
    let config = icsat::config::ConfigArgs {
        database_url: Some(url.to_string()),
        outbox_dir: Some(dir.join("outbox")),
        ..Default::default()
    }
    .resolve()?;
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config)?;
    let now = Utc::now();
    icsat::waves::lifecycle::open(
        &mut conn,
        &mailer,
        "bench",
        "bench-wave",
        now - chrono::Duration::hours(1),
        now + chrono::Duration::days(7),
        icsat::waves::Origin::Manual,
    )?;
    // The invitations went out when the wave opened; answers peak after that. Mark them
    // sent (as the sender does) so the server's mail sender has nothing to do meanwhile.
    icsat::with_conn!(conn, c => diesel::update(mail_outbox::table)
        .set((
            mail_outbox::status.eq("sent"),
            mail_outbox::message.eq(""),
            mail_outbox::sent_at.eq(Some(icsat::db::now())),
            mail_outbox::attempts.eq(1),
        ))
        .execute(c))?;
    let ids: Vec<i64> = icsat::with_conn!(conn, c => invitations::table
        .select(invitations::id)
        .order(invitations::id)
        .load(c))?;
    let created = icsat::db::now();
    let mut lines: Vec<String> = Vec::with_capacity(ids.len());
    let mut rows = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let (token, hash) = icsat::waves::tokens::new_token();
        lines.push(format!("/s/{token} {}", body(&csrf(*id), i)));
        rows.push((
            invitation_tokens::token_hash.eq(hash),
            invitation_tokens::invitation_id.eq(*id),
            invitation_tokens::created_at.eq(created),
        ));
    }
    conn.transaction(|conn| -> Result<(), icsat::db::DbError> {
        for chunk in rows.chunks(1000) {
            icsat::with_conn!(*conn, c => diesel::insert_into(invitation_tokens::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(())
    })?;
    // Employees answer in no particular order.
    lines.shuffle(&mut rand::rng());
    let mut out = std::io::BufWriter::new(std::fs::File::create(requests_file)?);
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    let open: i64 = icsat::with_conn!(conn, c => waves::table.count().get_result(c))?;
    assert_eq!(open, 1, "one wave");
    // Fresh planner statistics on PostgreSQL for the tables just filled (autovacuum keeps
    // them so in service). Not for the empty responses and answers: statistics saying
    // "empty" make PostgreSQL plan the foreign-key check of every stored answer as a scan
    // of all responses, and keep that plan for the whole run (autovacuum wakes once a
    // minute); in service those tables hold earlier waves, or were never analyzed, and the
    // check uses the primary key. No ANALYZE on SQLite: icsat never runs it, and with STAT4
    // statistics SQLite re-prepares every statement whose plan may depend on a bound value.
    if let icsat::db::Conn::Postgres(c) = &mut conn {
        c.batch_execute(
            "ANALYZE departments; ANALYZE employees; ANALYZE surveys; ANALYZE survey_versions; \
             ANALYZE waves; ANALYZE invitations; ANALYZE invitation_tokens; ANALYZE mail_outbox;",
        )?;
    }
    drop(conn);
    drop(db);
    // The server starts on a SQLite file without a WAL: the setup's (gigabytes, from
    // queuing 200,000 invitations in one transaction) is copied into the file and emptied.
    if let DatabaseUrl::Sqlite(path) = &parsed {
        std::thread::sleep(Duration::from_secs(1));
        let mut c = SqliteConnection::establish(&path.to_string_lossy())?;
        c.batch_execute("PRAGMA busy_timeout = 30000; PRAGMA wal_checkpoint(TRUNCATE);")?;
        drop(c);
        let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
        if wal > 0 {
            return Err(format!("the WAL still holds {wal} bytes after the setup").into());
        }
    }
    Ok(ids.len())
}

struct Server {
    child: Child,
    port: u16,
    wrapped: bool,
}

impl Server {
    /// The icsat process: the child itself, or a wrapper's (perf's) child.
    fn icsat_pid(&self) -> u32 {
        let pid = self.child.id();
        if !self.wrapped {
            return pid;
        }
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()))
            .unwrap_or(pid)
    }

    fn stop(&mut self) {
        // SIGINT to icsat (a wrapper such as perf then writes its data and exits).
        let _ = Command::new("kill")
            .args(["-INT", &self.icsat_pid().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    args: &Args,
    icsat: &Path,
    dir: &Path,
    url: &str,
    defs: &Path,
) -> Result<Server, Error> {
    let mut command = match &args.server_wrapper {
        Some(wrapper) => {
            let mut parts = wrapper.split_whitespace();
            let mut command = Command::new(parts.next().ok_or("empty --server-wrapper")?);
            command.args(parts).arg(icsat);
            command
        }
        None => Command::new(icsat),
    };
    command
        .arg("serve")
        .current_dir(dir)
        .env("ICSAT_DATABASE_URL", url)
        .env("ICSAT_DEFINITIONS", defs)
        .env("ICSAT_SECRET", SECRET)
        .env("ICSAT_LOG", "warn")
        .env("ICSAT_BIND", "127.0.0.1:0")
        .env("ICSAT_OUTBOX_DIR", dir.join("outbox"))
        .env_remove("ICSAT_SMTP_URL")
        .env_remove("ICSAT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for pair in &args.server_env {
        let (name, value) = pair.split_once('=').ok_or("--server-env NAME=VALUE")?;
        command.env(name, value);
    }
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let Some(line) = lines.next() else {
            let _ = child.kill();
            return Err("icsat serve exited before listening".into());
        };
        let line = line?;
        if let Some(rest) = line.strip_prefix("icsat is listening on http://") {
            let port = rest
                .rsplit(':')
                .next()
                .unwrap_or("")
                .trim()
                .parse::<u16>()?;
            break port;
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        port,
        wrapped: args.server_wrapper.is_some(),
    })
}

#[derive(Debug, Default)]
struct WrkResult {
    rps: f64,
    seconds: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    errors: u64,
    status: BTreeMap<u16, u64>,
    exhausted: bool,
    /// CPU seconds the server and wrk used during the run, and the load average before it.
    server_cpu: f64,
    wrk_cpu: f64,
    load_before: String,
    /// SQLite: the largest size of the WAL file seen during the run.
    largest_wal: Option<u64>,
}

impl WrkResult {
    /// The figures of wrk processes that ran side by side: rates and counts add up; of
    /// the latencies, each the worst of the processes' (wrk gives no histogram to merge).
    fn combine(mut runs: Vec<WrkResult>) -> WrkResult {
        if runs.len() == 1 {
            return runs.remove(0);
        }
        let mut all = WrkResult::default();
        for r in runs {
            all.rps += r.rps;
            all.seconds = all.seconds.max(r.seconds);
            all.p50_ms = all.p50_ms.max(r.p50_ms);
            all.p90_ms = all.p90_ms.max(r.p90_ms);
            all.p99_ms = all.p99_ms.max(r.p99_ms);
            all.errors += r.errors;
            for (code, n) in r.status {
                *all.status.entry(code).or_insert(0) += n;
            }
            all.exhausted |= r.exhausted;
            // Every process measured the same servers and wrk children over the same time.
            all.server_cpu = all.server_cpu.max(r.server_cpu);
            all.wrk_cpu = all.wrk_cpu.max(r.wrk_cpu);
            all.load_before = r.load_before;
        }
        all
    }
}

/// Clock ticks per second of /proc times (USER_HZ: 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds (user + system) of a process from /proc/PID/stat; with `children`, of
/// its waited-for children instead.
fn cpu_seconds(pid: &str, children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime is field 14 (index 11 here).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let at = if children { 13 } else { 11 };
    fields
        .get(at..at + 2)
        .map_or(f64::NAN, |t| (t[0] + t[1]) / TICKS)
}

/// How one wrk process loads its server.
#[derive(Clone)]
struct Load {
    threads: usize,
    connections: usize,
    env: Vec<(&'static str, String)>,
}

fn wrk(
    args: &Args,
    servers: &[u32],
    url: &str,
    script: Option<&Path>,
    requests: &Path,
    load: &Load,
) -> Result<WrkResult, Error> {
    let servers_cpu = || -> f64 {
        servers
            .iter()
            .map(|pid| cpu_seconds(&pid.to_string(), false))
            .sum()
    };
    let load_before = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let server_before = servers_cpu();
    let wrk_before = cpu_seconds("self", true);
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", args.seconds))
        .arg("--timeout")
        .arg("10s")
        .arg("--latency")
        .env("BENCH_REQUESTS", requests)
        .env("BENCH_THREADS", load.threads.to_string());
    for (name, value) in &load.env {
        command.env(name, value);
    }
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    command.arg(url);
    let output = command
        .output()
        .map_err(|e| format!("cannot run wrk ({e}): apt-get install -y wrk"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("$ wrk ... {url}\n{text}");
    if !output.status.success() {
        return Err(format!("wrk failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let mut result = parse_wrk(&text);
    result.server_cpu = servers_cpu() - server_before;
    result.wrk_cpu = cpu_seconds("self", true) - wrk_before;
    result.load_before = load_before;
    Ok(result)
}

fn millis(value: &str) -> f64 {
    let value = value.trim();
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix("m") {
        (v, 60_000.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}

fn parse_wrk(text: &str) -> WrkResult {
    let mut result = WrkResult::default();
    let mut requests = 0u64;
    let mut non_2xx = 0u64;
    for line in text.lines() {
        let line = line.trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => result.p50_ms = millis(v),
            ["90%", v] => result.p90_ms = millis(v),
            ["99%", v] => result.p99_ms = millis(v),
            ["Requests/sec:", v] => result.rps = v.parse().unwrap_or(0.0),
            [n, "requests", "in", t, ..] => {
                requests = n.parse().unwrap_or(0);
                result.seconds = millis(t.trim_end_matches(',')) / 1000.0;
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => non_2xx = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                result.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["status", code, n] => {
                if let (Ok(code), Ok(n)) = (code.parse::<u16>(), n.parse::<u64>()) {
                    *result.status.entry(code).or_insert(0) += n;
                }
            }
            ["tokens", "exhausted"] => result.exhausted = true,
            _ => {}
        }
    }
    result.errors += non_2xx;
    if result.status.is_empty() {
        result.status.insert(200, requests.saturating_sub(non_2xx));
    }
    result
}
