//! Benchmark: the full report of a wave (every group, every question, the services
//! heatmap, the drivers) and the 5-wave trend, for an organisation of 60 departments
//! answering a 30-question survey. Target: the full report in under 30 ms once the counts
//! exist, at a cost that does not grow with respondents.
//!
//!     cargo run --release --example report_bench [-- RESPONDENTS [DATABASE_URL]]
//!
//! `RESPONDENTS` is the number of respondents per wave (default 100000), or several
//! separated by commas (`10000,100000`): each size is a survey of its own (5 waves) in the
//! same database, and the figures are printed side by side. Without a URL it uses a SQLite
//! file in a temporary folder, removed at the end. A URL should name an empty database
//! (`sqlite:///path/bench.db`, created) or PostgreSQL schema, for example:
//!
//!     psql postgres://postgres@127.0.0.1:5432/test -c 'CREATE SCHEMA bench'
//!     cargo run --release --example report_bench -- 100000 \
//!         'postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench'
//!     psql postgres://postgres@127.0.0.1:5432/test -c 'DROP SCHEMA bench CASCADE'
//!
//! Run again on the same URL, it finds the waves stored by the first run and only measures
//! (storing 100,000 respondents x 5 waves takes several minutes).
//!
//! The organisation: Company, 5 divisions and 54 teams (six of which are the internal
//! services HR, IT, Finance, Payroll, Facilities and Procurement). The survey: six service
//! sections of 3 likert questions and an `nps` question each, and a "you" section with the
//! `enps` question and 5 likert questions (30 numeric questions). Respondents are spread
//! over the departments with skewed sizes; a few departments get fewer than 5 respondents
//! (one none at all), so suppression is exercised. Answers are drawn from a deterministic
//! generator, correlated with the respondent, the department and the service, and drift
//! from wave to wave so the trend has changes to show. They are stored with
//! `responses::store::insert`, one transaction per wave.
//!
//! Printed: the one-off costs (storing the answers, counting each wave with
//! `reports::release::make`, the final release), then for each size, in milliseconds, the median, fastest
//! and slowest of 20 runs (after 3 warm-up runs) of the full wave report, of its parts
//! (definition, tree, stored counts, building), of the JSON, and of the trend, with the
//! median CPU time of the benchmark's thread: on SQLite that is all the work, and unlike
//! the wall time it barely moves when other processes compete for the CPUs.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use icsat::db::{Conn, DatabaseUrl, Db};
use icsat::reports::org::Org;
use icsat::reports::{self, wave, WaveQuery};

mod bench_org;

use bench_org::*;

const WAVES: usize = 5;
/// Timed runs per figure, after warm-up runs.
const RUNS: usize = 20;
const WARM_UP: usize = 3;

/// Statements sent to the database so far by connections [`count_queries`] was called on.
static QUERIES: AtomicUsize = AtomicUsize::new(0);

/// Counts the statements this connection sends (each one a round trip on PostgreSQL).
fn count_queries(conn: &mut Conn) {
    use diesel::connection::{Connection, InstrumentationEvent};
    icsat::with_conn!(*conn, c => c.set_instrumentation(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { .. } = event {
            QUERIES.fetch_add(1, Ordering::Relaxed);
        }
    }));
}

/// How many statements `work` sends.
fn queries_of<T>(work: impl FnOnce() -> Result<T, BoxError>) -> Result<usize, BoxError> {
    let before = QUERIES.load(Ordering::Relaxed);
    work()?;
    Ok(QUERIES.load(Ordering::Relaxed) - before)
}

/// Median, fastest and slowest of `RUNS` runs after `WARM_UP` runs; the value of the
/// last run.
struct Timing {
    median: Duration,
    min: Duration,
    max: Duration,
    /// Median CPU time of this thread (64-bit Linux only): all of the work on SQLite,
    /// only the client's share on PostgreSQL. Unlike the wall time it hardly changes when
    /// other processes compete for the CPUs.
    cpu: Option<Duration>,
}

/// CPU time of this thread so far (`CLOCK_THREAD_CPUTIME_ID`; std offers no such clock).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec (two 64-bit fields on 64-bit Linux) to a
    // valid pointer and nothing else.
    let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut time) };
    (status == 0).then(|| Duration::new(time.tv_sec as u64, time.tv_nsec as u32))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu() -> Option<Duration> {
    None
}

fn time<T>(mut work: impl FnMut() -> Result<T, BoxError>) -> Result<(Timing, T), BoxError> {
    for _ in 0..WARM_UP {
        work()?;
    }
    let mut times = Vec::with_capacity(RUNS);
    let mut cpu_times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let cpu_before = thread_cpu();
        let started = Instant::now();
        let value = work()?;
        times.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_before, thread_cpu()) {
            cpu_times.push(after.saturating_sub(before));
        }
        last = Some(value);
    }
    times.sort();
    cpu_times.sort();
    let timing = Timing {
        median: times[RUNS / 2],
        min: times[0],
        max: times[RUNS - 1],
        cpu: (cpu_times.len() == RUNS).then(|| cpu_times[RUNS / 2]),
    };
    Ok((timing, last.ok_or("no runs")?))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The figures of one size.
struct SizeResult {
    respondents: usize,
    answers: usize,
    /// `None` when an earlier run stored the waves.
    store: Option<Duration>,
    refresh: Vec<Duration>,
    /// Bytes of the latest wave's release (its decisions and shown groups' counts).
    stored_rows: usize,
    groups: usize,
    suppressed_groups: usize,
    json_bytes: usize,
    trend_json_bytes: usize,
    /// Statements sent by one wave report and one trend.
    queries: (usize, usize),
    rows: Vec<(&'static str, Timing)>,
}

fn release_bytes(conn: &mut icsat::db::Conn, release_id: i64) -> Result<usize, BoxError> {
    use diesel::prelude::*;
    use icsat::db::schema::wave_releases;
    let content: String = icsat::with_conn!(*conn, c => wave_releases::table
        .find(release_id)
        .select(wave_releases::content)
        .first(c))?;
    Ok(content.len())
}

/// Stores the waves of one size and counts them; returns the wave ids, the time storing
/// took, and the time counting each wave took.
#[allow(clippy::too_many_arguments)]
fn generate(
    conn: &mut Conn,
    slug: &str,
    survey_id: i64,
    version_id: i64,
    definition: &icsat::definitions::Definition,
    labels: &[String],
    questions: &[BenchQuestion],
    sizes: &[(i64, usize)],
) -> Result<(Vec<i64>, Duration, Vec<Duration>), BoxError> {
    let respondents: usize = sizes.iter().map(|(_, n)| n).sum();
    eprintln!("{slug}: storing {WAVES} waves of {respondents} responses");
    bulk_load_settings(conn, true)?;
    let mut rng = Rng(0x1c5a_7001 ^ respondents as u64);
    let mut wave_ids = Vec::new();
    let started = Instant::now();
    for (w, label) in labels.iter().enumerate() {
        let wave_started = Instant::now();
        let id = store_wave(
            conn, survey_id, version_id, label, w, questions, sizes, &mut rng,
        )?;
        eprintln!(
            "  wave {label}: stored in {:.1} s",
            wave_started.elapsed().as_secs_f64()
        );
        wave_ids.push(id);
    }
    let store = started.elapsed();
    bulk_load_settings(conn, false)?;
    let mut refresh = Vec::new();
    for (id, label) in wave_ids.iter().zip(labels) {
        let started = Instant::now();
        reports::release::make(conn, *id, definition, true)?;
        refresh.push(started.elapsed());
        eprintln!(
            "  wave {label}: released in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }

    Ok((wave_ids, store, refresh))
}

fn run_size(
    db: &Db,
    dir: &Path,
    teams: &[String],
    respondents: usize,
) -> Result<SizeResult, BoxError> {
    let mut conn = db.get()?;
    let slug = format!("report-bench-{respondents}");
    let (toml, questions) = survey(&slug);
    let folder = dir.join(&slug);
    std::fs::create_dir_all(&folder)?;
    std::fs::write(folder.join("survey.toml"), &toml)?;
    let loaded = icsat::surveys::load(&[folder])?;
    icsat::surveys::sync(&mut conn, &loaded)?;
    let (version_id, definition) = icsat::surveys::current(&mut conn, &slug)?;
    let survey_id = icsat::waves::survey_id(&mut conn, &slug)?.ok_or("survey not stored")?;
    let org = Org::load(&mut conn)?;
    let sizes = department_sizes(&org, teams, respondents);

    let labels: Vec<String> = (0..WAVES).map(|w| format!("{}-03", 2023 + w)).collect();

    // A database that holds a complete earlier run of this size is measured again as is:
    // its waves all have their final release (nothing clears `counts_stale` since views
    // read releases, so that flag cannot tell).
    let existing = icsat::waves::of_survey(&mut conn, survey_id)?;
    let mut complete = existing.len() == WAVES
        && existing
            .iter()
            .zip(&labels)
            .all(|(w, label)| &w.label == label);
    for w in &existing {
        complete =
            complete && reports::release::latest(&mut conn, w.id)?.is_some_and(|r| r.info.is_final);
    }
    let (wave_ids, store, refresh) = if complete {
        eprintln!("{slug}: measuring the {WAVES} waves stored by an earlier run");
        (existing.iter().map(|w| w.id).collect(), None, Vec::new())
    } else if !existing.is_empty() {
        return Err(format!(
            "the database holds an incomplete earlier run of {slug}: use an empty database"
        )
        .into());
    } else {
        let (wave_ids, store, refresh) = generate(
            &mut conn,
            &slug,
            survey_id,
            version_id,
            &definition,
            &labels,
            &questions,
            &sizes,
        )?;
        (wave_ids, Some(store), refresh)
    };

    let latest = labels.last().ok_or("no waves")?.as_str();
    let latest_id = *wave_ids.last().ok_or("no waves")?;
    let query = WaveQuery {
        survey: &slug,
        wave: Some(latest),
        department: None,
        filters: &[],
    };
    count_queries(&mut conn);
    let queries = (
        queries_of(|| Ok(reports::wave_report(&mut conn, &query)?))?,
        queries_of(|| Ok(reports::trend_report(&mut conn, &slug, None)?))?,
    );
    let mut rows = Vec::new();
    let (timing, (report, _order)) = time(|| Ok(reports::wave_report(&mut conn, &query)?))?;
    rows.push(("full wave report (reports::wave_report)", timing));
    let groups = report.groups.len();
    let suppressed_groups = report
        .groups
        .iter()
        .filter(|g| g.suppression().is_some())
        .count();
    let (timing, _) = time(|| Ok(reports::wave_definition(&mut conn, version_id)?))?;
    rows.push(("  definition read and parsed", timing));
    let (timing, _) = time(|| Ok(Org::load(&mut conn)?))?;
    rows.push(("  department tree (Org::load)", timing));
    let latest_wave = icsat::waves::of_survey(&mut conn, survey_id)?
        .into_iter()
        .find(|w| w.id == latest_id)
        .ok_or("the latest wave is gone")?;
    let (timing, loaded_counts) = time(|| {
        let released = reports::release::latest(&mut conn, latest_wave.id)?.ok_or("no release")?;
        Ok(released)
    })?;
    rows.push(("  latest release (release::latest)", timing));
    let (timing, _) = time(|| {
        Ok(wave::build(
            &definition,
            latest,
            &org,
            &loaded_counts,
            None,
            &[],
        )?)
    })?;
    rows.push(("  building from the release (wave::build)", timing));
    let (timing, json) = time(|| Ok(serde_json::to_vec_pretty(&report)?))?;
    rows.push(("JSON of the wave report (pretty)", timing));
    let json_bytes = json.len();
    let (timing, trend) = time(|| Ok(reports::trend_report(&mut conn, &slug, None)?))?;
    rows.push(("5-wave trend (reports::trend_report)", timing));
    let (timing, trend_json) = time(|| Ok(serde_json::to_vec_pretty(&trend)?))?;
    rows.push(("JSON of the trend (pretty)", timing));
    let (timing, _) = time(|| {
        let (report, _) = reports::wave_report(&mut conn, &query)?;
        Ok(serde_json::to_vec_pretty(&report)?)
    })?;
    rows.push(("full report + JSON (what a request costs)", timing));

    Ok(SizeResult {
        respondents,
        answers: respondents * questions.len(),
        store,
        refresh,
        stored_rows: release_bytes(&mut conn, loaded_counts.id)?,
        groups,
        suppressed_groups,
        json_bytes,
        trend_json_bytes: trend_json.len(),
        queries,
        rows,
    })
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let sizes: Vec<usize> = args
        .next()
        .map(|list| {
            list.split(',')
                .map(|n| n.trim().replace('_', "").parse::<usize>())
                .collect::<Result<_, _>>()
        })
        .transpose()?
        .unwrap_or_else(|| vec![100_000]);
    if sizes.is_empty() || sizes.contains(&0) {
        return Err("RESPONDENTS must be positive numbers, e.g. 100000 or 10000,100000".into());
    }
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let url = DatabaseUrl::parse(&url)?;
    let db = Db::open(&url)?;

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

    let results: Vec<SizeResult> = sizes
        .iter()
        .map(|&n| run_size(&db, dir.path(), &teams, n))
        .collect::<Result<_, _>>()?;

    let departments = Org::load(&mut db.get()?)?.departments.len();
    println!();
    println!(
        "report benchmark: {departments} departments, 30 questions (6 services), {WAVES} waves, {}",
        url.display()
    );
    println!(
        "load average of the machine: {}",
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into())
    );
    println!(
        "times in ms: median [fastest..slowest] of {RUNS} runs after {WARM_UP} warm-up runs, \
         and the median CPU time of the benchmark's thread"
    );
    let width = 42;
    let column = 36;
    let print = |label: &str, cell: &dyn Fn(&SizeResult) -> String| {
        let mut line = format!("{label:<width$}");
        for r in &results {
            let _ = write!(line, "{:>column$}", cell(r));
        }
        println!("{line}");
    };
    print("respondents per wave", &|r| r.respondents.to_string());
    print("one-off: answers stored (all waves)", &|r| {
        format!("{} rows", r.answers * WAVES)
    });
    print("one-off: storing them", &|r| match r.store {
        Some(d) => format!("{:.1} s", d.as_secs_f64()),
        None => "(earlier run)".into(),
    });
    print("one-off: final release of a wave (release::make)", &|r| {
        let mut sorted = r.refresh.clone();
        sorted.sort();
        match (sorted.first(), sorted.last()) {
            (Some(first), Some(last)) => format!(
                "{:.2} s [{:.2}..{:.2}]",
                sorted[sorted.len() / 2].as_secs_f64(),
                first.as_secs_f64(),
                last.as_secs_f64()
            ),
            _ => "(earlier run)".into(),
        }
    });
    print("release of a wave, stored", &|r| {
        format!("{} bytes", r.stored_rows)
    });
    print("groups in the report (suppressed)", &|r| {
        format!("{} ({})", r.groups, r.suppressed_groups)
    });
    print("JSON size: wave report / trend", &|r| {
        format!(
            "{} / {} KiB",
            r.json_bytes.div_ceil(1024),
            r.trend_json_bytes.div_ceil(1024)
        )
    });
    print("statements sent: wave report / trend", &|r| {
        format!("{} / {}", r.queries.0, r.queries.1)
    });
    for (i, (label, _)) in results[0].rows.iter().enumerate() {
        print(label, &|r| {
            let t = &r.rows[i].1;
            let cpu = t
                .cpu
                .map_or(String::new(), |c| format!(" cpu {:.2}", ms(c)));
            format!(
                "{:.2} [{:.2}..{:.2}]{cpu}",
                ms(t.median),
                ms(t.min),
                ms(t.max)
            )
        });
    }
    Ok(())
}
