//! `icsat roster import`: every kind of bad input is reported and changes nothing.

use crate::common::TestDb;

const DEPARTMENTS: &str = "department,parent,head_email\n\
    Company,,ceo@acme.test\n\
    IT,Company,it-head@acme.test\n\
    HR,Company,\n\
    Sales,Company,\n\
    Sales North,Sales,\n";

const ROSTER: &str = "email,name,department,manager_email,location,hire_date,level\n\
    ceo@acme.test,Carla CEO,Company,,Berlin,2015-01-01,exec\n\
    it-head@acme.test,Ian Head,IT,ceo@acme.test,Berlin,2016-03-01,lead\n\
    ada@acme.test,Ada Lovelace,IT,it-head@acme.test,Lyon,2020-05-04,senior\n\
    hr@acme.test,Hana Rossi,HR,ceo@acme.test,Berlin,,\n\
    sam@acme.test,Sam North,Sales North,ceo@acme.test,Hamburg,2021-09-01,junior\n";

/// A database holding the roster above, and its snapshot.
fn loaded(db: &TestDb) -> Vec<String> {
    let roster = db.write("roster.csv", ROSTER);
    let departments = db.write("departments.csv", DEPARTMENTS);
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    db.roster_snapshot()
}

/// Imports `roster` (with the good departments file) and asserts it fails with
/// `expected` among its messages and leaves the database as it was.
fn assert_rejected(db: &TestDb, roster: &[u8], expected: &str) {
    let before = loaded(db);
    let bad = db.write("bad.csv", roster);
    let departments = db.path("departments.csv");
    let out = db.icsat(&[
        "roster",
        "import",
        bad.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ]);
    out.assert_fails(1);
    let stderr = out.stderr();
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in:\n{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(db.roster_snapshot(), before, "the database changed");
}

fn imports_a_tree_and_reports_what_changed(db: TestDb) {
    let snapshot = loaded(&db);
    assert_eq!(snapshot.len(), 10, "{snapshot:#?}");
    assert!(
        snapshot.iter().any(
            |r| r.contains("\"ada@acme.test\"") && r.contains("{\\\"level\\\":\\\"senior\\\"}")
        ),
        "{snapshot:#?}"
    );

    // Ada moves to HR, Sam leaves, Nina joins; the dry run tells and changes nothing.
    let next = db.write(
        "next.csv",
        "email,name,department,manager_email,location,hire_date,level\n\
         ceo@acme.test,Carla CEO,Company,,Berlin,2015-01-01,exec\n\
         it-head@acme.test,Ian Head,IT,ceo@acme.test,Berlin,2016-03-01,lead\n\
         ADA@acme.test,Ada Lovelace,HR,it-head@acme.test,Lyon,2020-05-04,senior\n\
         hr@acme.test,Hana Rossi,HR,ceo@acme.test,Berlin,,\n\
         nina@acme.test,Nina New,Sales,ceo@acme.test,Hamburg,2026-11-01,junior\n",
    );
    let departments = db.path("departments.csv");
    let args = [
        "roster",
        "import",
        next.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ];
    let dry = db.icsat(&[&args[..], &["--dry-run"]].concat());
    dry.assert_ok();
    assert!(
        dry.stdout()
            .contains("employees: 1 added, 1 updated, 3 unchanged, 1 marked as left"),
        "{}",
        dry.stdout()
    );
    assert!(dry.stdout().contains("dry run: nothing was changed"));
    assert_eq!(db.roster_snapshot(), snapshot);

    let real = db.icsat(&args);
    real.assert_ok();
    assert!(
        real.stdout()
            .contains("1 added, 1 updated, 3 unchanged, 1 marked as left"),
        "{}",
        real.stdout()
    );
    let after = db.roster_snapshot();
    assert!(
        after
            .iter()
            .any(|r| r.contains("\"sam@acme.test\"") && r.ends_with("false)")),
        "left employees are kept: {after:#?}"
    );
    // Importing the same file again changes nothing.
    let again = db.icsat(&args);
    assert!(
        again
            .stdout()
            .contains("0 added, 0 updated, 5 unchanged, 0 marked as left"),
        "{}",
        again.stdout()
    );
}

fn missing_column(db: TestDb) {
    assert_rejected(
        &db,
        b"email,department\nx@acme.test,IT\n",
        "bad.csv:1: the header has no \"name\" column",
    );
}

fn empty_email(db: TestDb) {
    assert_rejected(
        &db,
        b"email,name,department\n,No Mail,IT\nok@acme.test,Ok,IT\n",
        "bad.csv:2: the email is empty",
    );
}

fn duplicate_email(db: TestDb) {
    assert_rejected(
        &db,
        b"email,name,department\nsame@acme.test,One,IT\nok@acme.test,Ok,IT\nSame@Acme.test,Two,HR\n",
        "bad.csv:4: the email same@acme.test is already used on row 2",
    );
}

fn unknown_department(db: TestDb) {
    assert_rejected(
        &db,
        b"email,name,department\nok@acme.test,Ok,IT\nx@acme.test,X,Slaes\n",
        "departments.csv (did you mean \"Sales\"?)",
    );
}

/// A roster saved by a spreadsheet set to German: semicolons, quoted cells, a BOM.
fn semicolon_separated(db: TestDb) {
    let before = loaded(&db);
    let roster = db.write(
        "semikolon.csv",
        "\u{feff}email;name;department;location\n\
         ceo@acme.test;Carla CEO;Company;Berlin\n\
         it-head@acme.test;\"Head; Ian\";IT;Berlin\n\
         ada@acme.test;Ada Lovelace;IT;Lyon\n\
         hr@acme.test;Hana Rossi;HR;Berlin\n\
         sam@acme.test;Sam North;Sales North;Hamburg\n",
    );
    let out = db.icsat(&["roster", "import", roster.to_str().unwrap()]);
    out.assert_ok();
    let after = db.roster_snapshot();
    assert_ne!(after, before);
    assert!(
        after.iter().any(|row| row.contains("Head; Ian")),
        "{after:#?}"
    );
}

fn bad_date(db: TestDb) {
    assert_rejected(
        &db,
        b"email,name,department,hire_date\nx@acme.test,X,IT,2024-02-30\n",
        "bad.csv:2: hire_date \"2024-02-30\" is not a date; write it as YYYY-MM-DD",
    );
}

fn non_utf8_bytes(db: TestDb) {
    assert_rejected(
        &db,
        b"email,name,department\nx@acme.test,Jos\xe9 Mart\xednez,IT\n",
        "bad.csv:2: the \"name\" cell is not valid UTF-8",
    );
}

fn empty_file(db: TestDb) {
    assert_rejected(&db, b"", "bad.csv: the file is empty");
}

fn header_only(db: TestDb) {
    assert_rejected(
        &db,
        b"email,name,department\n",
        "bad.csv: the file has a header but no roster rows",
    );
}

fn cycle_in_the_tree(db: TestDb) {
    let before = loaded(&db);
    let departments = db.write(
        "cycle.csv",
        "department,parent,head_email\nCompany,,\nIT,Ops,\nOps,IT,\nHR,Company,\nSales,Company,\nSales North,Sales,\n",
    );
    let roster = db.path("roster.csv");
    let out = db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ]);
    out.assert_fails(1);
    assert!(
        out.stderr()
            .contains("cycle.csv:3: the department \"IT\" is its own ancestor (IT → Ops → IT)"),
        "{}",
        out.stderr()
    );
    assert_eq!(db.roster_snapshot(), before);
}

fn every_bad_row_is_listed_at_once(db: TestDb) {
    let before = loaded(&db);
    let bad = db.write(
        "bad.csv",
        "email,name,department,hire_date\nok@acme.test,Ok,IT,\n,A,IT,\nb@acme.test,,IT,\nc@acme.test,C,IT,yesterday\n",
    );
    let departments = db.path("departments.csv");
    let out = db.icsat(&[
        "roster",
        "import",
        bad.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ]);
    out.assert_fails(1);
    let stderr = out.stderr();
    for expected in [
        "bad.csv:3:",
        "bad.csv:4:",
        "bad.csv:5:",
        "3 problem(s) to fix",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
    assert_eq!(db.roster_snapshot(), before);
}

crate::on_both_backends!(
    semicolon_separated,
    imports_a_tree_and_reports_what_changed,
    missing_column,
    empty_email,
    duplicate_email,
    unknown_department,
    bad_date,
    non_utf8_bytes,
    empty_file,
    header_only,
    cycle_in_the_tree,
    every_bad_row_is_listed_at_once,
    heads_get_accounts_and_users_can_be_added,
);

fn heads_get_accounts_and_users_can_be_added(db: TestDb) {
    loaded(&db);
    use diesel::prelude::*;
    use icsat::db::schema::users;
    let list = |db: &TestDb| -> Vec<(String, String)> {
        let handle = db.db();
        let mut conn = handle.get().unwrap();
        icsat::with_conn!(conn, c => users::table.select((users::email, users::role)).order(users::email).load(c)).unwrap()
    };
    assert_eq!(
        list(&db),
        vec![
            ("ceo@acme.test".into(), "head".into()),
            ("it-head@acme.test".into(), "head".into())
        ],
        "heads named in the departments file"
    );
    db.icsat(&["user", "add", "HR@acme.test", "--role", "admin"])
        .assert_ok();
    let out = db.icsat(&[
        "user",
        "add",
        "lead@acme.test",
        "--role",
        "head",
        "--department",
        "Sales",
    ]);
    out.assert_ok();
    assert!(
        out.stdout().contains("added lead@acme.test: head of Sales"),
        "{}",
        out.stdout()
    );
    assert_eq!(list(&db).len(), 4);
    let no_department = db.icsat(&["user", "add", "x@acme.test", "--role", "head"]);
    no_department.assert_fails(1);
    assert!(
        no_department.stderr().contains("a head needs --department"),
        "{}",
        no_department.stderr()
    );
    let unknown = db.icsat(&[
        "user",
        "add",
        "x@acme.test",
        "--role",
        "head",
        "--department",
        "Nope",
    ]);
    unknown.assert_fails(1);
    assert!(
        unknown.stderr().contains("there is no department \"Nope\""),
        "{}",
        unknown.stderr()
    );
    let bad = db.icsat(&["user", "add", "not-an-email", "--role", "admin"]);
    bad.assert_fails(1);
    assert_eq!(list(&db).len(), 4);
}
