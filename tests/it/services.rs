//! Internal services: the catalogue (`services.toml`) checked with the surveys, and each
//! service's scorecard on the web, in JSON and from the command line, with its figures
//! computed again here from the raw answers, its targets, and its rights.

use serde_json::Value;

use crate::access::{fixture_on, prepare_results, WAVE};
use crate::common::{pulse_answers_csv, TestDb};

/// Respondents per department, as `access` imports them (two waves, seeds 7 and 11).
const SIZES: [(&str, usize); 5] = [
    ("IT", 24),
    ("HR", 9),
    ("Sales", 0),
    ("Sales North", 3),
    ("Sales South", 7),
];

/// Satisfaction index, favourable share and NPS of the IT section (`it-fast` on 1..5,
/// `it-nps` on 0..10) over the rows of `departments`, computed from the CSV itself.
fn expected(csv: &str, departments: &[&str]) -> (f64, f64, f64) {
    let (mut sum, mut n, mut favorable) = (0.0, 0.0, 0.0);
    let (mut promoters, mut detractors, mut rated) = (0.0, 0.0, 0.0);
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if !departments.contains(&cells[0]) {
            continue;
        }
        let fast: f64 = cells[1].parse().unwrap();
        sum += fast;
        n += 1.0;
        if fast >= 4.0 {
            favorable += 1.0;
        }
        let nps: f64 = cells[2].parse().unwrap();
        rated += 1.0;
        if nps >= 9.0 {
            promoters += 1.0;
        } else if nps <= 6.0 {
            detractors += 1.0;
        }
    }
    (
        (sum / n - 1.0) / 4.0 * 100.0,
        favorable / n,
        100.0 * (promoters - detractors) / rated,
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn catalogue(target: f64) -> String {
    format!(
        r#"[[service]]
id = "it-desk"
name = "IT service desk"
provider = "IT"
owners = ["a@x.io"]
levels = ["First answer within one working hour"]
targets = {{ satisfaction = {target}, favorable = 10 }}

[[service]]
id = "hr"
name = "HR services"
provider = "HR"
"#
    )
}

/// The wave's points of a department row in a scorecard's JSON.
fn consumer<'a>(card: &'a Value, department: &str) -> Option<&'a Value> {
    card["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["department"] == department)
}

fn scorecards_match_the_raw_answers_meet_targets_and_keep_rights(db: TestDb) {
    let csv = pulse_answers_csv(&SIZES, 11, 1, |_, _| String::new());
    let company = expected(&csv, &["IT", "HR", "Sales North", "Sales South"]);
    let it = expected(&csv, &["IT"]);
    let hr = expected(&csv, &["HR"]);
    // A target between the two departments: one meets it, the other misses it.
    let target = (it.0 + hr.0) / 2.0;
    let defs = prepare_results(&db);
    // The pulse's section says `about = "IT"`, which names no entry (neither id nor
    // name): HR names the service explicitly.
    let pulse = std::fs::read_to_string(format!("{defs}/pulse.toml")).unwrap();
    std::fs::write(
        format!("{defs}/pulse.toml"),
        pulse.replacen(
            "about = \"IT\"\n",
            "about = \"IT\"\nservice = \"it-desk\"\n",
            1,
        ),
    )
    .unwrap();
    std::fs::write(format!("{defs}/services.toml"), catalogue(target)).unwrap();
    let f = fixture_on(&db, &defs);

    let get = |cookie: &str, path: &str| {
        let reply = f.server.get_with(path, cookie);
        (reply.status, reply.body)
    };
    let (status, body) = get(&f.admin, "/api/services/it-desk");
    assert_eq!(status, 200, "{body}");
    let card: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(card["owner_view"], true);
    // The latest whole-company point is the wave imported last, with its figures.
    let latest = &card["latest"];
    assert_eq!(latest["wave"], WAVE);
    let figures = &latest["figures"];
    for (name, got, want) in [
        ("satisfaction", &figures["satisfaction"], company.0),
        ("favorable", &figures["favorable"], company.1),
        ("nps", &figures["nps"], company.2),
    ] {
        let got = got.as_f64().unwrap_or(f64::NAN);
        assert!(close(got, want), "{name}: {got} != {want}");
    }
    assert_eq!(card["history"].as_array().unwrap().len(), 2, "two waves");
    // Per consumer department, against the target.
    let it_row = consumer(&card, "IT").unwrap();
    let hr_row = consumer(&card, "HR").unwrap();
    for (row, want) in [(it_row, it), (hr_row, hr)] {
        let got = row["latest"]["figures"]["satisfaction"].as_f64().unwrap();
        assert!(close(got, want.0), "{got} != {}", want.0);
    }
    let standing = |row: &Value| row["latest"]["standing"].as_str().unwrap().to_string();
    let (high, low) = if it.0 > hr.0 {
        (it_row, hr_row)
    } else {
        (hr_row, it_row)
    };
    assert_eq!(standing(high), "met");
    assert_eq!(standing(low), "missed");
    // Hidden groups stay hidden: Sales North (3) and Sales South (hidden with it).
    for hidden in ["Sales North", "Sales South"] {
        let row = consumer(&card, hidden).unwrap();
        assert!(row["latest"].is_null(), "{hidden}: {row}");
        for point in row["points"].as_array().unwrap() {
            assert_eq!(point["figures"], serde_json::json!({ "suppressed": true }));
        }
    }

    // The owner (head of IT) sees every department; the head of HR only the company and
    // HR; the head of Sales nothing of HR or IT.
    let (_, body) = get(&f.head_s, "/api/services/it-desk");
    let owner: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(owner["owner_view"], true);
    assert!(consumer(&owner, "HR").is_some());
    let (status, body) = get(&f.head_b, "/api/services/it-desk");
    assert_eq!(status, 200, "{body}");
    let consumer_head: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(consumer_head["owner_view"], false);
    let departments: Vec<&str> = consumer_head["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["department"].as_str().unwrap())
        .collect();
    assert_eq!(departments, ["HR"]);
    assert!(consumer_head["comments"].as_array().unwrap().is_empty());
    let (_, body) = get(&f.head_a, "/api/services/it-desk");
    let sales: Value = serde_json::from_str(&body).unwrap();
    assert!(consumer(&sales, "IT").is_none() && consumer(&sales, "HR").is_none());

    // The pages: the catalogue with both services, the scorecard in words.
    let (status, page) = get(&f.head_b, "/services");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("IT service desk") && page.contains("HR services"));
    assert!(page.contains("No figures yet"), "HR services has no source");
    let (status, page) = get(&f.admin, "/services/it-desk");
    assert_eq!(status, 200);
    for expected in [
        "How each department rates it",
        "First answer within one working hour",
        "misses a target",
        "meets its targets",
        "not shown: fewer than 5 answered",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from the scorecard"
        );
    }

    // Refusals: no session, an unknown service (with the known ids).
    let reply = f.server.get_with("/api/services/it-desk", "");
    assert_eq!(reply.status, 401);
    let (status, body) = get(&f.admin, "/api/services/printers");
    assert_eq!(status, 404);
    assert!(body.contains("it-desk, hr"), "{body}");

    // The command line gives HR the same figures.
    let out =
        db.icsat_with_definitions(&defs, &["service", "report", "it-desk", "--format", "json"]);
    out.assert_ok();
    let cli: Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(cli["latest"], card["latest"]);
    let out = db.icsat_with_definitions(&defs, &["service", "list"]);
    out.assert_ok();
    assert!(
        out.stdout().contains("it-desk") && out.stdout().contains("no_figures"),
        "{}",
        out.stdout()
    );
    let out =
        db.icsat_with_definitions(&defs, &["service", "report", "it-desk", "--format", "csv"]);
    out.assert_ok();
    assert!(out
        .stdout()
        .starts_with("\u{feff}service,department,survey,wave"));
}

fn a_broken_catalogue_is_reported_at_its_line_and_changes_nothing(db: TestDb) {
    let defs = prepare_results(&db);
    std::fs::write(format!("{defs}/services.toml"), catalogue(70.0)).unwrap();
    db.icsat_with_definitions(&defs, &["survey", "validate"])
        .assert_ok();
    // Loading stores the catalogue.
    db.icsat_with_definitions(&defs, &["service", "list"])
        .assert_ok();
    std::fs::write(
        format!("{defs}/services.toml"),
        catalogue(170.0).replace("provider = \"HR\"", "provider = \"Human Resources\""),
    )
    .unwrap();
    let pulse = std::fs::read_to_string(format!("{defs}/pulse.toml")).unwrap();
    std::fs::write(
        format!("{defs}/pulse.toml"),
        pulse.replacen(
            "about = \"IT\"\n",
            "about = \"IT\"\nservice = \"it-dsk\"\n",
            1,
        ),
    )
    .unwrap();
    let out = db.icsat_with_definitions(&defs, &["survey", "validate"]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains("services.toml:7:28: \"satisfaction\" of targets of service #1 is 170; the satisfaction index runs from 0 to 100"),
        "{}",
        out.stderr()
    );
    // With the catalogue broken, the survey's service cannot be checked yet; mended, it is.
    std::fs::write(format!("{defs}/services.toml"), catalogue(70.0)).unwrap();
    let out = db.icsat_with_definitions(&defs, &["survey", "validate"]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains("pulse.toml:15:11: service \"it-dsk\" (section \"it\") is not in services.toml; known services: it-desk, hr (did you mean \"it-desk\"?)"),
        "{}",
        out.stderr()
    );
}

crate::on_both_backends!(
    scorecards_match_the_raw_answers_meet_targets_and_keep_rights,
    a_broken_catalogue_is_reported_at_its_line_and_changes_nothing,
);
