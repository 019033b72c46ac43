//! Who may read what: every page, JSON route and CSV download, for each role, with
//! tampered departments in paths, query strings and forms; and no output of any kind
//! carries a figure or comment of a suppressed group, or an unescaped comment.

use crate::common::{link_for, sign_in_with_link, CommandOutput, Server, TestDb};
use crate::responses::PULSE;

const DEPARTMENTS: &str = "department,parent,head_email\n\
    Company,,\nIT,Company,it-head@x.io\nHR,Company,hr-head@x.io\nSales,Company,sales-head@x.io\n\
    Sales North,Sales,\nSales South,Sales,\n";

/// Respondents per department: Sales North (3) is under the threshold of 5, and Sales
/// South is hidden with it (Sales minus Sales South would reveal Sales North).
const SIZES: [(&str, usize); 5] = [
    ("IT", 24),
    ("HR", 9),
    ("Sales", 0),
    ("Sales North", 3),
    ("Sales South", 7),
];

pub const SCRIPT_COMMENT: &str = "<script>alert('x')</script> laptops are slow";
pub const NORTH_SECRET: &str = "SECRET-NORTH-ONLY";

fn wave_csv(seed: u64, shift: i64) -> String {
    crate::common::pulse_answers_csv(&SIZES, seed, shift, |department, i| match (department, i) {
        ("IT", 0) => format!("\"{}\"", SCRIPT_COMMENT.replace('"', "\"\"")),
        ("Sales North", 0) => NORTH_SECRET.to_string(),
        (_, i) if i % 4 == 1 => format!("note {department} {i}"),
        _ => String::new(),
    })
}

pub struct Fixture {
    pub server: Server,
    pub admin: String,
    /// Head of Sales (A), of HR (B), and of IT (a service department).
    pub head_a: String,
    pub head_b: String,
    pub head_s: String,
}

pub const WAVE: &str = "2026-03-01";
/// The service of the catalogue `prepare_results` writes.
pub const SERVICE: &str = "it";

/// The tree with heads, the pulse survey with two imported waves, an admin, and the
/// server; signs everyone in.
pub fn fixture(db: &TestDb) -> Fixture {
    fixture_on(db, &prepare_results(db))
}

/// [`fixture`] on a database [`prepare_results`] made, serving the definitions in `defs`.
pub fn fixture_on(db: &TestDb, defs: &str) -> Fixture {
    let server = Server::start_with(db, &[("ICSAT_DEFINITIONS", defs)]);
    let session = |email: &str| sign_in_with_link(&server, &link_for(db, &server, email));
    Fixture {
        admin: session("admin@x.io"),
        // Heads named in the departments file got their accounts on import.
        head_a: session("sales-head@x.io"),
        head_b: session("hr-head@x.io"),
        head_s: session("it-head@x.io"),
        server,
    }
}

/// The tree with heads, the pulse survey with two imported waves, an admin account,
/// and the running server.
pub fn serve_results(db: &TestDb) -> Server {
    let defs = prepare_results(db);
    Server::start_with(db, &[("ICSAT_DEFINITIONS", &defs)])
}

/// [`serve_results`] without the server; returns the definitions folder.
pub fn prepare_results(db: &TestDb) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("pulse.toml"), PULSE).unwrap();
    // The pulse's `about = "IT"` finds this entry by its id.
    std::fs::write(
        defs.join("services.toml"),
        format!("[[service]]\nid = \"{SERVICE}\"\nname = \"IT\"\nprovider = \"IT\"\n"),
    )
    .unwrap();
    let departments = db.write("departments.csv", DEPARTMENTS);
    let roster = db.write("roster.csv", "email,name,department\na@x.io,A,IT\n");
    let defs = defs.display().to_string();
    let run = |args: &[&str]| {
        CommandOutput(
            db.command(args)
                .env("ICSAT_DEFINITIONS", &defs)
                .output()
                .unwrap(),
        )
    };
    run(&[
        "roster",
        "import",
        roster.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
    ])
    .assert_ok();
    for (label, seed, shift) in [("2025-03-01", 7, 0), (WAVE, 11, 1)] {
        let file = db.write(&format!("{label}.csv"), wave_csv(seed, shift));
        run(&[
            "responses",
            "import",
            "pulse",
            "--wave",
            label,
            file.to_str().unwrap(),
        ])
        .assert_ok();
    }
    run(&["user", "add", "admin@x.io", "--role", "admin"]).assert_ok();
    defs
}

/// 200 allowed, 403 refused, 404 unknown; anonymous: 303 (pages) or 401.
const ALLOW: u16 = 200;
const DENY: u16 = 403;

fn access_matrix(db: TestDb) {
    let f = fixture(&db);
    let w = WAVE;
    let csv = |q: &str| format!("/results/pulse/waves/{w}/summary.csv{q}");
    let report = |q: &str| format!("/api/surveys/pulse/waves/{w}/report{q}");
    let comments = |q: &str| format!("/api/surveys/pulse/waves/{w}/comments{q}");
    // (path, anonymous, admin, head of Sales, head of HR, head of IT)
    let cases: Vec<(String, u16, [u16; 4])> = vec![
        ("/admin".into(), 303, [ALLOW, DENY, DENY, DENY]),
        (
            format!("/admin/surveys/pulse/waves/{w}"),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        (
            format!("/admin/surveys/pulse/waves/{w}?department=Sales"),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        (
            "/admin/surveys/pulse/trend".into(),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        (
            "/admin/surveys/pulse/trend?department=HR".into(),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        ("/results".into(), 303, [ALLOW; 4]),
        ("/results/pulse".into(), 303, [ALLOW; 4]),
        (
            "/results/pulse?department=Sales".into(),
            303,
            [ALLOW, ALLOW, DENY, DENY],
        ),
        (
            "/results/pulse?department=Sales%20North".into(),
            303,
            [ALLOW, ALLOW, DENY, DENY],
        ),
        (
            "/results/pulse?department=HR".into(),
            303,
            [ALLOW, DENY, ALLOW, DENY],
        ),
        (
            "/results/pulse?department=IT".into(),
            303,
            [ALLOW, DENY, DENY, ALLOW],
        ),
        (
            "/results/pulse?department=Company".into(),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        (
            "/results/pulse?department=Nowhere".into(),
            303,
            [404, DENY, DENY, DENY],
        ),
        (
            "/results/pulse?wave=2025-03-01&department=HR".into(),
            303,
            [ALLOW, DENY, ALLOW, DENY],
        ),
        ("/results/nosuchsurvey".into(), 303, [404, 404, 404, 404]),
        (csv(""), 401, [ALLOW; 4]),
        (csv("?department=Sales"), 401, [ALLOW, ALLOW, DENY, DENY]),
        (csv("?department=HR"), 401, [ALLOW, DENY, ALLOW, DENY]),
        (csv("?department=Company"), 401, [ALLOW, DENY, DENY, DENY]),
        ("/api/surveys".into(), 401, [ALLOW; 4]),
        ("/api/surveys/pulse/waves".into(), 401, [ALLOW; 4]),
        (report(""), 401, [ALLOW; 4]),
        (
            report("?department=Sales%20South"),
            401,
            [ALLOW, ALLOW, DENY, DENY],
        ),
        (report("?department=HR"), 401, [ALLOW, DENY, ALLOW, DENY]),
        (report("?department=IT"), 401, [ALLOW, DENY, DENY, ALLOW]),
        (report("?department=Nowhere"), 401, [404, DENY, DENY, DENY]),
        (comments("?department=HR"), 401, [ALLOW, DENY, ALLOW, DENY]),
        (comments(""), 401, [ALLOW; 4]),
        ("/api/surveys/pulse/trend".into(), 401, [ALLOW; 4]),
        (
            "/api/surveys/pulse/trend?company=true".into(),
            401,
            [ALLOW; 4],
        ),
        (
            "/api/surveys/pulse/trend?department=IT".into(),
            401,
            [ALLOW, DENY, DENY, ALLOW],
        ),
        (
            "/api/surveys/pulse/trend?department=Sales%20North".into(),
            401,
            [ALLOW, ALLOW, DENY, DENY],
        ),
        // Closing the loop: the published page (HR: any department; a head: their own),
        // HR's preview, the actions.
        (format!("/results/pulse/waves/{w}/heard"), 303, [ALLOW; 4]),
        (
            format!("/results/pulse/waves/{w}/heard?department=HR"),
            303,
            [ALLOW, DENY, ALLOW, DENY],
        ),
        (
            format!("/results/pulse/waves/{w}/heard?department=Sales%20North"),
            303,
            [ALLOW, ALLOW, DENY, DENY],
        ),
        (
            format!("/admin/surveys/pulse/waves/{w}/heard"),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        ("/results/pulse/actions".into(), 303, [ALLOW; 4]),
        (
            "/admin/surveys/pulse/follow-up".into(),
            303,
            [ALLOW, DENY, DENY, DENY],
        ),
        ("/api/actions".into(), 401, [ALLOW; 4]),
        ("/api/actions?survey=pulse".into(), 401, [ALLOW; 4]),
        ("/heard/no-such-link".into(), 404, [404; 4]),
    ];
    // The wave's results are published for the rows above.
    db.icsat(&["results", "publish", &format!("pulse/{w}")])
        .assert_ok();
    let sessions = [&f.admin, &f.head_a, &f.head_b, &f.head_s];
    let roles = ["admin", "head of Sales", "head of HR", "head of IT"];
    let mut wrong = Vec::new();
    for (path, anonymous, expected) in &cases {
        let got = f.server.get_with(path, "");
        if got.status != *anonymous {
            wrong.push(format!(
                "anonymous {path}: {} (expected {anonymous})",
                got.status
            ));
        }
        if *anonymous == 303 && got.location().as_deref() != Some("/login") {
            wrong.push(format!("anonymous {path}: not sent to /login"));
        }
        if path.starts_with("/api/") {
            assert!(
                serde_json::from_str::<serde_json::Value>(&got.body).is_ok(),
                "{path}: JSON 401"
            );
        }
        // A made-up session is no session.
        let forged = f
            .server
            .get_with(path, &format!("icsat_session={}", "A".repeat(43)));
        assert_eq!(forged.status, *anonymous, "forged session on {path}");
        for ((session, role), expect) in sessions.iter().zip(roles).zip(expected) {
            let got = f.server.get_with(path, session);
            if got.status != *expect {
                wrong.push(format!("{role} {path}: {} (expected {expect})", got.status));
            }
            if got.status == DENY {
                assert!(
                    !got.body.contains("it-fast"),
                    "a refusal carries no figures"
                );
            }
        }
    }
    assert!(wrong.is_empty(), "access matrix:\n{}", wrong.join("\n"));

    // Forms: resend needs an admin and the session's CSRF token.
    for session in [&f.head_a, &f.head_b, &f.head_s] {
        let got = f
            .server
            .post_form_with("/admin/mail/1/resend", session, &[("csrf", "x")]);
        assert_eq!(got.status, DENY);
    }
    let got = f.server.post_form_with("/admin/mail/1/resend", "", &[]);
    assert_eq!(got.status, 303);
    let got = f
        .server
        .post_form_with("/admin/mail/1/resend", &f.admin, &[("csrf", "wrong")]);
    assert_eq!(got.status, DENY, "admin without the CSRF token");

    // Publishing and unpublishing: HR only, with the token.
    for action in ["publish", "unpublish"] {
        let path = format!("/admin/surveys/pulse/waves/{w}/{action}");
        for session in [&f.head_a, &f.head_b, &f.head_s] {
            let csrf = crate::common::csrf_field(
                &f.server.get_with("/results/pulse/actions", session).body,
            );
            let got = f.server.post_form_with(&path, session, &[("csrf", &csrf)]);
            assert_eq!(got.status, DENY, "{path}");
        }
        assert_eq!(f.server.post_form_with(&path, "", &[]).status, 303);
        let got = f
            .server
            .post_form_with(&path, &f.admin, &[("csrf", "wrong")]);
        assert_eq!(got.status, DENY, "{path} without the CSRF token");
    }
}

fn json(server: &Server, path: &str, session: &str) -> serde_json::Value {
    let got = server.get_with(path, session);
    assert_eq!(got.status, 200, "{path}: {}", got.body);
    serde_json::from_str(&got.body).unwrap()
}

fn group_names(report: &serde_json::Value) -> Vec<Option<String>> {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["department"].as_str().map(str::to_string))
        .collect()
}

fn reports_are_cut_to_rights(db: TestDb) {
    let f = fixture(&db);
    let path = format!("/api/surveys/pulse/waves/{WAVE}/report");
    let some = |names: &[&str]| -> Vec<Option<String>> {
        std::iter::once(None)
            .chain(names.iter().map(|n| Some(n.to_string())))
            .collect()
    };
    let admin = json(&f.server, &path, &f.admin);
    assert_eq!(
        group_names(&admin),
        some(&["Company", "HR", "IT", "Sales", "Sales North", "Sales South"])
    );
    let head_a = json(&f.server, &path, &f.head_a);
    assert_eq!(
        group_names(&head_a),
        some(&["Sales", "Sales North", "Sales South"])
    );
    assert_eq!(
        head_a["service_ratings"],
        serde_json::json!([]),
        "Sales provides no service"
    );
    let head_b = json(&f.server, &path, &f.head_b);
    assert_eq!(group_names(&head_b), some(&["HR"]));
    let head_s = json(&f.server, &path, &f.head_s);
    assert_eq!(group_names(&head_s), some(&["IT"]));
    let ratings = &head_s["service_ratings"][0];
    assert_eq!(ratings["service"], "IT");
    let sales = ratings["by_department"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["department"] == "Sales")
        .unwrap();
    assert_eq!(sales["suppressed"], false, "how Sales rates IT: {sales}");
    assert!(sales["satisfaction"].is_number());
    // Only the service: none of Sales' other figures.
    assert!(sales.get("questions").is_none() && sales.get("respondents").is_none());
    for hidden in ["Sales North", "Sales South"] {
        let r = ratings["by_department"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["department"] == hidden)
            .unwrap();
        assert_eq!(
            r,
            &serde_json::json!({"department": hidden, "suppressed": true})
        );
    }
    // The head of Sales' CSV holds their subtree and the company, nothing else.
    let csv = f.server.get_with(
        &format!("/results/pulse/waves/{WAVE}/summary.csv"),
        &f.head_a,
    );
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-disposition").starts_with("attachment;"));
    assert!(csv.header("content-type").starts_with("text/csv"));
    let firsts: std::collections::BTreeSet<String> = csv
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap_or("").to_string())
        .collect();
    let allowed: std::collections::BTreeSet<String> = ["", "Sales", "Sales North", "Sales South"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(firsts.is_subset(&allowed), "CSV groups: {firsts:?}");
}

/// Every output a role can get, for a hidden group: suppressed, no figures, no comment.
fn suppressed_groups_show_nothing(db: TestDb) {
    let f = fixture(&db);
    for (session, department) in [
        (&f.admin, "Sales%20North"),
        (&f.head_a, "Sales%20North"),
        (&f.admin, "Sales%20South"),
        (&f.head_a, "Sales%20South"),
    ] {
        let q = format!("?department={department}");
        let report = json(
            &f.server,
            &format!("/api/surveys/pulse/waves/{WAVE}/report{q}"),
            session,
        );
        let hidden = report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["department"].as_str().is_some())
            .unwrap();
        assert_eq!(hidden.as_object().unwrap().len(), 2, "{hidden}");
        assert_eq!(hidden["suppressed"], true);
        let comments = json(
            &f.server,
            &format!("/api/surveys/pulse/waves/{WAVE}/comments{q}"),
            session,
        );
        assert_eq!(comments["shown"], false);
        assert_eq!(comments["comments"], serde_json::json!([]));
        let trend = json(&f.server, &format!("/api/surveys/pulse/trend{q}"), session);
        for wave in trend["waves"].as_array().unwrap() {
            assert_eq!(wave["suppressed"], true);
            assert!(wave["respondents"].is_null());
        }
        let page = f.server.get_with(&format!("/results/pulse{q}"), session);
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(NORTH_SECRET));
        assert!(page.body.contains("fewer than 5"));
        let csv = f.server.get_with(
            &format!("/results/pulse/waves/{WAVE}/summary.csv{q}"),
            session,
        );
        for line in csv
            .body
            .lines()
            .filter(|l| l.starts_with("Sales North") || l.starts_with("Sales South"))
        {
            assert!(line.contains("true"), "a hidden group's CSV row: {line}");
            assert!(
                !line.chars().any(|c| c.is_ascii_digit()),
                "a figure in {line}"
            );
        }
    }
    // Nowhere is a comment attributed to a department under the comment threshold.
    for session in [&f.admin, &f.head_a] {
        for path in [
            format!("/api/surveys/pulse/waves/{WAVE}/comments"),
            format!("/api/surveys/pulse/waves/{WAVE}/comments?department=Sales"),
        ] {
            let got = f.server.get_with(&path, session);
            if got.status != 200 {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&got.body).unwrap();
            for c in v["comments"].as_array().unwrap() {
                assert!(
                    c["department"].is_null() || c["department"] == "IT",
                    "comment attributed to a small group: {c}"
                );
            }
        }
    }
    // HR (9) is under the comment threshold of 10: its head sees figures, no comments.
    let hr = json(
        &f.server,
        &format!("/api/surveys/pulse/waves/{WAVE}/comments"),
        &f.head_b,
    );
    assert_eq!(hr["shown"], false);
    let page = f.server.get_with("/results/pulse", &f.head_b);
    assert!(page
        .body
        .contains("Comments are shown only for groups of at least 10"));
    assert!(!page.body.contains("note HR"));
}

fn comments_are_escaped_everywhere(db: TestDb) {
    let f = fixture(&db);
    let pages = [
        (format!("/admin/surveys/pulse/waves/{WAVE}"), &f.admin),
        (
            format!("/admin/surveys/pulse/waves/{WAVE}?department=IT"),
            &f.admin,
        ),
        ("/results/pulse?department=IT".to_string(), &f.admin),
        ("/results/pulse".to_string(), &f.head_s),
    ];
    for (path, session) in pages {
        let got = f.server.get_with(&path, session);
        assert_eq!(got.status, 200, "{path}");
        assert!(!got.body.contains("<script"), "{path} carries a script tag");
        assert!(
            got.body.contains(
                "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt; laptops are slow"
            ),
            "{path} shows the comment escaped"
        );
    }
    let api = json(
        &f.server,
        &format!("/api/surveys/pulse/waves/{WAVE}/comments?department=IT"),
        &f.head_s,
    );
    assert!(api["comments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["text"] == SCRIPT_COMMENT));
    let got = f.server.get_with("/results/pulse", &f.head_s);
    assert!(got
        .header("content-security-policy")
        .contains("default-src 'none'"));
}

fn pages_show_heatmaps_trends_and_rates(db: TestDb) {
    let f = fixture(&db);
    let dashboard = f.server.get_with("/admin", &f.admin);
    assert!(dashboard.body.contains("Quarterly pulse"));
    assert!(dashboard.body.contains(WAVE));
    let wave = f
        .server
        .get_with(&format!("/admin/surveys/pulse/waves/{WAVE}"), &f.admin);
    for expected in [
        "Scores by department",
        "class=\"heatmap\"",
        "fewer than 5",
        "How departments rate IT",
        "eNPS",
        "Response rate",
        "Mail that could not be delivered",
        "Key drivers of eNPS",
        "<svg class=\"chart\"",
    ] {
        assert!(wave.body.contains(expected), "wave page lacks {expected}");
    }
    // Ranked by a column: highest first under the whole company, hidden rows last.
    let ranked = f.server.get_with(
        &format!("/admin/surveys/pulse/waves/{WAVE}?sort=it-fast"),
        &f.admin,
    );
    assert!(ranked.body.contains("aria-sort=\"descending\""));
    assert!(ranked.body.contains("in tree order"));
    let table = ranked
        .body
        .split("<table class=\"heatmap\">")
        .nth(1)
        .unwrap();
    let table = table.split("</table>").next().unwrap();
    let firsts: Vec<f64> = table
        .split("<tr><th scope=\"row\"")
        .skip(2)
        .filter_map(|row| {
            let cell = row.split("<td class=\"").nth(1)?;
            let text = cell.split('>').nth(1)?.split('<').next()?;
            text.trim_end_matches('%').parse().ok()
        })
        .collect();
    assert!(firsts.len() >= 2, "{table}");
    assert!(firsts.windows(2).all(|w| w[0] >= w[1]), "{firsts:?}");
    let trend = f.server.get_with("/admin/surveys/pulse/trend", &f.admin);
    assert!(trend.body.contains("<title id=\"trend-0-t\">"));
    assert!(trend.body.contains("<desc id=\"trend-0-d\">"));
    assert!(
        trend.body.contains("<table class=\"data\">"),
        "data table fallback"
    );
    assert!(trend.body.contains("<th scope=\"row\">2025-03-01</th>"));
    assert!(trend
        .body
        .contains("<option value=\"12\" selected>the last 12 waves"));
    let latest = f
        .server
        .get_with("/admin/surveys/pulse/trend?waves=1", &f.admin);
    assert!(latest
        .body
        .contains(&format!("<th scope=\"row\">{WAVE}</th>")));
    assert!(
        !latest.body.contains("<th scope=\"row\">2025-03-01</th>"),
        "only the latest wave"
    );
    let all = f
        .server
        .get_with("/admin/surveys/pulse/trend?waves=all", &f.admin);
    assert!(all
        .body
        .contains("<option value=\"all\" selected>all waves"));
    let head = f.server.get_with("/results/pulse", &f.head_a);
    assert!(head.body.contains("Sales"));
    assert!(head.body.contains("Whole company"));
    assert!(!head.body.contains(">HR<"), "another department's row");
    assert!(head.body.contains("Trends in Sales"));
    let it = f.server.get_with("/results/pulse", &f.head_s);
    assert!(it.body.contains("How departments rate IT"));
}

/// One CSV format: the web download is the file `icsat export` writes, read by Python's
/// csv module; a choice question has a row per option; the wave page shows its bars.
fn the_web_csv_is_the_export(db: TestDb) {
    let f = fixture(&db);
    let web = f.server.get_with(
        &format!("/results/pulse/waves/{WAVE}/summary.csv"),
        &f.admin,
    );
    assert_eq!(web.status, 200);
    let web_path = db.write("web.csv", web.body.as_bytes());
    let cli = db.path("cli.csv");
    db.icsat(&[
        "export",
        "pulse",
        "--wave",
        WAVE,
        "-o",
        cli.to_str().unwrap(),
    ])
    .assert_ok();
    let script = r#"
import csv, sys
def rows(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))
web, cli = rows(sys.argv[1]), rows(sys.argv[2])
assert web == cli, "the web CSV differs from icsat export"
header = web[0]
assert header[-3:] == ["question_text", "option", "share"], header
options = [r for r in web[1:] if r[header.index("question")] == "channel" and r[header.index("option")]]
assert {r[header.index("option")] for r in options} >= {"Email", "Chat"}, options
for r in web[1:]:
    for name in ("mean", "favorable"):
        cell = r[header.index(name)]
        if "." in cell:
            assert len(cell.split(".")[1]) <= {"mean": 3, "favorable": 4}[name], (name, cell)
print("ok", len(web) - 1)
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            web_path.to_str().unwrap(),
            cli.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let page = f
        .server
        .get_with(&format!("/admin/surveys/pulse/waves/{WAVE}"), &f.admin);
    assert!(page.body.contains("Choice questions"), "no choice section");
    assert!(page.body.contains("<svg class=\"bar\""));
    assert!(page.body.contains("<th scope=\"row\">Email</th>"));
}

/// The comments explorer: searched, filtered and paged within what the plain list
/// shows, never beyond it.
fn comments_are_explored(db: TestDb) {
    let f = fixture(&db);
    let path = format!("/admin/surveys/pulse/waves/{WAVE}");
    let all = f.server.get_with(&path, &f.admin).body;
    let total: usize = all
        .split("<p role=\"status\">")
        .nth(1)
        .and_then(|rest| rest.split(" of ").nth(1))
        .and_then(|n| n.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count of comments");
    assert!(total > 5, "{total}");
    assert_eq!(all.matches("<blockquote>").count(), total.min(25));
    let slow = f
        .server
        .get_with(&format!("{path}?csearch=LAPTOPS#comments-h"), &f.admin)
        .body;
    assert!(
        slow.contains(&format!("<p role=\"status\">1 of {total} comments")),
        "{slow}"
    );
    assert!(slow.contains("laptops are slow"));
    assert!(!slow.contains("&lt;script&gt;alert") || slow.matches("<blockquote>").count() == 1);
    let it = f
        .server
        .get_with(&format!("{path}?cq=comment&csearch=note+IT"), &f.admin)
        .body;
    assert!(it.matches("<blockquote>note IT").count() >= 1, "{it}");
    assert!(!it.contains("<blockquote>note Sales"));
    // A head searching for another subtree's comment finds nothing: the explorer only
    // filters what the head's list holds.
    let head = f
        .server
        .get_with("/results/pulse?csearch=SECRET-NORTH", &f.head_b)
        .body;
    assert!(!head.contains(NORTH_SECRET));
}

crate::on_both_backends!(
    comments_are_explored,
    the_web_csv_is_the_export,
    access_matrix,
    reports_are_cut_to_rights,
    suppressed_groups_show_nothing,
    comments_are_escaped_everywhere,
    pages_show_heatmaps_trends_and_rates,
    comments_cannot_be_differenced,
);

/// Comments of the company and of IT are shown; Sales (10, at the threshold) is withheld
/// because the company minus IT minus Sales would isolate HR's (9) comments.
fn comments_cannot_be_differenced(db: TestDb) {
    let f = fixture(&db);
    let shown = |q: &str| -> (bool, usize) {
        let v = json(
            &f.server,
            &format!("/api/surveys/pulse/waves/{WAVE}/comments{q}"),
            &f.admin,
        );
        (v["shown"] == true, v["comments"].as_array().unwrap().len())
    };
    let (company, all) = shown("");
    let (it, of_it) = shown("?department=IT");
    assert!(company && it);
    assert!(all > of_it);
    for hidden in ["Sales", "HR", "Sales%20North", "Sales%20South"] {
        assert_eq!(
            shown(&format!("?department={hidden}")),
            (false, 0),
            "{hidden}"
        );
    }
}
