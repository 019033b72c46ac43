//! Closing the loop: a closed wave's results published to its employees ("What we
//! heard") with personal links by mail, and action plans with their rights, on the web,
//! in JSON and from the command line.

use diesel::prelude::*;
use serde_json::Value;

use crate::access::{fixture, NORTH_SECRET, WAVE};
use crate::common::{csrf_field, Server, TestDb};
use icsat::db::schema::{invitations, mail_outbox, surveys, waves};

/// The latest closed wave of `survey` (its id and label).
fn latest_closed(db: &TestDb, survey: &str) -> (i64, String) {
    latest(db, survey, "closed")
}

fn latest(db: &TestDb, survey: &str, status: &str) -> (i64, String) {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => waves::table
        .inner_join(surveys::table)
        .filter(surveys::slug.eq(survey))
        .filter(waves::status.eq(status))
        .order(waves::opens_at.desc())
        .select((waves::id, waves::label))
        .first(c))
    .unwrap()
}

fn heard_mails(db: &TestDb, wave_id: i64) -> Vec<String> {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::wave_id.eq(wave_id))
        .filter(mail_outbox::kind.eq("heard"))
        .select(mail_outbox::message)
        .load::<String>(c))
    .unwrap()
}

fn publishing_tells_each_employee_once_with_a_link_of_their_own(db: TestDb) {
    db.icsat(&["demo", "--employees", "200", "--no-serve"])
        .assert_ok();
    let (wave_id, label) = latest_closed(&db, "internal-services");
    let spec = format!("internal-services/{label}");
    // Only final results are shared: the open wave is refused.
    let (_, open) = latest(&db, "it-pulse", "open");
    let refused = db.icsat(&["results", "publish", &format!("it-pulse/{open}")]);
    refused.assert_fails(1);
    assert!(
        refused.stderr().contains("has no final results yet"),
        "{}",
        refused.stderr()
    );

    let out = db.icsat(&["results", "publish", &spec, "--notify"]);
    out.assert_ok();
    let invited: i64 = {
        let handle = db.db();
        let mut conn = handle.get().unwrap();
        icsat::with_conn!(conn, c => invitations::table
            .filter(invitations::wave_id.eq(wave_id))
            .count()
            .get_result(c))
        .unwrap()
    };
    let mails = heard_mails(&db, wave_id);
    assert!(invited > 100, "{invited} invited");
    assert_eq!(mails.len() as i64, invited, "{}", out.stdout());
    assert!(
        out.stdout().contains(&format!("{invited} employees")),
        "{}",
        out.stdout()
    );
    // Publishing again tells nobody twice.
    db.icsat(&["results", "publish", &spec, "--notify"])
        .assert_ok();
    assert_eq!(heard_mails(&db, wave_id).len(), mails.len());

    // A link is a new token: its table holds the wave and a department, nothing else.
    let mail = crate::eml::parse(&mails[0]);
    assert_eq!(mail.subject, "What we heard: Internal services survey");
    let at = mail.text.find("/heard/").expect("a results link");
    let path = mail.text[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let links: Vec<String> = mails
        .iter()
        .map(|m| {
            let t = crate::eml::parse(m).text;
            let at = t.find("/heard/").unwrap();
            t[at..].split_whitespace().next().unwrap().to_string()
        })
        .collect();
    let mut distinct = links.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        links.len(),
        "every employee has a link of their own"
    );

    let server = Server::start(&db);
    let (status, page, headers) = server.get(&path);
    assert_eq!(status, 200, "{page}");
    for expected in [
        "What we heard: Internal services survey",
        "How the company rates its internal services",
        "people answered",
        "What is being done",
    ] {
        assert!(page.contains(expected), "{expected:?} missing");
    }
    assert!(
        page.contains(", for the company and for "),
        "the reader's department"
    );
    assert!(!page.contains("<script"), "works without JavaScript");
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let (status, _, _) = server.get("/heard/not-a-link");
    assert_eq!(status, 404);

    // Unpublished, the links stop working.
    db.icsat(&["results", "unpublish", &spec]).assert_ok();
    let (status, _, _) = server.get(&path);
    assert_eq!(status, 404);
}

fn api(f: &crate::access::Fixture, who: &str, path: &str, body: &str) -> crate::common::Reply {
    let csrf = csrf_of_api(f, who);
    f.server.post_json_with(path, who, &csrf, body)
}

fn csrf_of_api(f: &crate::access::Fixture, who: &str) -> String {
    let listed: Value = serde_json::from_str(&f.server.get_with("/api/actions", who).body).unwrap();
    listed["csrf"].as_str().unwrap().to_string()
}

fn titles(f: &crate::access::Fixture, who: &str) -> Vec<String> {
    let listed: Value =
        serde_json::from_str(&f.server.get_with("/api/actions?survey=pulse", who).body).unwrap();
    listed["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect()
}

fn actions_follow_the_rights_of_heads_and_service_owners(db: TestDb) {
    let f = fixture(&db);
    // IT's head, as the owner of the IT service, acts for Sales.
    let queue = format!(
        r#"{{"survey":"pulse","wave":"{WAVE}","title":"A Sales queue at the service desk","service":"IT","consumers":["Sales"],"questions":["it-fast"],"due_on":"2027-03-31"}}"#
    );
    let made = api(&f, &f.head_s, "/api/actions", &queue);
    assert_eq!(made.status, 201, "{}", made.body);
    let made: Value = serde_json::from_str(&made.body).unwrap();
    assert_eq!(made["department"], "IT");
    assert_eq!(made["status"], "planned");
    let queue_id = made["id"].as_i64().unwrap();
    // Sales' head cannot act for IT's service, but for Sales.
    let refused = api(
        &f,
        &f.head_a,
        "/api/actions",
        r#"{"survey":"pulse","title":"x","service":"IT"}"#,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    let own = api(
        &f,
        &f.head_a,
        "/api/actions",
        r#"{"survey":"pulse","title":"Monthly Q&A with the team"}"#,
    );
    assert_eq!(own.status, 201, "{}", own.body);
    // What to fix, said; nothing stored.
    let typo = api(
        &f,
        &f.head_a,
        "/api/actions",
        r#"{"survey":"pulse","title":"y","questions":["it-fats"]}"#,
    );
    assert_eq!(typo.status, 422);
    assert!(
        typo.body.contains("did you mean \\\"it-fast\\\""),
        "{}",
        typo.body
    );
    let unknown = api(
        &f,
        &f.head_a,
        "/api/actions",
        r#"{"survey":"pulse","title":"y","colour":"red"}"#,
    );
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(unknown.body.contains("colour"), "{}", unknown.body);
    let no_token = f.server.post_json_with(
        "/api/actions",
        &f.head_a,
        "",
        r#"{"survey":"pulse","title":"z"}"#,
    );
    assert_eq!(no_token.status, 403);
    assert_eq!(
        f.server
            .post_json_with("/api/actions", "", "x", "{}")
            .status,
        401
    );

    // Who sees what: Sales sees its own and IT's for it; HR neither; HR's admin all.
    assert_eq!(
        titles(&f, &f.head_a),
        [
            "A Sales queue at the service desk",
            "Monthly Q&A with the team"
        ]
    );
    assert!(titles(&f, &f.head_b).is_empty());
    assert_eq!(titles(&f, &f.head_s), ["A Sales queue at the service desk"]);
    assert_eq!(titles(&f, &f.admin).len(), 2);

    // Updates: by the acting department only.
    let path = format!("/api/actions/{queue_id}");
    let denied = api(&f, &f.head_a, &path, r#"{"status":"done"}"#);
    assert_eq!(denied.status, 403);
    let moved = api(
        &f,
        &f.head_s,
        &path,
        r#"{"status":"in-progress","note":"Queue opened for Sales North"}"#,
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    let moved: Value = serde_json::from_str(&moved.body).unwrap();
    assert_eq!(moved["status"], "in-progress");
    assert_eq!(moved["updates"].as_array().unwrap().len(), 2);

    // The web form: CSRF, then a redirect to the list that shows it.
    let page = f.server.get_with("/results/pulse/actions", &f.head_a);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("A Sales queue at the service desk"));
    let csrf =
        csrf_field(&page.body[page.body.find("action=\"/results/pulse/actions\"").unwrap()..]);
    let forged =
        f.server
            .post_form_with("/results/pulse/actions", &f.head_a, &[("title", "Forged")]);
    assert_eq!(forged.status, 403);
    let sent = f.server.post_form_with(
        "/results/pulse/actions",
        &f.head_a,
        &[
            ("csrf", &csrf),
            ("title", "Desk visits every Friday"),
            ("due", "2027-05-01"),
        ],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    let bad_date = f.server.post_form_with(
        "/results/pulse/actions",
        &f.head_a,
        &[("csrf", &csrf), ("title", "Later"), ("due", "next week")],
    );
    assert_eq!(bad_date.status, 422);
    assert!(bad_date.body.contains("YYYY-MM-DD"));
    assert_eq!(titles(&f, &f.head_a).len(), 3);

    // The command line, with HR's rights.
    let listed = db.icsat(&["action", "list", "pulse", "--format", "json"]);
    listed.assert_ok();
    let listed: Value = serde_json::from_str(&listed.stdout()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let nobody = db.icsat(&[
        "action",
        "add",
        "pulse",
        "--title",
        "x",
        "--owner",
        "nobody@x.io",
    ]);
    nobody.assert_fails(1);
    assert!(
        nobody.stderr().contains("has no active account"),
        "{}",
        nobody.stderr()
    );
    db.icsat(&[
        "action",
        "add",
        "pulse",
        "--title",
        "HR office hours",
        "--owner",
        "hr-head@x.io",
    ])
    .assert_ok();
    db.icsat(&[
        "action",
        "update",
        &queue_id.to_string(),
        "--status",
        "done",
        "--note",
        "Queue live",
    ])
    .assert_ok();
    assert!(db
        .icsat(&["action", "list"])
        .stdout()
        .contains("[done] A Sales queue"));

    // Published, the pages show the actions beside what they answer, to whom they concern.
    let not_yet = f
        .server
        .get_with(&format!("/results/pulse/waves/{WAVE}/heard"), &f.head_a);
    assert_eq!(not_yet.status, 404);
    db.icsat(&["results", "publish", &format!("pulse/{WAVE}")])
        .assert_ok();
    let sales = f
        .server
        .get_with(&format!("/results/pulse/waves/{WAVE}/heard"), &f.head_a);
    assert_eq!(sales.status, 200, "{}", sales.body);
    assert!(
        sales.body.contains("A Sales queue at the service desk"),
        "{}",
        sales.body
    );
    assert!(sales.body.contains("Queue live"), "the latest update");
    assert!(sales.body.contains("Desk visits every Friday"));
    assert!(
        !sales.body.contains("HR office hours"),
        "HR's own action is HR's"
    );
    let hr = f
        .server
        .get_with(&format!("/results/pulse/waves/{WAVE}/heard"), &f.head_b);
    assert!(hr.body.contains("HR office hours"));
    assert!(
        !hr.body.contains("A Sales queue"),
        "IT's action for Sales is Sales'"
    );
    // Nothing reachable without a session; heads cannot preview or publish.
    let anonymous = f
        .server
        .get_with(&format!("/results/pulse/waves/{WAVE}/heard"), "");
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        f.server
            .get_with(
                &format!("/admin/surveys/pulse/waves/{WAVE}/heard"),
                &f.head_a
            )
            .status,
        403
    );
    // HR's preview of a department too small to show: no figure of it, no comment.
    let north = f.server.get_with(
        &format!("/admin/surveys/pulse/waves/{WAVE}/heard?department=Sales%20North"),
        &f.admin,
    );
    assert_eq!(north.status, 200);
    assert!(
        north
            .body
            .contains("Your department&#x27;s own results are not shown"),
        "{}",
        north.body
    );
    assert!(!north.body.contains(NORTH_SECRET));
    // Its column: a dash in each of the three questions' and the service's rows.
    assert!(north.body.contains("<th scope=\"col\">Sales North</th>"));
    assert_eq!(
        north.body.matches("<td><strong>–</strong>").count(),
        4,
        "{}",
        north.body
    );
}

/// The next wave's report and trend carry the actions of the period before it, per
/// question and per service, as far as the reader may see them.
fn the_next_wave_shows_the_actions_of_the_period_before(db: TestDb) {
    let f = fixture(&db);
    let earlier = r#"{"survey":"pulse","wave":"2025-03-01","title":"Chat support","service":"IT","questions":["it-fast"]}"#;
    let made = api(&f, &f.head_s, "/api/actions", earlier);
    assert_eq!(made.status, 201, "{}", made.body);
    let id = serde_json::from_str::<Value>(&made.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let report = |who: &str| -> Value {
        let reply = f
            .server
            .get_with(&format!("/api/surveys/pulse/waves/{WAVE}/report"), who);
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    };
    let it = report(&f.head_s);
    assert_eq!(it["actions"]["since_wave"], "2025-03-01");
    assert_eq!(
        it["actions"]["by_question"]["it-fast"],
        serde_json::json!([id])
    );
    assert_eq!(it["actions"]["by_service"]["IT"], serde_json::json!([id]));
    assert_eq!(it["actions"]["actions"][0]["title"], "Chat support");
    // A service's action without consumer departments is everyone's: HR's head sees it.
    let hr = report(&f.head_b);
    assert_eq!(hr["actions"]["by_service"]["IT"], serde_json::json!([id]));
    // The first wave has no period before it.
    let first = f
        .server
        .get_with("/api/surveys/pulse/waves/2025-03-01/report", &f.admin);
    let first: Value = serde_json::from_str(&first.body).unwrap();
    assert!(first["actions"]["actions"].as_array().unwrap().is_empty());
    let trend: Value =
        serde_json::from_str(&f.server.get_with("/api/surveys/pulse/trend", &f.admin).body)
            .unwrap();
    assert_eq!(
        trend["actions"][WAVE]["by_question"]["it-fast"],
        serde_json::json!([id])
    );
    let cli = db.icsat(&["report", "pulse", "--wave", WAVE, "--format", "json"]);
    cli.assert_ok();
    let cli: Value = serde_json::from_str(&cli.stdout()).unwrap();
    assert_eq!(cli["actions"]["by_service"]["IT"], serde_json::json!([id]));
    let cli = db.icsat(&["trend", "pulse", "--format", "json"]);
    let cli: Value = serde_json::from_str(&cli.stdout()).unwrap();
    assert_eq!(cli["actions"][WAVE]["actions"][0]["status"], "planned");
    // The pages set each action beside the change of what it answers.
    for (path, who) in [
        (format!("/admin/surveys/pulse/waves/{WAVE}"), &f.admin),
        (format!("/results/pulse?wave={WAVE}"), &f.head_s),
    ] {
        let page = f.server.get_with(&path, who);
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains("What was done since 2025-03-01, and what moved"),
            "{path}"
        );
        assert!(page.body.contains("Chat support"), "{path}");
        assert!(page.body.contains("IT is fast.: <strong"), "{path}");
        assert!(
            page.body.contains("since the wave before") || page.body.contains("no comparison"),
            "{path}"
        );
    }
}

crate::on_both_backends!(
    comments_are_shared_only_as_hr_marks,
    action_seen_is_reported_like_a_choice,
    the_next_wave_shows_the_actions_of_the_period_before,
    publishing_tells_each_employee_once_with_a_link_of_their_own,
    actions_follow_the_rights_of_heads_and_service_owners,
);

const SEEN_SURVEY: &str = r#"
id = "seen"
title = "Pulse with a look back"
min_group_size = 3
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
  id = "it-seen"
  type = "action_seen"
  text = "Since the last survey, have you seen changes in how IT serves you?"
"#;

/// `action_seen` is answered on the form, imported, and reported like a choice: counts
/// and shares per group, under the thresholds.
fn action_seen_is_reported_like_a_choice(db: TestDb) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("seen.toml"), SEEN_SURVEY).unwrap();
    let roster = db.write(
        "roster.csv",
        "email,name,department\na@x.io,A,IT\nb@x.io,B,HR\n",
    );
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    let answers = [
        "Yes",
        "Somewhat",
        "No",
        "Don't know",
        "Yes",
        "Yes",
        "No",
        "",
        "Somewhat",
        "Yes",
    ];
    let mut csv = String::from("department,it-fast,it-seen\n");
    for (i, a) in answers.iter().enumerate() {
        csv.push_str(&format!(
            "{},{},{a}\n",
            if i < 6 { "HR" } else { "IT" },
            1 + i % 5
        ));
    }
    let file = db.write("seen.csv", csv);
    let defs = defs.display().to_string();
    db.icsat_with_definitions(
        &defs,
        &[
            "responses",
            "import",
            "seen",
            "--wave",
            "w1",
            file.to_str().unwrap(),
        ],
    )
    .assert_ok();
    // A typo in an option is refused with the options to use.
    let bad = db.write("bad.csv", "department,it-fast,it-seen\nHR,3,Maybe\n");
    let refused = db.icsat_with_definitions(
        &defs,
        &[
            "responses",
            "import",
            "seen",
            "--wave",
            "w2",
            bad.to_str().unwrap(),
        ],
    );
    refused.assert_fails(1);
    let report = db.icsat_with_definitions(&defs, &["report", "seen", "--format", "json"]);
    report.assert_ok();
    let report: Value = serde_json::from_str(&report.stdout()).unwrap();
    let company = &report["groups"][0]["questions"]["it-seen"];
    // 9 answers: Yes 4, Somewhat 2, No 2, Don't know 1.
    assert_eq!(company["n"], 9, "{company}");
    let counts: Vec<u64> = company["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [4, 2, 2, 1], "{company}");
    for (o, expected) in company["options"]
        .as_array()
        .unwrap()
        .iter()
        .zip([4.0, 2.0, 2.0, 1.0])
    {
        assert!(
            (o["share"].as_f64().unwrap() - expected / 9.0).abs() < 1e-9,
            "{o}"
        );
    }
    let summary = db.icsat_with_definitions(&defs, &["export", "seen", "--wave", "w1"]);
    assert!(
        summary.stdout().contains(",it-seen,action_seen,"),
        "{}",
        summary.stdout()
    );
}

/// Comments reach the published page only where the definition allows it, and only
/// those HR marks.
fn comments_are_shared_only_as_hr_marks(db: TestDb) {
    let defs = crate::access::prepare_results(&db);
    db.icsat(&["results", "publish", &format!("pulse/{WAVE}")])
        .assert_ok();
    let heard = format!("/results/pulse/waves/{WAVE}/heard");
    let preview = format!("/admin/surveys/pulse/waves/{WAVE}/heard");
    {
        let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);
        let admin = crate::common::sign_in_with_link(
            &server,
            &crate::common::link_for(&db, &server, "admin@x.io"),
        );
        let page = server.get_with(&preview, &admin).body;
        assert!(
            !page.contains("Comments to share"),
            "not without share_comments"
        );
        assert!(!server
            .get_with(&heard, &admin)
            .body
            .contains("In your words"));
    }
    // The survey now shares comments: HR ticks one.
    let path = std::path::Path::new(&defs).join("pulse.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "title = \"Quarterly pulse\"",
            "title = \"Quarterly pulse\"\nshare_comments = true",
            1,
        ),
    )
    .unwrap();
    let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);
    let admin = crate::common::sign_in_with_link(
        &server,
        &crate::common::link_for(&db, &server, "admin@x.io"),
    );
    let head = crate::common::sign_in_with_link(
        &server,
        &crate::common::link_for(&db, &server, "sales-head@x.io"),
    );
    let page = server.get_with(&preview, &admin).body;
    assert!(page.contains("Comments to share"), "{page}");
    let at = page
        .find("name=\"ordinal\" value=\"")
        .expect("a comment to tick")
        + 22;
    let ordinal: String = page[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let label_at = page[at..].find("<label").unwrap() + at;
    let label_text_at = page[label_at..].find('>').unwrap() + label_at + 1;
    let chosen = page
        [label_text_at..page[label_text_at..].find("</label>").unwrap() + label_text_at]
        .to_string();
    let form = format!("/admin/surveys/pulse/waves/{WAVE}/shared-comments");
    let csrf = csrf_field(&page[page.find("shared-comments").unwrap()..]);
    assert_eq!(
        server
            .post_form_with(&form, &head, &[("csrf", "x"), ("ordinal", &ordinal)])
            .status,
        403
    );
    assert_eq!(
        server
            .post_form_with(&form, &admin, &[("ordinal", &ordinal)])
            .status,
        403
    );
    let done = server.post_form_with(
        &form,
        &admin,
        &[
            ("csrf", &csrf),
            ("ordinal", &ordinal),
            ("ordinal", "999999"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let read = server.get_with(&heard, &head).body;
    assert!(read.contains("In your words"), "{read}");
    assert!(read.contains(&chosen), "{chosen} in {read}");
    assert_eq!(
        read.matches("<blockquote>").count(),
        1,
        "only the one HR ticked"
    );
    assert!(!read.contains("<script>"), "escaped");
}
