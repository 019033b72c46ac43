//! `icsat demo`: a small company built through the real code paths; its reports show
//! hidden departments and significant trends, and one wave is open.

use crate::common::{CommandOutput, TestDb};

fn json(out: &CommandOutput) -> serde_json::Value {
    out.assert_ok();
    serde_json::from_str(&out.stdout()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout()))
}

fn a_small_demo_has_history(db: TestDb) {
    let built = db.icsat(&["demo", "--employees", "300", "--no-serve"]);
    built.assert_ok();
    let text = built.stdout();
    assert!(text.contains("Demo built in"), "{text}");
    assert!(text.contains("admin@demo.example"), "{text}");
    assert!(text.contains("head of Finance & Administration"), "{text}");

    // A department too small to be shown, next to shown ones.
    let report = json(&db.icsat(&["report", "internal-services", "--format", "json"]));
    let groups = report["groups"].as_array().unwrap();
    assert!(groups.len() >= 20, "{report}");
    let legal = groups.iter().find(|g| g["department"] == "Legal").unwrap();
    assert_eq!(
        legal,
        &serde_json::json!({"department": "Legal", "suppressed": true})
    );
    assert!(groups.iter().filter(|g| g["suppressed"] == false).count() > 10);
    assert!(
        groups[0]["respondents"].as_u64().unwrap() > 100,
        "{}",
        groups[0]
    );

    // IT improves and Facilities declines, significantly, from year to year.
    let trend = json(&db.icsat(&["trend", "internal-services", "--format", "json"]));
    assert_eq!(
        trend["waves"].as_array().unwrap().len(),
        3,
        "{}",
        trend["waves"]
    );
    let significant = |prefix: &str, rising: bool| {
        trend["questions"].as_array().unwrap().iter().any(|q| {
            q["id"].as_str().unwrap().starts_with(prefix)
                && q["waves"].as_array().unwrap().iter().any(|p| {
                    let c = &p["change"]["favorable"];
                    c["significant"] == true && (c["delta"].as_f64().unwrap() > 0.0) == rising
                })
        })
    };
    assert!(significant("it-", true), "IT improves");
    assert!(significant("facilities-", false), "Facilities declines");

    // One wave is open, with some of its invitations unanswered; the others are closed.
    let waves = db.icsat(&["wave", "list"]);
    waves.assert_ok();
    let listing = waves.stdout();
    let open: Vec<&str> = listing.lines().filter(|l| l.contains(" open ")).collect();
    assert_eq!(open.len(), 1, "{listing}");
    assert!(open[0].contains("it-pulse"), "{}", open[0]);

    // HR's screens: the dashboard starts with the open wave; the annual survey's heatmap
    // groups its columns by service, with the definition's short labels, and names the
    // whole company once.
    let server = crate::common::Server::start(&db);
    // The loop closed: the last annual survey is published, with its actions beside the
    // results; the printed link is an employee's.
    let heard = text
        .lines()
        .find_map(|l| l.find("/heard/").map(|at| l[at..].trim().to_string()))
        .expect("an employee's What we heard link");
    let (status, page, _) = server.get(&heard);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("What we heard: Internal services survey"));
    assert!(page.contains("IT is doing:"), "IT's actions beside IT");
    assert!(
        page.contains("status dropped"),
        "Facilities' dropped action"
    );
    let actions = db.icsat(&["action", "list", "internal-services", "--format", "json"]);
    let actions: serde_json::Value = serde_json::from_str(&actions.stdout()).unwrap();
    assert!(actions.as_array().unwrap().len() >= 15, "{actions}");
    let session = crate::common::sign_in_with_link(
        &server,
        &crate::common::link_for(&db, &server, "admin@demo.example"),
    );
    // HR's follow-up: what was done since the wave before, beside what moved.
    let follow = server.get_with("/admin/surveys/internal-services/follow-up", &session);
    assert_eq!(follow.status, 200, "{}", follow.body);
    assert!(
        follow.body.contains("Areas without an action"),
        "{}",
        follow.body
    );
    assert!(
        follow.body.contains("Outage notices by text message"),
        "{}",
        follow.body
    );
    assert!(
        follow.body.contains("since the wave before"),
        "{}",
        follow.body
    );
    let dashboard = server.get_with("/admin", &session).body;
    let now = dashboard
        .find("<h2 id=\"now-h\">Now</h2>")
        .expect("a Now section");
    let surveys = dashboard.find("<h2>Surveys</h2>").expect("the surveys");
    let open_wave = dashboard
        .find("/admin/surveys/it-pulse/waves/")
        .expect("the open wave");
    assert!(now < open_wave && open_wave < surveys, "{dashboard}");
    assert!(dashboard.contains("% answered"), "{dashboard}");
    // One time zone on the dashboard: the surveys' own, named, as in their emails.
    assert!(!dashboard.contains(" UTC<"), "{dashboard}");
    assert!(
        dashboard.contains(" CET<") || dashboard.contains(" CEST<"),
        "{dashboard}"
    );
    let latest = trend["waves"].as_array().unwrap().last().unwrap()["wave"]
        .as_str()
        .unwrap()
        .to_string();
    let page = server
        .get_with(
            &format!("/admin/surveys/internal-services/waves/{latest}"),
            &session,
        )
        .body;
    assert!(
        page.contains(
            "<th scope=\"colgroup\" colspan=\"5\" class=\"section\">Human Resources</th>"
        ),
        "sections over the columns"
    );
    assert!(page.contains("<span class=\"sub\">Response time</span>"));
    assert!(
        page.contains("Whole company ("),
        "the top department folded in"
    );

    // The answers come from a seeded generator; a database given explicitly must be
    // empty, so a second run is refused.
    let again = db.icsat(&["demo", "--employees", "300", "--no-serve"]);
    again.assert_fails(1);
    assert!(
        again.stderr().contains("needs an empty database"),
        "{}",
        again.stderr()
    );
}

crate::on_both_backends!(a_small_demo_has_history);

/// Without a configured database the demo builds icsat-demo.db in the current folder,
/// fresh each time.
#[test]
fn the_default_demo_file_is_rebuilt() {
    let db = TestDb::sqlite();
    for _ in 0..2 {
        let out = CommandOutput(
            db.command(&["demo", "--employees", "60", "--no-serve"])
                .env_remove("ICSAT_DATABASE_URL")
                .output()
                .unwrap(),
        );
        out.assert_ok();
        assert!(out.stderr().contains("icsat-demo.db"), "{}", out.stderr());
    }
    assert!(db.path("icsat-demo.db").is_file());
}

/// An installed binary has no definitions folder beside it: the demo uses the shipped
/// definitions compiled in, from any folder.
#[test]
fn the_demo_runs_from_a_folder_without_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icsat"))
        .args(["demo", "--employees", "40", "--no-serve"])
        .current_dir(dir.path())
        .env_remove("ICSAT_DATABASE_URL")
        .env_remove("ICSAT_DEFINITIONS")
        .env_remove("ICSAT_CONFIG")
        .env_remove("ICSAT_SMTP_URL")
        .output()
        .unwrap();
    let out = CommandOutput(out);
    out.assert_ok();
    assert!(out.stdout().contains("Demo built in"), "{}", out.stdout());
    assert!(out.stderr().contains("shipped"), "{}", out.stderr());
    assert!(dir.path().join("icsat-demo.db").is_file());
    assert!(dir
        .path()
        .join("icsat-demo-definitions/internal-services.toml")
        .is_file());
}
