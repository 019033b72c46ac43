//! Benchmark: `icsat export --raw` of a wave of 1,000,000 responses, run as the real
//! child process, with its time and peak resident memory (VmHWM from /proc/PID/status,
//! polled). Target: under 100 MB resident, whatever the number of rows. Then the time
//! of `icsat demo --no-serve` (600 employees, three years of waves).
//!
//!     cargo build --release && cargo run --release --example export_bench [-- RESPONSES]
//!
//! The responses (default 1000000) are stored with `responses::store::insert` in a
//! SQLite file in a temporary folder, removed at the end; storing them takes a while
//! and is timed separately. The survey has 8 questions (likert, rating, eNPS, a choice
//! and a comment on one response in ten); respondents are spread over 12 departments.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use icsat::db::{DatabaseUrl, Db};
use icsat::responses::{AnswerValue, NewResponse};
use icsat::waves::{NewWave, Origin};

mod child_process;

type BoxError = Box<dyn std::error::Error>;

const CHUNK: usize = 20_000;
const WAVE: &str = "2026-03-01";

const DEFINITION: &str = r#"
id = "bench-pulse"
title = "Benchmark pulse"
anonymity = "anonymous"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["1", "2", "3", "4", "5"]

[[sections]]
id = "it"
title = "IT"
about = "IT"

  [[sections.questions]]
  id = "it-fast"
  type = "likert"
  scale = "agree5"
  text = "IT is fast."

  [[sections.questions]]
  id = "it-kind"
  type = "likert"
  scale = "agree5"
  text = "IT is kind."

  [[sections.questions]]
  id = "it-nps"
  type = "nps"
  text = "Recommend IT?"

[[sections]]
id = "you"
title = "You"

  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "Recommend us?"

  [[sections.questions]]
  id = "energy"
  type = "rating"
  max = 5
  text = "Energy?"

  [[sections.questions]]
  id = "growth"
  type = "likert"
  scale = "agree5"
  text = "I grow here."

  [[sections.questions]]
  id = "channel"
  type = "choice"
  options = ["Email", "Chat", "Phone"]
  text = "How?"
  required = false

  [[sections.questions]]
  id = "comment"
  type = "text"
  text = "Anything else?"
  required = false
"#;

const DEPARTMENTS: [&str; 12] = [
    "Sales",
    "Marketing",
    "IT",
    "HR",
    "Finance",
    "Legal",
    "Logistics",
    "Support",
    "Research",
    "Quality",
    "Facilities",
    "Payroll",
];

/// SplitMix64: fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self, m: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % m
    }
}

fn store(db: &Db, dir: &Path, responses: usize) -> Result<Duration, BoxError> {
    let definitions = dir.join("defs");
    std::fs::create_dir_all(&definitions)?;
    std::fs::write(definitions.join("bench-pulse.toml"), DEFINITION)?;
    let mut departments = String::from("department,parent,head_email\nCompany,,\n");
    let mut roster = String::from("email,name,department\n");
    for (i, d) in DEPARTMENTS.iter().enumerate() {
        departments.push_str(&format!("{d},Company,\n"));
        roster.push_str(&format!("p{i}@example.com,P {i},{d}\n"));
    }
    std::fs::write(dir.join("departments.csv"), departments)?;
    std::fs::write(dir.join("roster.csv"), roster)?;
    icsat::roster::import(
        db,
        &dir.join("roster.csv"),
        Some(&dir.join("departments.csv")),
        false,
    )?;
    let mut conn = db.get()?;
    let loaded = icsat::surveys::load(&[definitions])?;
    icsat::surveys::sync(&mut conn, &loaded)?;
    let (version_id, definition) = icsat::surveys::current(&mut conn, "bench-pulse")?;
    let survey_id = icsat::waves::survey_id(&mut conn, "bench-pulse")?.ok_or("no survey")?;
    let department_ids: Vec<i64> = icsat::reports::org::Org::load(&mut conn)?
        .departments
        .iter()
        .filter(|d| d.parent_id.is_some())
        .map(|d| d.id)
        .collect();
    let opened = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .ok_or("date")?;
    let wave_id = icsat::waves::insert(
        &mut conn,
        &NewWave {
            survey_id,
            version_id,
            label: WAVE,
            origin: Origin::Import,
            status: "closed",
            opens_at: opened,
            closes_at: Some(opened),
            closed_at: Some(opened),
        },
    )?
    .ok_or("wave exists")?;
    let started = Instant::now();
    let mut rng = Rng(7);
    let value = |id: &str, v: i32| AnswerValue {
        question_id: id.to_string(),
        ordinal: 0,
        value: Some(v),
        text: None,
    };
    let mut done = 0;
    while done < responses {
        let n = CHUNK.min(responses - done);
        let chunk: Vec<NewResponse> = (0..n)
            .map(|_| {
                let base = rng.next(5) as i32;
                let mut answers = vec![
                    value("it-fast", 1 + (base + rng.next(2) as i32).min(4)),
                    value("it-kind", 1 + rng.next(5) as i32),
                    value("it-nps", rng.next(11) as i32),
                    value("enps", (base * 2 + rng.next(3) as i32).min(10)),
                    value("energy", 1 + rng.next(5) as i32),
                    value("growth", 1 + rng.next(5) as i32),
                    value("channel", rng.next(3) as i32),
                ];
                if rng.next(10) == 0 {
                    answers.push(AnswerValue {
                        question_id: "comment".into(),
                        ordinal: 0,
                        value: None,
                        text: Some("=HYPERLINK(\"http://x\",\"a comment, with a comma\")".into()),
                    });
                }
                NewResponse {
                    department_id: Some(
                        department_ids[rng.next(department_ids.len() as u64) as usize],
                    ),
                    attributes: "{}".into(),
                    employee_id: None,
                    answers,
                }
            })
            .collect();
        conn.transaction(|conn| icsat::responses::store::insert(conn, wave_id, &chunk))?;
        done += n;
        eprint!("\rstoring responses: {done}/{responses}");
        let _ = std::io::stderr().flush();
    }
    eprintln!();
    icsat::reports::release::make(&mut conn, wave_id, &definition, true)?;
    Ok(started.elapsed())
}

fn main() -> Result<(), BoxError> {
    let responses: usize = std::env::args()
        .nth(1)
        .map(|n| n.replace('_', "").parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let binary = child_process::icsat_binary()?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::open(&DatabaseUrl::parse(&url)?)?;
    let stored = store(&db, dir.path(), responses)?;
    drop(db);

    let out = dir.path().join("raw.csv");
    let mut export = Command::new(&binary);
    export
        .args(["export", "bench-pulse", "--wave", WAVE, "--raw", "-o"])
        .arg(&out)
        .env("ICSAT_DATABASE_URL", &url)
        .env("ICSAT_DEFINITIONS", dir.path().join("defs"));
    let (export_time, export_peak) = child_process::measure(export, std::process::Stdio::null())?;
    let bytes = std::fs::metadata(&out)?.len();
    let rows = std::fs::read(&out)?
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1);

    let demo_dir = dir.path().join("demo");
    std::fs::create_dir_all(&demo_dir)?;
    let mut demo = Command::new(&binary);
    demo.args(["demo", "--no-serve"])
        .current_dir(&demo_dir)
        .env_remove("ICSAT_DATABASE_URL")
        .env(
            "ICSAT_DEFINITIONS",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("survey-definitions"),
        )
        .env("ICSAT_OUTBOX_DIR", demo_dir.join("outbox"));
    let (demo_time, demo_peak) = child_process::measure(demo, std::process::Stdio::null())?;

    println!();
    println!("export benchmark (SQLite, {})", binary.display());
    println!(
        "storing {responses} responses (one-off): {:.1} s",
        stored.as_secs_f64()
    );
    println!(
        "icsat export --raw: {rows} rows, {:.1} MiB in {:.2} s ({:.0} rows/s), peak RSS {:.1} MiB (target < 100 MB)",
        bytes as f64 / 1048576.0,
        export_time.as_secs_f64(),
        rows as f64 / export_time.as_secs_f64(),
        export_peak as f64 / 1024.0
    );
    println!(
        "icsat demo --no-serve (600 employees, 3 years): {:.2} s, peak RSS {:.1} MiB (target < 15 s)",
        demo_time.as_secs_f64(),
        demo_peak as f64 / 1024.0
    );
    if rows != responses {
        return Err(format!("exported {rows} rows, expected {responses}").into());
    }
    Ok(())
}
