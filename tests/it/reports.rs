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

/// One more response of wave `label` from IT, stored the way a submission stores it
/// (and marking the counts stale); returns the wave.
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

fn set_wave(conn: &mut icsat::db::Conn, wave_id: i64, sql_set: &str) {
    use diesel::connection::SimpleConnection;
    let sql = format!("UPDATE waves SET {sql_set} WHERE id = {wave_id}");
    icsat::with_conn!(*conn, c => c.batch_execute(&sql)).unwrap();
}

fn leases(conn: &mut icsat::db::Conn) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use icsat::db::schema::leases;
    icsat::with_conn!(*conn, c => leases::table.select((leases::name, leases::holder)).load(c))
        .unwrap()
}

fn freshness(conn: &mut icsat::db::Conn, wave: &str) -> (i64, icsat::reports::Freshness) {
    let query = icsat::reports::WaveQuery {
        survey: "pulse",
        wave: Some(wave),
        department: None,
        filters: &[],
    };
    let (report, _, freshness) = icsat::reports::wave_report_and_freshness(conn, &query).unwrap();
    let whole = serde_json::to_value(&report).unwrap();
    (
        group(&whole, None)["respondents"].as_i64().unwrap(),
        freshness,
    )
}

/// An open wave's report reads the stored counts, however many answers came since; the
/// scheduler recounts in the background, one process at a time, taking over the
/// counting of a process that died.
fn reports_read_stored_counts_and_the_scheduler_recounts(db: TestDb) {
    use chrono::TimeDelta;
    use diesel::prelude::*;
    use icsat::db::schema::leases;
    use icsat::reports::counts::{recount_due, RECOUNT_OPEN_EVERY};
    let defs = with_two_waves(&db);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let (n, before) = freshness(&mut conn, "2026-03-01");
    assert_eq!(n, 43);
    assert!(before.counts_at.is_some() && !before.stale && before.complete);
    // Reopened (with no end, so the tick does not close it) and answered once more.
    let wave = one_more_answer(&mut conn, "2026-03-01");
    set_wave(
        &mut conn,
        wave.id,
        "status = 'open', closes_at = NULL, closed_at = NULL",
    );
    let report = json(&run(&db, &defs, &["report", "pulse", "--format", "json"]));
    assert_eq!(
        group(&report, None)["respondents"],
        43,
        "no recount in a report"
    );
    let (n, stale) = freshness(&mut conn, "2026-03-01");
    assert_eq!(n, 43);
    assert_eq!(
        stale,
        icsat::reports::Freshness {
            counts_at: before.counts_at,
            stale: true,
            complete: false
        }
    );
    // Counted moments ago: not due yet.
    assert!(recount_due(&mut conn, RECOUNT_OPEN_EVERY)
        .unwrap()
        .is_none());
    // Another process is counting it: left to that process.
    let (name, later) = (
        format!("counts:{}", wave.id),
        icsat::db::now() + TimeDelta::hours(1),
    );
    icsat::with_conn!(conn, c => diesel::insert_into(leases::table)
        .values((leases::name.eq(&name), leases::holder.eq("other"), leases::expires_at.eq(later)))
        .execute(c))
    .unwrap();
    assert!(recount_due(&mut conn, TimeDelta::zero()).unwrap().is_none());
    assert_eq!(freshness(&mut conn, "2026-03-01").0, 43);
    // That process died: once its lease runs out, the counting is taken over.
    let earlier = icsat::db::now() - TimeDelta::minutes(1);
    icsat::with_conn!(conn, c => diesel::update(leases::table.filter(leases::name.eq(&name)))
        .set(leases::expires_at.eq(earlier))
        .execute(c))
    .unwrap();
    let counted = recount_due(&mut conn, TimeDelta::zero()).unwrap();
    assert_eq!(counted.map(|w| w.id), Some(wave.id));
    assert!(leases(&mut conn).is_empty(), "the lease is handed back");
    let (n, after) = freshness(&mut conn, "2026-03-01");
    assert_eq!(n, 44);
    assert!(!after.stale && !after.complete);
    assert!(after.counts_at > before.counts_at);
    assert!(recount_due(&mut conn, TimeDelta::zero()).unwrap().is_none());

    // The scheduler tick of `icsat serve` does the same once the counts are old enough.
    one_more_answer(&mut conn, "2026-03-01");
    let backdate = if db.url.starts_with("sqlite") {
        "counts_at = datetime(counts_at, '-1 hour')"
    } else {
        "counts_at = counts_at - INTERVAL '1 hour'"
    };
    set_wave(&mut conn, wave.id, backdate);
    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
    let tick = icsat::waves::scheduler::tick(&mut conn, &mailer, chrono::Utc::now()).unwrap();
    assert_eq!(tick.counted, vec!["2026-03-01"]);
    assert_eq!(freshness(&mut conn, "2026-03-01").0, 45);
    let tick = icsat::waves::scheduler::tick(&mut conn, &mailer, chrono::Utc::now()).unwrap();
    assert!(tick.counted.is_empty());
}

/// Reports count first where stored counts would mislead: a wave never counted (no
/// empty report), and a closed wave with answers not counted yet (its report is final).
fn never_counted_and_closed_waves_are_counted_first(db: TestDb) {
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
    let counted = run(&db, &defs, &args).stdout();
    let survey_id = icsat::waves::survey_id(&mut conn, "pulse")
        .unwrap()
        .unwrap();
    let first = icsat::waves::find(&mut conn, survey_id, "2025-03-01")
        .unwrap()
        .unwrap();
    let forget = format!(
        "DELETE FROM wave_value_counts WHERE wave_id = {id}; \
         DELETE FROM wave_pair_sums WHERE wave_id = {id}; \
         UPDATE waves SET counts_at = NULL, counts_stale = {t} WHERE id = {id}",
        id = first.id,
        t = if db.url.starts_with("sqlite") {
            "1"
        } else {
            "TRUE"
        },
    );
    icsat::with_conn!(conn, c => c.batch_execute(&forget)).unwrap();
    let recounted = run(&db, &defs, &args);
    recounted.assert_ok();
    assert_eq!(recounted.stdout(), counted, "counted first, not empty");
    let (_, fresh) = freshness(&mut conn, "2025-03-01");
    assert!(fresh.counts_at.is_some() && !fresh.stale && fresh.complete);

    // The closed latest wave gets one more answer (an import of late paper forms, say).
    let wave = one_more_answer(&mut conn, "2026-03-01");
    let report = json(&run(&db, &defs, &["report", "pulse", "--format", "json"]));
    assert_eq!(group(&report, None)["respondents"], 44);
    let wave = icsat::waves::find(&mut conn, survey_id, &wave.label)
        .unwrap()
        .unwrap();
    assert!(!wave.counts_stale, "and the count is stored");
    let (n, fresh) = freshness(&mut conn, "2026-03-01");
    assert_eq!(n, 44);
    assert!(fresh.complete);
    assert!(leases(&mut conn).is_empty());
}

crate::on_both_backends!(
    small_groups_show_nothing,
    a_department_view_and_bad_requests,
    trends_mark_changes,
    reports_read_stored_counts_and_the_scheduler_recounts,
    never_counted_and_closed_waves_are_counted_first
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
