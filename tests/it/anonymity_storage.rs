//! What the database keeps of an anonymous wave, read by someone trying to undo the
//! anonymity: responses hold only the dimensions the definition declares (`report_by`),
//! every stored (department, dimensions) class of a closed wave has at least
//! `min_group_size` responses, and no invitation says who answered.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::answering::csrf_of;
use crate::common::{CommandOutput, Server, TestDb};
use icsat::db::schema::{
    departments, employees, invitation_tokens, invitations, responses, wave_participation, waves,
};

const MIN_GROUP_SIZE: usize = 5;

const SURVEY: &str = r#"
id = "attack"
title = "Pulse"
anonymity = "anonymous"
min_group_size = 5
report_by = ["location"]

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "You"

  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "Would you recommend us as a place to work?"
"#;

const DEPARTMENTS: &str = "department,parent\nCompany,\nEngineering,Company\nPlatform,Engineering\nSales,Company\nLegal,Company\nBoard,\n";

/// Who works where, from where, and whether they answer: (department, location,
/// answers). 43 people, 40 of whom answer. Chosen so that every step of generalising
/// happens: classes kept with their location (Platform/Berlin, Platform/Lyon,
/// Sales/Lyon), small ones losing it, Platform's and Sales's remainders rolling up, a
/// top-level department (Board) too small on its own.
fn people() -> Vec<(&'static str, &'static str, bool)> {
    let mut people = Vec::new();
    let mut add = |n: usize, department, location, answers| {
        people.extend(std::iter::repeat_n((department, location, answers), n));
    };
    add(11, "Platform", "Berlin", true);
    add(5, "Platform", "Lyon", true);
    add(1, "Platform", "Remote", true);
    add(1, "Platform", "Berlin", false);
    add(3, "Engineering", "Berlin", true);
    add(1, "Engineering", "Lyon", true);
    add(7, "Sales", "Lyon", true);
    add(3, "Sales", "Berlin", true);
    add(1, "Sales", "Remote", true);
    add(1, "Sales", "Lyon", false);
    add(2, "Legal", "Berlin", true);
    add(1, "Legal", "Berlin", false);
    add(3, "Company", "Berlin", true);
    add(3, "Board", "Lyon", true);
    people
}

/// The survey in `defs/`, the roster (with the columns an attacker would join on) and
/// its departments imported.
fn prepared(db: &TestDb) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("attack.toml"), SURVEY).unwrap();
    let mut roster =
        String::from("email,name,department,location,contract,grade,employee_number\n");
    for (i, (department, location, _)) in people().iter().enumerate() {
        let contract = if i % 4 == 0 {
            "fixed-term"
        } else {
            "permanent"
        };
        let grade = ["E5", "E6", "E7", "E8", "E9"][i % 5];
        roster.push_str(&format!(
            "p{i}@x.io,Person {i},{department},{location},{contract},{grade},EMP-{:04}\n",
            1000 + i
        ));
    }
    let roster = db.write("roster.csv", roster);
    let departments = db.write("departments.csv", DEPARTMENTS);
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    defs.display().to_string()
}

fn run(db: &TestDb, defs: &str, args: &[&str]) -> CommandOutput {
    db.icsat_with_definitions(defs, args)
}

/// Opens wave `test-wave` and gives every invitation a known link; returns the link
/// token of each employee by email.
fn open_wave(db: &TestDb, defs: &str) -> HashMap<String, String> {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let loaded = icsat::surveys::load(&[defs.into()]).unwrap();
    icsat::surveys::sync(&mut conn, &loaded).unwrap();
    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
    let now = Utc::now();
    icsat::waves::lifecycle::open(
        &mut conn,
        &mailer,
        "attack",
        "test-wave",
        now - Duration::hours(1),
        now + Duration::days(7),
        icsat::waves::Origin::Manual,
    )
    .unwrap();
    let invited: Vec<(i64, String)> = icsat::with_conn!(conn, c => invitations::table
        .inner_join(employees::table)
        .select((invitations::id, employees::email))
        .load(c))
    .unwrap();
    invited
        .into_iter()
        .map(|(id, email)| {
            let (token, hash) = icsat::waves::tokens::new_token();
            icsat::with_conn!(conn, c => diesel::insert_into(invitation_tokens::table)
                .values((
                    invitation_tokens::token_hash.eq(hash),
                    invitation_tokens::invitation_id.eq(id),
                    invitation_tokens::created_at.eq(icsat::db::now()),
                ))
                .execute(c))
            .unwrap();
            (email, token)
        })
        .collect()
}

/// Every response of the wave: (department name or none, attributes as stored).
fn stored_responses(db: &TestDb) -> Vec<(Option<String>, String)> {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::responses::inbox::seal(&mut conn).unwrap();
    let names: HashMap<i64, String> = icsat::with_conn!(conn, c => departments::table
        .select((departments::id, departments::name))
        .load::<(i64, String)>(c))
    .unwrap()
    .into_iter()
    .collect();
    let rows: Vec<(Option<i64>, String)> = icsat::with_conn!(conn, c => responses::table
        .select((responses::department_id, responses::attributes))
        .load(c))
    .unwrap();
    rows.into_iter()
        .map(|(d, a)| (d.and_then(|d| names.get(&d).cloned()), a))
        .collect()
}

fn attributes(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("attributes {json:?}: {e}"))
}

/// The attack: 40 employees answer through the real form, the wave closes, and the
/// database is read as someone trying to find who said what would read it.
///
/// Before `report_by` and generalisation at close, this failed: every roster column
/// (grade, employee number, contract) was copied into each response (a); classes of one
/// response were stored (b); the invitations kept their answered marks (c); and the
/// remote workers of Platform and Sales, each the only one of their department with
/// that location, were one invitee each in the attacker's join (e).
fn an_attacker_reading_the_database_finds_nobody(db: TestDb) {
    let defs = prepared(&db);
    let tokens = open_wave(&db, &defs);
    let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);
    for (i, (_, _, answers)) in people().iter().enumerate() {
        if !answers {
            continue;
        }
        let path = format!("/s/{}", tokens[&format!("p{i}@x.io")]);
        let (status, page, _) = server.get(&path);
        assert_eq!(status, 200, "{page}");
        let csrf = csrf_of(&page);
        let score = (i % 11).to_string();
        let (status, body) = server.post_form(&path, &[("csrf", &csrf), ("q.enps", &score)]);
        assert_eq!(status, 200, "{body}");
    }

    // What a submission stores, before the wave closes: the declared location, nothing
    // else of the roster.
    let open = stored_responses(&db);
    assert_eq!(open.len(), 40);
    for (_, json) in &open {
        let keys: Vec<String> = attributes(json).into_keys().collect();
        assert_eq!(keys, ["location"], "stored while open: {json}");
    }

    run(&db, &defs, &["wave", "close", "attack/test-wave"]).assert_ok();
    drop(server);
    let closed = stored_responses(&db);
    assert_eq!(closed.len(), 40, "generalising keeps every response");

    // (a) Nothing of the roster but the declared dimension.
    for (_, json) in &closed {
        for column in ["grade", "employee_number", "contract", "EMP-", "E7"] {
            assert!(!json.contains(column), "{column} in {json}");
        }
        assert!(attributes(json).keys().all(|k| k == "location"), "{json}");
    }

    // (b) Every stored class of the wave has at least min_group_size responses.
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let classes: Vec<(i64, Option<i64>, String, i64)> =
        icsat::with_conn!(conn, c => responses::table
        .group_by((responses::wave_id, responses::department_id, responses::attributes))
        .select((
            responses::wave_id,
            responses::department_id,
            responses::attributes,
            diesel::dsl::count_star(),
        ))
        .load(c))
        .unwrap();
    for (_, department, json, n) in &classes {
        assert!(
            *n as usize >= MIN_GROUP_SIZE,
            "class ({department:?}, {json}) has {n} responses"
        );
    }
    let mut by_class: BTreeMap<(Option<String>, String), usize> = BTreeMap::new();
    for (department, json) in &closed {
        *by_class
            .entry((department.clone(), json.clone()))
            .or_default() += 1;
    }
    let class = |d: Option<&str>, json: &str| (d.map(str::to_string), json.to_string());
    // Platform/Berlin and Platform/Lyon, Sales/Lyon keep their location; Platform's
    // remote one rolls up into Engineering (5 there), Sales's 4 and Legal's 2 into
    // Company (9 with its own 3); Board's 3 go to the whole audience, which then takes
    // in the smallest class, Engineering's or Platform/Lyon's 5.
    assert_eq!(
        by_class.get(&class(Some("Platform"), r#"{"location":"Berlin"}"#)),
        Some(&11)
    );
    assert_eq!(
        by_class.get(&class(Some("Sales"), r#"{"location":"Lyon"}"#)),
        Some(&7)
    );
    assert_eq!(by_class.get(&class(Some("Company"), "{}")), Some(&9));
    assert_eq!(by_class.get(&class(None, "{}")), Some(&8), "{by_class:?}");
    assert!(!by_class.keys().any(|(d, _)| d.as_deref() == Some("Board")));
    assert!(!by_class.keys().any(|(d, _)| d.as_deref() == Some("Legal")));

    // (c) No invitation of the wave says whether it was answered.
    let marked: i64 = icsat::with_conn!(conn, c => invitations::table
        .filter(invitations::responded_on.is_not_null())
        .count()
        .get_result(c))
    .unwrap();
    assert_eq!(marked, 0);

    // (d) ... but the wave still knows how many answered, per department.
    let participation: BTreeMap<String, (i64, i64)> =
        icsat::with_conn!(conn, c => wave_participation::table
        .inner_join(departments::table.on(departments::id.eq(wave_participation::department_id)))
        .select((departments::name, wave_participation::invited, wave_participation::answered))
        .load::<(String, i64, i64)>(c))
        .unwrap()
        .into_iter()
        .map(|(name, invited, answered)| (name, (invited, answered)))
        .collect();
    let expected: BTreeMap<String, (i64, i64)> = [
        ("Board", (3, 3)),
        ("Company", (3, 3)),
        ("Engineering", (4, 4)),
        ("Legal", (3, 2)),
        ("Platform", (18, 17)),
        ("Sales", (12, 11)),
    ]
    .into_iter()
    .map(|(name, counts)| (name.to_string(), counts))
    .collect();
    assert_eq!(participation, expected);
    let list = run(&db, &defs, &["wave", "list"]);
    list.assert_ok();
    let line = list
        .stdout()
        .lines()
        .find(|l| l.contains("test-wave"))
        .unwrap_or_default()
        .to_string();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells.get(2..6),
        Some(&["closed", "43", "40", "93%"][..]),
        "{}",
        list.stdout()
    );

    // (e) The attacker's join: each response against the invitees of its department
    // with its location. A response generalised upwards could be anyone below its
    // department, so the fair count is over the subtree; it is never one person (at
    // least min_group_size, in fact), and not even the naive exact join finds one.
    let tree: HashMap<i64, (String, Option<i64>)> = icsat::with_conn!(conn, c => departments::table
        .select((departments::id, departments::name, departments::parent_id))
        .load::<(i64, String, Option<i64>)>(c))
    .unwrap()
    .into_iter()
    .map(|(id, name, parent)| (id, (name, parent)))
    .collect();
    let id_of = |name: &str| tree.iter().find(|(_, (n, _))| n == name).map(|(id, _)| *id);
    let within = |department: i64, ancestor: Option<i64>| {
        let Some(ancestor) = ancestor else {
            return true;
        };
        let mut current = Some(department);
        while let Some(d) = current {
            if d == ancestor {
                return true;
            }
            current = tree.get(&d).and_then(|(_, parent)| *parent);
        }
        false
    };
    let invitees: Vec<(i64, Option<String>, String, String)> = icsat::with_conn!(conn, c => invitations::table
        .inner_join(employees::table)
        .select((invitations::department_id, employees::location, employees::attributes, employees::email))
        .load(c))
    .unwrap();
    assert_eq!(invitees.len(), 43);
    for (department, json) in &closed {
        let location = attributes(json).get("location").cloned();
        let department = department.as_deref().and_then(id_of);
        let matches = |exact: bool| {
            invitees
                .iter()
                .filter(|(d, l, _, _)| {
                    let place = if exact {
                        department == Some(*d)
                    } else {
                        within(*d, department)
                    };
                    place
                        && location
                            .as_ref()
                            .is_none_or(|want| l.as_ref() == Some(want))
                })
                .count()
        };
        assert!(
            matches(false) >= MIN_GROUP_SIZE,
            "({department:?}, {json}) matches {} invitees",
            matches(false)
        );
        assert_ne!(
            matches(true),
            1,
            "({department:?}, {json}) names one invitee"
        );
    }
}

/// An imported wave keeps the declared dimension columns of its file and nothing else
/// (a column the definition does not declare is an error, the whole file refused), and
/// is generalised and counted as a closed wave is.
fn an_imported_wave_keeps_declared_dimensions_and_is_generalised(db: TestDb) {
    let defs = prepared(&db);
    let run = |args: &[&str]| run(&db, &defs, args);
    let loaded = icsat::surveys::load(&[defs.clone().into()]).unwrap();
    icsat::surveys::sync(&mut db.db().get().unwrap(), &loaded).unwrap();

    let bad = db.write(
        "bad.csv",
        "department,enps,location,grade\nPlatform,9,Berlin,E7\n",
    );
    let out = run(&[
        "responses",
        "import",
        "attack",
        "--wave",
        "2025-03-01",
        bad.to_str().unwrap(),
    ]);
    out.assert_fails(1);
    assert!(
        out.stderr().contains(
            "bad.csv:1:4: \"grade\" is not a question of survey attack nor one of its report_by dimensions; its questions are: enps; its dimensions: location"
        ),
        "{}",
        out.stderr()
    );

    let mut file = String::from("department,enps,location\n");
    for _ in 0..6 {
        file.push_str("Platform,9,Berlin\n");
    }
    file.push_str("Platform,8,Lyon\nLegal,3,Berlin\nSales,7,\n");
    let good = db.write("2025.csv", file);
    run(&[
        "responses",
        "import",
        "attack",
        "--wave",
        "2025-03-01",
        good.to_str().unwrap(),
    ])
    .assert_ok();
    let mut classes: BTreeMap<(Option<String>, String), usize> = BTreeMap::new();
    for (department, json) in stored_responses(&db) {
        *classes.entry((department, json)).or_default() += 1;
    }
    // Platform/Berlin stays; Lyon loses its location and, alone in Platform, rolls up
    // with Legal's and Sales's single answers to the whole audience (3), which takes in
    // Platform/Berlin's 6 to reach 5.
    assert_eq!(
        classes,
        BTreeMap::from([((None, "{}".to_string()), 9)]),
        "{classes:?}"
    );
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let counted: Vec<(i64, i64)> = icsat::with_conn!(conn, c => wave_participation::table
        .order(wave_participation::answered.desc())
        .select((wave_participation::invited, wave_participation::answered))
        .load(c))
    .unwrap();
    assert_eq!(
        counted,
        [(0, 7), (0, 1), (0, 1)],
        "answered per department, as imported"
    );
}

/// A wave closed without the last step (closed by an earlier version, or its closing
/// stopped) is finished by the scheduler: counts written, marks erased, responses
/// generalised and stripped of what the definition does not declare.
fn the_scheduler_finishes_a_wave_closed_without_generalising(db: TestDb) {
    let defs = prepared(&db);
    let tokens = open_wave(&db, &defs);
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    // Answered as an earlier version would have: every roster column kept.
    let invited: Vec<(i64, i64, i64, String)> = icsat::with_conn!(conn, c => invitations::table
        .inner_join(employees::table)
        .select((invitations::id, invitations::employee_id, invitations::department_id, employees::email))
        .load(c))
    .unwrap();
    let wave: icsat::waves::Wave = icsat::with_conn!(conn, c => waves::table
        .select(icsat::waves::Wave::as_select())
        .first(c))
    .unwrap();
    assert_eq!(tokens.len(), invited.len());
    for (id, employee_id, department_id, _) in invited.iter().take(12) {
        let invitation = icsat::responses::submit::Invitation {
            id: *id,
            employee_id: *employee_id,
            department_id: *department_id,
            responded_on: None,
            name: String::new(),
            attributes: String::new(),
            wave: wave.clone(),
        };
        let answers = vec![icsat::responses::AnswerValue {
            question_id: "enps".into(),
            ordinal: 0,
            value: Some(7),
            text: None,
        }];
        icsat::responses::submit::submit(&mut conn, &invitation, true, answers, icsat::db::now())
            .unwrap();
    }
    icsat::responses::inbox::seal(&mut conn).unwrap();
    icsat::with_conn!(conn, c => diesel::update(responses::table)
        .set(responses::attributes.eq(r#"{"grade":"E7","location":"Berlin"}"#))
        .execute(c))
    .unwrap();
    let long_ago = icsat::db::now() - Duration::hours(1);
    icsat::with_conn!(conn, c => diesel::update(waves::table)
        .set((waves::status.eq("closed"), waves::closed_at.eq(Some(long_ago))))
        .execute(c))
    .unwrap();
    let list = run(&db, &defs, &["wave", "list"]);
    assert!(
        list.stdout()
            .lines()
            .any(|l| l.contains(" 43 ") && l.contains(" 12 ")),
        "an unfinished wave reads its marks: {}",
        list.stdout()
    );

    let config = icsat::config::ConfigArgs {
        database_url: Some(db.url.clone()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let mailer = icsat::waves::lifecycle::Mailer::from_config(&config).unwrap();
    icsat::waves::scheduler::due(&mut conn, &mailer, Utc::now()).unwrap();

    let marked: i64 = icsat::with_conn!(conn, c => invitations::table
        .filter(invitations::responded_on.is_not_null())
        .count()
        .get_result(c))
    .unwrap();
    assert_eq!(marked, 0);
    let answered: Vec<i64> = icsat::with_conn!(conn, c => wave_participation::table
        .select(wave_participation::answered)
        .load(c))
    .unwrap();
    assert_eq!(answered.iter().sum::<i64>(), 12);
    for (_, json) in stored_responses(&db) {
        assert!(!json.contains("grade"), "{json}");
    }
    let list = run(&db, &defs, &["wave", "list"]);
    assert!(
        list.stdout()
            .lines()
            .any(|l| l.contains(" 43 ") && l.contains(" 12 ")),
        "{}",
        list.stdout()
    );
}

/// `icsat survey validate --roster` checks report_by against the roster's columns.
fn validate_checks_report_by_against_the_roster(db: TestDb) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    let survey = SURVEY.replace(
        "report_by = [\"location\"]",
        "report_by = [\"location\", \"contrct\", \"tenure\"]\ntenure_bands = [\"1y\", \"3y\"]",
    );
    std::fs::write(defs.join("attack.toml"), survey).unwrap();
    let roster = db.write(
        "roster.csv",
        "email,name,department,location,contract\na@x.io,A,IT,Berlin,permanent\n",
    );
    let out = db.icsat(&[
        "survey",
        "validate",
        defs.to_str().unwrap(),
        "--roster",
        roster.to_str().unwrap(),
    ]);
    out.assert_fails(1);
    let file = defs.join("attack.toml").display().to_string();
    for expected in [
        format!("{file}:6:26: report_by column \"contrct\" is not in the roster; its columns are: contract, location (did you mean \"contract\"?)"),
        format!("{file}:6:37: \"tenure\" in report_by is worked out from the roster's hire_date column, which the roster does not have"),
    ] {
        assert!(out.stderr().contains(&expected), "{expected}\nin:\n{}", out.stderr());
    }
}

crate::on_both_backends!(
    an_attacker_reading_the_database_finds_nobody,
    an_imported_wave_keeps_declared_dimensions_and_is_generalised,
    the_scheduler_finishes_a_wave_closed_without_generalising,
    validate_checks_report_by_against_the_roster,
);
