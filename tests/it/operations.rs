//! What operators rely on: `/metrics`, `/healthz` and `/readyz`, JSON logs with request
//! ids, graceful shutdown, and the OpenAPI document of the JSON API.

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use diesel::prelude::*;

use crate::answering::{csrf_of, load_survey, open_wave_in};
use crate::common::{Server, TestDb};
use icsat::db::schema::{invitations, waves};

const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789abcdef";

/// A complete form for the `services` survey; 200 when stored.
fn answer(server: &Server, token: &str, i: usize) -> u16 {
    let path = format!("/s/{token}");
    let (status, page, _) = server.get(&path);
    if status != 200 {
        return status;
    }
    let csrf = csrf_of(&page);
    let fast = (1 + i % 5).to_string();
    let nps = (i % 11).to_string();
    let (status, _) = server.post_form(
        &path,
        &[
            ("csrf", &csrf),
            ("lang", "en"),
            ("q.it-fast", &fast),
            ("q.it-nps", &nps),
            ("q.enps", &nps),
            ("q.comment", "fine"),
        ],
    );
    status
}

/// A scrape as a series → value map (`name{labels}` as written), checking the format:
/// every sample belongs to a family announced by `# TYPE`.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut families = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split_whitespace();
            let name = words.next().expect("a family name").to_string();
            let kind = words.next().expect("a family type");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            families.push(name);
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series and value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a number in {line:?}"));
        let name = series.split('{').next().unwrap_or(series);
        assert!(
            families.iter().any(|f| name == f
                || name
                    .strip_prefix(f.as_str())
                    .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))),
            "{name} has no # TYPE line"
        );
        samples.insert(series.to_string(), value);
    }
    samples
}

/// Sum of the samples of `name` whose labels contain every one of `labels`.
fn total(samples: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name && labels.iter().all(|l| rest.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

fn scrape(server: &Server) -> (String, BTreeMap<String, f64>) {
    let reply = server.get_with_header(
        "/metrics",
        "Authorization",
        &format!("Bearer {METRICS_TOKEN}"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply
        .header("content-type")
        .starts_with("text/plain; version=0.0.4"));
    let samples = parse_metrics(&reply.body);
    (reply.body, samples)
}

/// Scrapes until `done` holds (the scheduler ticks every 20 s), at most a minute.
fn scrape_until(
    server: &Server,
    what: &str,
    done: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> (String, BTreeMap<String, f64>) {
    let start = Instant::now();
    loop {
        let (text, samples) = scrape(server);
        if done(&samples) {
            return (text, samples);
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(60),
            "{what} never happened:\n{text}"
        );
        std::thread::sleep(StdDuration::from_millis(250));
    }
}

const FAMILIES: [&str; 15] = [
    "icsat_http_requests_total",
    "icsat_http_request_duration_seconds_bucket",
    "icsat_submissions_stored_total",
    "icsat_responses_sealed_total",
    "icsat_seal_duration_seconds_count",
    "icsat_seal_lag_seconds",
    "icsat_inbox_waiting_responses",
    "icsat_scheduler_ticks_total",
    "icsat_count_duration_seconds_count",
    "icsat_release_duration_seconds_count",
    "icsat_mail_messages",
    "icsat_mail_oldest_queued_age_seconds",
    "icsat_mail_deliveries_total",
    "icsat_db_pool_connections",
    "icsat_db_pool_max_connections",
];

fn metrics_families_move_under_load(db: TestDb) {
    load_survey(&db);
    let defs = db.path("defs").display().to_string();
    let server = Server::start_with(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_METRICS_TOKEN", METRICS_TOKEN),
        ],
    );
    // The token is asked for, and a wrong one refused.
    let (status, _, headers) = server.get("/metrics");
    assert_eq!(status, 401);
    assert!(headers.get("www-authenticate").is_some());
    let wrong = server.get_with_header("/metrics", "Authorization", "Bearer not-the-token");
    assert_eq!(wrong.status, 401);

    let (_, before) = scrape(&server);
    for family in FAMILIES {
        assert!(
            before.keys().any(|k| k.split('{').next() == Some(family)),
            "{family} missing"
        );
    }

    // A short load: a wave opens (12 invitations are sent as .eml files), 6 answer, one
    // link is mistyped.
    let tokens = open_wave_in(&db, "metrics-wave");
    for (i, token) in tokens.iter().take(6).enumerate() {
        assert_eq!(answer(&server, token, i), 200);
    }
    let (status, _, _) = server.get("/s/not-a-real-token-at-all");
    assert_eq!(status, 404);
    let (_, during) = scrape_until(&server, "sending the invitations", |s| {
        total(s, "icsat_mail_messages", &["status=\"sent\""]) >= 12.0
    });
    let moved = |name: &str, labels: &[&str], by: f64| {
        let (a, b) = (total(&before, name, labels), total(&during, name, labels));
        assert!(b - a >= by, "{name}{labels:?}: {a} then {b}");
    };
    moved("icsat_submissions_stored_total", &[], 6.0);
    moved(
        "icsat_http_requests_total",
        &["route=\"/s/{token}\"", "method=\"POST\"", "status=\"200\""],
        6.0,
    );
    moved(
        "icsat_http_request_duration_seconds_count",
        &["route=\"/s/{token}\"", "method=\"GET\"", "status=\"200\""],
        6.0,
    );
    moved(
        "icsat_http_requests_total",
        &["route=\"/s/{token}\"", "status=\"404\""],
        1.0,
    );
    moved("icsat_mail_deliveries_total", &["outcome=\"sent\""], 12.0);
    assert!(total(&during, "icsat_db_pool_max_connections", &[]) >= 1.0);
    assert!(
        total(&during, "icsat_inbox_waiting_responses", &[])
            + total(&during, "icsat_responses_sealed_total", &[])
            >= 6.0
    );

    // The wave ends: the scheduler's next tick seals the inbox, closes the wave, counts
    // it and makes its final release.
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    icsat::with_conn!(conn, c => diesel::update(waves::table)
        .set(waves::closes_at.eq(Some(icsat::db::now() - Duration::seconds(1))))
        .execute(c))
    .unwrap();
    let (text, after) = scrape_until(&server, "closing the wave", |s| {
        total(
            s,
            "icsat_release_duration_seconds_count",
            &["kind=\"final\""],
        ) >= 1.0
    });
    assert!(total(&after, "icsat_responses_sealed_total", &[]) >= 6.0);
    assert_eq!(total(&after, "icsat_inbox_waiting_responses", &[]), 0.0);
    assert!(total(&after, "icsat_count_duration_seconds_count", &[]) >= 1.0);
    assert!(
        total(&after, "icsat_scheduler_ticks_total", &["outcome=\"ok\""])
            > total(&before, "icsat_scheduler_ticks_total", &["outcome=\"ok\""])
    );
    assert!(total(&after, "icsat_seal_duration_seconds_count", &[]) >= 1.0);

    // Nothing personal: no token, no department, no email address, no path with a token.
    for token in &tokens {
        assert!(!text.contains(token.as_str()));
    }
    for word in [
        "IT\"",
        "HR\"",
        "Sales",
        "@x.io",
        "/s/not",
        "services",
        "metrics-wave",
    ] {
        assert!(!text.contains(word), "{word} in the metrics");
    }
    for series in after.keys() {
        if let Some(route) = series.split("route=\"").nth(1) {
            let route = route.split('"').next().unwrap_or("");
            assert!(
                route == "unmatched" || !route.contains("/s/") || route == "/s/{token}",
                "{route}"
            );
        }
    }
}

fn metrics_can_be_turned_off(db: TestDb) {
    let server = Server::start_with(&db, &[("ICSAT_METRICS", "false")]);
    let (status, _, _) = server.get("/metrics");
    assert_eq!(status, 404);
    let (status, _, _) = server.get("/healthz");
    assert_eq!(status, 200);
}

fn health_and_readiness(db: TestDb) {
    let server = Server::start(&db);
    let (status, body, _) = server.get("/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body, _) = server.get("/readyz");
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    // Without a token set, /metrics is open.
    let (status, body, _) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("icsat_http_requests_total"));

    // A migration this version has that the database lacks: not ready, and says why.
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let last: String = icsat::with_conn!(conn, c => diesel::sql_query(
        "SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1",
    )
    .get_result::<Version>(c))
    .unwrap()
    .version;
    let delete = format!("DELETE FROM __diesel_schema_migrations WHERE version = '{last}'");
    icsat::with_conn!(conn, c => diesel::sql_query(&delete).execute(c)).unwrap();
    // A readiness answer is reused for half a second: the next one asks again.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let (status, body, _) = server.get("/readyz");
    assert_eq!(status, 503);
    assert!(body.contains("icsat migrate"), "{body}");
    let (status, _, _) = server.get("/healthz");
    assert_eq!(status, 200, "alive all the same");
    let insert = format!("INSERT INTO __diesel_schema_migrations (version) VALUES ('{last}')");
    icsat::with_conn!(conn, c => diesel::sql_query(&insert).execute(c)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    let (status, _, _) = server.get("/readyz");
    assert_eq!(status, 200);
}

/// A secret long enough for any check; must never reach the logs.
const SECRET: &str = "log-test-secret-5f1e0c8a9b7d6e4f3a2b1c0d9e8f7a6b";

fn json_logs_carry_request_ids_and_no_tokens(db: TestDb) {
    load_survey(&db);
    let defs = db.path("defs").display().to_string();
    let log = db.path("serve.log");
    let server = Server::start_logging(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_LOG_FORMAT", "json"),
            // Everything, the libraries' debug lines included.
            ("ICSAT_LOG", "debug"),
            ("ICSAT_SECRET", SECRET),
            ("ICSAT_METRICS_TOKEN", METRICS_TOKEN),
        ],
        std::fs::File::create(&log).unwrap(),
    );
    // The caller's id when it is a plain one; a new one otherwise.
    let given = server.get_with_header("/healthz", "X-Request-Id", "proxy-req-42");
    assert_eq!(given.header("x-request-id"), "proxy-req-42");
    let odd = server.get_with_header("/healthz", "X-Request-Id", "<script>alert(1)</script>");
    let made = server.get_with("/healthz", "");
    for reply in [&odd, &made] {
        let id = reply.header("x-request-id");
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(odd.header("x-request-id"), made.header("x-request-id"));

    // Requests whose paths and bodies hold what must never be logged.
    let tokens = open_wave_in(&db, "log-wave");
    let path = format!("/s/{}", tokens[0]);
    let (_, page, _) = server.get(&path);
    let comment = "zebra-answer-7731 my manager is unfair";
    let (status, _) = server.post_form(
        &path,
        &[
            ("csrf", &csrf_of(&page)),
            ("lang", "en"),
            ("q.it-fast", "2"),
            ("q.it-nps", "3"),
            ("q.enps", "4"),
            ("q.comment", comment),
        ],
    );
    assert_eq!(status, 200);
    let (status, _, _) = server.get("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(status, 404);
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let link = crate::common::link_for(&db, &server, "hr@x.io");
    let sign_in_path = &link[link.find("/login/").unwrap()..];
    assert_eq!(server.get_with(sign_in_path, "").status, 200);
    let metrics = server.get_with_header(
        "/metrics",
        "Authorization",
        &format!("Bearer {METRICS_TOKEN}"),
    );
    assert_eq!(metrics.status, 200);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(value.is_object(), "{line}");
        assert!(
            value.get("timestamp").is_some() && value.get("level").is_some(),
            "{line}"
        );
        lines.push(value);
    }
    let request = |id: Option<&str>, route: &str, method: &str, status: u64| {
        lines.iter().any(|l| {
            let span = &l["span"];
            l["message"] == "request"
                && id.is_none_or(|id| span["request_id"] == id)
                && span["route"] == route
                && span["method"] == method
                && l["status"] == status
        })
    };
    assert!(
        request(Some("proxy-req-42"), "/healthz", "GET", 200),
        "{text}"
    );
    assert!(request(None, "/s/{token}", "POST", 200), "{text}");
    assert!(request(None, "/s/{token}", "GET", 404), "{text}");
    assert!(request(None, "/login/{token}", "GET", 200), "{text}");
    for secret in [
        tokens[0].as_str(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &sign_in_path["/login/".len()..],
        "zebra-answer-7731",
        SECRET,
        METRICS_TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret:?} reached the logs");
    }
}

/// The `services` survey for `n` employees.
fn load_survey_for(db: &TestDb, n: usize) {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("services.toml"), crate::answering::FORM_SURVEY).unwrap();
    let mut roster = String::from("email,name,department,location\n");
    for i in 0..n {
        roster.push_str(&format!(
            "e{i}@x.io,Employee {i},{},Berlin\n",
            ["IT", "HR", "Sales"][i % 3]
        ));
    }
    let roster = db.write("roster.csv", roster);
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
}

/// One employee answering over HTTP without panicking on a refused connection (the
/// server may be stopping): Some(status) of the POST, None when no answer came.
fn try_answer(base: &str, token: &str, i: usize) -> Option<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(StdDuration::from_secs(30)))
        .build()
        .into();
    let url = format!("{base}/s/{token}");
    let mut page = agent.get(&url).call().ok()?;
    if page.status() != 200 {
        return Some(page.status().as_u16());
    }
    let page = page.body_mut().read_to_string().ok()?;
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", csrf_of(&page).as_str()),
            ("lang", "en"),
            ("q.it-fast", &(1 + i % 5).to_string()),
            ("q.it-nps", &(i % 11).to_string()),
            ("q.enps", &(i % 11).to_string()),
            ("q.comment", "ok"),
        ])
        .finish();
    let reply = agent
        .post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body.as_bytes())
        .ok()?;
    Some(reply.status().as_u16())
}

/// SIGTERM in the middle of answering and sending: every submission answered 200 is
/// stored and sealed, every claimed mail is back in the queue, and the exit is 0.
fn sigterm_under_load_loses_nothing(db: TestDb) {
    use icsat::db::schema::mail_outbox;
    load_survey_for(&db, 160);
    // An SMTP server that accepts connections and never answers: the sender holds its
    // claims, with a delivery in flight, when the signal comes.
    let smtp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_url = format!("smtp+plain://{}", smtp.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for conn in smtp.incoming().take(4).flatten() {
            open.push(conn);
        }
        open
    });
    let defs = db.path("defs").display().to_string();
    let mut server = Server::start_logging(
        &db,
        &[
            ("ICSAT_DEFINITIONS", &defs),
            ("ICSAT_SMTP_URL", &smtp_url),
            ("ICSAT_SHUTDOWN_TIMEOUT", "6"),
            ("ICSAT_LOG", "info"),
        ],
        std::fs::File::create(db.path("serve.log")).unwrap(),
    );
    let tokens = open_wave_in(&db, "shutdown-wave");
    let handle = db.db();
    let claimed = || -> i64 {
        let mut conn = handle.get().unwrap();
        icsat::with_conn!(conn, c => mail_outbox::table
            .filter(mail_outbox::claimed_by.is_not_null())
            .count()
            .get_result(c))
        .unwrap()
    };
    let waited = Instant::now();
    while claimed() == 0 {
        assert!(
            waited.elapsed() < StdDuration::from_secs(30),
            "no mail was claimed"
        );
        std::thread::sleep(StdDuration::from_millis(50));
    }

    // Eight employees at a time answer; the signal comes once 40 are stored.
    let queue = std::sync::Arc::new(std::sync::Mutex::new(tokens.clone()));
    let saved = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (queue, saved, base) = (queue.clone(), saved.clone(), server.base_url.clone());
            std::thread::spawn(move || {
                let mut i = w;
                loop {
                    let Some(token) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    match try_answer(&base, &token, i) {
                        Some(200) => saved.lock().unwrap().push(token),
                        Some(status) => panic!("answered {status} before stopping"),
                        None => return,
                    }
                    i += 8;
                }
            })
        })
        .collect();
    while saved.lock().unwrap().len() < 40 {
        std::thread::sleep(StdDuration::from_millis(5));
    }
    let status = server.terminate();
    for worker in workers {
        worker.join().expect("a client thread");
    }
    let log = std::fs::read_to_string(db.path("serve.log")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "exit status; log:\n{log}");
    assert!(log.contains("shutting down"), "{log}");
    drop(held);

    let saved = saved.lock().unwrap().clone();
    assert!(saved.len() >= 40);
    let mut conn = handle.get().unwrap();
    for token in &saved {
        let invitation = icsat::responses::submit::find_by_token(&mut conn, token)
            .unwrap()
            .expect("the invitation");
        assert!(
            invitation.responded_on.is_some(),
            "a submission answered 200 was not stored"
        );
    }
    use icsat::db::schema::responses;
    let answered: i64 = icsat::with_conn!(conn, c => invitations::table
        .filter(invitations::responded_on.is_not_null())
        .count()
        .get_result(c))
    .unwrap();
    let sealed: i64 = icsat::with_conn!(conn, c => responses::table.count().get_result(c)).unwrap();
    assert_eq!(
        icsat::responses::inbox::waiting(&mut conn).unwrap(),
        0,
        "the inbox is sealed on the way out; log:\n{log}"
    );
    assert_eq!(sealed, answered, "one response per answered invitation");
    assert!(answered >= saved.len() as i64);
    let (leased, queued, total): (i64, i64, i64) = icsat::with_conn!(conn, c => (
        mail_outbox::table
            .filter(mail_outbox::claimed_by.is_not_null().or(mail_outbox::claimed_until.is_not_null()))
            .count()
            .get_result(c)
            .unwrap(),
        mail_outbox::table
            .filter(mail_outbox::status.eq("queued"))
            .count()
            .get_result(c)
            .unwrap(),
        mail_outbox::table.count().get_result(c).unwrap(),
    ));
    assert_eq!(leased, 0, "every claim is handed back");
    assert_eq!(
        queued, total,
        "nothing was sent through a server that never answered"
    );
}

/// The `/api/` routes `src/web/mod.rs` registers: (method, path pattern).
fn registered_api_routes() -> Vec<(String, String)> {
    let source =
        std::fs::read_to_string(crate::common::repo_root().join("src/web/mod.rs")).unwrap();
    source
        .split(".route(")
        .skip(1)
        .filter_map(|call| {
            let call = call
                .split(".service(")
                .next()
                .unwrap_or(call)
                .split(".default_service(")
                .next()
                .unwrap_or(call);
            let path = call.split('"').nth(1)?;
            let method = call.split("web::").nth(1)?.split('(').next()?;
            path.starts_with("/api/")
                .then(|| (method.to_string(), path.to_string()))
        })
        .collect()
}

/// Whether `value` has the shape `schema` describes (the parts of JSON Schema the
/// document uses: $ref, oneOf, type, const, required, properties, items).
fn conforms(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
) -> bool {
    use serde_json::Value;
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference
            .trim_start_matches("#/")
            .split('/')
            .fold(doc, |at, key| &at[key]);
        assert!(!target.is_null(), "{reference} resolves to nothing");
        return conforms(doc, target, value);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        return options.iter().any(|o| conforms(doc, o, value));
    }
    if let Some(constant) = schema.get("const") {
        return constant == value;
    }
    let type_ok = |name: &str| match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("type {other} not checked"),
    };
    match schema.get("type") {
        Some(Value::String(name)) if !type_ok(name) => return false,
        Some(Value::Array(names)) if !names.iter().filter_map(Value::as_str).any(type_ok) => {
            return false
        }
        _ => {}
    }
    if let (Some(required), Some(object)) = (
        schema.get("required").and_then(Value::as_array),
        value.as_object(),
    ) {
        if !required
            .iter()
            .filter_map(Value::as_str)
            .all(|key| object.contains_key(key))
        {
            return false;
        }
    }
    if let (Some(properties), Some(object)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (key, property) in properties {
            if let Some(v) = object.get(key) {
                if !conforms(doc, property, v) {
                    return false;
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        return array.iter().all(|item| conforms(doc, items, item));
    }
    true
}

fn openapi_documents_every_json_route(db: TestDb) {
    let fixture = crate::access::fixture(&db);
    let server = &fixture.server;
    let (status, body, headers) = server.get("/api/openapi.json");
    assert_eq!(status, 200);
    assert!(headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let doc: serde_json::Value = serde_json::from_str(&body).expect("the document is JSON");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1."));

    // Every /api/ route the app registers is documented, and nothing else is.
    let mut registered = registered_api_routes();
    registered.sort();
    assert!(registered.len() >= 6, "{registered:?}");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .expect("operations")
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    documented.sort();
    assert_eq!(
        documented, registered,
        "documented vs registered /api/ routes"
    );

    // Each documented route answers a status it documents: 200 with the documented
    // shape for an admin, 401 without a session, 403 for a head asking for another
    // department, 404 for a survey that does not exist.
    let fill = |path: &str, survey: &str| {
        path.replace("{survey}", survey)
            .replace("{label}", crate::access::WAVE)
            .replace("{id}", crate::access::SERVICE)
    };
    for (method, path) in &documented {
        // Writes (the actions') are called with their bodies in tests/it/closing.rs.
        if method != "get" {
            continue;
        }
        let operation = &doc["paths"][path.as_str()]["get"];
        let responses = operation["responses"].as_object().expect("responses");
        let documents = |status: u16| responses.contains_key(&status.to_string());
        let call = |url: &str, session: &str| {
            let reply = server.get_with(url, session);
            assert!(
                documents(reply.status),
                "{url} answered {} which {path} does not document",
                reply.status
            );
            reply
        };
        let url = fill(path, "pulse");
        let reply = call(&url, &fixture.admin);
        assert_eq!(reply.status, 200, "{url}: {}", reply.body);
        let value: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
        let schema = &responses["200"]["content"]["application/json"]["schema"];
        assert!(conforms(&doc, schema, &value), "{url}: {value}");
        let public = operation["security"].as_array().is_some_and(Vec::is_empty);
        if public {
            continue;
        }
        assert_eq!(call(&url, "").status, 401, "{url}");
        let params = operation["parameters"].to_string();
        if params.contains("parameters/department") {
            let other = format!("{url}?department=Sales");
            assert_eq!(call(&other, &fixture.head_b).status, 403, "{other}");
        }
        if path.contains("{survey}") {
            let missing = fill(path, "no-such-survey");
            assert_eq!(call(&missing, &fixture.admin).status, 404, "{missing}");
        }
        if path.contains("{id}") {
            let missing = path.replace("{id}", "no-such-service");
            assert_eq!(call(&missing, &fixture.admin).status, 404, "{missing}");
        }
    }
    let (status, body, _) = server.get("/api/no/such/route");
    assert_eq!(status, 404);
    assert!(body.contains("\"error\""));
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

crate::on_both_backends!(
    metrics_families_move_under_load,
    metrics_can_be_turned_off,
    health_and_readiness,
    json_logs_carry_request_ids_and_no_tokens,
    sigterm_under_load_loses_nothing,
    openapi_documents_every_json_route,
);
