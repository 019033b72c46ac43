//! `icsat survey validate|list` on the shipped definitions and on broken copies.

use crate::common::{definitions_dir, TestDb};

#[test]
fn the_shipped_definitions_are_valid() {
    let db = TestDb::sqlite();
    let out = db.icsat(&["survey", "validate", definitions_dir().to_str().unwrap()]);
    out.assert_ok();
    assert!(
        out.stdout().contains("6 survey definition(s) valid")
            && out.stdout().contains("services.toml: ok (7 services)"),
        "{}",
        out.stdout()
    );

    // With no database named and none at the default place, validating creates none.
    let elsewhere = db.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = db
        .command(&["survey", "validate"])
        .current_dir(&elsewhere)
        .env_remove("ICSAT_DATABASE_URL")
        .output()
        .map(crate::common::CommandOutput)
        .unwrap();
    out.assert_ok();
    assert!(
        !elsewhere.join("icsat.db").exists(),
        "validating must not create a database"
    );
}

#[test]
fn a_corrupted_file_fails_with_its_position() {
    let db = TestDb::sqlite();
    let folder = db.path("defs");
    std::fs::create_dir(&folder).unwrap();
    for entry in std::fs::read_dir(definitions_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
    }
    let victim = folder.join("enps-pulse.toml");
    let text = std::fs::read_to_string(&victim).unwrap();
    let broken = text.replacen("type = \"enps\"", "type = \"enpss\"", 1);
    assert_ne!(text, broken, "the pulse has an enps question to break");
    std::fs::write(&victim, &broken).unwrap();
    let line = broken
        .lines()
        .position(|l| l.contains("\"enpss\""))
        .unwrap()
        + 1;
    let column = broken
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("\"enpss\"")
        .unwrap()
        + 1;
    let out = db.icsat(&["survey", "validate", folder.to_str().unwrap()]);
    out.assert_fails(1);
    let expected = format!("{}:{line}:{column}:", victim.display());
    assert!(
        out.stderr().contains(&expected),
        "expected {expected} in:\n{}",
        out.stderr()
    );

    // Broken TOML syntax too.
    std::fs::write(&victim, "id = \"x\"\ntitle = \n").unwrap();
    let out = db.icsat(&["survey", "validate", victim.to_str().unwrap()]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains(&format!("{}:2:", victim.display())),
        "{}",
        out.stderr()
    );
}

#[test]
fn departments_are_checked_against_a_roster_file() {
    let db = TestDb::sqlite();
    let roster = db.write("roster.csv", "email,name,department\na@x.io,A,Sales\n");
    let out = db.icsat(&["survey", "validate", "--roster", roster.to_str().unwrap()]);
    out.assert_fails(1);
    // The internal-services survey rates IT, which this roster does not have.
    assert!(out.stderr().contains("\"IT\""), "{}", out.stderr());
}

#[test]
fn list_shows_schedules_and_next_waves() {
    let db = TestDb::sqlite();
    let out = db.icsat(&["survey", "list"]);
    out.assert_ok();
    let stdout = out.stdout();
    assert!(stdout.starts_with("SURVEY"), "{stdout}");
    assert!(
        stdout.contains("annual") && stdout.contains("pulse every"),
        "{stdout}"
    );
}
