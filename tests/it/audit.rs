//! The audit log: what is recorded (and what never is), `icsat audit`, the admin page
//! with paging, and retention.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::answering::{csrf_of, open_wave};
use crate::common::{csrf_field, link_for, sign_in_with_link, TestDb};
use icsat::db::schema::mail_outbox;

fn audit_json(db: &TestDb, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    let out = db.icsat(&all);
    out.assert_ok();
    serde_json::from_str(&out.stdout()).expect("audit JSON")
}

fn has(entries: &[serde_json::Value], actor: &str, action: &str, subject: &str) -> bool {
    entries.iter().any(|e| {
        e["actor"].as_str().is_some_and(|a| a.contains(actor))
            && e["action"] == action
            && e["subject"].as_str().is_some_and(|s| s.contains(subject))
    })
}

fn who_did_what_is_recorded_and_answers_never(db: TestDb) {
    let (server, tokens) = open_wave(&db);
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let path = format!("/s/{}", tokens[3]);
    let (_, page, _) = server.get(&path);
    let (status, _) = server.post_form(
        &path,
        &[
            ("csrf", csrf_of(&page).as_str()),
            ("q.it-fast", "2"),
            ("q.it-nps", "3"),
            ("q.enps", "4"),
            ("q.comment", "a very particular remark"),
        ],
    );
    assert_eq!(status, 200);
    let session = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let csv = server.get_with("/results/services/waves/test-wave/summary.csv", &session);
    assert_eq!(csv.status, 200, "{}", csv.body);
    // A failed message, resent by HR.
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let id: i64 = icsat::with_conn!(conn, c => mail_outbox::table.select(mail_outbox::id).order(mail_outbox::id).first(c)).unwrap();
    icsat::with_conn!(conn, c => diesel::update(mail_outbox::table.find(id))
        .set(mail_outbox::status.eq("failed"))
        .execute(c))
    .unwrap();
    let dashboard = server.get_with("/admin", &session);
    let resent = server.post_form_with(
        &format!("/admin/mail/{id}/resend"),
        &session,
        &[("csrf", &csrf_field(&dashboard.body))],
    );
    assert_eq!(resent.status, 303, "{}", resent.body);
    drop(server);
    db.icsat(&["wave", "remind", "services/test-wave"])
        .assert_ok();
    db.icsat(&["wave", "close", "services/test-wave"])
        .assert_ok();
    db.icsat(&["purge"]).assert_ok();

    let entries = audit_json(&db, &[]);
    assert!(
        has(&entries, "cli", "roster-import", "roster.csv"),
        "{entries:#?}"
    );
    assert!(has(&entries, "cli", "user-add", "hr@x.io"));
    assert!(has(&entries, "hr@x.io", "sign-in", "admin"));
    assert!(has(&entries, "hr@x.io", "export", "services/test-wave"));
    assert!(has(&entries, "hr@x.io", "resend", "services/test-wave"));
    assert!(has(&entries, "cli", "remind", "services/test-wave"));
    assert!(has(&entries, "cli", "wave-close", "services/test-wave"));
    assert!(has(&entries, "cli", "purge", ""));
    // Newest first.
    assert_eq!(entries[0]["action"], "purge");
    // Nothing about answers or respondents: no answer, no invitee's address, no token.
    let text = db.icsat(&["audit"]).stdout();
    for secret in [
        "particular remark",
        "e3@x.io",
        "e0@x.io",
        tokens[3].as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} in the audit log:\n{text}");
    }
    let tomorrow = (Utc::now() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(audit_json(&db, &["--since", &tomorrow]).is_empty());
    assert_eq!(
        db.icsat(&["audit", "--since", &tomorrow]).stdout(),
        "no audit entries\n"
    );
    let bad = db.icsat(&["audit", "--since", "last tuesday"]);
    bad.assert_fails(1);
    assert!(bad.stderr().contains("2026-12-01"), "{}", bad.stderr());
}

fn the_admin_page_pages_and_retention_applies(db: TestDb) {
    let (server, _) = open_wave(&db);
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    db.icsat(&[
        "user",
        "add",
        "head@x.io",
        "--role",
        "head",
        "--department",
        "IT",
    ])
    .assert_ok();
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let t0 = Utc::now().naive_utc();
    let old = t0 - Duration::days(800);
    icsat::audit::record_at(&mut conn, old, "cli", "export", "services/ancient", "").unwrap();
    for i in 0..60 {
        icsat::audit::record_at(
            &mut conn,
            t0 - Duration::minutes(60 - i),
            "cli",
            "export",
            &format!("services/wave-{i:02}"),
            "summary CSV",
        )
        .unwrap();
    }
    let admin = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let first = server.get_with("/admin/audit", &admin);
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("<caption"), "a captioned table");
    assert!(
        first.body.contains("sign-in"),
        "the sign-in just made is listed"
    );
    assert_eq!(first.body.matches("<tr><td><time").count(), 50);
    let at = first
        .body
        .find("rel=\"next\" href=\"")
        .expect("a link to older entries")
        + 17;
    let next = &first.body[at..at + first.body[at..].find('"').unwrap()];
    let second = server.get_with(next, &admin);
    assert_eq!(second.status, 200);
    assert!(second.body.contains("ancient"), "{}", second.body);
    assert!(!second.body.contains("rel=\"next\""), "the last page");
    assert_eq!(server.get_with("/admin/audit?before=x", &admin).status, 400);
    // Heads and strangers see none of it.
    let head = sign_in_with_link(&server, &link_for(&db, &server, "head@x.io"));
    assert_eq!(server.get_with("/admin/audit", &head).status, 403);
    let stranger = server.get_with("/admin/audit", "");
    assert_eq!(stranger.status, 303);
    assert!(stranger
        .location()
        .unwrap_or_default()
        .starts_with("/login"));

    let retention = icsat::retention::Retention::default();
    let purged = icsat::retention::purge(&mut conn, &retention, Utc::now(), false).unwrap();
    assert_eq!(purged.audit_entries, 1, "{purged:?}");
    let entries = audit_json(&db, &["--limit", "1000"]);
    assert!(!has(&entries, "cli", "export", "services/ancient"));
    assert!(has(&entries, "cli", "export", "services/wave-00"));
}

crate::on_both_backends!(
    who_did_what_is_recorded_and_answers_never,
    the_admin_page_pages_and_retention_applies,
);
