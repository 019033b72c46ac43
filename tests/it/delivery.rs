//! Waves and mail end to end, through `icsat serve` and a real SMTP server: invitations
//! whose links open the form, reminders to non-respondents only, a killed `serve`, and two
//! `serve` processes sharing one database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::answering::{csrf_of, FORM_SURVEY};
use crate::common::{CommandOutput, Server, TestDb};
use crate::mail::SmtpServer;

/// Roster of `n` employees and the survey definitions folder; returns the folder.
fn setup(db: &TestDb, n: usize, definition: &str) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("services.toml"), definition).unwrap();
    let mut roster = String::from("email,name,department\n");
    for i in 0..n {
        roster.push_str(&format!(
            "person{i}@example.com,Person {i},{}\n",
            ["IT", "HR", "Sales"][i % 3]
        ));
    }
    let roster = db.write("roster.csv", roster);
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    defs.display().to_string()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The survey link in a delivered message (quoted-printable soft breaks undone).
fn link_in(message: &str) -> Option<String> {
    let text = message.replace("=\r\n", "").replace("=\n", "");
    let at = text.find("/s/")?;
    let start = text[..at].rfind("http")?;
    let token: String = text[at + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Some(format!("{}/s/{token}", &text[start..at]))
}

fn recipient(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("X-Test-Rcpt: ")
        .to_string()
}

fn invitations_open_the_form_and_reminders_reach_only_non_respondents(db: TestDb) {
    let defs = setup(&db, 6, FORM_SURVEY);
    let smtp = SmtpServer::start(&[]);
    let server = Server::start_with(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_SMTP_URL", &smtp.url()),
        ],
    );
    let run = |args: &[&str]| {
        CommandOutput(
            db.command(args)
                .env("ICSAT_DEFINITIONS", &defs)
                .env("ICSAT_BASE_URL", &server.base_url)
                .output()
                .unwrap(),
        )
    };
    run(&["wave", "open", "services", "--label", "smtp"]).assert_ok();
    wait_until("six invitations", Duration::from_secs(30), || {
        smtp.deliveries().len() >= 6
    });
    let invitations = smtp.deliveries();
    assert_eq!(invitations.len(), 6);
    let by_recipient: HashMap<String, String> = invitations
        .iter()
        .map(|m| {
            (
                recipient(m),
                link_in(m).expect("a link in every invitation"),
            )
        })
        .collect();
    assert_eq!(by_recipient.len(), 6, "one invitation each");
    for message in &invitations {
        assert!(
            message.contains("Message-ID:") && message.contains("Auto-Submitted: auto-generated"),
            "{message}"
        );
    }
    // Two answer through their links.
    for who in ["person0@example.com", "person1@example.com"] {
        let path = by_recipient[who]
            .trim_start_matches(&server.base_url)
            .to_string();
        let (status, page, _) = server.get(&path);
        assert_eq!(status, 200, "the link opens the wave's form");
        assert!(page.contains("Internal services check"));
        let (status, _) = server.post_form(
            &path,
            &[("csrf", &csrf_of(&page)), ("skip.it", "1"), ("q.enps", "9")],
        );
        assert_eq!(status, 200);
    }
    let remind = run(&["wave", "remind", "services/smtp"]);
    remind.assert_ok();
    assert!(
        remind.stdout().contains("reminders queued for 4 people"),
        "{}",
        remind.stdout()
    );
    wait_until("four reminders", Duration::from_secs(30), || {
        smtp.deliveries().len() >= 10
    });
    std::thread::sleep(Duration::from_millis(500));
    let counts = smtp.per_recipient();
    assert_eq!(
        counts["person0@example.com"], 1,
        "no reminder for those who answered"
    );
    assert_eq!(counts["person1@example.com"], 1);
    for i in 2..6 {
        assert_eq!(
            counts[&format!("person{i}@example.com")],
            2,
            "invitation and reminder"
        );
    }
    // The reminder's fresh link works too.
    let reminder = smtp
        .deliveries()
        .into_iter()
        .find(|m| {
            recipient(m) == "person2@example.com"
                && link_in(m) != Some(by_recipient["person2@example.com"].clone())
        })
        .expect("a reminder with its own link");
    let path = link_in(&reminder)
        .unwrap()
        .trim_start_matches(&server.base_url)
        .to_string();
    assert_eq!(server.get(&path).0, 200);
    let list = run(&["wave", "list"]);
    let line = list
        .stdout()
        .lines()
        .find(|l| l.contains("smtp"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains(" 6 ") && line.contains(" 2 ") && line.contains("33%"),
        "{}",
        list.stdout()
    );
}

fn a_killed_serve_delivers_the_rest_once(db: TestDb) {
    let defs = setup(&db, 40, FORM_SURVEY);
    let smtp = SmtpServer::start(&["--delay", "40"]);
    let open = db
        .command(&["wave", "open", "services", "--label", "crash"])
        .env("ICSAT_DEFINITIONS", &defs)
        .output()
        .unwrap();
    assert!(open.status.success());
    let env = [
        ("ICSAT_DEFINITIONS", defs.as_str()),
        ("ICSAT_SMTP_URL", &smtp.url()),
    ];
    let first = Server::start_with(&db, &env);
    wait_until("some deliveries", Duration::from_secs(30), || {
        smtp.deliveries().len() >= 5
    });
    drop(first); // SIGKILL: no chance to hand back claims
    let delivered_before = smtp.deliveries().len();
    assert!(
        delivered_before < 40,
        "killed in the middle of sending ({delivered_before} delivered)"
    );
    let _second = Server::start_with(&db, &env);
    // Claims of the killed process expire (the sender's lease), then the rest goes out.
    wait_until("every invitation", Duration::from_secs(120), || {
        smtp.per_recipient().len() >= 40
    });
    std::thread::sleep(Duration::from_secs(1));
    let counts = smtp.per_recipient();
    assert_eq!(counts.len(), 40, "no message lost");
    let repeated: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        repeated <= 1,
        "at most the message in flight is repeated: {counts:?}"
    );
}

fn two_serve_processes_open_one_wave_and_send_each_invitation_once(db: TestDb) {
    // A schedule whose first wave is open right now, in UTC.
    let opens = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M");
    let definition = FORM_SURVEY.replace(
        "[audience]",
        &format!(
            "[schedule]\nkind = \"once\"\nopens = \"{opens}\"\nopen_for = \"7d\"\n\n[audience]"
        ),
    );
    let defs = setup(&db, 30, &definition);
    let smtp = SmtpServer::start(&[]);
    let env = [
        ("ICSAT_DEFINITIONS", defs.as_str()),
        ("ICSAT_SMTP_URL", &smtp.url()),
    ];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Server::start_with(&db, &env));
        let b = s.spawn(|| Server::start_with(&db, &env));
        (a.join().unwrap(), b.join().unwrap())
    });
    wait_until("thirty invitations", Duration::from_secs(60), || {
        smtp.per_recipient().len() >= 30
    });
    std::thread::sleep(Duration::from_secs(2));
    let counts = smtp.per_recipient();
    assert_eq!(counts.len(), 30);
    assert!(
        counts.values().all(|n| *n == 1),
        "each invitation once: {counts:?}"
    );
    let list = CommandOutput(
        db.command(&["wave", "list"])
            .env("ICSAT_DEFINITIONS", &defs)
            .output()
            .unwrap(),
    );
    assert_eq!(
        list.stdout()
            .lines()
            .filter(|l| l.starts_with("services"))
            .count(),
        1,
        "one wave: {}",
        list.stdout()
    );
    drop((a, b));
}

fn a_rejected_address_shows_in_wave_list_with_the_reply(db: TestDb) {
    let defs = setup(&db, 3, FORM_SURVEY);
    let smtp = SmtpServer::start(&["--reject", "person1@example.com"]);
    let _server = Server::start_with(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_SMTP_URL", &smtp.url()),
        ],
    );
    let run = |args: &[&str]| {
        CommandOutput(
            db.command(args)
                .env("ICSAT_DEFINITIONS", &defs)
                .output()
                .unwrap(),
        )
    };
    run(&["wave", "open", "services", "--label", "bounce"]).assert_ok();
    wait_until(
        "two deliveries and one failure",
        Duration::from_secs(30),
        || {
            smtp.deliveries().len() >= 2
                && run(&["wave", "list"])
                    .stdout()
                    .contains("1 undelivered for services/bounce")
        },
    );
    let list = run(&["wave", "list"]);
    let stdout = list.stdout();
    let line: Vec<&str> = stdout
        .lines()
        .find(|l| l.contains("bounce"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        &line[6..9],
        ["0", "2", "1"],
        "queued, sent, failed: {stdout}"
    );
    let reason = "permanent error (550): 5.1.1 <address>: Recipient address rejected";
    assert!(
        stdout.contains(&format!("      1  {reason}")),
        "the server's reply is shown by reason: {stdout}"
    );
    let failed = run(&["mail", "failed", "services/bounce"]);
    failed.assert_ok();
    let text = failed.stdout();
    assert!(
        text.contains(&format!("1 x {reason}")) && text.contains("    person1@example.com"),
        "{text}"
    );
    let json = run(&["mail", "failed", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout()).expect("JSON");
    assert_eq!(parsed[0]["wave"], "services/bounce");
    assert_eq!(parsed[0]["groups"][0]["count"], 1);
    assert_eq!(parsed[0]["messages"][0]["recipient"], "person1@example.com");
}

crate::on_both_backends!(
    a_rejected_address_shows_in_wave_list_with_the_reply,
    invitations_open_the_form_and_reminders_reach_only_non_respondents,
    a_killed_serve_delivers_the_rest_once,
    two_serve_processes_open_one_wave_and_send_each_invitation_once,
);
