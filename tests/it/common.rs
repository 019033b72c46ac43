//! Test harness: a fresh database per test on each backend, the real `icsat` binary, and
//! the real server on a random port.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// Defines each listed test twice, `sqlite::NAME` and `postgres::NAME`, calling
/// `NAME(TestDb)`. The Postgres one runs when `ICSAT_TEST_POSTGRES_URL` is set.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::common::TestDb::sqlite()) } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                if let Some(db) = $crate::common::TestDb::postgres() { super::$name(db) }
            } )*
        }
    };
}

type DepartmentRow = (i64, String, Option<i64>, Option<String>, bool);

/// A database of its own: a SQLite file in a temporary folder, or a PostgreSQL schema
/// dropped when the test ends. Also a scratch folder to run commands in.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("icsat.db").display());
        TestDb {
            url,
            dir,
            postgres: None,
        }
    }

    pub fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var("ICSAT_TEST_POSTGRES_URL") else {
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                // Written past the test harness's capture so the skip is visible.
                let _ = std::io::stderr().write_all(
                    b"note: ICSAT_TEST_POSTGRES_URL is not set: the PostgreSQL half of the suite is skipped\n",
                );
            });
            return None;
        };
        let schema = format!("icsat_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&base).unwrap_or_else(|e| {
            panic!("ICSAT_TEST_POSTGRES_URL is set but PostgreSQL does not answer: {e}")
        });
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        Some(TestDb {
            url,
            dir: tempfile::tempdir().expect("temp dir"),
            postgres: Some((base, schema)),
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the scratch folder and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    pub fn db(&self) -> icsat::db::Db {
        let url = icsat::db::DatabaseUrl::parse(&self.url).expect("test url");
        icsat::db::Db::open(&url).expect("open test database")
    }

    /// `icsat ARGS` run in the scratch folder against this database.
    pub fn icsat(&self, args: &[&str]) -> CommandOutput {
        let output = self.command(args).output().expect("run icsat");
        CommandOutput(output)
    }

    /// [`TestDb::icsat`] with the definitions of `defs` instead of the project's.
    pub fn icsat_with_definitions(&self, defs: &str, args: &[&str]) -> CommandOutput {
        let output = self
            .command(args)
            .env("ICSAT_DEFINITIONS", defs)
            .output()
            .expect("run icsat");
        CommandOutput(output)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_icsat"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("ICSAT_DATABASE_URL", &self.url)
            .env("ICSAT_DEFINITIONS", definitions_dir())
            .env("ICSAT_OUTBOX_DIR", self.path("outbox"))
            .env_remove("ICSAT_SMTP_URL")
            .env_remove("ICSAT_CONFIG")
            .env_remove("ICSAT_BIND")
            .env_remove("ICSAT_LOG");
        command
    }

    /// Every row of the roster tables, as text, in a stable order: equal before and
    /// after means an import changed nothing.
    pub fn roster_snapshot(&self) -> Vec<String> {
        use icsat::db::schema::{departments, employees};
        let db = self.db();
        let mut conn = db.get().expect("connection");
        let mut rows: Vec<String> = icsat::with_conn!(conn, c => {
            let deps: Vec<DepartmentRow> = departments::table
                .select((departments::id, departments::name, departments::parent_id, departments::head_email, departments::active))
                .order(departments::id)
                .load(c)
                .expect("departments");
            let emps: Vec<(i64, String, String, i64, String, bool)> = employees::table
                .select((employees::id, employees::email, employees::name, employees::department_id, employees::attributes, employees::active))
                .order(employees::id)
                .load(c)
                .expect("employees");
            deps.iter().map(|d| format!("{d:?}")).chain(emps.iter().map(|e| format!("{e:?}"))).collect()
        });
        rows.sort();
        rows
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn definitions_dir() -> PathBuf {
    repo_root().join("survey-definitions")
}

pub struct CommandOutput(pub Output);

impl CommandOutput {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code(),
            0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn assert_fails(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// A running `icsat serve`, killed when dropped.
pub struct Server {
    pub base_url: String,
    child: Child,
}

impl Server {
    pub fn start(db: &TestDb) -> Server {
        Server::start_with(db, &[])
    }

    /// Starts `icsat serve` with extra environment variables.
    pub fn start_with(db: &TestDb, env: &[(&str, &str)]) -> Server {
        Server::start_logging(db, env, Stdio::inherit())
    }

    /// Starts `icsat serve` with extra environment variables, its log going to `stderr`.
    pub fn start_logging(db: &TestDb, env: &[(&str, &str)], stderr: impl Into<Stdio>) -> Server {
        let mut command = db.command(&["serve"]);
        command.env("ICSAT_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .env("ICSAT_BIND", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start icsat serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(at) = line.find("http://") {
                        break line[at..].trim().to_string();
                    }
                }
                _ => {
                    let status = child.wait().ok();
                    panic!("icsat serve stopped before listening: {status:?}");
                }
            }
        };
        Server { base_url, child }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    pub fn get(&self, path: &str) -> (u16, String, ureq::http::HeaderMap) {
        let mut response = Server::agent()
            .get(&format!("{}{path}", self.base_url))
            .call()
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, body, headers)
    }

    /// POSTs `body` with the given content type; returns status and body.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let mut response = Server::agent()
            .post(&format!("{}{path}", self.base_url))
            .header("Content-Type", content_type)
            .send(body)
            .expect("request");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, body)
    }

    /// POSTs a form (`application/x-www-form-urlencoded`).
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post(path, "application/x-www-form-urlencoded", body.as_bytes())
    }
}

impl Server {
    /// Sends SIGTERM, as systemd or a container runtime does, and waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        self.child.wait().expect("wait for icsat serve")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as the sign-in and results tests read it.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: ureq::http::HeaderMap,
}

impl Reply {
    /// `name=value` of each cookie the response sets.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let pair = c.split(';').next()?;
            let (n, v) = pair.split_once('=')?;
            (n.trim() == name).then(|| v.trim().to_string())
        })
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

impl Server {
    /// GET with a `Cookie` header (empty: none).
    pub fn get_with(&self, path: &str, cookies: &str) -> Reply {
        let mut request = Server::agent().get(&format!("{}{path}", self.base_url));
        if !cookies.is_empty() {
            request = request.header("Cookie", cookies);
        }
        let mut response = request.call().expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            body,
            headers,
        }
    }

    /// GET with one extra request header.
    pub fn get_with_header(&self, path: &str, name: &str, value: &str) -> Reply {
        let mut response = Server::agent()
            .get(&format!("{}{path}", self.base_url))
            .header(name, value)
            .call()
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            body,
            headers,
        }
    }

    /// POSTs JSON with a `Cookie` header and, unless empty, an `X-CSRF-Token`.
    pub fn post_json_with(&self, path: &str, cookies: &str, csrf: &str, body: &str) -> Reply {
        let mut request = Server::agent()
            .post(&format!("{}{path}", self.base_url))
            .header("Content-Type", "application/json")
            .header("Cookie", cookies);
        if !csrf.is_empty() {
            request = request.header("X-CSRF-Token", csrf);
        }
        let mut response = request.send(body.as_bytes()).expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            body,
            headers,
        }
    }

    /// POSTs a form with a `Cookie` header (empty: none).
    pub fn post_form_with(&self, path: &str, cookies: &str, fields: &[(&str, &str)]) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = Server::agent()
            .post(&format!("{}{path}", self.base_url))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if !cookies.is_empty() {
            request = request.header("Cookie", cookies);
        }
        let mut response = request.send(body.as_bytes()).expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            body,
            headers,
        }
    }
}

/// The value of the hidden `csrf` field of the first form in `html`.
pub fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + 19..];
    rest[..rest.find('"').expect("end of the csrf value")].to_string()
}

/// Signs in through a one-time link (button page, then its POST); returns the session
/// cookie as `icsat_session=...`.
pub fn sign_in_with_link(server: &Server, link: &str) -> String {
    let path = &link[link.find("/login/").expect("a sign-in link")..];
    let page = server.get_with(path, "");
    assert_eq!(page.status, 200, "{}", page.body);
    let pre = page.cookie("icsat_pre").expect("pre-sign-in cookie");
    let csrf = csrf_field(&page.body);
    let done = server.post_form_with(path, &format!("icsat_pre={pre}"), &[("csrf", &csrf)]);
    assert_eq!(done.status, 303, "{}", done.body);
    format!(
        "icsat_session={}",
        done.cookie("icsat_session").expect("session cookie")
    )
}

/// A sign-in link for `email`, made directly in the database.
pub fn link_for(db: &TestDb, server: &Server, email: &str) -> String {
    let handle = db.db();
    let mut conn = handle.get().expect("connection");
    icsat::auth::sign_in::issue_link(&mut conn, &server.base_url, email).expect("issue link")
}

/// A responses-import CSV of the pulse fixtures (`it-fast`, `it-nps`, `enps`, `channel`,
/// `comment`): `sizes` respondents per department, answers drawn from `seed` and moved
/// by `shift`; `comment(department, i)` is respondent i's comment cell, quoted as needed.
pub fn pulse_answers_csv(
    sizes: &[(&str, usize)],
    seed: u64,
    shift: i64,
    comment: impl Fn(&str, usize) -> String,
) -> String {
    let mut state = seed;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut csv = String::from("department,it-fast,it-nps,enps,channel,comment\n");
    for &(department, n) in sizes {
        for i in 0..n {
            let fast = (1 + next(5) as i64 + shift).clamp(1, 5);
            let nps = (next(11) as i64 + shift).clamp(0, 10);
            let enps = ((fast * 2) + next(3) as i64).clamp(0, 10);
            let channel = ["Email", "Chat", ""][next(3) as usize];
            let comment = comment(department, i);
            csv.push_str(&format!(
                "{department},{fast},{nps},{enps},{channel},{comment}\n"
            ));
        }
    }
    csv
}
