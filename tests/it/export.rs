//! `icsat export` and `icsat report --format html`: the CSV read back by an independent
//! reader (Python's csv module) against the JSON report, formulas made inert, markup
//! escaped, small departments hidden, and clear errors.

use std::process::Command;

use crate::common::{repo_root, CommandOutput, TestDb};
use crate::responses::PULSE;

const DEPARTMENTS: &str = "department,parent,head_email\n\
    Company,,\nIT,Company,\nHR,Company,\nSales,Company,\nSales North,Sales,\nSales South,Sales,\n";

/// Respondents per department: Sales North (3) is under the threshold of 5, and Sales
/// South is hidden with it (secondary suppression); Sales as a whole (10) is shown.
const SIZES: [(&str, usize); 5] = [
    ("IT", 24),
    ("HR", 9),
    ("Sales", 0),
    ("Sales North", 3),
    ("Sales South", 7),
];

const FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";
const SCRIPT: &str = "<script>alert('x')</script>";

fn quoted(cell: &str) -> String {
    format!("\"{}\"", cell.replace('"', "\"\""))
}

fn wave_file(seed: u64, shift: i64) -> String {
    let mut state = seed;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut csv = String::from("department,it-fast,it-nps,enps,channel,comment\n");
    for (department, n) in SIZES {
        for i in 0..n {
            let fast = (1 + next(5) as i64 + shift).clamp(1, 5);
            let nps = (next(11) as i64 + shift * 2).clamp(0, 10);
            let enps = ((fast * 2) + next(3) as i64).clamp(0, 10);
            let channel = ["Email", "Chat", ""][next(3) as usize];
            let comment = match (department, i) {
                ("IT", 0) => quoted(FORMULA),
                ("IT", 1) => quoted(SCRIPT),
                ("IT", 2) => quoted("-12.5 is not a number here"),
                (_, i) if i % 4 == 0 => format!("note {department} {i}"),
                _ => String::new(),
            };
            csv.push_str(&format!(
                "{department},{fast},{nps},{enps},{channel},{comment}\n"
            ));
        }
    }
    csv
}

/// The tree, the pulse survey and two imported waves; returns the definitions folder.
fn with_two_waves(db: &TestDb) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("pulse.toml"), PULSE).unwrap();
    let departments = db.write("departments.csv", DEPARTMENTS);
    let roster = db.write("roster.csv", "email,name,department\na@x.io,A,IT\n");
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    let defs = defs.display().to_string();
    for (label, seed, shift) in [("2025-03-01", 7, 0), ("2026-03-01", 11, 1)] {
        let file = db.write(&format!("{label}.csv"), wave_file(seed, shift));
        run(
            db,
            &defs,
            &[
                "responses",
                "import",
                "pulse",
                "--wave",
                label,
                file.to_str().unwrap(),
            ],
        )
        .assert_ok();
    }
    defs
}

fn run(db: &TestDb, defs: &str, args: &[&str]) -> CommandOutput {
    CommandOutput(
        db.command(args)
            .env("ICSAT_DEFINITIONS", defs)
            .output()
            .unwrap(),
    )
}

/// Runs `icsat ARGS`, writes its standard output to `name` and returns the path.
fn save(db: &TestDb, defs: &str, args: &[&str], name: &str) -> String {
    let out = run(db, defs, args);
    out.assert_ok();
    db.write(name, &out.0.stdout).display().to_string()
}

/// `scripts/check_export.py MODE CSV JSON [TREND]`: the independent reader.
fn python_check(args: &[&str]) {
    let output = Command::new("python3")
        .arg(repo_root().join("scripts/check_export.py"))
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "check_export.py {args:?}:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("ok"), "{stdout}");
}

fn read_csv(bytes: &[u8]) -> Vec<csv::StringRecord> {
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 byte order mark"
    );
    csv::Reader::from_reader(&bytes[3..])
        .records()
        .map(|r| r.expect("a well-formed row"))
        .collect()
}

fn summary_equals_the_report(db: TestDb) {
    let defs = with_two_waves(&db);
    let csv_path = db.path("summary.csv");
    let out = run(
        &db,
        &defs,
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "-o",
            csv_path.to_str().unwrap(),
        ],
    );
    out.assert_ok();
    assert!(out.stderr().contains("wrote"), "{}", out.stderr());
    let report = save(
        &db,
        &defs,
        &[
            "report",
            "pulse",
            "--wave",
            "2026-03-01",
            "--format",
            "json",
        ],
        "report.json",
    );
    let trend = save(
        &db,
        &defs,
        &["trend", "pulse", "--format", "json"],
        "trend.json",
    );
    python_check(&["summary", csv_path.to_str().unwrap(), &report, &trend]);
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(
        bytes.windows(2).any(|w| w == b"\r\n"),
        "CRLF line ends for Excel"
    );
    let rows = read_csv(&bytes);
    let hidden: Vec<_> = rows.iter().filter(|r| &r[2] == "Sales North").collect();
    assert!(!hidden.is_empty());
    for row in hidden {
        assert_eq!(&row[5], "true", "{row:?}");
        assert_eq!(&row[6], "fewer than 5 responses", "{row:?}");
        assert!(row.iter().skip(7).take(20).all(str::is_empty), "{row:?}");
    }
    // A department view holds only the subtree.
    let out = run(
        &db,
        &defs,
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "--department",
            "Sales",
        ],
    );
    out.assert_ok();
    let departments: std::collections::BTreeSet<String> = read_csv(&out.0.stdout)
        .iter()
        .map(|r| r[2].to_string())
        .collect();
    assert_eq!(
        departments.into_iter().collect::<Vec<_>>(),
        ["Sales", "Sales North", "Sales South"]
    );
}

fn raw_export_hides_small_departments(db: TestDb) {
    let defs = with_two_waves(&db);
    let csv_path = db.path("raw.csv");
    run(
        &db,
        &defs,
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "--raw",
            "-o",
            csv_path.to_str().unwrap(),
        ],
    )
    .assert_ok();
    let report = save(
        &db,
        &defs,
        &[
            "report",
            "pulse",
            "--wave",
            "2026-03-01",
            "--format",
            "json",
        ],
        "report.json",
    );
    python_check(&["raw", csv_path.to_str().unwrap(), &report]);
    let bytes = std::fs::read(&csv_path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let rows = read_csv(&bytes);
    assert_eq!(rows.len(), 43);
    let count = |name: &str| rows.iter().filter(|r| &r[1] == name).count();
    assert_eq!(
        count("Sales North") + count("Sales South"),
        0,
        "hidden groups"
    );
    // Closing generalised the stored rows: Sales North's 3 were too few even at the top,
    // so they took in the next smallest class (Sales South's 7) at the whole audience.
    assert_eq!(count("IT"), 24);
    assert_eq!(count(""), 10, "{text}");
    assert_eq!(
        count("Sales") + count("HR") + count("IT") + count("Company") + count(""),
        43
    );
    // Comments need 10 people: rows labelled HR or Sales show none.
    let comment = 6;
    for row in rows.iter().filter(|r| &r[1] == "HR" || &r[1] == "Sales") {
        assert_eq!(&row[comment], "", "{row:?}");
    }
    assert!(rows
        .iter()
        .any(|r| &r[1] == "Company" && !r[comment].is_empty()));
    // Formulas are inert, numbers stay numbers, nothing identifies a person.
    assert!(
        rows.iter().any(|r| r[comment] == format!("'{FORMULA}")),
        "{text}"
    );
    assert!(!text.contains(&format!(",{FORMULA}")));
    assert!(rows
        .iter()
        .any(|r| &r[comment] == "'-12.5 is not a number here"));
    let header = text.lines().next().unwrap().trim_start_matches('\u{feff}');
    assert_eq!(
        header,
        "response,department,it-fast,it-nps,enps,channel,comment"
    );
    assert!(!text.contains("a@x.io"));
    // Ids are random, not the order of the file.
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "rows come in the order of their random ids");
    // A department view of a hidden department exports nothing.
    let out = run(
        &db,
        &defs,
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "--raw",
            "--department",
            "Sales North",
        ],
    );
    out.assert_fails(1);
    assert!(
        out.stderr().contains("fewer than 5 responses"),
        "{}",
        out.stderr()
    );
    assert!(out.stdout().is_empty() || out.stdout() == "\u{feff}");
}

fn html_report_is_escaped_and_self_contained(db: TestDb) {
    let defs = with_two_waves(&db);
    let out = run(&db, &defs, &["report", "pulse", "--format", "html"]);
    out.assert_ok();
    let html = out.stdout();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "no script at all");
    for external in ["http://", "https://", "src=", "<link"] {
        let outside_comments = html.replace("http://x", "");
        assert!(!outside_comments.contains(external), "{external} in {html}");
    }
    assert!(
        html.contains("<h2>Sales North</h2>\n<p class=\"hidden\">fewer than 5 responses</p>"),
        "{html}"
    );
    assert!(html.contains("IT is fast."), "question texts");
    let trend = run(&db, &defs, &["trend", "pulse", "--format", "html"]);
    trend.assert_ok();
    assert!(trend.stdout().contains("<table>"));
    assert!(trend.stdout().contains("↑"), "{}", trend.stdout());
    let hidden = run(
        &db,
        &defs,
        &[
            "trend",
            "pulse",
            "--department",
            "Sales North",
            "--format",
            "html",
        ],
    );
    hidden.assert_ok();
    assert!(hidden.stdout().contains("fewer than 5 responses"));
    assert!(
        !hidden.stdout().contains("class=\"up\"") && !hidden.stdout().contains("class=\"down\""),
        "no change next to a hidden wave: {}",
        hidden.stdout()
    );
}

fn bad_arguments_are_explained(db: TestDb) {
    let defs = with_two_waves(&db);
    let fails = |args: &[&str], message: &str| {
        let out = run(&db, &defs, args);
        out.assert_fails(1);
        assert!(out.stderr().contains(message), "{args:?}: {}", out.stderr());
    };
    fails(
        &["export", "pulse", "--wave", "1999"],
        "survey pulse has no wave \"1999\"; its waves: 2025-03-01, 2026-03-01",
    );
    fails(
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "--department",
            "Nowhere",
        ],
        "there is no department \"Nowhere\"",
    );
    fails(
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "--raw",
            "--department",
            "Nowhere",
        ],
        "there is no department \"Nowhere\"",
    );
    fails(
        &["export", "nosuch", "--wave", "2026-03-01"],
        "there is no survey \"nosuch\"",
    );
    let missing = db.path("no/such/folder/out.csv");
    fails(
        &[
            "export",
            "pulse",
            "--wave",
            "2026-03-01",
            "-o",
            missing.to_str().unwrap(),
        ],
        "cannot create",
    );
    // Usage errors are clap's: exit 2.
    run(&db, &defs, &["export", "pulse"]).assert_fails(2);
}

crate::on_both_backends!(
    summary_equals_the_report,
    raw_export_hides_small_departments,
    html_report_is_escaped_and_self_contained,
    bad_arguments_are_explained
);
