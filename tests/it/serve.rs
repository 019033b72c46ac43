//! `icsat serve`: the real server on a random port.

use crate::common::{Server, TestDb};

fn healthz_answers_when_the_database_does(db: TestDb) {
    let server = Server::start(&db);
    let (status, body, headers) = server.get("/healthz");
    assert_eq!(status, 200);
    assert_eq!(body, "ok\n");
    assert_eq!(
        headers.get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    assert_eq!(
        headers.get("x-frame-options").and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    assert!(headers.get("content-security-policy").is_some());
    let (status, body, _) = server.get("/no/such/page");
    assert_eq!(status, 404);
    assert!(body.contains("Not found"));
}

fn serve_stores_each_definition_once(db: TestDb) {
    drop(Server::start(&db));
    drop(Server::start(&db));
    use diesel::prelude::*;
    use icsat::db::schema::survey_versions;
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let versions: i64 =
        icsat::with_conn!(conn, c => survey_versions::table.count().get_result(c)).unwrap();
    let shipped = std::fs::read_dir(crate::common::definitions_dir())
        .unwrap()
        .count() as i64;
    assert_eq!(
        versions, shipped,
        "a restart must not store the same definitions again"
    );
}

crate::on_both_backends!(
    healthz_answers_when_the_database_does,
    serve_stores_each_definition_once
);
