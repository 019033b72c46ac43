//! Continuous feedback after a request: a ticketing system with an integration key
//! reports closed requests; icsat asks a sampled share of them, never the same person
//! about the same service within the cooldown, by a single-use link by mail; bad keys,
//! services, people and bodies are refused with nothing stored.

use diesel::prelude::*;
use serde_json::Value;

use crate::common::{csrf_field, Server, TestDb};
use icsat::db::schema::{feedback_requests, invitations, mail_outbox, surveys, waves};

const CATALOGUE: &str = r#"[[service]]
id = "it-desk"
name = "IT service desk"
provider = "IT"
feedback = { questions = ["csat", "ces", "comment"], sampling = 0.3, cooldown_days = 0 }

[[service]]
id = "payroll"
name = "Payroll"
provider = "HR"
feedback = { questions = ["csat"], sampling = 1.0, cooldown_days = 30 }

[[service]]
id = "hr"
name = "HR services"
provider = "HR"
"#;

const PEOPLE: usize = 60;

fn roster() -> String {
    let mut csv = String::from("email,name,department\n");
    for i in 0..PEOPLE {
        let department = ["IT", "HR", "Sales"][i % 3];
        csv.push_str(&format!("p{i}@x.io,Person {i},{department}\n"));
    }
    csv
}

struct Stored {
    requests: i64,
    invitations: i64,
    mails: i64,
}

fn stored(db: &TestDb) -> Stored {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => {
        let requests = feedback_requests::table.count().get_result::<i64>(c).unwrap();
        let invitations = invitations::table.count().get_result::<i64>(c).unwrap();
        let mails = mail_outbox::table.count().get_result::<i64>(c).unwrap();
        Ok::<_, diesel::result::Error>(Stored { requests, invitations, mails })
    })
    .unwrap()
}

/// Invitations of the month wave of `survey`.
fn invited(db: &TestDb, survey: &str) -> Vec<i64> {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => invitations::table
        .inner_join(waves::table.inner_join(surveys::table))
        .filter(surveys::slug.eq(survey))
        .select(invitations::employee_id)
        .load::<i64>(c))
    .unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(server: &Server, authorization: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = agent()
        .post(&format!("{}/api/feedback-requests", server.base_url))
        .header("Content-Type", "application/json");
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let mut response = request.send(body.as_bytes()).expect("request");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn feedback_is_sampled_cooled_down_single_use_and_refuses_bad_input(db: TestDb) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("services.toml"), CATALOGUE).unwrap();
    let defs = defs.display().to_string();
    let roster = db.write("roster.csv", roster());
    db.icsat_with_definitions(&defs, &["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    // Loading the folder makes the feedback surveys from the catalogue.
    let out = db.icsat_with_definitions(&defs, &["survey", "validate"]);
    out.assert_ok();
    let out = db.icsat_with_definitions(&defs, &["integration", "add", "ticketing"]);
    out.assert_ok();
    let key = out.stdout().trim().to_string();
    assert!(key.starts_with("icsat_") && key.len() >= 30, "{key}");
    let bearer = format!("Bearer {key}");
    let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);

    // Refusals, each saying what to fix, none storing anything.
    let request = |email: &str, service: &str| {
        serde_json::json!({ "email": email, "service": service, "reference": "INC-1" }).to_string()
    };
    let ok_body = request("p0@x.io", "it-desk");
    for (authorization, body, status, says) in [
        (None, ok_body.as_str(), 401, "Authorization: Bearer KEY"),
        (
            Some("Bearer icsat_nope"),
            ok_body.as_str(),
            401,
            "unknown or revoked",
        ),
        (
            Some(bearer.as_str()),
            "{\"email\": ",
            400,
            "not the JSON expected",
        ),
        (
            Some(bearer.as_str()),
            "{\"service\": \"it-desk\"}",
            400,
            "missing field `email`",
        ),
        (
            Some(bearer.as_str()),
            &request("p0@x.io", "printers"),
            404,
            "known services: it-desk, payroll, hr",
        ),
        (
            Some(bearer.as_str()),
            &request("nobody@x.io", "it-desk"),
            404,
            "no active employee",
        ),
        (
            Some(bearer.as_str()),
            &request("p0@x.io", "hr"),
            422,
            "give it a `feedback` plan",
        ),
        (
            Some(bearer.as_str()),
            &request("not an address", "it-desk"),
            422,
            "is not an email address",
        ),
    ] {
        let (got, reply) = post(&server, authorization, body);
        assert_eq!(got, status, "{body}: {reply}");
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{says:?} in {error:?}");
    }
    let (_, reply) = post(&server, Some(&bearer), &request("p0@x.io", "printers"));
    assert_eq!(
        reply["known"],
        serde_json::json!(["it-desk", "payroll", "hr"])
    );
    let nothing = stored(&db);
    assert_eq!(
        (nothing.requests, nothing.invitations, nothing.mails),
        (0, 0, 0)
    );

    // Sampling: 10,000 closed requests to the IT desk (30% asked, no cooldown), from
    // four clients at once. The unsampled share must lie within 4 standard deviations
    // of 70%; each person gets at most one invitation a month.
    let total = 10_000usize;
    let decisions: Vec<(bool, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (server, bearer) = (&server, &bearer);
                scope.spawn(move || {
                    (0..total / 4)
                        .map(|i| {
                            let who = format!("p{}@x.io", (i * 4 + t) % PEOPLE);
                            let (status, reply) =
                                post(server, Some(bearer), &request(&who, "it-desk"));
                            assert_eq!(status, 200, "{reply}");
                            (
                                reply["asked"].as_bool().unwrap(),
                                reply["reason"].as_str().unwrap().to_string(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let of = |reason: &str| decisions.iter().filter(|(_, r)| r == reason).count();
    let (asked, this_month, unsampled) = (of("asked"), of("asked_this_month"), of("not_sampled"));
    assert_eq!(asked + this_month + unsampled, total, "no other reason");
    let expected = total as f64 * 0.7;
    let sd = (total as f64 * 0.7 * 0.3).sqrt();
    assert!(
        (unsampled as f64 - expected).abs() < 4.0 * sd,
        "{unsampled} not sampled of {total}, expected {expected} ± {}",
        4.0 * sd
    );
    let mut it_desk = invited(&db, "feedback-it-desk");
    assert_eq!(it_desk.len(), asked, "one invitation per asked request");
    it_desk.sort_unstable();
    it_desk.dedup();
    assert_eq!(it_desk.len(), asked, "nobody invited twice in the month");
    assert_eq!(asked, PEOPLE, "everyone asked once in 10,000 requests");
    let after = stored(&db);
    assert_eq!(after.requests as usize, total, "every decision stored");
    assert_eq!(after.mails as usize, asked, "one mail per invitation");

    // Cooldown: payroll asks everyone (sampling 1) but nobody twice within 30 days.
    for round in 0..2 {
        for i in 0..PEOPLE {
            let (status, reply) = post(
                &server,
                Some(&bearer),
                &request(&format!("P{i}@X.io"), "payroll"),
            );
            assert_eq!(status, 200, "{reply}");
            let want = if round == 0 { "asked" } else { "cooldown" };
            assert_eq!(reply["reason"], want, "round {round}, person {i}");
        }
    }
    assert_eq!(invited(&db, "feedback-payroll").len(), PEOPLE);

    // The link in a mail opens the short form once; a second answer is refused.
    // The sender writes the mail to the outbox folder (no SMTP in tests).
    let outbox = db.path("outbox");
    let started = std::time::Instant::now();
    let message = loop {
        let found = std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|m| m.contains("IT service desk"));
        match found {
            Some(m) => break m,
            None if started.elapsed().as_secs() < 20 => {
                std::thread::sleep(std::time::Duration::from_millis(200))
            }
            None => panic!("no feedback mail in {}", outbox.display()),
        }
    };
    let mail = crate::eml::parse(&message);
    assert!(
        mail.subject.contains("Feedback: IT service desk"),
        "{}",
        mail.subject
    );
    let at = mail.text.find("/s/").expect("a survey link");
    let path: String = mail.text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '?')
        .collect();
    let (status, page, _) = server.get(&path);
    assert_eq!(status, 200);
    assert!(page.contains("How satisfied are you with how IT service desk handled your request?"));
    assert!(page.contains("made it easy for me to get what I needed"));
    let csrf = csrf_field(&page);
    let fields = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("q.it-desk-csat", "4"),
        ("q.it-desk-ces", "6"),
        ("q.it-desk-comment", "Quick and friendly"),
    ];
    let (status, body) = server.post_form(&path, &fields);
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post_form(&path, &fields);
    assert_eq!(status, 409, "{body}");

    // A revoked key stops at once; `integration list` counts what it did.
    db.icsat_with_definitions(&defs, &["integration", "revoke", "ticketing"])
        .assert_ok();
    let (status, _) = post(&server, Some(&bearer), &ok_body);
    assert_eq!(status, 401);
    let out = db.icsat_with_definitions(&defs, &["integration", "list", "--format", "json"]);
    out.assert_ok();
    let listed: Value = serde_json::from_str(&out.stdout()).unwrap();
    let entry = &listed["integrations"][0];
    assert_eq!(entry["name"], "ticketing");
    assert_eq!(entry["requests"], total as i64 + 2 * PEOPLE as i64);
    assert_eq!(entry["asked"], (asked + PEOPLE) as i64);
    assert!(entry["revoked_at"].is_string());
}

crate::on_both_backends!(feedback_is_sampled_cooled_down_single_use_and_refuses_bad_input);
