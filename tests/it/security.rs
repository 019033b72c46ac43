//! The security review's findings (issue 14, hardening 1-7), each against the running
//! server on both backends, and a fuzz of every route with and without a session: no
//! 5xx, and nothing stored changes.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use crate::common::{csrf_field, link_for, sign_in_with_link, Reply, Server, TestDb};

const DEPARTMENTS: &str =
    "department,parent,head_email\nCompany,,\nSales,Company,head@x.io\nIT,Company,\n";

/// Generous bound for what should take well under a second: only a hang reaches it.
const HANG: Duration = Duration::from_secs(30);

/// Two departments, a head of Sales, an admin; no server.
fn accounts(db: &TestDb) {
    let departments = db.write("departments.csv", DEPARTMENTS);
    let roster = db.write(
        "roster.csv",
        "email,name,department\nhead@x.io,Head,Sales\nnew-head@x.io,New Head,Sales\nit@x.io,It,IT\n",
    );
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(HANG))
        .build()
        .into()
}

/// A request with extra headers (and a form body for POST).
fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let url = format!("{}{path}", server.base_url);
    let result = match body {
        None => {
            let mut request = agent().get(&url);
            for &(name, value) in headers {
                request = request.header(name, value);
            }
            if method == "GET" {
                request.call()
            } else {
                panic!("a {method} needs a body here")
            }
        }
        Some(body) => {
            let mut request = agent().post(&url);
            for &(name, value) in headers {
                request = request.header(name, value);
            }
            request.send(body)
        }
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        body,
        headers,
    }
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

/// Bytes written to the server as they are; returns what came back before it closed
/// the connection (`None`: still open after [`HANG`]).
fn raw(server: &Server, request: &[u8]) -> Option<Vec<u8>> {
    let address = server.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(HANG)).unwrap();
    let _ = stream.write_all(request);
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => Some(received),
        // Reset by the server after answering: closed as well.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(received),
        Err(_) => None,
    }
}

fn status_of(response: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(response);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Waits (up to [`HANG`]) until `done`, e.g. for a background task's work to show.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < HANG, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sign_in_mails(db: &TestDb) -> Vec<String> {
    use icsat::db::schema::mail_outbox;
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::kind.eq("sign_in"))
        .order(mail_outbox::id)
        .select(mail_outbox::recipient)
        .load::<String>(c)
        .unwrap())
}

/// The pre-sign-in cookie (`icsat_pre=...`) and CSRF token of the sign-in form.
fn login_form(server: &Server, headers: &[(&str, &str)]) -> (String, String) {
    let page = send(server, "GET", "/login", headers, None);
    assert_eq!(page.status, 200);
    let pre = page.cookie("icsat_pre").expect("pre-sign-in cookie");
    (format!("icsat_pre={pre}"), csrf_field(&page.body))
}

fn ask_link(server: &Server, email: &str, client: Option<&str>) -> Reply {
    let mut headers = Vec::new();
    if let Some(client) = client {
        headers.push(("X-Forwarded-For", client));
    }
    let (cookie, csrf) = login_form(server, &headers);
    headers.push(("Cookie", &cookie));
    headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    send(
        server,
        "POST",
        "/login",
        &headers,
        Some(&form(&[("csrf", &csrf), ("email", email)])),
    )
}

// 1. Throttling behind a proxy: only failures, per real client, never valid links.
fn failures_are_throttled_per_client_and_valid_links_always_served(db: TestDb) {
    let (server, tokens) = crate::answering::open_wave(&db);
    let defs = db.path("defs").display().to_string();
    // Every guess claims another client; without trusted proxies nobody is believed.
    for i in 0..30 {
        let spoof = format!("10.9.{}.{}", i / 200, i % 200);
        let reply = send(
            &server,
            "GET",
            &format!("/s/guess{i:019}"),
            &[("X-Forwarded-For", &spoof)],
            None,
        );
        assert_eq!(reply.status, 404);
    }
    let blocked = send(&server, "GET", "/s/guessing-once-more-xxxx", &[], None);
    assert_eq!(blocked.status, 429);
    assert!(blocked.header("retry-after").parse::<u64>().unwrap() >= 1);
    // The same network's valid links still work: a survey link and a sign-in link.
    assert_eq!(server.get(&format!("/s/{}", tokens[0])).0, 200);
    for i in 0..31 {
        send(&server, "GET", &format!("/login/{:043}", i), &[], None);
    }
    assert_eq!(
        send(&server, "GET", &format!("/login/{:043}", 99), &[], None).status,
        429
    );
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let session = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    assert!(session.starts_with("icsat_session="));
    drop(server);

    // Behind a trusted proxy each forwarded client has its own budget.
    let proxied = Server::start_with(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_TRUSTED_PROXIES", "127.0.0.1/32, ::1"),
        ],
    );
    let guess = |client: &str, i: usize| {
        send(
            &proxied,
            "GET",
            &format!("/s/other{i:019}"),
            &[("X-Forwarded-For", &format!("198.51.100.77, {client}"))],
            None,
        )
        .status
    };
    for i in 0..30 {
        assert_eq!(guess("10.0.0.1", i), 404);
    }
    assert_eq!(guess("10.0.0.1", 30), 429);
    assert_eq!(
        guess("10.0.0.2", 31),
        404,
        "another client is not throttled"
    );
    assert_eq!(proxied.get(&format!("/s/{}", tokens[1])).0, 200);
}

// 1. Asking for sign-in links: always the same 200; extra mails skipped; the owner's
// own asks still get through.
fn sign_in_asks_never_lock_the_owner_out(db: TestDb) {
    accounts(&db);
    let server = Server::start_with(&db, &[("ICSAT_TRUSTED_PROXIES", "127.0.0.1,::1")]);
    // The same page each time, but for the form's fresh CSRF token.
    let page = |reply: &Reply| {
        let csrf = csrf_field(&reply.body);
        reply.body.replace(&csrf, "")
    };
    let first = ask_link(&server, "hr@x.io", Some("203.0.113.66"));
    assert!(first
        .body
        .contains("If that address has an account, a link is on its way"));
    for _ in 0..7 {
        let again = ask_link(&server, "hr@x.io", Some("203.0.113.66"));
        assert_eq!(again.status, 200);
        assert_eq!(page(&again), page(&first));
    }
    // A barrier: the queue is worked in order, so once this one is mailed all are done.
    ask_link(&server, "head@x.io", Some("203.0.113.67"));
    wait_for("the barrier's mail", || {
        sign_in_mails(&db).contains(&"head@x.io".to_string())
    });
    let to_owner = |mails: Vec<String>| mails.iter().filter(|m| *m == "hr@x.io").count();
    assert_eq!(to_owner(sign_in_mails(&db)), 5, "extra mails skipped");
    // The owner, from their own address, still gets a link.
    let own = ask_link(&server, "hr@x.io", Some("192.0.2.10"));
    assert_eq!(own.status, 200);
    assert_eq!(page(&own), page(&first));
    wait_for("the owner's mail", || to_owner(sign_in_mails(&db)) == 6);
}

// 2. A head the departments file no longer names loses access at once.
fn a_replaced_head_is_deactivated_and_signed_out(db: TestDb) {
    accounts(&db);
    let server = Server::start(&db);
    let old_session = sign_in_with_link(&server, &link_for(&db, &server, "head@x.io"));
    assert_eq!(server.get_with("/results", &old_session).status, 200);
    let pending_link = link_for(&db, &server, "head@x.io");
    let replaced = db.write(
        "departments2.csv",
        DEPARTMENTS.replace("Sales,Company,head@x.io", "Sales,Company,new-head@x.io"),
    );
    let roster = db.path("roster.csv");
    let args = |dry: bool| {
        let mut args = vec![
            "roster",
            "import",
            roster.to_str().unwrap(),
            "--departments",
            replaced.to_str().unwrap(),
        ];
        if dry {
            args.push("--dry-run");
        }
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |dry: bool| {
        let args = args(dry);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        db.icsat(&args)
    };
    let dry = run(true);
    dry.assert_ok();
    assert!(
        dry.stdout().contains("heads no longer named") && dry.stdout().contains("head@x.io"),
        "{}",
        dry.stdout()
    );
    assert_eq!(server.get_with("/results", &old_session).status, 200);
    let done = run(false);
    done.assert_ok();
    assert!(
        done.stdout()
            .contains("heads no longer named, accounts deactivated and signed out: head@x.io"),
        "{}",
        done.stdout()
    );
    assert_eq!(server.get_with("/results", &old_session).status, 303);
    assert_eq!(
        server.get_with("/api/surveys", &old_session).status,
        401,
        "the session ended"
    );
    let path = &pending_link[pending_link.find("/login/").unwrap()..];
    assert_eq!(server.get_with(path, "").status, 404, "links revoked");
    // The new head signs in and sees Sales.
    let new_session = sign_in_with_link(&server, &link_for(&db, &server, "new-head@x.io"));
    assert_eq!(server.get_with("/results", &new_session).status, 200);
    // Importing the same file again deactivates nobody.
    let again = run(false);
    again.assert_ok();
    assert!(!again.stdout().contains("heads no longer named"));
}

/// Holds a lock that stops any lookup of accounts until dropped.
struct AccountsLocked {
    _conn: icsat::db::Conn,
}

fn lock_accounts(db: &TestDb) -> (icsat::db::Db, AccountsLocked) {
    use diesel::connection::SimpleConnection;
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    match &mut conn {
        // A write lock: a sign-in link cannot be stored until it is released.
        icsat::db::Conn::Sqlite(c) => c.batch_execute("BEGIN EXCLUSIVE").unwrap(),
        // Not even a read of `users` gets through.
        icsat::db::Conn::Postgres(c) => c
            .batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .unwrap(),
    }
    (handle, AccountsLocked { _conn: conn })
}

impl Drop for AccountsLocked {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        let _ = icsat::with_conn!(self._conn, c => c.batch_execute("ROLLBACK"));
    }
}

// 3. The answer to a sign-in ask does not wait for the lookup or the mail.
fn sign_in_answers_before_looking_anything_up(db: TestDb) {
    accounts(&db);
    let server = Server::start(&db);
    let (cookie, csrf) = login_form(&server, &[]);
    let ask = |email: &str| {
        send(
            &server,
            "POST",
            "/login",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(&form(&[("csrf", &csrf), ("email", email)])),
        )
    };
    let unknown = ask("nobody@x.io");
    let (_handle, lock) = lock_accounts(&db);
    // While no account can be read or link stored, the known address is answered
    // exactly like the unknown one.
    let known = ask("hr@x.io");
    assert_eq!(known.status, 200);
    assert_eq!(known.body, unknown.body);
    assert!(sign_in_mails(&db).is_empty());
    drop(lock);
    wait_for("the link's mail once the lock is gone", || {
        sign_in_mails(&db) == vec!["hr@x.io".to_string()]
    });
}

// 4. Slow clients: headers, then a body that never comes, are cut off.
fn stalled_requests_are_cut_off(db: TestDb) {
    accounts(&db);
    let server = Server::start_with(&db, &[("ICSAT_REQUEST_TIMEOUT", "2")]);
    let stalled_body = raw(
        &server,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a",
    )
    .expect("the server closes a connection whose body stalls");
    assert_eq!(status_of(&stalled_body), Some(408));
    let stalled_chunks = raw(
        &server,
        b"POST /s/abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .expect("the server closes a connection whose chunked body stalls");
    assert_eq!(status_of(&stalled_chunks), Some(408));
    raw(&server, b"GET /login HTTP/1.1\r\nHost: x\r\n")
        .expect("the server closes a connection whose headers stall");
    // Meanwhile everyone else is served.
    assert_eq!(server.get("/login").0, 200);
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

// 5. What holds answers and live links is readable by the service's user only.
#[cfg(unix)]
fn files_are_private(db: TestDb) {
    accounts(&db);
    let server = Server::start(&db);
    ask_link(&server, "hr@x.io", None);
    let outbox = db.path("outbox");
    let eml = || {
        std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "eml"))
    };
    wait_for("the sign-in mail's file", || eml().is_some());
    let message = eml().unwrap();
    assert_eq!(mode(&message), 0o600, "{}", message.display());
    assert_eq!(mode(&outbox), 0o700);
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let path = std::path::PathBuf::from(path);
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(server);
        // A database an earlier version left readable is narrowed.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        db.icsat(&["migrate"]).assert_ok();
        assert_eq!(mode(&path), 0o600);
    }
}

#[cfg(not(unix))]
fn files_are_private(_db: TestDb) {}

// 6. A sign-in link's page says whose account it signs into.
fn the_confirm_page_names_the_account(db: TestDb) {
    accounts(&db);
    let server = Server::start(&db);
    let link = link_for(&db, &server, "head@x.io");
    let page = server.get_with(&link[link.find("/login/").unwrap()..], "");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("signs in as <strong>head@x.io</strong>"),
        "{}",
        page.body
    );
}

// 7. Only the newest sign-in link works.
fn a_new_sign_in_link_revokes_the_earlier_ones(db: TestDb) {
    accounts(&db);
    let server = Server::start(&db);
    let first = link_for(&db, &server, "hr@x.io");
    let second = link_for(&db, &server, "hr@x.io");
    let path = |link: &str| link[link.find("/login/").unwrap()..].to_string();
    assert_eq!(server.get_with(&path(&first), "").status, 404);
    assert_eq!(server.get_with(&path(&second), "").status, 200);
    sign_in_with_link(&server, &second);
}

// 7. Over https: HSTS, and cookies only this host can set.
fn https_brings_hsts_and_host_cookies(db: TestDb) {
    accounts(&db);
    let server = Server::start_with(&db, &[("ICSAT_BASE_URL", "https://surveys.example.com")]);
    let page = server.get_with("/login", "");
    assert_eq!(page.header("strict-transport-security"), "max-age=31536000");
    let set = page.set_cookies();
    assert!(
        set.iter().any(|c| c.starts_with("__Host-icsat_pre=")
            && c.contains("Secure")
            && c.contains("Path=/")),
        "{set:?}"
    );
    let link = link_for(&db, &server, "hr@x.io");
    let path = &link[link.find("/login/").unwrap()..];
    let confirm = server.get_with(path, "");
    let pre = confirm.cookie("__Host-icsat_pre").expect("prefixed cookie");
    let done = server.post_form_with(
        path,
        &format!("__Host-icsat_pre={pre}"),
        &[("csrf", &csrf_field(&confirm.body))],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let session = done
        .cookie("__Host-icsat_session")
        .expect("prefixed session");
    let admin = server.get_with("/admin", &format!("__Host-icsat_session={session}"));
    assert_eq!(admin.status, 200);
    // The unprefixed name is not accepted over https.
    let plain = server.get_with("/admin", &format!("icsat_session={session}"));
    assert_eq!(plain.status, 303);
    // Plain http: no HSTS.
    drop(server);
    let plain = Server::start(&db);
    assert_eq!(
        plain
            .get_with("/login", "")
            .header("strict-transport-security"),
        ""
    );
}

// 7. Weak secrets, secrets on the command line and passwords over plain SMTP.
fn secrets_are_checked(db: TestDb) {
    let short = db
        .command(&["migrate"])
        .env("ICSAT_SECRET", "too-short")
        .output()
        .unwrap();
    assert_ne!(short.status.code(), Some(0));
    let said = String::from_utf8_lossy(&short.stderr);
    assert!(
        said.contains("ICSAT_SECRET") && said.contains("at least 32"),
        "{said}"
    );
    assert!(!said.contains("too-short"), "{said}");
    let flag = db.icsat(&["migrate", "--secret", &"k".repeat(40)]);
    flag.assert_ok();
    assert!(
        flag.stderr().contains("ICSAT_SECRET instead"),
        "{}",
        flag.stderr()
    );
    let env = db
        .command(&["migrate"])
        .env("ICSAT_SECRET", "k".repeat(40))
        .output()
        .unwrap();
    assert_eq!(env.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&env.stderr).contains("--secret"));
    let plain = db
        .command(&["migrate"])
        .env("ICSAT_SMTP_URL", "smtp+plain://me:hunter2@relay.x.io:25")
        .output()
        .unwrap();
    assert_ne!(plain.status.code(), Some(0));
    let said = String::from_utf8_lossy(&plain.stderr);
    assert!(
        said.contains("smtp+plain://") && !said.contains("hunter2"),
        "{said}"
    );
}

// 7. Names with line breaks reach emails on one line.
fn roster_names_stay_on_one_line(db: TestDb) {
    crate::answering::load_survey(&db);
    let roster = db.write(
        "roster.csv",
        "email,name,department\n\"e0@x.io\",\"Eve\r\nBcc: spy@evil.io\tX\",IT\ne1@x.io,Ok,HR\n",
    );
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    use icsat::db::schema::employees;
    let name: String = icsat::with_conn!(conn, c => employees::table
        .filter(employees::email.eq("e0@x.io"))
        .select(employees::name)
        .first(c))
    .unwrap();
    assert_eq!(name, "Eve Bcc: spy@evil.io X");
    // A name stored before (by an older version) is collapsed when mails are made.
    icsat::with_conn!(conn, c => diesel::update(employees::table.filter(employees::email.eq("e1@x.io")))
        .set(employees::name.eq("Mallory\r\nBcc: spy@evil.io"))
        .execute(c))
    .unwrap();
    drop(conn);
    let defs = db.path("defs").display().to_string();
    let opened = db
        .command(&["wave", "open", "services", "--label", "w1"])
        .env("ICSAT_DEFINITIONS", &defs)
        .output()
        .unwrap();
    assert_eq!(
        opened.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    use icsat::db::schema::mail_outbox;
    let mut conn = handle.get().unwrap();
    let messages: Vec<String> = icsat::with_conn!(conn, c => mail_outbox::table
        .select(mail_outbox::message)
        .load(c))
    .unwrap();
    assert!(!messages.is_empty());
    for message in &messages {
        assert!(!message.lines().any(|l| l.starts_with("Bcc:")), "{message}");
    }
    assert!(messages
        .iter()
        .any(|m| m.contains("Mallory Bcc: spy@evil.io")));
}

// 7. Malformed requests are the client's problem: not one ERROR line for them.
fn malformed_requests_are_not_logged_as_errors(db: TestDb) {
    accounts(&db);
    let log = db.path("serve.log");
    let file = std::fs::File::create(&log).unwrap();
    let server = Server::start_logging(&db, &[("ICSAT_LOG", "info")], file);
    for request in MALFORMED {
        raw(&server, request);
    }
    assert_eq!(server.get("/login").0, 200);
    drop(server);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        !written.contains("ERROR"),
        "malformed requests logged as errors:\n{written}"
    );
}

/// Requests the HTTP parser refuses.
const MALFORMED: [&[u8]; 6] = [
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
    b"GET /\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"NOT-HTTP\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
];

// 7. Seal log lines carry no per-seal counts or times.
fn seal_logs_date_no_answers(db: TestDb) {
    let (server, tokens) = crate::answering::open_wave(&db);
    // Answered while one server runs, sealed by the next one's first tick.
    let path = format!("/s/{}", tokens[0]);
    let (_, page, _) = server.get(&path);
    let csrf = crate::answering::csrf_of(&page);
    let (status, body) = server.post_form(
        &path,
        &[
            ("csrf", csrf.as_str()),
            ("q.it-fast", "4"),
            ("q.it-nps", "9"),
            ("q.enps", "8"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    drop(server);
    let log = db.path("serve.log");
    let defs = db.path("defs").display().to_string();
    let file = std::fs::File::create(&log).unwrap();
    let server = Server::start_logging(
        &db,
        &[("ICSAT_LOG", "info"), ("ICSAT_DEFINITIONS", &defs)],
        file,
    );
    wait_for("the seal", || row_counts(&db)["responses"] == 1);
    assert_eq!(server.get("/login").0, 200);
    drop(server);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("serving"), "{written}");
    for line in written.lines() {
        assert!(
            !(line.contains("sealed") && (line.contains("ms=") || line.contains("sealed=1"))),
            "{line}"
        );
    }
}

// 7. Heads do not see company-wide participation on /results (nor in the API).
fn heads_see_no_company_wide_participation(db: TestDb) {
    let (server, _) = crate::answering::open_wave(&db);
    db.icsat(&[
        "user",
        "add",
        "head@x.io",
        "--role",
        "head",
        "--department",
        "Sales",
    ])
    .assert_ok();
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let head = sign_in_with_link(&server, &link_for(&db, &server, "head@x.io"));
    let admin = sign_in_with_link(&server, &link_for(&db, &server, "hr@x.io"));
    let rates = |cookie: &str| {
        let reply = server.get_with("/results/services?wave=test-wave", cookie);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.body;
        let start = body.find("id=\"rate-h\"").expect("the rates section");
        body[start..start + body[start..].find("</section>").unwrap()].to_string()
    };
    let seen = rates(&head);
    assert!(!seen.contains("Whole company"), "{seen}");
    assert!(seen.contains("Sales"), "{seen}");
    assert!(rates(&admin).contains("Whole company"));
    let api = server.get_with("/api/surveys/services/waves", &head);
    assert_eq!(api.status, 200);
    assert!(!api.body.contains("invited"), "{}", api.body);
}

// 7. The survey form's CSRF: a near miss is refused and stores nothing.
fn survey_csrf_near_misses_are_refused(db: TestDb) {
    let (server, tokens) = crate::answering::open_wave(&db);
    let path = format!("/s/{}", tokens[0]);
    let (_, page, _) = server.get(&path);
    let csrf = crate::answering::csrf_of(&page);
    let mut near = csrf.clone();
    let last = if near.ends_with('0') { "1" } else { "0" };
    near.replace_range(near.len() - 1.., last);
    let before = row_counts(&db);
    let (status, body) = server.post_form(&path, &[("csrf", &near), ("q.enps", "7")]);
    assert_eq!(status, 422);
    assert!(body.contains("did not come from this survey"), "{body}");
    assert_eq!(row_counts(&db), before);
}

// 7. CSV cells a spreadsheet would run are neutralised, also behind a space or in
// full-width signs.
fn csv_formulas_are_neutralised_after_normalising(db: TestDb) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("pulse.toml"), crate::responses::PULSE).unwrap();
    let departments = db.write(
        "departments.csv",
        "department,parent,head_email\nCompany,,\nIT,Company,\nHR,Company,\n",
    );
    let roster = db.write("roster.csv", "email,name,department\na@x.io,A,IT\n");
    db.icsat(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    let formulas = [
        " =1+1",
        "\u{FF1D}HYPERLINK(\"http://x\")",
        "\u{FF0B}cmd",
        "\u{3000}\u{FF20}SUM(1)",
        "\u{FF0D}2+3",
    ];
    let answers = crate::common::pulse_answers_csv(&[("IT", 24), ("HR", 9)], 5, 0, |d, i| {
        match (d, formulas.get(i)) {
            ("IT", Some(f)) => format!("\"{}\"", f.replace('"', "\"\"")),
            _ => String::new(),
        }
    });
    let file = db.write("answers.csv", answers);
    let defs = defs.display().to_string();
    let run = |args: &[&str]| {
        crate::common::CommandOutput(
            db.command(args)
                .env("ICSAT_DEFINITIONS", &defs)
                .output()
                .unwrap(),
        )
    };
    run(&[
        "responses",
        "import",
        "pulse",
        "--wave",
        "w1",
        file.to_str().unwrap(),
    ])
    .assert_ok();
    let out = db.path("raw.csv");
    run(&[
        "export",
        "pulse",
        "--wave",
        "w1",
        "--raw",
        "-o",
        out.to_str().unwrap(),
    ])
    .assert_ok();
    let bytes = std::fs::read(&out).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let cells: Vec<String> = reader
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for formula in formulas {
        let found = cells
            .iter()
            .find(|c| c.contains(formula.trim_start_matches([' ', '\u{3000}'])))
            .unwrap_or_else(|| panic!("{formula:?} not exported: {cells:?}"));
        assert_eq!(found, &format!("'{formula}"), "not neutralised");
    }
}

/// Rows per table, every table (but the mail sender's leases, which it takes on its
/// own): equal before and after means nothing was stored.
fn row_counts(db: &TestDb) -> BTreeMap<String, i64> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let list = if db.url.starts_with("sqlite") {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    } else {
        "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    };
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => {
        let names: Vec<Name> = diesel::sql_query(list).load(c).unwrap();
        names
            .into_iter()
            .filter(|t| t.name != "leases")
            .map(|t| {
                // A download is recorded in the audit log (who exported what): the only
                // row a request that changes nothing may add. The service's own work (the
                // daily purge at start, scheduler ticks) is not the requests'.
                // Nudges are the scheduler's too: whenever its first tick lands, it may
                // queue HR's weekly digest and mark it done.
                let only = match t.name.as_str() {
                    "audit_log" => {
                        " WHERE action <> 'export' AND actor NOT IN ('serve', 'scheduler')"
                    }
                    "mail_outbox" => " WHERE kind <> 'nudge'",
                    "settings" => " WHERE key NOT LIKE 'nudged-%'",
                    _ => "",
                };
                let count: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}{only}", t.name))
                    .get_result(c)
                    .unwrap();
                (t.name, count.n)
            })
            .collect()
    })
}

// 8. Every route, with and without a session, with malformed paths, queries, forms and
// headers: never a 5xx, and nothing stored changes.
fn fuzzing_every_route_breaks_and_stores_nothing(db: TestDb) {
    let f = crate::access::fixture(&db);
    let w = crate::access::WAVE;
    let routes = [
        "/".to_string(),
        "/healthz".into(),
        "/static/icsat.css".into(),
        "/login".into(),
        format!("/login/{}", "A".repeat(43)),
        "/logout".into(),
        "/admin".into(),
        format!("/admin/surveys/pulse/waves/{w}"),
        "/admin/surveys/pulse/trend".into(),
        "/admin/mail/1/resend".into(),
        "/results".into(),
        "/results/pulse".into(),
        format!("/results/pulse/waves/{w}/summary.csv"),
        "/api/surveys".into(),
        "/api/surveys/pulse/waves".into(),
        format!("/api/surveys/pulse/waves/{w}/report"),
        format!("/api/surveys/pulse/waves/{w}/comments"),
        "/api/surveys/pulse/trend".into(),
        "/services".into(),
        "/services/it-desk".into(),
        "/api/services".into(),
        "/api/services/%00".into(),
        "/s/AAAAAAAAAAAAAAAAAAAAAAAA".into(),
        "/nowhere".into(),
    ];
    let queries = [
        "",
        "?department=%00",
        "?department=Sales&department=HR",
        "?wave=%ff%fe&department=",
        "?where=enps%3D%3D1",
        "?where=&company=maybe",
        "?lang=%E2%80%AE",
        "?department=' OR 1=1 --",
        "?%zz=%",
        &format!("?department={}", "x".repeat(4000)),
    ];
    let bodies: [&[u8]; 6] = [
        b"",
        b"csrf=&email=",
        b"csrf=x&csrf=y&email=a@b",
        b"%%%&&&===",
        b"q.enps=99&skip.x=1&lang=zz&csrf=00",
        &[0xff, 0xfe, 0x00, 0x01],
    ];
    let before = row_counts(&db);
    let sessions = ["", f.admin.as_str(), f.head_a.as_str()];
    let mut requests = 0;
    for session in sessions {
        for route in &routes {
            for query in queries {
                let path = format!("{route}{query}").replace(' ', "%20");
                let mut headers = vec![];
                if !session.is_empty() {
                    headers.push(("Cookie", session));
                }
                let reply = send(&f.server, "GET", &path, &headers, None);
                assert!(
                    reply.status < 500,
                    "GET {path} ({session}): {}",
                    reply.status
                );
                requests += 1;
            }
            for body in bodies {
                for content_type in [
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                    "text/plain",
                ] {
                    let mut headers = vec![("Content-Type", content_type)];
                    if !session.is_empty() {
                        headers.push(("Cookie", session));
                    }
                    let reply = send(&f.server, "POST", route, &headers, Some(body));
                    assert!(
                        reply.status < 500,
                        "POST {route} ({session}): {}",
                        reply.status
                    );
                    requests += 1;
                }
            }
            for headers in [
                vec![("Cookie", "icsat_session=; icsat_session=x; icsat_pre=%00")],
                vec![(
                    "Cookie",
                    "icsat_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                )],
                vec![("X-Forwarded-For", "not an address, 999.1.1.1")],
                vec![("Forwarded", "for=\"[::1\";by=;;;")],
                vec![("Accept-Encoding", "gzip;q=nope, *;q=-1")],
                vec![("Content-Length", "0"), ("Accept", "*/*;q=x")],
            ] {
                let reply = send(&f.server, "GET", route, &headers, None);
                assert!(
                    reply.status < 500,
                    "GET {route} {headers:?}: {}",
                    reply.status
                );
                requests += 1;
            }
        }
    }
    // What a client library would not send: raw bytes.
    let mut raw_requests: Vec<Vec<u8>> = MALFORMED.iter().map(|r| r.to_vec()).collect();
    for route in &routes {
        for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "BREW"] {
            raw_requests.push(
                format!("{method} {route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\na=b")
                    .into_bytes(),
            );
        }
        raw_requests.push(
            format!("GET {route}/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
        );
        raw_requests.push(
            format!("GET {route}/\u{e9}\u{202e}//..;/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
        );
        raw_requests.push(
            format!("POST {route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 999999999\r\n\r\nemail=x").into_bytes(),
        );
        raw_requests.push(
            format!("POST {route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: gzip\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nnope").into_bytes(),
        );
    }
    for request in &raw_requests {
        let response = raw(&f.server, request).expect("the server answers or closes");
        if let Some(status) = status_of(&response) {
            assert!(
                status < 500,
                "{}: {status}",
                String::from_utf8_lossy(&request[..request.len().min(80)])
            );
        }
        requests += 1;
    }
    assert!(requests > 1000, "{requests}");
    assert_eq!(row_counts(&db), before, "the fuzz stored something");
    // And the service is still well.
    assert_eq!(f.server.get_with("/admin", &f.admin).status, 200);
}

crate::on_both_backends!(
    failures_are_throttled_per_client_and_valid_links_always_served,
    sign_in_asks_never_lock_the_owner_out,
    a_replaced_head_is_deactivated_and_signed_out,
    sign_in_answers_before_looking_anything_up,
    stalled_requests_are_cut_off,
    files_are_private,
    the_confirm_page_names_the_account,
    a_new_sign_in_link_revokes_the_earlier_ones,
    https_brings_hsts_and_host_cookies,
    secrets_are_checked,
    roster_names_stay_on_one_line,
    malformed_requests_are_not_logged_as_errors,
    seal_logs_date_no_answers,
    heads_see_no_company_wide_participation,
    survey_csrf_near_misses_are_refused,
    csv_formulas_are_neutralised_after_normalising,
    fuzzing_every_route_breaks_and_stores_nothing,
);
