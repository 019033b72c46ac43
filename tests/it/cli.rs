//! The command line's contract: configuration errors are one clear line, exit statuses
//! are 0, 1 and 2.

use crate::common::TestDb;

fn migrate_is_idempotent(db: TestDb) {
    let first = db.icsat(&["migrate"]);
    first.assert_ok();
    assert!(first.stdout().contains("applied"), "{}", first.stdout());
    let second = db.icsat(&["migrate"]);
    second.assert_ok();
    assert!(
        second.stdout().contains("the schema is up to date"),
        "{}",
        second.stdout()
    );
}

#[test]
fn an_unreachable_postgres_is_one_clear_line() {
    let db = TestDb::sqlite();
    let out = db
        .command(&["migrate"])
        .env(
            "ICSAT_DATABASE_URL",
            "postgres://nobody:hunter2@127.0.0.1:1/none",
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .starts_with("error: cannot open the database postgres://nobody:***@127.0.0.1:1/none:"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn an_unsupported_url_names_the_schemes() {
    let db = TestDb::sqlite();
    let out = db
        .command(&["migrate"])
        .env("ICSAT_DATABASE_URL", "mysql://x@y/z")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "error: ICSAT_DATABASE_URL: unsupported database URL \"mysql://x@y/z\": use sqlite://PATH or postgres://USER@HOST/DB"
    );
}

#[test]
fn a_sqlite_file_in_a_missing_folder_is_refused() {
    let db = TestDb::sqlite();
    let out = db
        .command(&["migrate"])
        .env("ICSAT_DATABASE_URL", "sqlite://no/such/dir/x.db")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the folder no/such/dir does not exist"));
}

#[test]
fn usage_errors_exit_2_and_user_errors_exit_1() {
    let db = TestDb::sqlite();
    db.icsat(&["frobnicate"]).assert_fails(2);
    db.icsat(&["roster", "import"]).assert_fails(2);
    db.icsat(&["migrate"]).assert_ok();
    let unknown = db.icsat(&["export", "x", "--wave", "y"]);
    unknown.assert_fails(1);
    assert!(
        unknown.stderr().contains("there is no survey \"x\""),
        "{}",
        unknown.stderr()
    );
    let help = db.icsat(&["--help"]);
    help.assert_ok();
    for command in [
        "serve",
        "demo",
        "migrate",
        "survey",
        "roster",
        "wave",
        "responses",
        "report",
        "trend",
        "export",
        "user",
    ] {
        assert!(
            help.stdout().contains(command),
            "{command} missing from --help"
        );
    }
}

#[test]
fn a_config_file_supplies_settings() {
    let db = TestDb::sqlite();
    let config = db.write("site.toml", format!("database_url = \"{}\"\n", db.url));
    let out = db
        .command(&["migrate"])
        .env_remove("ICSAT_DATABASE_URL")
        .env("ICSAT_CONFIG", &config)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.path("icsat.db").exists());
}

/// HR lists the accounts and takes one away: its session stops working at once and
/// its unused sign-in link with it; the list and the audit log say so.
fn accounts_are_listed_and_deactivated(db: TestDb) {
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    db.icsat(&["user", "add", "Leaver@X.io", "--role", "admin"])
        .assert_ok();
    let server = crate::common::Server::start(&db);
    let session = crate::common::sign_in_with_link(
        &server,
        &crate::common::link_for(&db, &server, "leaver@x.io"),
    );
    assert_eq!(server.get_with("/admin", &session).status, 200);
    let unused = crate::common::link_for(&db, &server, "leaver@x.io");

    let listed = db.icsat(&["user", "list"]);
    listed.assert_ok();
    let text = listed.stdout();
    let line = text
        .lines()
        .find(|l| l.starts_with("leaver@x.io"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        line.contains("admin") && line.contains("active") && line.contains(" 1 "),
        "{}",
        listed.stdout()
    );

    let gone = db.icsat(&["user", "deactivate", "LEAVER@x.io"]);
    gone.assert_ok();
    assert!(
        gone.stdout().contains("deactivated leaver@x.io"),
        "{}",
        gone.stdout()
    );
    assert_eq!(server.get_with("/admin", &session).status, 303);
    let path = &unused[unused.find("/login/").expect("a link")..];
    assert_ne!(
        server.get_with(path, "").status,
        200,
        "the link still works"
    );

    let json = db.icsat(&["user", "list", "--format", "json"]);
    json.assert_ok();
    let accounts: serde_json::Value = serde_json::from_str(&json.stdout()).expect("JSON");
    let leaver = accounts
        .as_array()
        .and_then(|a| a.iter().find(|a| a["email"] == "leaver@x.io"))
        .expect("the account stays listed");
    assert_eq!(leaver["active"], false);
    assert_eq!(leaver["sessions"], 0);
    let audit = db.icsat(&["audit"]);
    assert!(
        audit.stdout().contains("user-deactivate  leaver@x.io"),
        "{}",
        audit.stdout()
    );

    let unknown = db.icsat(&["user", "deactivate", "nobody@x.io"]);
    assert_eq!(unknown.code(), 1);
    assert!(
        unknown.stderr().contains("no account for nobody@x.io"),
        "{}",
        unknown.stderr()
    );
    // Added again, it signs in again.
    db.icsat(&["user", "add", "leaver@x.io", "--role", "admin"])
        .assert_ok();
    let back = crate::common::sign_in_with_link(
        &server,
        &crate::common::link_for(&db, &server, "leaver@x.io"),
    );
    assert_eq!(server.get_with("/admin", &back).status, 200);
}

crate::on_both_backends!(migrate_is_idempotent, accounts_are_listed_and_deactivated);

/// A mistyped SQLite path: commands that read what is there say there is no database
/// and create none; `migrate` still creates one.
#[test]
fn a_missing_sqlite_file_is_named_not_created() {
    let db = TestDb::sqlite();
    let typo = db.path("icsat-dmeo.db");
    let url = format!("sqlite://{}", typo.display());
    for args in [
        &["wave", "list"][..],
        &["report", "pulse"],
        &["export", "pulse", "--wave", "2026-01"],
        &["trend", "pulse"],
        &["audit"],
        &["user", "list"],
        &["purge", "--dry-run"],
    ] {
        let out = db
            .command(args)
            .env("ICSAT_DATABASE_URL", &url)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("there is no database at {}", typo.display())),
            "{args:?}: {stderr}"
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    let made = db
        .command(&["migrate"])
        .env("ICSAT_DATABASE_URL", &url)
        .output()
        .expect("run");
    assert!(made.status.success());
    assert!(typo.exists());
}
