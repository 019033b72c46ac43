//! Retention with the clock moved: nothing too young goes, everything too old goes, and
//! the reports of closed waves stay as they were.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::answering::{csrf_of, load_survey, open_wave, open_wave_labelled};
use crate::common::{Server, TestDb};
use icsat::db::schema::{
    employees, invitations, login_tokens, mail_outbox, responses, sessions, users,
};
use icsat::retention::{purge, Retention};

fn answer(server: &Server, token: &str, score: usize) {
    let path = format!("/s/{token}");
    let (_, page, _) = server.get(&path);
    let csrf = csrf_of(&page);
    let (fast, nps) = ((1 + score % 5).to_string(), (score % 11).to_string());
    let (status, body) = server.post_form(
        &path,
        &[
            ("csrf", csrf.as_str()),
            ("q.it-fast", &fast),
            ("q.it-nps", &nps),
            ("q.enps", "7"),
        ],
    );
    assert_eq!(status, 200, "{body}");
}

fn report(db: &TestDb, wave: &str) -> serde_json::Value {
    let out = db.icsat(&["report", "services", "--wave", wave, "--format", "json"]);
    out.assert_ok();
    serde_json::from_str(&out.stdout()).expect("report JSON")
}

/// Each wave's survey, label, status, invited, answered and rate, from `icsat wave list`.
fn rates(db: &TestDb) -> Vec<String> {
    let out = db.icsat(&["wave", "list"]);
    out.assert_ok();
    out.stdout()
        .lines()
        .map(|l| l.split_whitespace().take(6).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Imports the 12-employee roster of `load_survey` without those listed.
fn roster_without(db: &TestDb, gone: &[usize]) {
    let mut roster = String::from("email,name,department,location\n");
    for i in (0..12).filter(|i| !gone.contains(i)) {
        roster.push_str(&format!(
            "e{i}@x.io,Employee {i},{},Berlin\n",
            ["IT", "HR", "Sales"][i % 3]
        ));
    }
    let file = db.write("roster.csv", roster);
    db.icsat(&["roster", "import", file.to_str().unwrap()])
        .assert_ok();
}

fn count_employees(conn: &mut icsat::db::Conn) -> i64 {
    icsat::with_conn!(*conn, c => employees::table.count().get_result(c)).unwrap()
}

fn purge_moves_with_the_clock(db: TestDb) {
    let t0 = Utc::now();
    let (server, tokens) = open_wave(&db);
    for (i, token) in tokens.iter().take(9).enumerate() {
        answer(&server, token, i);
    }
    drop(server);
    db.icsat(&["wave", "close", "services/test-wave"])
        .assert_ok();
    let first = report(&db, "test-wave");
    // e0 and e1 leave; a second wave opens without them; then e2 leaves while invited
    // to it.
    roster_without(&db, &[0, 1]);
    let (server, tokens) = open_wave_labelled(&db, "second", false);
    for (i, token) in tokens.iter().take(6).enumerate() {
        answer(&server, token, i + 3);
    }
    drop(server);
    roster_without(&db, &[0, 1, 2]);
    db.icsat(&["user", "add", "e0@x.io", "--role", "admin"])
        .assert_ok();
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();

    let handle = db.db();
    let mut conn = handle.get().unwrap();
    // Mail: half sent at t0, half still queued; an expired and a live session, an
    // expired sign-in link.
    let admin_id: i64 = icsat::with_conn!(conn, c => users::table.filter(users::email.eq("hr@x.io")).select(users::id).first(c)).unwrap();
    let admin = icsat::auth::User {
        id: admin_id,
        email: "hr@x.io".into(),
        role: icsat::users::Role::Admin,
        department_id: None,
    };
    icsat::with_conn!(conn, c => {
        let ids: Vec<i64> = mail_outbox::table.select(mail_outbox::id).order(mail_outbox::id).load(c).unwrap();
        let half = &ids[..ids.len() / 2];
        diesel::update(mail_outbox::table.filter(mail_outbox::id.eq_any(half)))
            .set((mail_outbox::status.eq("sent"), mail_outbox::sent_at.eq(Some(t0.naive_utc()))))
            .execute(c).unwrap();
        diesel::update(mail_outbox::table.filter(mail_outbox::id.ne_all(half)))
            .set(mail_outbox::status.eq("queued"))
            .execute(c).unwrap();
    });
    let sent = (icsat::with_conn!(conn, c => mail_outbox::table.filter(mail_outbox::status.eq("sent")).count().get_result::<i64>(c))).unwrap();
    assert!(sent > 0);
    let all_mail: i64 =
        icsat::with_conn!(conn, c => mail_outbox::table.count().get_result(c)).unwrap();
    // The live one first: starting a session clears those expired by then.
    icsat::auth::sessions::create(&mut conn, &admin, t0.naive_utc()).unwrap();
    icsat::auth::sessions::create(&mut conn, &admin, (t0 - Duration::days(2)).naive_utc()).unwrap();
    icsat::auth::sign_in::issue_link(&mut conn, "http://x", "hr@x.io").unwrap();
    let answers = |conn: &mut icsat::db::Conn| {
        icsat::responses::inbox::seal(conn).unwrap();
        icsat::with_conn!(*conn, c => responses::table.count().get_result::<i64>(c)).unwrap()
    };
    let responses_before = answers(&mut conn);
    let retention = Retention {
        departed_days: 365,
        mail_days: 90,
        audit_days: 730,
    };

    // The command line's dry run at the real time: what would go, and nothing goes.
    let dry = db.icsat(&["purge", "--dry-run"]);
    dry.assert_ok();
    assert!(
        dry.stdout().contains("1 expired sessions") && dry.stdout().contains("dry run"),
        "{}",
        dry.stdout()
    );
    let live_sessions = |conn: &mut icsat::db::Conn| {
        icsat::with_conn!(*conn, c => sessions::table.count().get_result::<i64>(c)).unwrap()
    };
    assert_eq!(live_sessions(&mut conn), 2);

    // An hour on: the expired session and the sign-in link (15 minutes) go.
    let at = |hours: i64| t0 + Duration::hours(hours);
    let purged = purge(&mut conn, &retention, at(1), false).unwrap();
    assert_eq!(
        (
            purged.sessions,
            purged.sign_in_links,
            purged.mail,
            purged.departed_employees
        ),
        (1, 1, 0, 0),
        "{purged:?}"
    );
    assert_eq!(live_sessions(&mut conn), 1);
    assert_eq!(
        icsat::with_conn!(conn, c => login_tokens::table.count().get_result::<i64>(c)).unwrap(),
        0
    );

    // Day 89: sent mail is kept; day 91: it goes, queued mail stays.
    let purged = purge(&mut conn, &retention, at(89 * 24), false).unwrap();
    assert_eq!(purged.mail, 0, "{purged:?}");
    let dry = purge(&mut conn, &retention, at(91 * 24), true).unwrap();
    assert_eq!(dry.mail, sent as u64);
    let purged = purge(&mut conn, &retention, at(91 * 24), false).unwrap();
    assert_eq!(purged, dry, "a dry run counts exactly what goes");
    let left: i64 = icsat::with_conn!(conn, c => mail_outbox::table.count().get_result(c)).unwrap();
    assert_eq!(left, all_mail - sent);

    // Day 364: the departed are kept; day 366: e0 and e1 go (their waves are finished),
    // e2 stays while the second wave is open. e0's account can no longer be used.
    let employees_before = count_employees(&mut conn);
    let rates_before = rates(&db);
    let purged = purge(&mut conn, &retention, at(364 * 24), false).unwrap();
    assert_eq!(purged.departed_employees, 0, "{purged:?}");
    let purged = purge(&mut conn, &retention, at(366 * 24), false).unwrap();
    assert_eq!(
        (
            purged.departed_employees,
            purged.invitations,
            purged.accounts_deactivated
        ),
        (2, 2, 1),
        "{purged:?}"
    );
    assert_eq!(count_employees(&mut conn), employees_before - 2);
    let gone: i64 = icsat::with_conn!(conn, c => employees::table
        .filter(employees::email.eq_any(["e0@x.io", "e1@x.io"]))
        .count()
        .get_result(c))
    .unwrap();
    assert_eq!(gone, 0);
    let active: bool = icsat::with_conn!(conn, c => users::table.filter(users::email.eq("e0@x.io")).select(users::active).first(c)).unwrap();
    assert!(!active, "a departed person's account stays closed");
    assert_eq!(report(&db, "test-wave"), first, "reports do not change");
    assert_eq!(rates(&db), rates_before, "nor response rates");
    let kept: i64 = icsat::with_conn!(conn, c => invitations::table
        .inner_join(employees::table)
        .filter(employees::email.eq("e2@x.io"))
        .count()
        .get_result(c))
    .unwrap();
    assert_eq!(kept, 2, "invited to an open wave: kept");

    // Once the second wave is closed, e2 goes too, and neither report changes.
    db.icsat(&["wave", "close", "services/second"]).assert_ok();
    let second = report(&db, "second");
    let rates_before = rates(&db);
    let purged = purge(&mut conn, &retention, at(367 * 24), false).unwrap();
    assert_eq!(purged.departed_employees, 1, "{purged:?}");
    assert_eq!(report(&db, "second"), second);
    assert_eq!(rates(&db), rates_before);
    assert_eq!(report(&db, "test-wave"), first);
    assert_eq!(answers(&mut conn), responses_before, "answers stay");
    let nothing = purge(&mut conn, &retention, at(367 * 24), false).unwrap();
    assert!(nothing.is_empty(), "{nothing:?}");
}

fn one_process_purges_per_day(db: TestDb) {
    load_survey(&db);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let t0 = Utc::now();
    use icsat::retention::claim_daily;
    assert!(claim_daily(&mut conn, "a", t0).unwrap());
    assert!(!claim_daily(&mut conn, "b", t0).unwrap());
    assert!(!claim_daily(&mut conn, "a", t0 + Duration::hours(22)).unwrap());
    assert!(claim_daily(&mut conn, "b", t0 + Duration::hours(24)).unwrap());
    assert!(!claim_daily(&mut conn, "a", t0 + Duration::hours(25)).unwrap());
}

crate::on_both_backends!(purge_moves_with_the_clock, one_process_purges_per_day);
