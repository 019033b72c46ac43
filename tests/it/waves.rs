//! Waves on a real database: the scheduler driven by a fake clock, manual control, and
//! several processes racing to open the same wave.

use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::common::{CommandOutput, TestDb};
use icsat::db::schema::{invitations, mail_outbox, waves};
use icsat::waves::lifecycle::Mailer;
use icsat::waves::scheduler;

const PULSE: &str = r#"
id = "team-pulse"
title = "Team pulse"
intro = "Two minutes about how things are going."

[schedule]
kind = "pulse"
opens = "2027-01-04T09:00"
timezone = "Europe/Berlin"
every = "1m"
open_for = "7d"
reminders = ["3d"]
sample = 0.5

[audience]
departments = ["*"]
exclude_departments = ["Contractors"]

[[sections]]
id = "you"
title = "You"

  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "How likely are you to recommend us as a place to work?"
"#;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// Ten employees in IT and HR plus two contractors, and the pulse stored.
fn prepared(db: &TestDb) -> (icsat::db::Db, Mailer, String) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("team-pulse.toml"), PULSE).unwrap();
    let mut roster = String::from("email,name,department\n");
    for i in 0..10 {
        roster.push_str(&format!(
            "p{i}@x.io,Person {i},{}\n",
            if i % 2 == 0 { "IT" } else { "HR" }
        ));
    }
    roster.push_str("c1@x.io,Con One,Contractors\nc2@x.io,Con Two,Contractors\n");
    let roster = db.write("roster.csv", roster);
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let loaded = icsat::surveys::load(std::slice::from_ref(&defs)).unwrap();
    icsat::surveys::sync(&mut conn, &loaded).unwrap();
    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = Mailer::from_config(&config).unwrap();
    (handle, mailer, defs.display().to_string())
}

fn count<T>(db: &icsat::db::Db, query: impl FnOnce(&mut icsat::db::Conn) -> T) -> T {
    let mut conn = db.get().unwrap();
    query(&mut conn)
}

fn outbox(db: &icsat::db::Db, kind: &str) -> i64 {
    count(db, |conn| {
        icsat::with_conn!(*conn, c => mail_outbox::table.filter(mail_outbox::kind.eq(kind)).count().get_result::<i64>(c)).unwrap()
    })
}

fn the_scheduler_opens_reminds_closes_and_rotates(db: TestDb) {
    let (handle, mailer, _) = prepared(&db);
    let mut conn = handle.get().unwrap();
    // Before the first opening nothing happens.
    assert_eq!(
        scheduler::tick(&mut conn, &mailer, at(2027, 1, 3, 12)).unwrap(),
        Default::default()
    );
    let first = scheduler::tick(&mut conn, &mailer, at(2027, 1, 4, 8)).unwrap();
    assert_eq!(first.opened, vec!["team-pulse/2027-01-04"]);
    assert_eq!(
        outbox(&handle, "invitation"),
        5,
        "half of the ten, contractors excluded"
    );
    // A second process, or a restart, at the same moment opens nothing more.
    assert_eq!(
        scheduler::tick(&mut conn, &mailer, at(2027, 1, 4, 8)).unwrap(),
        Default::default()
    );

    // Two of the five answer; the reminder at +3 days reaches the other three, once.
    icsat::with_conn!(conn, c => diesel::update(invitations::table.filter(invitations::id.le(2)))
        .set(invitations::responded_on.eq(Some(chrono::NaiveDate::from_ymd_opt(2027, 1, 5).unwrap())))
        .execute(c))
    .unwrap();
    let remind = scheduler::tick(&mut conn, &mailer, at(2027, 1, 7, 9)).unwrap();
    assert_eq!(remind.reminded, vec!["2027-01-04"]);
    assert_eq!(outbox(&handle, "reminder"), 3);
    scheduler::tick(&mut conn, &mailer, at(2027, 1, 7, 10)).unwrap();
    assert_eq!(outbox(&handle, "reminder"), 3, "each reminder once");

    let closed = scheduler::tick(&mut conn, &mailer, at(2027, 1, 11, 9)).unwrap();
    assert_eq!(closed.closed, vec!["2027-01-04"]);

    // Next month the other five are asked: nobody twice before everyone once.
    scheduler::tick(&mut conn, &mailer, at(2027, 2, 4, 9)).unwrap();
    let asked: Vec<(i64, i64)> = icsat::with_conn!(conn, c => invitations::table
        .group_by(invitations::employee_id)
        .select((invitations::employee_id, diesel::dsl::count_star()))
        .load(c))
    .unwrap();
    assert_eq!(asked.len(), 10, "{asked:?}");
    assert!(asked.iter().all(|(_, n)| *n == 1), "{asked:?}");

    // A late invitation to the first wave, answered, lies after the second wave's rows.
    // The first wave is closed: its rates are the counts frozen when it closed (its
    // answered marks were erased then), so the late row changes nothing; the open wave
    // counts its own invitations only.
    icsat::with_conn!(conn, c => c.batch_execute(
        "INSERT INTO invitations (wave_id, employee_id, department_id, token_hash, created_at, responded_on) \
         SELECT (SELECT MIN(wave_id) FROM invitations), employee_id, department_id, 'late', created_at, '2027-01-09' \
         FROM invitations WHERE wave_id = (SELECT MAX(wave_id) FROM invitations) ORDER BY id LIMIT 1"))
    .unwrap();
    let rates: Vec<(String, u64, u64)> = icsat::waves::status::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|w| (w.label, w.invited, w.responded))
        .collect();
    assert_eq!(
        rates,
        [
            ("2027-01-04".to_string(), 5, 2),
            ("2027-02-04".to_string(), 5, 0)
        ]
    );
}

fn racing_processes_open_one_wave(db: TestDb) {
    let (handle, mailer, _) = prepared(&db);
    let mailer = std::sync::Arc::new(mailer);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (handle, mailer) = (handle.clone(), mailer.clone());
            std::thread::spawn(move || {
                let mut conn = handle.get().unwrap();
                scheduler::tick(&mut conn, &mailer, at(2027, 1, 4, 9)).unwrap()
            })
        })
        .collect();
    let opened: usize = threads
        .into_iter()
        .map(|t| t.join().unwrap().opened.len())
        .sum();
    assert_eq!(opened, 1);
    let mut conn = handle.get().unwrap();
    let waves: i64 = icsat::with_conn!(conn, c => waves::table.count().get_result(c)).unwrap();
    assert_eq!(waves, 1);
    assert_eq!(outbox(&handle, "invitation"), 5);
}

fn manual_open_remind_close_and_list(db: TestDb) {
    let (_, _, defs) = prepared(&db);
    let run = |args: &[&str]| {
        CommandOutput(
            db.command(args)
                .env("ICSAT_DEFINITIONS", &defs)
                .output()
                .unwrap(),
        )
    };
    let open = run(&["wave", "open", "team-pulse", "--label", "kickoff"]);
    open.assert_ok();
    assert!(
        open.stdout()
            .contains("opened wave kickoff of team-pulse: 5 invitations queued"),
        "{}",
        open.stdout()
    );
    let again = run(&["wave", "open", "team-pulse", "--label", "kickoff"]);
    again.assert_fails(1);
    assert!(
        again
            .stderr()
            .contains("already has a wave labelled \"kickoff\""),
        "{}",
        again.stderr()
    );
    run(&["wave", "remind", "team-pulse/kickoff"]).assert_ok();
    let list = run(&["wave", "list"]);
    list.assert_ok();
    let line = list
        .stdout()
        .lines()
        .find(|l| l.contains("kickoff"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("open") && line.contains(" 5 ") && line.contains("10"),
        "{}",
        list.stdout()
    );
    run(&["wave", "close", "kickoff"]).assert_ok();
    let closed_again = run(&["wave", "close", "kickoff"]);
    closed_again.assert_fails(1);
    assert!(
        closed_again.stderr().contains("wave kickoff is not open"),
        "{}",
        closed_again.stderr()
    );
    let unknown = run(&["wave", "remind", "nope"]);
    unknown.assert_fails(1);
    assert!(
        unknown
            .stderr()
            .contains("no wave matches \"nope\"; waves: team-pulse/kickoff"),
        "{}",
        unknown.stderr()
    );
}

crate::on_both_backends!(
    the_scheduler_opens_reminds_closes_and_rotates,
    racing_processes_open_one_wave,
    manual_open_remind_close_and_list,
);
