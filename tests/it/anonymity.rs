//! Anonymity against someone trying: an admin or head who polls an open wave's report,
//! JSON, CSV and comments while employees answer learns nothing about any one answer.

use chrono::Utc;

use crate::answering::{csrf_of, open_wave};
use crate::common::{link_for, sign_in_with_link, Server, TestDb};

/// Answers the form of `token` with an eNPS of `enps` and a comment.
fn answer(server: &Server, token: &str, enps: &str, comment: &str) {
    let path = format!("/s/{token}");
    let (_, page, _) = server.get(&path);
    let csrf = csrf_of(&page);
    let (status, body) = server.post_form(
        &path,
        &[
            ("csrf", csrf.as_str()),
            ("lang", "en"),
            ("q.it-fast", "5"),
            ("q.it-nps", "10"),
            ("q.enps", enps),
            ("q.comment", comment),
        ],
    );
    assert_eq!(status, 200, "{body}");
}

/// Everything HR and a head of IT can read of the wave: the API report, comments and
/// trend, the CLI JSON, the head's results page (less its live response rates, which may
/// move: figures move only in releases) and CSV download.
fn everything(db: &TestDb, server: &Server, admin: &str, head: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for (session, path) in [
        (admin, "/api/surveys/services/waves/test-wave/report"),
        (admin, "/api/surveys/services/waves/test-wave/comments"),
        (admin, "/api/surveys/services/trend"),
        (head, "/api/surveys/services/waves/test-wave/report"),
        (head, "/results/services/waves/test-wave/summary.csv"),
        (head, "/results/services?wave=test-wave"),
    ] {
        let reply = server.get_with(path, session);
        seen.push(format!(
            "{path} {} {}",
            reply.status,
            figures_only(&reply.body)
        ));
    }
    let report = db.icsat(&[
        "report",
        "services",
        "--wave",
        "test-wave",
        "--format",
        "json",
    ]);
    seen.push(figures_only(&report.stdout()));
    seen
}

/// What a reader learns of the answers: the text less which release it is and when it
/// was made (a new release that changes no figure says so), and less the live response
/// rates (they may move: figures move only in releases).
fn figures_only(body: &str) -> String {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for key in ["release", "as_of_release", "questions_as_of"] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(body) {
        strip(&mut json);
        return json.to_string();
    }
    let mut page = body.to_string();
    for id in ["release-h", "rate-h"] {
        let open = format!("<section aria-labelledby=\"{id}\"");
        if let Some(from) = page.find(&open) {
            if let Some(len) = page[from..].find("</section>") {
                page.replace_range(from..from + len + "</section>".len(), "");
            }
        }
    }
    page
}

/// The scheduler's work, as `icsat serve` does it every 20 s: seal, then what is due.
fn tick(db: &TestDb) {
    tick_at(db, 0);
}

/// [`tick`] as if `hours` had passed (interim releases fall due by the hour).
fn tick_at(db: &TestDb, hours: i64) {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
    icsat::waves::scheduler::tick(
        &mut conn,
        &mailer,
        Utc::now() + chrono::Duration::hours(hours),
    )
    .unwrap();
}

/// Attack 1: a report taken before and after one employee answers (and the scheduler
/// has run) would give that employee's answers as the difference; the whole-company
/// group would give those of an employee of another department. HR and a head of IT
/// poll every output while one IT employee, then one HR employee, answer and releases
/// are made: nothing they read changes, and the comment appears nowhere. `interim`: the
/// survey releases daily (`release_every = "1d"`), else only at close.
fn polling(db: TestDb, interim: bool) {
    crate::answering::load_survey(&db);
    if interim {
        let defs = db.path("defs").join("services.toml");
        let survey = std::fs::read_to_string(&defs).unwrap().replacen(
            "min_group_size = 3",
            "min_group_size = 3\nrelease_every = \"1d\"",
            1,
        );
        std::fs::write(&defs, survey).unwrap();
    }
    let (server, tokens) = crate::answering::open_wave_labelled(&db, "test-wave", false);
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    db.icsat(&[
        "user",
        "add",
        "it@x.io",
        "--role",
        "head",
        "--department",
        "IT",
    ])
    .assert_ok();
    let admin = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let head = sign_in_with_link(&server, &link_for(&db, &server, "it@x.io"));
    // Three answers in each department (IT, HR, Sales in turn), then a release.
    for token in &tokens[..9] {
        answer(&server, token, "8", "");
    }
    let mut hours = 0;
    tick_at(&db, hours);
    if interim {
        hours += 25;
        tick_at(&db, hours);
    }
    let before = everything(&db, &server, &admin, &head);
    // One more in IT (the head's own department), with a comment only they would write;
    // then one in HR (outside it: only the whole company holds them).
    for (token, comment) in [
        (&tokens[9], "the printer on floor 3 is broken again"),
        (&tokens[10], "payroll lost my overtime"),
    ] {
        answer(&server, token, "0", comment);
        for _ in 0..2 {
            hours += 25;
            tick_at(&db, hours);
            let after = everything(&db, &server, &admin, &head);
            assert_eq!(after, before, "a read after one more answer differs");
            let page = server.get_with("/admin/surveys/services/waves/test-wave", &admin);
            assert_eq!(page.status, 200);
            assert!(!page.body.contains("printer on floor 3"));
            assert!(!page.body.contains("overtime"));
        }
    }
    // Closing releases the final figures once: without a release before, all 11; after
    // a daily release, the two late answers are too few to show anywhere, for good.
    drop(server);
    db.icsat(&["wave", "close", "services/test-wave"])
        .assert_ok();
    let closed = db.icsat(&[
        "report",
        "services",
        "--wave",
        "test-wave",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&closed.stdout()).unwrap();
    assert_eq!(report["release"]["final"], true);
    assert_eq!(
        report["groups"][0]["respondents"],
        if interim { 9 } else { 11 }
    );
}

fn polling_an_open_wave_learns_nothing(db: TestDb) {
    polling(db, false);
}

fn polling_a_daily_released_wave_learns_nothing(db: TestDb) {
    polling(db, true);
}

/// A closed wave imported with report dimensions: Manufacturing South holds 13 in Munich
/// (12 of them permanent) and 9 in Berlin; Manufacturing North 20 in Hamburg and 6
/// without dimensions.
fn manufacturing(db: &TestDb) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    let survey = crate::responses::PULSE.replacen(
        "[audience]",
        "report_by = [\"location\", \"contract\"]\n\n[audience]",
        1,
    );
    std::fs::write(defs.join("pulse.toml"), survey).unwrap();
    let departments = db.write(
        "departments.csv",
        "department,parent,head_email\nManufacturing,,\nManufacturing South,Manufacturing,\nManufacturing North,Manufacturing,\n",
    );
    let roster = db.write(
        "roster.csv",
        "email,name,department,location,contract\na@x.io,A,Manufacturing South,Munich,permanent\n",
    );
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    let mut csv = String::from("department,location,contract,it-fast,it-nps,enps\n");
    let mut add = |department: &str, location: &str, contract: &str, n: usize| {
        for i in 0..n {
            csv.push_str(&format!(
                "{department},{location},{contract},{},{},{}\n",
                1 + i % 5,
                i % 11,
                (i * 3) % 11
            ));
        }
    };
    add("Manufacturing South", "Munich", "permanent", 12);
    add("Manufacturing South", "Munich", "temporary", 1);
    add("Manufacturing South", "Berlin", "permanent", 9);
    add("Manufacturing North", "Hamburg", "permanent", 20);
    // Six who gave no dimensions: the class the whole audience's small remainder joins.
    add("Manufacturing North", "", "", 6);
    let file = db.write("answers.csv", csv);
    let defs = defs.display().to_string();
    db.command(&[
        "responses",
        "import",
        "pulse",
        "--wave",
        "2026-03-01",
        file.to_str().unwrap(),
    ])
    .env("ICSAT_DEFINITIONS", &defs)
    .output()
    .map(crate::common::CommandOutput)
    .unwrap()
    .assert_ok();
    defs
}

fn report(db: &TestDb, defs: &str, args: &[&str]) -> crate::common::CommandOutput {
    let mut all = vec!["report", "pulse", "--format", "json"];
    all.extend_from_slice(args);
    db.command(&all)
        .env("ICSAT_DEFINITIONS", defs)
        .output()
        .map(crate::common::CommandOutput)
        .unwrap()
}

/// Attack 3: two filtered views whose difference is one person (the "Munich"
/// then "Munich and permanent"). At close, the one temporary contract in Munich lost its
/// dimensions (a class of one), so views are made of classes of at least 5; a view that
/// leaves 1 to 4 of its group out, or comes within 1 to 4 of a shown group or of a view
/// already shown, is refused, saying why, and shows nothing.
fn filtered_views_cannot_be_subtracted(db: TestDb) {
    let defs = manufacturing(&db);
    let south = ["--department", "Manufacturing South"];
    let munich = report(
        &db,
        &defs,
        &[&south[..], &["--where", "location=Munich"]].concat(),
    );
    munich.assert_ok();
    let shown: serde_json::Value = serde_json::from_str(&munich.stdout()).unwrap();
    assert_eq!(shown["groups"][0]["respondents"], 12);
    assert_eq!(shown["groups"].as_array().unwrap().len(), 1);
    // Permanent contracts: 21 of the department's 22, so the one left out would be the
    // department's figures minus these.
    let permanent = report(
        &db,
        &defs,
        &[&south[..], &["--where", "contract=permanent"]].concat(),
    );
    permanent.assert_fails(1);
    assert!(
        permanent
            .stderr()
            .contains("leaves out 1 respondents of the group, fewer than 5"),
        "{}",
        permanent.stderr()
    );
    assert!(permanent.stdout().is_empty());
    // Two dimension values at once are not offered at all.
    let both = report(
        &db,
        &defs,
        &[
            &south[..],
            &[
                "--where",
                "location=Munich",
                "--where",
                "contract=permanent",
            ],
        ]
        .concat(),
    );
    both.assert_fails(1);
    assert!(
        both.stderr().contains("one dimension value at a time"),
        "{}",
        both.stderr()
    );
    // Berlin (9) leaves out 13 and is far from every shown group and view: shown.
    let berlin = report(
        &db,
        &defs,
        &[&south[..], &["--where", "location=Berlin"]].concat(),
    );
    berlin.assert_ok();
    // The same view again is fine: it reveals nothing new.
    report(
        &db,
        &defs,
        &[
            "--department",
            "Manufacturing South",
            "--where",
            "location=Munich",
        ],
    )
    .assert_ok();
    // Not a dimension of the survey: refused with the dimensions there are.
    let grade = report(&db, &defs, &["--where", "grade=7"]);
    grade.assert_fails(1);
    assert!(
        grade
            .stderr()
            .contains("filter by one of: location, contract"),
        "{}",
        grade.stderr()
    );
    // The same rules on the web, for a head of the department: the page says why a view
    // is refused and shows no figure of it; the API gives the view or the refusal.
    db.icsat(&[
        "user",
        "add",
        "head@x.io",
        "--role",
        "head",
        "--department",
        "Manufacturing South",
    ])
    .assert_ok();
    let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);
    let session = sign_in_with_link(&server, &link_for(&db, &server, "head@x.io"));
    let page = server.get_with(
        "/results/pulse?wave=2026-03-01&department=Manufacturing%20South&where=contract%3Dpermanent",
        &session,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Not shown:"), "{}", page.body);
    assert!(
        page.body.contains("leaves out 1 respondents"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<option value=\"location=Munich\""),
        "{}",
        page.body
    );
    let api = server.get_with(
        "/api/surveys/pulse/waves/2026-03-01/report?department=Manufacturing%20South&where=location%3DMunich",
        &session,
    );
    assert_eq!(api.status, 200, "{}", api.body);
    let view: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(view["report"]["groups"][0]["respondents"], 12, "{view}");
    // A head's view stays within their department: the whole company is not theirs.
    let outside = server.get_with(
        "/api/surveys/pulse/waves/2026-03-01/report?department=Manufacturing&where=location%3DHamburg",
        &session,
    );
    assert_eq!(outside.status, 403, "{}", outside.body);
    drop(server);
    // A reader of the database finds every view recorded with the respondents it covered.
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    use diesel::prelude::*;
    use icsat::db::schema::wave_views;
    let recorded: Vec<String> = icsat::with_conn!(conn, c => wave_views::table.select(wave_views::description).order(wave_views::id).load(c)).unwrap();
    assert_eq!(
        recorded,
        [
            "Manufacturing South, location=Munich",
            "Manufacturing South, location=Berlin"
        ]
    );
}

/// Views read releases and never count: with every statement logged, a tour of every
/// page, download and API route of an open and of a closed wave (as HR and as a head)
/// runs no query over the answers.
fn no_view_counts_answers(db: TestDb) {
    let (server, tokens) = open_wave(&db);
    for token in &tokens[..9] {
        answer(&server, token, "7", "fine");
    }
    tick(&db);
    db.icsat(&["wave", "close", "services/test-wave"])
        .assert_ok();
    drop(server);
    // A second wave, open, with answers of its own.
    let (server, tokens) = crate::answering::open_wave_labelled(&db, "second-wave", false);
    for token in &tokens[..4] {
        answer_at(&server, token, "second-wave");
    }
    tick(&db);
    drop(server);
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let log = db.path("serve.log");
    let file = std::fs::File::create(&log).unwrap();
    let defs = db.path("defs").display().to_string();
    let server = Server::start_logging(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_LOG", "warn,icsat::sql=debug"),
        ],
        file,
    );
    let session = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let started = std::fs::read_to_string(&log).unwrap().len();
    let mut pages = vec![
        "/admin".to_string(),
        "/results".to_string(),
        "/results/services".to_string(),
        "/api/surveys".to_string(),
        "/api/surveys/services/waves".to_string(),
        "/api/surveys/services/trend".to_string(),
        "/admin/surveys/services/trend".to_string(),
    ];
    for wave in ["test-wave", "second-wave"] {
        pages.push(format!("/admin/surveys/services/waves/{wave}"));
        pages.push(format!("/results/services?wave={wave}"));
        pages.push(format!("/results/services?wave={wave}&department=IT"));
        pages.push(format!("/results/services/waves/{wave}/summary.csv"));
        pages.push(format!("/api/surveys/services/waves/{wave}/report"));
        pages.push(format!("/api/surveys/services/waves/{wave}/comments"));
    }
    for page in &pages {
        let reply = server.get_with(page, &session);
        assert!(reply.status < 500, "{page}: {}", reply.status);
    }
    let (status, _, _) = server.get(&format!("/s/{}", tokens[5]));
    assert_eq!(status, 200);
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    // Not the scheduler's check for waves whose closing stopped halfway
    // (`generalise::unfinished`), which may run meanwhile and asks whether such a wave
    // has responses at all: not a view, and it counts nothing.
    let statements: Vec<&str> = logged[started..]
        .lines()
        .filter(|l| l.contains("icsat::sql"))
        .filter(|l| {
            let lower = l.to_lowercase();
            !(lower.contains("not (exists (select") && lower.contains("wave_participation"))
        })
        .collect();
    // The views were logged: they read the releases.
    assert!(
        statements.iter().any(|s| s.contains("wave_releases")),
        "{statements:?}"
    );
    for statement in &statements {
        let lower = statement.to_lowercase();
        for table in ["answers", "responses", "response_inbox"] {
            for quoted in [
                format!(" {table} "),
                format!("`{table}`"),
                format!("\"{table}\""),
            ] {
                for verb in ["from", "join"] {
                    assert!(
                        !lower.contains(&format!("{verb} {quoted}").replace("  ", " ")),
                        "a view read {table}: {statement}"
                    );
                }
            }
        }
    }
}

fn answer_at(server: &Server, token: &str, _wave: &str) {
    answer(server, token, "9", "");
}

/// The wave's report as HR's CLI shows it: (group, respondents, release it comes from)
/// for every shown group.
fn shown_groups(db: &TestDb) -> Vec<(String, u64, u64)> {
    let out = db.icsat(&["report", "services", "--wave", "daily", "--format", "json"]);
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let seq = report["release"]["seq"].as_u64().unwrap_or(0);
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["suppressed"] == false)
        .map(|g| {
            (
                g["department"].as_str().unwrap_or("(all)").to_string(),
                g["respondents"].as_u64().unwrap(),
                g["as_of_release"].as_u64().unwrap_or(seq),
            )
        })
        .collect()
}

/// Interim releases through the scheduler (`release_every = "1d"`, threshold 3, 4 people
/// in each of IT, HR and Sales): a group's figures change only when at least 3 new people
/// have answered it, and live response rates beside them never date a single answer.
fn interim_releases_move_in_blocks(db: TestDb) {
    crate::answering::load_survey(&db);
    let defs = db.path("defs").join("services.toml");
    let survey = std::fs::read_to_string(&defs).unwrap().replacen(
        "min_group_size = 3",
        "min_group_size = 3\nmin_comment_group_size = 3\nrelease_every = \"1d\"",
        1,
    );
    std::fs::write(&defs, survey).unwrap();
    let (server, tokens) = crate::answering::open_wave_labelled(&db, "daily", false);
    // Invitations go IT, HR, Sales in turn.
    let it: Vec<&String> = tokens.iter().step_by(3).collect();
    let hr: Vec<&String> = tokens.iter().skip(1).step_by(3).collect();
    let mut day = 0;
    let mut release = |db: &TestDb| {
        day += 1;
        let handle = db.db();
        let mut conn = handle.get().unwrap();
        let config = icsat::config::ConfigArgs {
            database_url: Some(db.url.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
        let at = Utc::now() + chrono::Duration::hours(25 * day);
        icsat::waves::scheduler::tick(&mut conn, &mailer, at).unwrap();
    };
    assert!(
        shown_groups(&db).is_empty(),
        "nothing before the first release"
    );
    for token in &it[..3] {
        answer(&server, token, "9", "");
    }
    release(&db);
    assert_eq!(
        shown_groups(&db),
        [("(all)".into(), 3, 1), ("IT".into(), 3, 1)]
    );
    // One HR answer: HR can't show it, and the whole audience would differ from IT by
    // that one person, so both keep release 1. HR's live count says one answered.
    answer(&server, hr[0], "0", "");
    release(&db);
    assert_eq!(
        shown_groups(&db),
        [("(all)".into(), 3, 1), ("IT".into(), 3, 1)]
    );
    // Two more in HR: a block of 3; HR and the whole audience show them.
    for token in &hr[1..3] {
        answer(&server, token, "0", "");
    }
    release(&db);
    assert_eq!(
        shown_groups(&db),
        [
            ("(all)".into(), 6, 3),
            ("HR".into(), 3, 3),
            ("IT".into(), 3, 1)
        ]
    );
    // The fourth IT answer alone: nothing moves, also at close.
    answer(&server, it[3], "5", "");
    release(&db);
    drop(server);
    db.icsat(&["wave", "close", "services/daily"]).assert_ok();
    let last = shown_groups(&db);
    assert_eq!(
        last,
        [
            ("(all)".into(), 6, 3),
            ("HR".into(), 3, 3),
            ("IT".into(), 3, 1)
        ]
    );
}

crate::on_both_backends!(
    polling_a_daily_released_wave_learns_nothing,
    interim_releases_move_in_blocks,
    no_view_counts_answers,
    polling_an_open_wave_learns_nothing,
    filtered_views_cannot_be_subtracted
);
