//! Nudges to act on results, delivered by two `serve` processes on one database to a
//! real SMTP server: each once, with the words the recipient's own page backs and no
//! figure.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::{Server, TestDb};
use crate::mail::SmtpServer;

fn nudges_reach_heads_owners_and_hr_once_each(db: TestDb) {
    let defs = crate::access::prepare_results(&db);
    // An action of Sales due long ago, never updated since.
    db.icsat(&[
        "action",
        "add",
        "pulse",
        "--title",
        "Monthly team Q&A",
        "--owner",
        "sales-head@x.io",
        "--due",
        "2026-01-15",
    ])
    .assert_ok();
    let smtp = SmtpServer::start(&[]);
    let env = [
        ("ICSAT_DEFINITIONS", defs.as_str()),
        ("ICSAT_SMTP_URL", &smtp.url()),
    ];
    let first = Server::start_with(&db, &env);
    let second = Server::start_with(&db, &env);
    // Both schedulers tick at start; the sender of each delivers what either queued.
    let started = Instant::now();
    let mut seen = 0;
    let mut steady_since = Instant::now();
    loop {
        let now = smtp.deliveries().len();
        if now != seen {
            seen = now;
            steady_since = Instant::now();
        }
        if seen > 0 && steady_since.elapsed() > Duration::from_secs(3) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no nudge delivered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop((first, second));
    let mails: Vec<(String, crate::eml::Eml)> = smtp
        .deliveries()
        .iter()
        .map(|m| {
            let to = m
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("X-Test-Rcpt: ")
                .to_string();
            (to, crate::eml::parse(m))
        })
        .collect();
    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for (to, mail) in &mails {
        *count.entry((to.clone(), mail.subject.clone())).or_default() += 1;
    }
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");

    // The overdue action, to its owner, word for word.
    let overdue: Vec<&crate::eml::Eml> = mails
        .iter()
        .filter(|(to, m)| to == "sales-head@x.io" && m.subject.starts_with("Action due"))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        overdue.len(),
        1,
        "{:?}",
        mails
            .iter()
            .map(|(t, m)| (t, &m.subject))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        overdue[0].subject,
        "Action due on 2026-01-15: Monthly team Q&A"
    );
    assert!(
        overdue[0].text.starts_with(
            "Hello,\n\nThe action \u{201c}Monthly team Q&A\u{201d} (pulse, Sales) was due on 2026-01-15 and has had no update since."
        ),
        "{}",
        overdue[0].text
    );
    assert!(overdue[0].text.contains("/results/pulse/actions#action-1"));

    // Released results: to the heads whose areas fall below the company, per wave.
    let released: Vec<&(String, crate::eml::Eml)> = mails
        .iter()
        .filter(|(_, m)| m.subject.contains("below the company, no action yet"))
        .collect();
    assert!(!released.is_empty(), "release nudges");
    for (to, mail) in &released {
        assert!(
            ["sales-head@x.io", "hr-head@x.io", "it-head@x.io"].contains(&to.as_str()),
            "{to}"
        );
        assert!(
            mail.subject.starts_with("Quarterly pulse (20"),
            "{}",
            mail.subject
        );
        assert!(mail
            .text
            .contains("The final results of Quarterly pulse, wave "));
        assert!(mail.text.contains("/results/pulse?wave="));
        // No figure: no share, no score, nothing a page under the threshold hides.
        assert!(!mail.text.contains('%'), "{}", mail.text);
        assert!(
            !mail.text.contains("Sales North"),
            "a hidden group is never named: {}",
            mail.text
        );
    }
    // The weekly digest to HR.
    let digests: Vec<_> = mails
        .iter()
        .filter(|(to, m)| to == "admin@x.io" && m.subject.starts_with("Weekly:"))
        .collect();
    assert!(digests.len() <= 1);
    // Each queued nudge was delivered exactly once (status sent in the outbox).
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    use diesel::prelude::*;
    use icsat::db::schema::mail_outbox;
    let queued: i64 = icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::kind.eq("nudge"))
        .count()
        .get_result(c))
    .unwrap();
    assert_eq!(queued as usize, mails.len());
}

crate::on_both_backends!(nudges_reach_heads_owners_and_hr_once_each);
