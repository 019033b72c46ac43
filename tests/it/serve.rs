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
    // Each survey file, and the feedback survey of each catalogue service with a plan.
    let files = std::fs::read_dir(crate::common::definitions_dir())
        .unwrap()
        .count() as i64;
    let catalogue =
        std::fs::read_to_string(crate::common::definitions_dir().join("services.toml")).unwrap();
    let feedback = catalogue
        .lines()
        .filter(|l| l.starts_with("feedback ="))
        .count() as i64;
    let shipped = files - 1 + feedback;
    assert_eq!(
        versions, shipped,
        "a restart must not store the same definitions again"
    );
}

/// One broken definition file: `serve` starts anyway with the others, says what is
/// wrong in its log and on HR's dashboard, and the broken survey keeps its stored
/// version.
fn a_broken_definition_leaves_the_others_served(db: TestDb) {
    let folder = db.path("defs");
    std::fs::create_dir(&folder).unwrap();
    for entry in std::fs::read_dir(crate::common::definitions_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
    }
    // Stored once intact, then broken.
    drop(Server::start_with(
        &db,
        &[("ICSAT_DEFINITIONS", folder.to_str().unwrap())],
    ));
    let victim = folder.join("enps-pulse.toml");
    let text = std::fs::read_to_string(&victim).unwrap();
    std::fs::write(
        &victim,
        text.replacen("type = \"enps\"", "type = \"enpss\"", 1),
    )
    .unwrap();
    db.icsat(&["user", "add", "hr@x.io", "--role", "admin"])
        .assert_ok();
    let log = std::fs::File::create(db.path("serve.log")).unwrap();
    let server =
        Server::start_logging(&db, &[("ICSAT_DEFINITIONS", folder.to_str().unwrap())], log);
    let session = crate::common::sign_in_with_link(
        &server,
        &crate::common::link_for(&db, &server, "hr@x.io"),
    );
    let dashboard = server.get_with("/admin", &session);
    assert_eq!(dashboard.status, 200);
    assert!(
        dashboard
            .body
            .contains("1 problem in the survey definitions")
            && dashboard.body.contains("enps-pulse.toml:"),
        "{}",
        dashboard.body
    );
    // Every shipped survey is still listed: the broken one with its stored version.
    for entry in std::fs::read_dir(crate::common::definitions_dir()).unwrap() {
        let name = entry.unwrap().path();
        let slug = name.file_stem().unwrap().to_str().unwrap().to_string();
        if slug == "services" {
            continue; // the service catalogue, not a survey
        }
        assert!(
            dashboard
                .body
                .contains(&format!("<span class=\"sub\">{slug}</span>")),
            "{slug} missing"
        );
    }
    let logged = std::fs::read_to_string(db.path("serve.log")).unwrap();
    assert!(logged.contains("enps-pulse.toml:"), "{logged}");
}

crate::on_both_backends!(
    a_broken_definition_leaves_the_others_served,
    healthz_answers_when_the_database_does,
    serve_stores_each_definition_once
);
