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

/// Everything an admin can read of the wave: the API report and comments, the CSV
/// download, the CLI JSON, and the result page.
fn everything(db: &TestDb, server: &Server, session: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for path in [
        "/api/surveys/services/waves/test-wave/report",
        "/api/surveys/services/waves/test-wave/comments",
        "/api/surveys/services/trend",
    ] {
        let reply = server.get_with(path, session);
        seen.push(format!("{path} {} {}", reply.status, reply.body));
    }
    let report = db.icsat(&[
        "report",
        "services",
        "--wave",
        "test-wave",
        "--format",
        "json",
    ]);
    seen.push(report.stdout());
    seen
}

/// The scheduler's work, as `icsat serve` does it every 20 s: seal, then what is due.
fn tick(db: &TestDb) {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
    icsat::waves::scheduler::tick(&mut conn, &mailer, Utc::now()).unwrap();
}

/// Attack 1: a report taken before and after one employee answers (and the scheduler
/// has run) would give that employee's answers as the difference. With releases, an open
/// wave of a survey released at close shows no figure at all, however often it is read,
/// and the comment appears nowhere; only the wave's close releases the figures.
fn polling_an_open_wave_learns_nothing(db: TestDb) {
    let (server, tokens) = open_wave(&db);
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let session = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    // Enough answers for every group, then a baseline read.
    for token in &tokens[..9] {
        answer(&server, token, "8", "");
    }
    tick(&db);
    let before = everything(&db, &server, &session);
    // One more employee answers, with a comment only they would write.
    answer(
        &server,
        &tokens[9],
        "0",
        "the printer on floor 3 is broken again",
    );
    for _ in 0..3 {
        tick(&db);
        let after = everything(&db, &server, &session);
        assert_eq!(after, before, "a read after one more answer differs");
        // The wave's page shows live participation (it may: figures move only in
        // releases), but no figure and no comment.
        let page = server.get_with("/admin/surveys/services/waves/test-wave", &session);
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("printer on floor 3"));
    }
    // Closing releases the figures once, for good.
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
    assert_eq!(report["groups"][0]["respondents"], 10);
}

crate::on_both_backends!(polling_an_open_wave_learns_nothing);
