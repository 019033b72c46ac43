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
    crate::common::pulse_answers_csv(&SIZES, seed, shift, |department, i| {
        if i % 4 == 0 {
            format!("note {department} {i}")
        } else {
            String::new()
        }
    })
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
    db.icsat_with_definitions(defs, args)
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
        out.stderr().contains("location is not a report dimension"),
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
    let stdout = text.stdout();
    assert!(stdout.contains("↑"), "{stdout}");
    // A row per wave, in blocks that fit a terminal of 100 columns.
    assert!(
        stdout.lines().skip(1).all(|l| l.chars().count() <= 100),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("2026-03-01 ")),
        "{stdout}"
    );
    let last = run(
        &db,
        &defs,
        &["trend", "pulse", "--last", "1", "--format", "json"],
    );
    let last = json(&last);
    assert_eq!(last["waves"].as_array().unwrap().len(), 1);
    assert_eq!(last["waves"][0]["wave"], "2026-03-01");
    run(&db, &defs, &["trend", "pulse", "--last", "0"]).assert_fails(1);
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

/// One more response of wave `label` from IT, stored the way sealing stores it; returns
/// the wave.
fn one_more_answer(conn: &mut icsat::db::Conn, label: &str) -> icsat::waves::Wave {
    use diesel::prelude::*;
    use icsat::db::schema::{departments, waves};
    let survey_id = icsat::waves::survey_id(conn, "pulse").unwrap().unwrap();
    let wave = icsat::waves::find(conn, survey_id, label).unwrap().unwrap();
    let it: i64 = icsat::with_conn!(*conn, c => departments::table
        .filter(departments::name.eq("IT"))
        .select(departments::id)
        .first(c))
    .unwrap();
    let response = icsat::responses::NewResponse {
        department_id: Some(it),
        attributes: "{}".into(),
        employee_id: None,
        answers: vec![icsat::responses::AnswerValue {
            question_id: "it-fast".into(),
            ordinal: 0,
            value: Some(5),
            text: None,
        }],
    };
    icsat::responses::store::insert(conn, wave.id, &[response]).unwrap();
    icsat::with_conn!(*conn, c => diesel::update(waves::table.find(wave.id))
        .set(waves::counts_stale.eq(true))
        .execute(c))
    .unwrap();
    wave
}

/// Views read a wave's latest release and never count: a closed wave's final release
/// never changes, even when a late answer reaches the response tables.
fn a_final_release_never_changes(db: TestDb) {
    let defs = with_two_waves(&db);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let report = json(&run(&db, &defs, &["report", "pulse", "--format", "json"]));
    assert_eq!(group(&report, None)["respondents"], 43);
    assert_eq!(report["release"]["seq"], 1);
    assert_eq!(report["release"]["final"], true);
    one_more_answer(&mut conn, "2026-03-01");
    let again = json(&run(&db, &defs, &["report", "pulse", "--format", "json"]));
    assert_eq!(again, report, "the final release, as it was");
    let released = icsat::reports::release::due(&mut conn, icsat::db::now()).unwrap();
    assert!(released.is_empty(), "no release after the final one");
}

/// A closed wave without a release (its close stopped halfway, or the database predates
/// releases) shows nothing until the scheduler makes its final release.
fn closed_waves_without_a_release_get_one(db: TestDb) {
    use diesel::connection::SimpleConnection;
    let defs = with_two_waves(&db);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let args = [
        "report",
        "pulse",
        "--wave",
        "2025-03-01",
        "--format",
        "json",
    ];
    let released = run(&db, &defs, &args).stdout();
    let survey_id = icsat::waves::survey_id(&mut conn, "pulse")
        .unwrap()
        .unwrap();
    let first = icsat::waves::find(&mut conn, survey_id, "2025-03-01")
        .unwrap()
        .unwrap();
    let forget = format!(
        "DELETE FROM release_comments WHERE release_id IN (SELECT id FROM wave_releases WHERE wave_id = {id}); \
         DELETE FROM wave_releases WHERE wave_id = {id}",
        id = first.id,
    );
    icsat::with_conn!(conn, c => c.batch_execute(&forget)).unwrap();
    let nothing = json(&run(&db, &defs, &args));
    assert_eq!(group(&nothing, None)["suppressed"], true);
    assert!(nothing.get("release").is_none());
    let made = icsat::reports::release::due(&mut conn, icsat::db::now()).unwrap();
    assert_eq!(made, vec!["2025-03-01"]);
    // Made from the responses as closing left them (generalised), so groups whose rows
    // were rolled up are shown with their ancestors; IT, large enough, is as it was.
    let remade = json(&run(&db, &defs, &args));
    let before: serde_json::Value = serde_json::from_str(&released).unwrap();
    assert_eq!(remade["release"]["final"], true);
    assert_eq!(
        group(&remade, Some("IT"))["questions"]["it-fast"],
        group(&before, Some("IT"))["questions"]["it-fast"]
    );
}

crate::on_both_backends!(
    small_groups_show_nothing,
    a_department_view_and_bad_requests,
    trends_mark_changes,
    a_final_release_never_changes,
    closed_waves_without_a_release_get_one
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
                // When each release was made differs between the two runs, nothing else.
                regex_free_made_at(&out.stdout())
            })
            .collect()
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
}

/// The text with every release's `made_at` value blanked.
fn regex_free_made_at(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\"made_at\":") {
        let (head, tail) = rest.split_at(at + "\"made_at\":".len());
        out.push_str(head);
        let value_end = tail
            .find(',')
            .or_else(|| tail.find('}'))
            .unwrap_or(tail.len());
        out.push_str(" \"…\"");
        rest = &tail[value_end..];
    }
    out.push_str(rest);
    out
}
