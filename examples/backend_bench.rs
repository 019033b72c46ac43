//! Benchmark: the same wave on SQLite and on PostgreSQL, side by side, through the real
//! `icsat` binary run as a child process:
//!
//! - `icsat export SURVEY --wave L --raw`: wall time and peak resident memory (VmHWM,
//!   polled from /proc/PID/status), median of 3 runs; and whether both backends' CSVs
//!   hold the same rows;
//! - `icsat responses import` of the exported rows (as a new wave, removed afterwards):
//!   rows per second, whole process;
//! - `icsat report SURVEY --wave L --format json` against `scripts/pandas_report.py`
//!   computing the report's headline figures (n, mean, favourable share, eNPS/NPS;
//!   overall and per department) from the raw CSV: each timed as a whole process
//!   (Python's start and imports included), median of 10 runs after one warm-up; the
//!   ratio pandas / icsat (target >= 10x), and every figure compared between the two.
//!
//! It needs the waves `cargo run --release --example report_bench -- 100000 URL` stores
//! (5 waves x 100,000 respondents x 30 questions; about 1 min on SQLite, 3 min or more
//! on PostgreSQL), in both databases, and pandas
//! (`python3 -m pip install pandas`):
//!
//!     psql postgres://postgres@127.0.0.1:5432/test -c 'CREATE SCHEMA exportbench'
//!     PG='postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dexportbench'
//!     cargo build --release --bin icsat --example report_bench --example backend_bench
//!     target/release/examples/report_bench 100000 sqlite:///tmp/bench/s100k.db
//!     target/release/examples/report_bench 100000 "$PG"
//!     target/release/examples/backend_bench sqlite:///tmp/bench/s100k.db "$PG" [RESPONDENTS [WAVE]]
//!
//! RESPONDENTS (default 100000) names report_bench's survey (`report-bench-RESPONDENTS`),
//! WAVE (default 2027-03, the latest) the wave. The two databases hold the same answers
//! but not the same response ids (random UUIDs drawn when stored), so the CSVs cannot
//! be the same bytes: the benchmark checks that they are the same rows apart from the id
//! column (the same multiset of lines without their first cell). The load average of the
//! machine is printed before and after: the figures mean little on a busy machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[allow(dead_code)]
mod bench_org;
mod child_process;

use child_process::measure;

type BoxError = Box<dyn std::error::Error>;

const EXPORT_RUNS: usize = 3;
const REPORT_RUNS: usize = 10;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Median, fastest and slowest.
struct Spread {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn spread(mut times: Vec<Duration>) -> Spread {
    times.sort();
    Spread {
        median: times[times.len() / 2],
        min: times[0],
        max: times[times.len() - 1],
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        if self.median >= Duration::from_secs(1) {
            write!(
                f,
                "{:.2} s [{:.2}..{:.2}]",
                self.median.as_secs_f64(),
                self.min.as_secs_f64(),
                self.max.as_secs_f64()
            )
        } else {
            write!(
                f,
                "{:.0} ms [{:.0}..{:.0}]",
                ms(self.median),
                ms(self.min),
                ms(self.max)
            )
        }
    }
}

/// The figures of one backend.
struct Backend {
    name: &'static str,
    export: Spread,
    export_peak_kib: u64,
    rows: usize,
    csv: PathBuf,
    report: Spread,
    pandas: Spread,
    /// `responses import` of the exported rows, whole process.
    import: Duration,
    /// Figures compared, and those that differ (the first few described).
    agree: usize,
    differ: Vec<String>,
}

fn run_backend(
    name: &'static str,
    url: &str,
    binary: &Path,
    dir: &Path,
    survey: &str,
    wave: &str,
) -> Result<Backend, BoxError> {
    let icsat = |args: &[&str]| {
        let mut command = Command::new(binary);
        command
            .args(args)
            .env("ICSAT_DATABASE_URL", url)
            .env_remove("ICSAT_LOG");
        command
    };
    eprintln!("{name}: raw export, {EXPORT_RUNS} runs");
    let csv = dir.join(format!("raw-{name}.csv"));
    let csv_arg = csv.to_string_lossy().to_string();
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..EXPORT_RUNS {
        let (time, kib) = measure(
            icsat(&["export", survey, "--wave", wave, "--raw", "-o", &csv_arg]),
            std::fs::File::create(dir.join("export.out"))?,
        )?;
        times.push(time);
        peak = peak.max(kib);
    }
    let rows = std::fs::read(&csv)?
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1);

    eprintln!("{name}: report, 1 + {REPORT_RUNS} runs");
    let report_json = dir.join(format!("report-{name}.json"));
    let mut times_report = Vec::new();
    for run in 0..=REPORT_RUNS {
        let (time, _) = measure(
            icsat(&["report", survey, "--wave", wave, "--format", "json"]),
            std::fs::File::create(&report_json)?,
        )?;
        if run > 0 {
            times_report.push(time);
        }
    }

    eprintln!("{name}: pandas, 1 + {REPORT_RUNS} runs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pandas_report.py");
    let pandas_json = dir.join(format!("pandas-{name}.json"));
    let mut times_pandas = Vec::new();
    for run in 0..=REPORT_RUNS {
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .arg(&csv)
            .arg(dir.join("survey.toml"))
            .arg(dir.join("departments.csv"));
        let (time, _) = measure(command, std::fs::File::create(&pandas_json)?)?;
        if run > 0 {
            times_pandas.push(time);
        }
    }
    let (agree, differ) = compare(&report_json, &pandas_json)?;

    // `responses import` of the same rows as a new wave, then that wave removed again.
    eprintln!("{name}: responses import of {rows} rows");
    let import_csv = dir.join(format!("import-{name}.csv"));
    write_import_file(&csv, &import_csv)?;
    let label = format!("import-bench-{}", std::process::id());
    let (import_time, _) = measure(
        icsat(&[
            "responses",
            "import",
            survey,
            &import_csv.to_string_lossy(),
            "--wave",
            &label,
        ]),
        std::fs::File::create(dir.join("import.out"))?,
    )?;
    remove_wave(url, &label)?;
    Ok(Backend {
        import: import_time,
        name,
        export: spread(times),
        export_peak_kib: peak,
        rows,
        csv,
        report: spread(times_report),
        pandas: spread(times_pandas),
        agree,
        differ,
    })
}

/// The raw export as `responses import` reads it: the department (the top of the tree
/// where the export left it empty) and the question columns, without the response ids.
fn write_import_file(raw: &Path, out: &Path) -> Result<(), BoxError> {
    let top = bench_org::department_tree()
        .0
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next())
        .unwrap_or_default()
        .to_string();
    let mut reader = csv::Reader::from_path(raw)?;
    let mut writer = csv::Writer::from_path(out)?;
    writer.write_record(reader.headers()?.iter().skip(1))?;
    for record in reader.records() {
        let record = record?;
        let mut cells: Vec<&str> = record.iter().skip(1).collect();
        if cells.first().is_some_and(|d| d.is_empty()) {
            cells[0] = &top;
        }
        writer.write_record(&cells)?;
    }
    writer.flush()?;
    Ok(())
}

/// Deletes an imported wave and everything stored for it.
fn remove_wave(url: &str, label: &str) -> Result<(), BoxError> {
    use diesel::connection::SimpleConnection;
    let db = icsat::db::Db::connect(&icsat::db::DatabaseUrl::parse(url)?)?;
    let mut conn = db.get()?;
    let wave = format!("(SELECT id FROM waves WHERE label = '{label}')");
    let mut sql = format!(
        "DELETE FROM answers WHERE response_id IN (SELECT id FROM responses WHERE wave_id IN {wave});"
    );
    for table in [
        "responses",
        "wave_views",
        "wave_cubes",
        "wave_participation",
    ] {
        sql.push_str(&format!("DELETE FROM {table} WHERE wave_id IN {wave};"));
    }
    sql.push_str(&format!(
        "DELETE FROM release_comments WHERE release_id IN \
         (SELECT id FROM wave_releases WHERE wave_id IN {wave});\
         DELETE FROM wave_releases WHERE wave_id IN {wave};"
    ));
    sql.push_str(&format!("DELETE FROM waves WHERE label = '{label}';"));
    icsat::with_conn!(conn, c => c.batch_execute(&sql))?;
    Ok(())
}

/// Compares every figure pandas computed with the report's: n, mean, favourable share
/// and eNPS of every shown question of every shown group. Returns how many agree (to
/// 1e-9) and a description of each that does not.
fn compare(report: &Path, pandas: &Path) -> Result<(usize, Vec<String>), BoxError> {
    let read = |p: &Path| -> Result<serde_json::Value, BoxError> {
        Ok(serde_json::from_slice(&std::fs::read(p)?)?)
    };
    let (report, pandas) = (read(report)?, read(pandas)?);
    let groups = |v: &serde_json::Value| -> BTreeMap<String, serde_json::Value> {
        v["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                let name = g["department"].as_str().unwrap_or("(whole audience)");
                (name.to_string(), g.clone())
            })
            .collect()
    };
    let ours = groups(&pandas);
    let mut agree = 0;
    let mut differ = Vec::new();
    for (name, group) in groups(&report) {
        if group["suppressed"].as_bool() == Some(true) {
            continue;
        }
        let Some(theirs) = ours.get(&name) else {
            differ.push(format!("{name}: no figures from pandas"));
            continue;
        };
        if group["respondents"] != theirs["respondents"] {
            differ.push(format!(
                "{name}: respondents {} vs pandas {}",
                group["respondents"], theirs["respondents"]
            ));
        }
        let Some(questions) = group["questions"].as_object() else {
            continue;
        };
        for (id, figures) in questions {
            for key in ["n", "mean", "favorable", "enps"] {
                let Some(expected) = figures[key].as_f64() else {
                    continue;
                };
                let got = theirs["questions"][id][key].as_f64();
                match got {
                    Some(got) if (got - expected).abs() <= 1e-9 * expected.abs().max(1.0) => {
                        agree += 1
                    }
                    _ => differ.push(format!(
                        "{name} / {id} / {key}: report {expected}, pandas {got:?}"
                    )),
                }
            }
        }
    }
    Ok((agree, differ))
}

/// Whether two raw CSVs are the same bytes, or else the same rows apart from the first
/// cell (the response id).
fn same_rows(a: &Path, b: &Path) -> Result<String, BoxError> {
    let (a, b) = (std::fs::read(a)?, std::fs::read(b)?);
    if a == b {
        return Ok("identical bytes".into());
    }
    let rows = |bytes: &[u8]| -> Vec<Vec<u8>> {
        let mut rows: Vec<Vec<u8>> = bytes
            .split(|b| *b == b'\n')
            .skip(1)
            .map(|line| match line.iter().position(|b| *b == b',') {
                Some(comma) => line[comma..].to_vec(),
                None => line.to_vec(),
            })
            .collect();
        rows.sort_unstable();
        rows
    };
    let header = |bytes: &[u8]| -> Vec<u8> {
        bytes
            .split(|b| *b == b'\n')
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    if header(&a) == header(&b) && rows(&a) == rows(&b) {
        Ok("same rows but the response ids (random per database)".into())
    } else {
        Ok("DIFFERENT rows".into())
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sqlite, postgres, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: backend_bench SQLITE_URL POSTGRES_URL [RESPONDENTS [WAVE]] (see the source)"
                .into(),
        );
    };
    let respondents = rest.first().map_or("100000", String::as_str);
    let wave = rest.get(1).map_or("2027-03", String::as_str);
    let survey = format!("report-bench-{respondents}");
    let binary = child_process::icsat_binary()?;
    let dir = tempfile::tempdir()?;
    // What report_bench stored: pandas needs the question types and the tree.
    std::fs::write(dir.path().join("survey.toml"), bench_org::survey(&survey).0)?;
    std::fs::write(
        dir.path().join("departments.csv"),
        bench_org::department_tree().0,
    )?;

    let load_before = load_average();
    let results = [
        run_backend("sqlite", sqlite, &binary, dir.path(), &survey, wave)?,
        run_backend("postgres", postgres, &binary, dir.path(), &survey, wave)?,
    ];
    let load_after = load_average();
    let csvs = same_rows(&results[0].csv, &results[1].csv)?;

    println!();
    println!(
        "backend benchmark: {survey}, wave {wave}, {} (child processes)",
        binary.display()
    );
    println!("load average before: {load_before}; after: {load_after}");
    println!("times: median [fastest..slowest]; raw export {EXPORT_RUNS} runs, report and pandas {REPORT_RUNS} runs after a warm-up");
    let width = 44;
    let column = 30;
    let print = |label: &str, cell: &dyn Fn(&Backend) -> String| {
        let mut line = format!("{label:<width$}");
        for r in &results {
            line.push_str(&format!("{:>column$}", cell(r)));
        }
        println!("{line}");
    };
    print("", &|r| r.name.to_string());
    print("raw export: rows", &|r| r.rows.to_string());
    print("raw export: wall time (target <= 1.5 s)", &|r| {
        r.export.to_string()
    });
    print("raw export: peak RSS (target < 100 MB)", &|r| {
        format!("{:.1} MiB", r.export_peak_kib as f64 / 1024.0)
    });
    print("icsat report --format json (process)", &|r| {
        r.report.to_string()
    });
    print("pandas_report.py on the raw CSV (process)", &|r| {
        r.pandas.to_string()
    });
    print("pandas / icsat (target >= 10x)", &|r| {
        format!(
            "{:.1}x",
            r.pandas.median.as_secs_f64() / r.report.median.as_secs_f64()
        )
    });
    print("responses import (rows/s, whole process)", &|r| {
        format!(
            "{:.0}/s ({:.2} s)",
            r.rows as f64 / r.import.as_secs_f64(),
            r.import.as_secs_f64()
        )
    });
    print("figures pandas = report (differ)", &|r| {
        format!("{} ({})", r.agree, r.differ.len())
    });
    println!("raw CSVs of the two backends: {csvs}");
    for r in &results {
        for d in r.differ.iter().take(5) {
            println!("  {}: {d}", r.name);
        }
    }
    Ok(())
}
