//! `csat`, `ces` and `lost_time` end to end: a survey with the three, answered through
//! the real form, closed, and its report's figures checked against hand computation.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::answering::csrf_of;
use crate::common::{link_for, sign_in_with_link, Server, TestDb};
use icsat::db::schema::{invitation_tokens, invitations};

const MEASURES: &str = r#"
id = "measures"
title = "IT support check"
anonymity = "anonymous"
min_group_size = 3
language = "en"
languages = ["en", "de"]

[audience]
departments = ["*"]

[[sections]]
id = "it"
title = "IT"
about = "IT"

  [[sections.questions]]
  id = "it-csat"
  type = "csat"
  text = { en = "How satisfied are you with IT's help?", de = "Wie zufrieden sind Sie mit der Hilfe der IT?" }

  [[sections.questions]]
  id = "it-ces"
  type = "ces"
  label = "Effort"
  text = { en = "IT made it easy to get what I needed.", de = "Die IT hat es mir leicht gemacht." }

  [[sections.questions]]
  id = "it-lost"
  type = "lost_time"
  required = false
  text = { en = "How much work time did your last issue cost you?", de = "Wie viel Arbeitszeit hat Sie Ihr letztes Problem gekostet?" }
"#;

/// The answers of eight respondents: csat, ces, lost_time (the last one skips it).
const ANSWERS: [(&str, &str, &str); 8] = [
    ("5", "7", "1"),
    ("4", "6", "2"),
    ("4", "5", "3"),
    ("3", "4", "4"),
    ("2", "3", "5"),
    ("5", "7", "6"),
    ("4", "2", "1"),
    ("1", "1", ""),
];

/// Loads the survey and ten employees, starts the server and
/// opens a wave; returns the server and a link token per invitation.
fn open(db: &TestDb) -> (Server, Vec<String>) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("measures.toml"), MEASURES).unwrap();
    let mut roster = String::from("email,name,department\n");
    for i in 0..10 {
        roster.push_str(&format!("e{i}@x.io,Employee {i},IT\n"));
    }
    let roster = db.write("roster.csv", roster);
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    let defs = defs.display().to_string();
    let server = Server::start_with(db, &[("ICSAT_DEFINITIONS", &defs)]);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
    let now = Utc::now();
    icsat::waves::lifecycle::open(
        &mut conn,
        &mailer,
        "measures",
        "w1",
        now - Duration::hours(1),
        now + Duration::days(7),
        icsat::waves::Origin::Manual,
    )
    .unwrap();
    let ids: Vec<i64> = icsat::with_conn!(conn, c => invitations::table
        .select(invitations::id)
        .order(invitations::id)
        .load(c))
    .unwrap();
    let tokens = ids
        .iter()
        .map(|id| {
            let (token, hash) = icsat::waves::tokens::new_token();
            icsat::with_conn!(conn, c => diesel::insert_into(invitation_tokens::table)
                .values((
                    invitation_tokens::token_hash.eq(hash),
                    invitation_tokens::invitation_id.eq(id),
                    invitation_tokens::created_at.eq(icsat::db::now()),
                ))
                .execute(c))
            .unwrap();
            token
        })
        .collect();
    (server, tokens)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn csat_ces_and_lost_time_are_asked_and_reported(db: TestDb) {
    let (server, tokens) = open(&db);
    // The form: radio buttons with the product's labels, in a fieldset with a legend.
    let (status, page, _) = server.get(&format!("/s/{}", tokens[1]));
    assert_eq!(status, 200);
    for expected in [
        "<fieldset id=\"q-it-csat\"",
        "<legend>How satisfied are you with IT",
        "type=\"radio\" id=\"in-it-csat-5\" name=\"q.it-csat\" value=\"5\"",
        "<label for=\"in-it-csat-5\">Very satisfied</label>",
        "<label for=\"in-it-ces-7\">Strongly agree</label>",
        "<label for=\"in-it-lost-1\">None</label>",
        "<label for=\"in-it-lost-6\">More than a day</label>",
    ] {
        assert!(page.contains(expected), "{expected:?} missing");
    }
    assert!(!page.contains("<script"), "works without JavaScript");
    // In German, German labels.
    let (_, german, _) = server.get(&format!("/s/{}?lang=de", tokens[0]));
    for expected in [
        "<label for=\"in-it-csat-1\">Sehr unzufrieden</label>",
        "<label for=\"in-it-lost-2\">Weniger als 30 Minuten</label>",
    ] {
        assert!(german.contains(expected), "{expected:?} missing");
    }
    for (token, (csat, ces, lost)) in tokens.iter().zip(ANSWERS) {
        let path = format!("/s/{token}");
        let (_, page, _) = server.get(&path);
        let csrf = csrf_of(&page);
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("lang", "en"),
            ("q.it-csat", csat),
            ("q.it-ces", ces),
        ];
        if !lost.is_empty() {
            fields.push(("q.it-lost", lost));
        }
        let (status, body) = server.post_form(&path, &fields);
        assert_eq!(status, 200, "{body}");
    }
    // An answer outside the scale is refused beside its question.
    let path = format!("/s/{}", tokens[9]);
    let (_, page, _) = server.get(&path);
    let csrf = csrf_of(&page);
    let (status, body) = server.post_form(
        &path,
        &[
            ("csrf", csrf.as_str()),
            ("lang", "en"),
            ("q.it-csat", "6"),
            ("q.it-ces", "4"),
        ],
    );
    assert_eq!(status, 422, "{body}");
    drop(server);
    db.icsat(&["wave", "close", "measures/w1"]).assert_ok();

    let out = db.icsat(&["report", "measures", "--wave", "w1", "--format", "json"]);
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(report["question_types"]["it-csat"], "csat");
    assert_eq!(report["question_types"]["it-ces"], "ces");
    assert_eq!(report["question_types"]["it-lost"], "lost_time");
    let whole = &report["groups"][0];
    assert_eq!(whole["respondents"], 8);
    let q = &whole["questions"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap();

    // csat 5 4 4 3 2 5 4 1: five of eight are 4 or 5.
    assert_eq!(q["it-csat"]["n"], 8);
    assert!(close(f(&q["it-csat"]["favorable"]), 5.0 / 8.0));
    assert!(close(f(&q["it-csat"]["mean"]), 28.0 / 8.0));
    assert!(q["it-csat"].get("hours").is_none());

    // ces 7 6 5 4 3 7 2 1: mean 35/8; four of eight are 5 to 7.
    assert_eq!(q["it-ces"]["n"], 8);
    assert!(close(f(&q["it-ces"]["mean"]), 35.0 / 8.0));
    assert!(close(f(&q["it-ces"]["favorable"]), 4.0 / 8.0));
    assert_eq!(
        q["it-ces"]["distribution"],
        serde_json::json!({"1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 2})
    );

    // lost_time bands 1 2 3 4 5 6 1 (one skipped) read as hours 0, 0.25, 1.25, 3, 6,
    // 12, 0: mean 22.5/7; three of seven lost under 30 minutes (bands 1-2).
    let lost = &q["it-lost"];
    assert_eq!(lost["n"], 7);
    assert!(close(f(&lost["favorable"]), 3.0 / 7.0));
    let hours = [0.0, 0.25, 1.25, 3.0, 6.0, 12.0, 0.0];
    let mean = 22.5 / 7.0;
    let sd = (hours.iter().map(|h| (h - mean) * (h - mean)).sum::<f64>() / 6.0).sqrt();
    assert!(close(f(&lost["hours"]["mean_hours"]), mean));
    assert!(close(f(&lost["hours"]["sd_hours"]), sd));
    // t(0.975, 6) = 2.446911851144969; the low end is cut at 0 hours.
    let half = 2.446_911_851_144_969 * sd / 7f64.sqrt();
    let ci = &lost["hours"]["mean_hours_ci"];
    assert!(close(f(&ci[0]), (mean - half).max(0.0)), "{ci}");
    assert!((f(&ci[1]) - (mean + half)).abs() < 1e-9, "{ci}");

    // The service's satisfaction averages csat and ces only (lost_time rises with the
    // time lost): indexes (3.5-1)/4·100 = 62.5 and (35/8-1)/6·100 = 56.25.
    let it = &whole["services"]["IT"];
    assert!(close(f(&it["satisfaction"]), (62.5 + 56.25) / 2.0), "{it}");
    assert!(close(f(&it["favorable"]), 9.0 / 16.0), "{it}");

    // The same in the exports: the summary CSV's type and hours, the report's CSV and
    // HTML.
    let csv = db.icsat(&["export", "measures", "--wave", "w1"]);
    csv.assert_ok();
    let text = csv.stdout();
    let header: Vec<&str> = text
        .lines()
        .next()
        .unwrap()
        .trim_start_matches('\u{feff}')
        .split(',')
        .collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.contains(",it-lost,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(row[at("type")], "lost_time");
    assert_eq!(row[at("mean_hours")], "3.214");
    let csat_row = text.lines().find(|l| l.contains(",it-csat,")).unwrap();
    assert!(csat_row.contains(",csat,"), "{csat_row}");
    let report_csv = db.icsat(&["report", "measures", "--wave", "w1", "--format", "csv"]);
    report_csv.assert_ok();
    let line = report_csv
        .stdout()
        .lines()
        .find(|l| l.starts_with(",it-lost,"))
        .unwrap()
        .to_string();
    assert!(line.ends_with(",lost_time"), "{line}");
    assert!(line.contains(&format!(",{mean},")), "{line}");
    let html = db.icsat(&["report", "measures", "--wave", "w1", "--format", "html"]);
    html.assert_ok();
    assert!(html.stdout().contains("it-lost · lost_time"));
    assert!(html.stdout().contains("3.21 h lost"));

    // HR's wave page: the heatmap names the type and shows the hours lost.
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let defs = db.path("defs").display().to_string();
    let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);
    let admin = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let page = server.get_with("/admin/surveys/measures/waves/w1", &admin);
    assert_eq!(page.status, 200, "{}", page.body);
    for expected in [
        "How satisfied are you with IT",
        "(csat)",
        "(ces)",
        "(lost_time)",
        "3.2 h lost",
        "50%",
        "43%",
    ] {
        assert!(page.body.contains(expected), "{expected:?} missing");
    }
}

crate::on_both_backends!(csat_ces_and_lost_time_are_asked_and_reported);
