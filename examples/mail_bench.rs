//! Benchmark: queue 10,000 rendered invitations in a fresh SQLite outbox, send them all
//! to a local SMTP server through the sender, and print messages per second. Target:
//! at least 500 per second. For comparison it also sends the same number straight
//! through lettre with no database, which is the ceiling the SMTP server sets.
//!
//!     cargo run --release --example mail_bench [-- MESSAGES [SMTP_PORT]]
//!
//! Without a port it starts tests/smtp_server.py (Python's aiosmtpd) with --discard,
//! so what is timed is the sender, not the test server writing files.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use icsat::db::{DatabaseUrl, Db};
use icsat::mail::{
    self, MailKind, OutgoingMail, SendOptions, SurveyMailContext, Templates, Transport,
};
use lettre::address::Envelope;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

const FROM: &str = "Surveys <surveys@example.com>";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Result<(Server, u16), Box<dyn std::error::Error>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");
    let mut child = Command::new("python3")
        .args([script, "--discard"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    let server = Server(child);
    let port = line.trim().parse().map_err(|_| {
        "tests/smtp_server.py did not start: it needs python3 -m pip install aiosmtpd"
    })?;
    Ok((server, port))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let messages: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let (_server, port) = match args.next() {
        Some(port) => (None, port.parse()?),
        None => {
            let (server, port) = start_server()?;
            (Some(server), port)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(messages, port))
}

async fn run(messages: usize, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = DatabaseUrl::parse(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))?;
    let db = Db::open(&url)?;
    let smtp_url = format!("smtp+plain://127.0.0.1:{port}");
    println!("mail benchmark: {messages} invitations, SQLite outbox, SMTP on 127.0.0.1:{port}");

    // Queue: rendered like a real wave's invitations, in one transaction.
    let templates = Templates::new()?;
    let started = Instant::now();
    let queued = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let now = icsat::db::now();
                for i in 0..messages {
                    let (subject, text, html) = templates.invitation(&SurveyMailContext {
                        lang: "en".into(),
                        name: format!("Person {i}"),
                        survey_title: "Internal services survey".into(),
                        intro: Some(
                            "Your answers help HR, IT, Finance and Facilities serve you better."
                                .into(),
                        ),
                        link: format!(
                            "https://surveys.example.com/s/{:032x}",
                            i as u128 * 0x9e37_79b9_7f4a_7c15
                        ),
                        deadline: "Friday 14 March 2027, 18:00 CET".into(),
                        days_left: None,
                        help_contact: "people@example.com".into(),
                        anonymous: true,
                        kept: "your department".into(),
                        min_group_size: 5,
                    })?;
                    let mail = OutgoingMail {
                        dedupe_key: format!("invitation:1:{i}"),
                        kind: MailKind::Invitation,
                        wave_id: None,
                        to_name: format!("Person {i}"),
                        to_email: format!("person{i}@example.com"),
                        subject,
                        text,
                        html,
                    };
                    mail::enqueue(conn, &mail, FROM, now)?;
                }
                Ok::<_, mail::MailError>(messages)
            })
        })
        .await?;
    let elapsed = started.elapsed();
    println!(
        "  queue:        {queued} messages in {:.2} s ({:.0} per second)",
        elapsed.as_secs_f64(),
        queued as f64 / elapsed.as_secs_f64()
    );

    // Send through the outbox: claim, send one at a time, mark each.
    let transport = Transport::smtp(&smtp_url, Duration::from_secs(10))?;
    let options = SendOptions::default();
    let started = Instant::now();
    let (mut sent, mut passes) = (0, 0);
    while sent < messages {
        let stats = mail::send_due_with(&db, &transport, "bench", &options).await?;
        passes += 1;
        sent += stats.sent;
        if stats.retried + stats.failed > 0 || stats.claimed == 0 {
            return Err(format!("a pass did not send everything it claimed: {stats:?}").into());
        }
    }
    let elapsed = started.elapsed();
    let outbox_rate = sent as f64 / elapsed.as_secs_f64();
    println!(
        "  send (outbox): {sent} messages in {:.2} s, {passes} passes: {outbox_rate:.0} messages per second",
        elapsed.as_secs_f64()
    );

    // The same number through the same transport with no database: the ceiling the
    // SMTP server (and this machine) sets.
    let sample = mail::compose(
        &OutgoingMail {
            dedupe_key: String::new(),
            kind: MailKind::Invitation,
            wave_id: None,
            to_name: "Person".into(),
            to_email: "person@example.com".into(),
            subject: "Your invitation: Internal services survey".into(),
            text: "x".repeat(1500),
            html: "y".repeat(3000),
        },
        FROM,
        icsat::db::now(),
    )?;
    let started = Instant::now();
    for i in 0..messages {
        transport
            .deliver(i as i64, "person@example.com", &sample)
            .await
            .map_err(|e| format!("{e}"))?;
    }
    let elapsed = started.elapsed();
    println!(
        "  send (same transport, no database): {:.0} messages per second",
        messages as f64 / elapsed.as_secs_f64()
    );

    // lettre's own pooled transport, for the record: its sockets keep Nagle's algorithm,
    // which holds back the final "." of each message until the server's delayed ACK.
    let pooled: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .build();
    let envelope = Envelope::new(
        Some(Address::from_str("surveys@example.com")?),
        vec![Address::from_str("person@example.com")?],
    )?;
    let sample_count = messages.min(100);
    let started = Instant::now();
    for _ in 0..sample_count {
        pooled.send_raw(&envelope, sample.as_bytes()).await?;
    }
    let elapsed = started.elapsed();
    println!(
        "  send (lettre's pooled AsyncSmtpTransport, {sample_count} messages): {:.0} messages per second",
        sample_count as f64 / elapsed.as_secs_f64()
    );
    println!("result: {outbox_rate:.0} messages per second through the outbox (target: 500)");
    Ok(())
}
