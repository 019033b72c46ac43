//! HR's dashboard: undelivered mail with the server's reply, and "resend".

use diesel::prelude::*;

use crate::access::{fixture, WAVE};
use crate::common::{csrf_field, TestDb};

use icsat::db::schema::{mail_outbox, waves};

/// The fixture's wave `WAVE`.
fn wave_id(conn: &mut icsat::db::Conn) -> i64 {
    icsat::with_conn!(*conn, c => waves::table
        .filter(waves::label.eq(WAVE))
        .select(waves::id)
        .first(c)
        .unwrap())
}

/// A message of the wave that failed for `reason`; an empty `message` was never built.
fn failed(
    conn: &mut icsat::db::Conn,
    wave_id: i64,
    key: &str,
    recipient: &str,
    message: &str,
    reason: &str,
) {
    let now = icsat::db::now();
    icsat::with_conn!(*conn, c => diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::dedupe_key.eq(key),
            mail_outbox::kind.eq("invitation"),
            mail_outbox::wave_id.eq(Some(wave_id)),
            mail_outbox::recipient.eq(recipient),
            mail_outbox::subject.eq("x"),
            mail_outbox::message.eq(message),
            mail_outbox::status.eq("failed"),
            mail_outbox::attempts.eq(5),
            mail_outbox::next_attempt_at.eq(now),
            mail_outbox::last_error.eq(Some(reason)),
            mail_outbox::created_at.eq(now),
        ))
        .execute(c)
        .unwrap());
}

fn failed_mail_is_listed_and_resent(db: TestDb) {
    let f = fixture(&db);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let wave_id = wave_id(&mut conn);
    for (key, recipient, message, reason) in [
        (
            "a",
            "gone@x.io",
            "Subject: x\r\n\r\nbody",
            "550 5.1.1 <gone@x.io>: mailbox unavailable",
        ),
        (
            "b",
            "not an address",
            "",
            "\"not an address\" is not an email address: correct it in the roster",
        ),
    ] {
        failed(&mut conn, wave_id, key, recipient, message, reason);
    }
    let id: i64 = icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::dedupe_key.eq("a"))
        .select(mail_outbox::id)
        .first(c)
        .unwrap());
    let path = format!("/admin/surveys/pulse/waves/{WAVE}");
    let page = f.server.get_with(&path, &f.admin);
    assert!(page
        .body
        .contains("550 5.1.1 &lt;gone@x.io&gt;: mailbox unavailable"));
    assert!(
        page.body.contains("fix the roster"),
        "no resend for an address that is none"
    );
    let dashboard = f.server.get_with("/admin", &f.admin);
    assert!(
        dashboard.body.contains("<strong class=\"bad\">2</strong>"),
        "two failed"
    );
    let resend = format!("/admin/mail/{id}/resend");
    // A head, or an admin without the form's token, cannot resend.
    assert_eq!(
        f.server
            .post_form_with(&resend, &f.head_a, &[("csrf", "x")])
            .status,
        403
    );
    assert_eq!(f.server.post_form_with(&resend, &f.admin, &[]).status, 403);
    let csrf = csrf_field(&page.body[page.body.find("/resend").unwrap() - 40..]);
    let done = f
        .server
        .post_form_with(&resend, &f.admin, &[("csrf", &csrf)]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some(format!("{path}#mail")));
    let status: String = icsat::with_conn!(conn, c => mail_outbox::table
        .find(id)
        .select(mail_outbox::status)
        .first(c)
        .unwrap());
    assert_ne!(status, "failed", "queued again (or already sent)");
    let page = f.server.get_with(&path, &f.admin);
    assert!(!page.body.contains("gone@x.io"));
    // A message that does not exist.
    let missing =
        f.server
            .post_form_with("/admin/mail/999999/resend", &f.admin, &[("csrf", &csrf)]);
    assert_eq!(missing.status, 404);
}

/// 120 undelivered messages: the wave page groups them by reason, lists them 50 a
/// page, and resends a whole group after asking; a head cannot.
fn undelivered_mail_is_grouped_paged_and_resent_by_reason(db: TestDb) {
    let f = fixture(&db);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let wave_id = wave_id(&mut conn);
    for i in 0..120 {
        let (recipient, reason) = if i < 110 {
            (
                format!("user{i}@x.io"),
                format!("550 5.1.1 <user{i}@x.io>: mailbox unavailable"),
            )
        } else {
            (
                format!("late{i}@x.io"),
                "421 4.7.0 try again later".to_string(),
            )
        };
        failed(
            &mut conn,
            wave_id,
            &format!("k{i}"),
            &recipient,
            "Subject: x\r\n\r\nbody",
            &reason,
        );
    }
    let path = format!("/admin/surveys/pulse/waves/{WAVE}");
    let page = f.server.get_with(&path, &f.admin);
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.contains("120 messages, by reason"), "{body}");
    assert!(
        body.contains(
            "<td><code>550 5.1.1 &lt;address&gt;: mailbox unavailable</code></td><td>110</td>"
        ),
        "{body}"
    );
    assert!(body.contains("<td><code>421 4.7.0 try again later</code></td><td>10</td>"));
    assert!(body.contains("page 1 of 3"));
    assert_eq!(body.matches("/admin/mail/").count(), 50, "one page of 50");
    let last = f.server.get_with(&format!("{path}?mail_page=3"), &f.admin);
    assert_eq!(last.body.matches("/admin/mail/").count(), 20);
    assert!(last.body.contains("late119@x.io"));

    let group = "550 5.1.1 <address>: mailbox unavailable";
    let ask = format!("{path}/mail/resend?reason={}", urlencode(group));
    let confirm = f.server.get_with(&ask, &f.admin);
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("Resend 110 messages?"),
        "{}",
        confirm.body
    );
    assert_eq!(f.server.get_with(&ask, &f.head_a).status, 403);
    let csrf = csrf_field(&confirm.body);
    let post = format!("{path}/mail/resend");
    assert_eq!(
        f.server
            .post_form_with(&post, &f.head_a, &[("csrf", "x"), ("reason", group)])
            .status,
        403
    );
    let done = f
        .server
        .post_form_with(&post, &f.admin, &[("csrf", &csrf), ("reason", group)]);
    assert_eq!(done.status, 303);
    let after = f
        .server
        .get_with(&format!("{path}?resent=110#mail"), &f.admin);
    assert!(
        after.body.contains("110 messages queued again"),
        "{}",
        after.body
    );
    assert!(after.body.contains("10 messages, by reason"));
    assert!(!after.body.contains("mailbox unavailable"));
    // Queued again (the sender may have sent some already): only the other reason's
    // ten are still failed.
    let failed: i64 = icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::status.eq("failed"))
        .count()
        .get_result(c)
        .unwrap());
    assert_eq!(failed, 10);
    let audit = db.icsat(&["audit"]);
    assert!(
        audit
            .stdout()
            .contains("110 messages that failed with: 550 5.1.1"),
        "{}",
        audit.stdout()
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The dashboard lists what was released since the account's previous visit (sign-in):
/// on a first visit, the last seven days'.
fn releases_since_the_last_visit_are_listed(db: TestDb) {
    use icsat::db::schema::wave_releases;
    let f = fixture(&db);
    let first = f.server.get_with("/admin", &f.admin).body;
    assert!(first.contains("Released since the last 7 days"), "{first}");
    let link = format!(
        "<a href=\"/admin/surveys/pulse/waves/{WAVE}\">Quarterly pulse {WAVE}</a>: final results"
    );
    assert!(first.contains(&link), "{first}");

    // Signed in again: nothing new since the first visit.
    let again = crate::common::sign_in_with_link(
        &f.server,
        &crate::common::link_for(&db, &f.server, "admin@x.io"),
    );
    let page = f.server.get_with("/admin", &again).body;
    assert!(!page.contains("Released since"), "{page}");

    // A release made after that first visit is listed, and only it.
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let wave = wave_id(&mut conn);
    let later = icsat::db::now() + chrono::Duration::seconds(1);
    icsat::with_conn!(conn, c => diesel::update(wave_releases::table.filter(wave_releases::wave_id.eq(wave)))
        .set(wave_releases::made_at.eq(later))
        .execute(c))
    .unwrap();
    let page = f.server.get_with("/admin", &again).body;
    assert!(page.contains("Released since your last visit ("), "{page}");
    assert!(page.contains(&link), "{page}");
    assert_eq!(page.matches("final results").count(), 1, "{page}");
}

crate::on_both_backends!(
    releases_since_the_last_visit_are_listed,
    failed_mail_is_listed_and_resent,
    undelivered_mail_is_grouped_paged_and_resent_by_reason
);
