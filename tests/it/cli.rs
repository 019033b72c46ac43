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

crate::on_both_backends!(migrate_is_idempotent);

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
