//! Sign-in by one-time emailed link: no account enumeration, single use, expiry, CSRF,
//! cookies, logout, and accounts that may not sign in.

use diesel::prelude::*;

use crate::common::{csrf_field, link_for, sign_in_with_link, Server, TestDb};

const DEPARTMENTS: &str = "department,parent,head_email\nCompany,,\nSales,Company,head@x.io\n";

fn prepared(db: &TestDb) -> Server {
    let departments = db.write("departments.csv", DEPARTMENTS);
    let roster = db.write(
        "roster.csv",
        "email,name,department\nhead@x.io,Head,Sales\nleaver@x.io,Leaver,Sales\n",
    );
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    db.icsat(&["user", "add", "off@x.io", "--role", "admin"])
        .assert_ok();
    Server::start(db)
}

fn sign_in_mails(db: &TestDb) -> Vec<String> {
    use icsat::db::schema::mail_outbox;
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::kind.eq("sign_in"))
        .select(mail_outbox::recipient)
        .load::<String>(c)
        .unwrap())
}

/// Waits (boundedly) until `n` sign-in mails are queued: asks are worked in the background.
fn wait_for_mails(db: &TestDb, n: usize) {
    let start = std::time::Instant::now();
    while sign_in_mails(db).len() < n {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{:?}",
            sign_in_mails(db)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn execute(db: &TestDb, sql: &str) {
    use diesel::connection::SimpleConnection;
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => c.batch_execute(sql).unwrap());
}

fn asking_for_a_link_reveals_nothing(db: TestDb) {
    let server = prepared(&db);
    let page = server.get_with("/login", "");
    assert_eq!(page.status, 200);
    let pre = page.cookie("icsat_pre").expect("pre-sign-in cookie");
    let cookie = format!("icsat_pre={pre}");
    let csrf = csrf_field(&page.body);
    let known = server.post_form_with("/login", &cookie, &[("csrf", &csrf), ("email", "HR@x.io")]);
    let unknown = server.post_form_with(
        "/login",
        &cookie,
        &[("csrf", &csrf), ("email", "nobody@x.io")],
    );
    assert_eq!(known.status, 200);
    assert_eq!(known.status, unknown.status);
    assert_eq!(
        known.body, unknown.body,
        "same answer for known and unknown"
    );
    assert!(known
        .body
        .contains("If that address has an account, a link is on its way"));
    // Looked up and mailed in the background, in order: the known address's mail is
    // the only one.
    wait_for_mails(&db, 1);
    assert_eq!(sign_in_mails(&db), vec!["hr@x.io".to_string()]);
    // Without the form's CSRF token, or without this browser's cookie: refused.
    let no_csrf = server.post_form_with("/login", &cookie, &[("email", "hr@x.io")]);
    assert_eq!(no_csrf.status, 403);
    let no_cookie = server.post_form_with("/login", "", &[("csrf", &csrf), ("email", "hr@x.io")]);
    assert_eq!(no_cookie.status, 403);
    assert_eq!(sign_in_mails(&db).len(), 1);
    // Asking again and again for one address is limited.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            server
                .post_form_with("/login", &cookie, &[("csrf", &csrf), ("email", "off@x.io")])
                .status,
        );
    }
    // Always answered alike; past five, the mails are skipped quietly.
    assert_eq!(statuses, vec![200; 6]);
    let known = server.post_form_with("/login", &cookie, &[("csrf", &csrf), ("email", "hr@x.io")]);
    assert_eq!(known.status, 200);
    wait_for_mails(&db, 7);
    let mails = sign_in_mails(&db);
    assert_eq!(
        mails.iter().filter(|m| *m == "off@x.io").count(),
        5,
        "{mails:?}"
    );
}

fn a_link_signs_in_once(db: TestDb) {
    let server = prepared(&db);
    let link = link_for(&db, &server, "hr@x.io");
    assert!(link.starts_with(&format!("{}/login/", server.base_url)));
    let token = link.rsplit('/').next().unwrap();
    assert!(token.len() >= 43, "at least 256 bits");
    let path = format!("/login/{token}");
    // Opening the link (a mail scanner, say) uses nothing up.
    for _ in 0..2 {
        let page = server.get_with(&path, "");
        assert_eq!(page.status, 200);
        assert!(page.body.contains(">Sign in</button>"));
    }
    let page = server.get_with(&path, "");
    let pre = format!("icsat_pre={}", page.cookie("icsat_pre").unwrap());
    let csrf = csrf_field(&page.body);
    // The button's POST needs its CSRF token and the browser's cookie.
    assert_eq!(server.post_form_with(&path, &pre, &[]).status, 403);
    assert_eq!(
        server.post_form_with(&path, "", &[("csrf", &csrf)]).status,
        403
    );
    let other = server.get_with(&path, "");
    let other_csrf = csrf_field(&other.body);
    assert_eq!(
        server
            .post_form_with(&path, &pre, &[("csrf", &other_csrf)])
            .status,
        403,
        "a token made for another browser"
    );
    let done = server.post_form_with(&path, &pre, &[("csrf", &csrf)]);
    assert_eq!(done.status, 303);
    assert_eq!(done.location().as_deref(), Some("/admin"));
    let set = done
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("icsat_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains("Secure"), "http base URL: no Secure flag");
    let session = format!("icsat_session={}", done.cookie("icsat_session").unwrap());
    assert_eq!(server.get_with("/admin", &session).status, 200);
    // Used: neither the page nor the POST works again.
    assert_eq!(server.get_with(&path, "").status, 404);
    assert_eq!(
        server
            .post_form_with(&path, &pre, &[("csrf", &csrf)])
            .status,
        404
    );
    // A made-up token.
    let wrong = format!("/login/{}", "B".repeat(43));
    assert_eq!(server.get_with(&wrong, "").status, 404);
    assert_eq!(server.get_with("/login/short", "").status, 404);
}

fn links_expire_and_closed_accounts_cannot_sign_in(db: TestDb) {
    let server = prepared(&db);
    let link = link_for(&db, &server, "hr@x.io");
    execute(
        &db,
        "UPDATE login_tokens SET expires_at = '2000-01-01 00:00:00'",
    );
    let path = &link[link.find("/login/").unwrap()..];
    assert_eq!(server.get_with(path, "").status, 404, "expired");
    // A head named in the departments file got an account on import.
    let head = sign_in_with_link(&server, &link_for(&db, &server, "head@x.io"));
    let results = server.get_with("/results", &head);
    assert_eq!(results.status, 200);
    assert!(results.body.contains("head of Sales"));
    // Deactivating the account ends its sessions at once.
    execute(
        &db,
        "UPDATE users SET active = false WHERE email = 'head@x.io'",
    );
    assert_eq!(server.get_with("/results", &head).status, 303);
    {
        let handle = db.db();
        let mut conn = handle.get().unwrap();
        assert!(
            icsat::auth::sign_in::issue_link(&mut conn, &server.base_url, "head@x.io").is_err()
        );
        assert!(
            icsat::auth::sign_in::issue_link(&mut conn, &server.base_url, "nobody@x.io").is_err()
        );
    }
    // Someone the roster says has left cannot sign in, even with an account.
    db.icsat(&["user", "add", "leaver@x.io", "--role", "admin"])
        .assert_ok();
    let link = link_for(&db, &server, "leaver@x.io");
    execute(
        &db,
        "UPDATE employees SET active = false WHERE email = 'leaver@x.io'",
    );
    let path = &link[link.find("/login/").unwrap()..];
    let page = server.get_with(path, "");
    let pre = format!("icsat_pre={}", page.cookie("icsat_pre").unwrap_or_default());
    let csrf = if page.status == 200 {
        csrf_field(&page.body)
    } else {
        String::new()
    };
    let done = server.post_form_with(path, &pre, &[("csrf", &csrf)]);
    assert_ne!(done.status, 303, "a leaver signed in");
    assert!(done.cookie("icsat_session").is_none());
}

fn logout_needs_csrf_and_ends_the_session(db: TestDb) {
    let server = prepared(&db);
    let session = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let page = server.get_with("/admin", &session);
    let csrf = csrf_field(&page.body);
    assert_eq!(server.post_form_with("/logout", &session, &[]).status, 403);
    assert_eq!(
        server
            .post_form_with("/logout", &session, &[("csrf", "0".repeat(64).as_str())])
            .status,
        403
    );
    assert_eq!(
        server.get_with("/admin", &session).status,
        200,
        "still signed in"
    );
    let out = server.post_form_with("/logout", &session, &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(out.location().as_deref(), Some("/login"));
    let after = server.get_with("/admin", &session);
    assert_eq!(after.status, 303);
    assert_eq!(after.location().as_deref(), Some("/login"));
    assert_eq!(server.get_with("/api/surveys", &session).status, 401);
}

crate::on_both_backends!(
    asking_for_a_link_reveals_nothing,
    a_link_signs_in_once,
    links_expire_and_closed_accounts_cannot_sign_in,
    logout_needs_csrf_and_ends_the_session,
);
