//! `icsat responses import`: earlier waves loaded from CSV, all or nothing.

use crate::common::TestDb;

pub const PULSE: &str = r#"
id = "pulse"
title = "Quarterly pulse"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"]

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
  id = "channel"
  type = "choice"
  options = ["Email", "Chat"]
  text = "How?"
  required = false

  [[sections.questions]]
  id = "comment"
  type = "text"
  text = "Anything else?"
"#;

/// A database with a flat roster (IT, HR, Sales) and the pulse definition in
/// `defs/`; returns the folder to pass as ICSAT_DEFINITIONS.
pub fn prepared(db: &TestDb) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("pulse.toml"), PULSE).unwrap();
    let roster = db.write(
        "roster.csv",
        "email,name,department\na@x.io,A,IT\nb@x.io,B,HR\nc@x.io,C,Sales\n",
    );
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    defs.display().to_string()
}

fn count(db: &TestDb, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let query = format!("SELECT COUNT(*) AS n FROM {table}");
    icsat::with_conn!(conn, c => diesel::sql_query(&query).get_result::<N>(c))
        .unwrap()
        .n
}

fn imports_a_closed_wave_once(db: TestDb) {
    let defs = prepared(&db);
    let file = db.write(
        "2025.csv",
        "department,it-fast,it-nps,enps,channel,comment\nIT,4,9,10,Chat,great\nHR,2,3,6,,\nSales,5,10,9,Email,\"=HYPERLINK(\"\"x\"\")\"\n",
    );
    let run = |args: &[&str]| db.icsat_with_definitions(&defs, args);
    let out = run(&[
        "responses",
        "import",
        "pulse",
        "--wave",
        "2025-03-01",
        file.to_str().unwrap(),
    ]);
    out.assert_ok();
    assert!(
        out.stdout()
            .contains("imported 3 responses into wave 2025-03-01 of pulse"),
        "{}",
        out.stdout()
    );
    assert_eq!(count(&db, "responses"), 3);
    assert_eq!(count(&db, "answers"), 13);

    let again = run(&[
        "responses",
        "import",
        "pulse",
        "--wave",
        "2025-03-01",
        file.to_str().unwrap(),
    ]);
    again.assert_fails(1);
    assert!(
        again
            .stderr()
            .contains("already has a wave labelled \"2025-03-01\""),
        "{}",
        again.stderr()
    );
    assert_eq!(count(&db, "responses"), 3);
    assert_eq!(count(&db, "waves"), 1);
}

fn a_bad_file_lists_every_problem_and_stores_nothing(db: TestDb) {
    let defs = prepared(&db);
    let file = db.write(
        "bad.csv",
        "department,it-fast,it-nps,enps,channel,unknown-q\nIT,6,9,10,Chat,\nMarketing,4,4,4,Fax,\nHR,4,x,4,,\n",
    );
    let out = db
        .command(&[
            "responses",
            "import",
            "pulse",
            "--wave",
            "2024",
            file.to_str().unwrap(),
        ])
        .env("ICSAT_DEFINITIONS", &defs)
        .output()
        .map(crate::common::CommandOutput)
        .unwrap();
    out.assert_fails(1);
    let stderr = out.stderr();
    for expected in [
        "bad.csv:1:6: \"unknown-q\" is not a question of survey pulse",
        "bad.csv:2:2: it-fast: \"6\" is not a valid likert answer",
        "bad.csv:3:1: the department \"Marketing\" is not in the roster",
        "bad.csv:3:5: channel: \"Fax\" is not an option",
        "bad.csv:4:3: it-nps: \"x\" is not a valid nps answer",
        "5 problem(s) to fix; nothing was changed",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in:\n{stderr}");
    }
    assert_eq!(count(&db, "waves"), 0);
    assert_eq!(count(&db, "responses"), 0);
}

// A wave larger than one page of the count (2,000 responses): on PostgreSQL every other
// page is read on a second connection in the release's snapshot; the figures are exact
// either way.
fn a_wave_counted_in_several_pages_gives_exact_figures(db: TestDb) {
    let defs = prepared(&db);
    let respondents = 4_500;
    let mut csv = String::from("department,it-fast,it-nps,enps,channel,comment\n");
    let mut fast = [0u64; 5];
    let mut by_department = std::collections::BTreeMap::<&str, u64>::new();
    for i in 0..respondents {
        let department = ["IT", "HR", "Sales"][i % 3];
        let value = (i * 7 + i / 3) % 5 + 1;
        fast[value - 1] += 1;
        *by_department.entry(department).or_default() += 1;
        csv.push_str(&format!(
            "{department},{value},{},{},,\n",
            i % 11,
            (i / 5) % 11
        ));
    }
    let file = db.write("big.csv", &csv);
    let run = |args: &[&str]| db.icsat_with_definitions(&defs, args);
    run(&[
        "responses",
        "import",
        "pulse",
        "--wave",
        "2025-03-01",
        file.to_str().unwrap(),
    ])
    .assert_ok();
    let out = run(&[
        "report",
        "pulse",
        "--wave",
        "2025-03-01",
        "--format",
        "json",
    ]);
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let groups = report["groups"].as_array().unwrap();
    let company = groups.iter().find(|g| g["department"].is_null()).unwrap();
    assert_eq!(company["respondents"], respondents as u64);
    let distribution = &company["questions"]["it-fast"]["distribution"];
    for (value, expected) in fast.iter().enumerate() {
        assert_eq!(
            distribution[(value + 1).to_string()],
            *expected,
            "{distribution}"
        );
    }
    for (department, expected) in by_department {
        let group = groups
            .iter()
            .find(|g| g["department"] == department)
            .unwrap();
        assert_eq!(group["respondents"], expected, "{department}");
    }
}

crate::on_both_backends!(
    imports_a_closed_wave_once,
    a_wave_counted_in_several_pages_gives_exact_figures,
    a_bad_file_lists_every_problem_and_stores_nothing
);
