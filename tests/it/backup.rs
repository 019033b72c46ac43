//! `icsat backup` while submissions are being stored, and `icsat restore` into a fresh
//! database: the same reports, a consistent snapshot, and refusals that change nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use diesel::prelude::*;

use crate::answering::{csrf_of, open_wave, open_wave_labelled};
use crate::common::{Server, TestDb};
use icsat::db::schema::{invitations, response_inbox, responses, waves};

fn same_backend(db: &TestDb) -> TestDb {
    if db.url.starts_with("sqlite") {
        TestDb::sqlite()
    } else {
        TestDb::postgres().expect("the source is on PostgreSQL")
    }
}

fn answer(server: &Server, token: &str, score: usize) -> u16 {
    let path = format!("/s/{token}");
    let (_, page, _) = server.get(&path);
    let csrf = csrf_of(&page);
    let fast = (1 + score % 5).to_string();
    let nps = (score % 11).to_string();
    server
        .post_form(
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("q.it-fast", &fast),
                ("q.it-nps", &nps),
                ("q.enps", "8"),
                ("q.comment", "fine"),
            ],
        )
        .0
}

fn report(db: &TestDb, wave: &str) -> serde_json::Value {
    let out = db.icsat(&["report", "services", "--wave", wave, "--format", "json"]);
    out.assert_ok();
    serde_json::from_str(&out.stdout()).expect("report JSON")
}

/// Responses stored or waiting for wave `label`, and its invitations marked answered:
/// equal in any consistent snapshot (a submission writes both in one transaction).
fn answered(db: &TestDb, label: &str) -> (i64, i64) {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => {
        let wave: i64 = waves::table.filter(waves::label.eq(label)).select(waves::id).first(c).unwrap();
        let stored: i64 = responses::table.filter(responses::wave_id.eq(wave)).count().get_result(c).unwrap();
        let waiting: i64 = response_inbox::table.filter(response_inbox::wave_id.eq(wave)).count().get_result(c).unwrap();
        let marked: i64 = invitations::table
            .filter(invitations::wave_id.eq(wave))
            .filter(invitations::responded_on.is_not_null())
            .count()
            .get_result(c)
            .unwrap();
        (stored + waiting, marked)
    })
}

fn backup_under_load_restores_to_identical_reports(db: TestDb) {
    let (server, tokens) = open_wave(&db);
    for (i, token) in tokens.iter().take(10).enumerate() {
        assert_eq!(answer(&server, token, i), 200);
    }
    drop(server);
    db.icsat(&["wave", "close", "services/test-wave"])
        .assert_ok();
    let closed_report = report(&db, "test-wave");
    assert_eq!(closed_report["release"]["final"], true);

    // A second wave answered while the backup runs.
    let (server, tokens) = open_wave_labelled(&db, "second", false);
    let server = Arc::new(server);
    let done = Arc::new(AtomicUsize::new(0));
    let answering = {
        let (server, done) = (server.clone(), done.clone());
        std::thread::spawn(move || {
            for (i, token) in tokens.iter().enumerate() {
                assert_eq!(answer(&server, token, i), 200);
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while done.load(Ordering::SeqCst) < 2 {
        std::thread::yield_now();
    }
    let file = db.path("icsat.backup");
    let out = db.icsat(&["backup", file.to_str().unwrap()]);
    out.assert_ok();
    assert!(out.stdout().contains("backed up"), "{}", out.stdout());
    answering.join().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds every answer: owner only");
    }
    // Never over an existing file.
    let again = db.icsat(&["backup", file.to_str().unwrap()]);
    again.assert_fails(1);
    assert!(
        again.stderr().contains("exists already"),
        "{}",
        again.stderr()
    );

    let restored = same_backend(&db);
    let out = restored.icsat(&["restore", file.to_str().unwrap()]);
    out.assert_ok();
    assert!(out.stdout().contains("restored"), "{}", out.stdout());
    assert_eq!(report(&restored, "test-wave"), closed_report);
    assert_eq!(report(&db, "test-wave"), closed_report);
    let (responses, marked) = answered(&restored, "second");
    assert_eq!(responses, marked, "the backup is one moment's state");
    assert!(responses >= 2, "answers made before the backup are in it");

    // A database with data is only replaced when asked to.
    let refused = restored.icsat(&["restore", file.to_str().unwrap()]);
    refused.assert_fails(1);
    assert!(
        refused.stderr().contains("not empty") && refused.stderr().contains("--force"),
        "{}",
        refused.stderr()
    );
    restored
        .icsat(&["restore", "--force", file.to_str().unwrap()])
        .assert_ok();
    assert_eq!(report(&restored, "test-wave"), closed_report);
    assert_eq!(answered(&restored, "second"), (responses, marked));

    // Ids go on after the restored ones: a new wave opens and is answered.
    std::fs::create_dir_all(restored.path("defs")).unwrap();
    restored.write("defs/services.toml", crate::answering::FORM_SURVEY);
    let (server, tokens) = open_wave_labelled(&restored, "third", false);
    assert_eq!(answer(&server, &tokens[0], 3), 200);
}

fn damaged_or_foreign_files_are_refused(db: TestDb) {
    crate::answering::load_survey(&db);
    let file = db.path("icsat.backup");
    db.icsat(&["backup", file.to_str().unwrap()]).assert_ok();
    let bytes = std::fs::read(&file).unwrap();

    let target = same_backend(&db);
    let cut = target.write("cut.backup", &bytes[..bytes.len() * 2 / 3]);
    let out = target.icsat(&["restore", cut.to_str().unwrap()]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains("not a usable icsat backup"),
        "{}",
        out.stderr()
    );
    let junk = target.write("junk.backup", "department,parent\nIT,\n");
    let out = target.icsat(&["restore", junk.to_str().unwrap()]);
    out.assert_fails(1);
    assert!(out.stderr().contains("neither"), "{}", out.stderr());
    // Nothing was restored by the refusals: a whole file still goes in.
    target
        .icsat(&["restore", file.to_str().unwrap()])
        .assert_ok();
    assert_eq!(target.roster_snapshot(), db.roster_snapshot());
}

/// A backup of one backend is refused by the other.
#[test]
fn backups_stay_on_their_backend() {
    let Some(pg) = TestDb::postgres() else { return };
    let sqlite = TestDb::sqlite();
    let file = sqlite.path("icsat.backup");
    // A backup needs a database to copy (a missing file is named, not created).
    sqlite.icsat(&["migrate"]).assert_ok();
    sqlite
        .icsat(&["backup", file.to_str().unwrap()])
        .assert_ok();
    let out = pg.icsat(&["restore", file.to_str().unwrap()]);
    out.assert_fails(1);
    assert!(out.stderr().contains("SQLite database"), "{}", out.stderr());
}

crate::on_both_backends!(
    backup_under_load_restores_to_identical_reports,
    damaged_or_foreign_files_are_refused,
);
