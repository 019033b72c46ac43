//! `icsat report` and `icsat trend` on imported waves: the figures, the suppression, and
//! the same JSON on both backends.

use crate::common::{CommandOutput, TestDb};
use crate::responses::PULSE;

const DEPARTMENTS: &str = "department,parent,head_email\n\
    Company,,\nIT,Company,\nHR,Company,\nSales,Company,\nSales North,Sales,\nSales South,Sales,\n";

/// Respondents per department (direct members): Sales North is under the threshold of 5,
/// and Sales South is hidden too (secondary suppression: Sales, shown with 10, minus a
/// shown Sales South would reveal Sales North).
const SIZES: [(&str, usize); 5] = [
    ("IT", 24),
    ("HR", 9),
    ("Sales", 0),
    ("Sales North", 3),
    ("Sales South", 7),
];

fn wave_csv(seed: u64, shift: i64) -> String {
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
            let nps = (next(11) as i64 + shift).clamp(0, 10);
            let enps = ((fast * 2) + next(3) as i64).clamp(0, 10);
            let channel = ["Email", "Chat", ""][next(3) as usize];
            let comment = if i % 4 == 0 {
                format!("note {department} {i}")
            } else {
                String::new()
            };
            csv.push_str(&format!(
                "{department},{fast},{nps},{enps},{channel},{comment}\n"
            ));
        }
    }
    csv
}

/// A database with the tree, the pulse survey and two imported waves.
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
        let file = db.write(&format!("{label}.csv"), wave_csv(seed, shift));
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

fn json(out: &CommandOutput) -> serde_json::Value {
    out.assert_ok();
    serde_json::from_str(&out.stdout()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout()))
}

fn group<'a>(report: &'a serde_json::Value, name: Option<&str>) -> &'a serde_json::Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["department"].as_str() == name)
        .unwrap_or_else(|| panic!("no group {name:?}"))
}

fn small_groups_show_nothing(db: TestDb) {
    let defs = with_two_waves(&db);
    let report = json(&run(&db, &defs, &["report", "pulse", "--format", "json"]));
    assert_eq!(report["survey"], "pulse");
    assert_eq!(report["wave"], "2026-03-01", "the latest wave by default");
    let whole = group(&report, None);
    assert_eq!(whole["respondents"], 43);
    assert_eq!(whole["suppressed"], false);
    assert_eq!(whole["questions"]["it-fast"]["n"], 43);
    assert!(whole["services"]["IT"]["satisfaction"].is_number());
    assert_eq!(group(&report, Some("Sales"))["respondents"], 10);
    for hidden in ["Sales North", "Sales South"] {
        let g = group(&report, Some(hidden));
        assert_eq!(
            g,
            &serde_json::json!({"department": hidden, "suppressed": true}),
            "{hidden}"
        );
    }
    let it = group(&report, Some("IT"));
    assert_eq!(it["respondents"], 24);
    // The CSV and text views carry the same suppression.
    let csv = run(&db, &defs, &["report", "pulse", "--format", "csv"]);
    csv.assert_ok();
    for line in csv.stdout().lines().filter(|l| l.starts_with("Sales ")) {
        assert!(line.contains(",true,") || line.ends_with(",true"), "{line}");
        assert!(
            !line
                .chars()
                .any(|c| c.is_ascii_digit() && !line.starts_with("Sales")),
            "{line}"
        );
    }
    let text = run(&db, &defs, &["report", "pulse"]);
    text.assert_ok();
    assert!(
        text.stdout()
            .contains("Sales North: fewer than 5 responses"),
        "{}",
        text.stdout()
    );
    assert!(
        text.stdout().contains("IT: 24 respondents"),
        "{}",
        text.stdout()
    );
}

fn a_department_view_and_bad_requests(db: TestDb) {
    let defs = with_two_waves(&db);
    let report = json(&run(
        &db,
        &defs,
        &[
            "report",
            "pulse",
            "--wave",
            "2025-03-01",
            "--department",
            "IT",
            "--format",
            "json",
        ],
    ));
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["department"], "IT");
    let out = run(&db, &defs, &["report", "pulse", "--wave", "1999"]);
    out.assert_fails(1);
    assert!(
        out.stderr()
            .contains("has no wave \"1999\"; its waves: 2025-03-01, 2026-03-01"),
        "{}",
        out.stderr()
    );
    let out = run(&db, &defs, &["report", "pulse", "--department", "Nowhere"]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains("there is no department \"Nowhere\""),
        "{}",
        out.stderr()
    );
    let out = run(&db, &defs, &["report", "nosuch"]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains("there is no survey \"nosuch\""),
        "{}",
        out.stderr()
    );
    let out = run(
        &db,
        &defs,
        &["report", "pulse", "--where", "location=Berlin"],
    );
    out.assert_fails(1);
    assert!(
        out.stderr()
            .contains("the filter location=Berlin is refused"),
        "{}",
        out.stderr()
    );
}

fn trends_mark_changes(db: TestDb) {
    let defs = with_two_waves(&db);
    let trend = json(&run(&db, &defs, &["trend", "pulse", "--format", "json"]));
    let waves: Vec<&str> = trend["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["wave"].as_str().unwrap())
        .collect();
    assert_eq!(waves, ["2025-03-01", "2026-03-01"]);
    let fast = trend["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == "it-fast")
        .unwrap();
    let later = &fast["waves"][1];
    assert!(
        later["change"]["favorable"]["delta"].as_f64().unwrap() > 0.0,
        "{later}"
    );
    assert!(later["change"]["mean"]["p_value"].is_number(), "{later}");
    let text = run(&db, &defs, &["trend", "pulse"]);
    text.assert_ok();
    assert!(text.stdout().contains("↑"), "{}", text.stdout());
    let hidden = json(&run(
        &db,
        &defs,
        &[
            "trend",
            "pulse",
            "--department",
            "Sales North",
            "--format",
            "json",
        ],
    ));
    assert_eq!(hidden["waves"][0]["suppressed"], true);
    let point = &hidden["questions"][0]["waves"][1];
    assert_eq!(point["figures"], serde_json::json!({"suppressed": true}));
    assert!(
        point.get("change").is_none(),
        "no change may be shown next to a hidden wave: {point}"
    );
}

crate::on_both_backends!(
    small_groups_show_nothing,
    a_department_view_and_bad_requests,
    trends_mark_changes
);

/// The same imported data gives byte-identical JSON on SQLite and PostgreSQL.
#[test]
fn identical_json_on_both_backends() {
    let Some(postgres) = TestDb::postgres() else {
        return;
    };
    let sqlite = TestDb::sqlite();
    let outputs: Vec<Vec<String>> = [&sqlite, &postgres]
        .iter()
        .map(|db| {
            let defs = with_two_waves(db);
            [
                vec!["report", "pulse", "--format", "json"],
                vec![
                    "report",
                    "pulse",
                    "--wave",
                    "2025-03-01",
                    "--format",
                    "json",
                ],
                vec!["trend", "pulse", "--format", "json"],
                vec!["report", "pulse", "--format", "csv"],
            ]
            .iter()
            .map(|args| {
                let out = run(db, &defs, args);
                out.assert_ok();
                out.stdout()
            })
            .collect()
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
}
