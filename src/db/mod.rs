//! Storage: one schema over SQLite (the embedded default) and PostgreSQL, picked by the
//! URL's scheme. Query code is written once and compiled for each backend by
//! [`with_conn!`](crate::with_conn) and [`transaction!`](crate::transaction), which hand the
//! body the concrete connection, so every diesel feature both backends have works
//! (upserts, RETURNING, batch inserts) without the limits of `MultiConnection`.

pub mod cached;
#[cfg(feature = "sqlite")]
mod group_commit;
pub mod planner;
pub mod schema;
pub mod settings;
#[cfg(feature = "sqlite")]
mod write_gate;

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("icsat needs a database: build with the feature sqlite, postgres, or both");

#[cfg(feature = "sqlite")]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
#[cfg(feature = "sqlite")]
use diesel::r2d2::ConnectionManager;
#[cfg(feature = "sqlite")]
use diesel::r2d2::CustomizeConnection;
use diesel::r2d2::{Pool, PooledConnection};
use diesel::Connection;
#[cfg(feature = "postgres")]
use diesel::PgConnection;
#[cfg(feature = "sqlite")]
use diesel::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

#[cfg(feature = "sqlite")]
pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[cfg(feature = "postgres")]
/// Any number that fits in a Postgres advisory lock key; names the migration lock.
const MIGRATION_LOCK_KEY: i64 = 0x1c5a_7001;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot open the database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot upgrade the database schema: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("there is no database at {0}: check ICSAT_DATABASE_URL for a typo (`icsat migrate` creates a new database there)")]
    Missing(String),
    #[error("a database task stopped unexpectedly")]
    TaskFailed,
    #[error("the shared write transaction failed: {0}")]
    GroupCommit(String),
    #[error("this icsat was built without {backend} support: build it with the feature {feature}")]
    NotBuilt {
        backend: &'static str,
        feature: &'static str,
    },
}

/// Where the data lives, parsed once from `ICSAT_DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// Chooses the backend from the scheme alone: never by trying one and then the
    /// other, which would create a SQLite file named after a mistyped Postgres URL.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err(DbError::BadUrl(
                    "the SQLite URL names no file: write sqlite://PATH, e.g. sqlite://icsat.db"
                        .into(),
                ));
            }
            if rest.contains(":memory:") || rest.contains("mode=memory") {
                return Err(DbError::BadUrl(
                    "an in-memory SQLite database would be a different one for every connection: \
                     use a file, e.g. sqlite://icsat.db"
                        .into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        Err(DbError::UnsupportedUrl(redact(url)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL as it may appear in messages and logs: without its password.
    pub fn display(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact(url),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `scheme://user:secret@host` becomes `scheme://user:***@host`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

#[cfg(feature = "sqlite")]
/// How long SQLite waits for another writer (its busy_timeout), and so how long a writer
/// waits at the [`WriteGate`] before going ahead to that wait.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);

#[cfg(feature = "sqlite")]
#[derive(Debug)]
struct SqlitePragmas;

#[cfg(feature = "sqlite")]
impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // WAL lets readers and the one writer work at once; busy_timeout makes a second
        // writer wait instead of failing; synchronous = FULL syncs the WAL at every
        // commit, so what a commit stored survives a power cut, not only a crash of this
        // process (group commit shares that sync among the submissions arriving
        // together); foreign keys are off in SQLite unless asked;
        // LIKE compares case as PostgreSQL's does, so filters match the same rows;
        // savepoints and sorts keep their temporary pages in memory, not in files;
        // secure_delete overwrites what a delete frees with zeros, freed pages included,
        // so the rows sealing moves out of the response inbox (which lie in the order of
        // answering) leave no copy behind in the file.
        conn.batch_execute(
            "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA case_sensitive_like = ON; PRAGMA temp_store = MEMORY; \
             PRAGMA secure_delete = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool of connections to one backend; cheap to clone and share between tasks.
#[derive(Clone)]
pub enum Db {
    #[cfg(feature = "sqlite")]
    Sqlite(
        Pool<ConnectionManager<SqliteConnection>>,
        Arc<group_commit::GroupCommit>,
    ),
    /// The pool, and the URL it connects to (for [`Db::separate`]).
    #[cfg(feature = "postgres")]
    Postgres(Pool<PgManager>, Arc<str>),
}

/// One connection taken from the pool; see [`with_conn!`](crate::with_conn).
pub enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    #[cfg(feature = "postgres")]
    Postgres(PgConn),
}

/// A pooled PostgreSQL connection that can take a second one from its pool: work that
/// reads much (counting a wave) spreads its reads over two connections, so PostgreSQL
/// works on both at once. Derefs to the `PgConnection`.
#[cfg(feature = "postgres")]
pub struct PgConn {
    conn: PooledConnection<PgManager>,
    pool: Pool<PgManager>,
}

#[cfg(feature = "postgres")]
impl PgConn {
    /// Another connection of the same pool, when one comes within a second; `None` when
    /// the pool is busy (the caller then does the work on its own connection).
    pub fn sibling(&self) -> Option<PgConn> {
        let conn = self.pool.get_timeout(Duration::from_secs(1)).ok()?;
        Some(PgConn {
            conn,
            pool: self.pool.clone(),
        })
    }
}

#[cfg(feature = "postgres")]
impl std::ops::Deref for PgConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn.conn
    }
}

#[cfg(feature = "postgres")]
impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn.conn
    }
}

/// Connections of a `serve` process's PostgreSQL pool for requests, commands and
/// background work; the submission writers have their own (`responses::batched`).
#[cfg(feature = "postgres")]
const PG_POOL_SIZE: u32 = 16;

/// A pool whose first connection is `first` (the one that checked the URL), so a
/// command that runs a handful of queries connects once, not twice.
#[cfg(feature = "postgres")]
fn pg_pool(url: &str, size: u32, first: Option<PgConnection>) -> Result<Pool<PgManager>, DbError> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(10))
        .build(PgManager {
            url: url.to_string(),
            first: std::sync::Mutex::new(first),
        })
        .map_err(|e| DbError::Connect {
            url: redact(url),
            reason: e.to_string(),
        })
}

/// diesel's `ConnectionManager` for PostgreSQL, with two changes: the connection made
/// before the pool (to check the URL) is the pool's first, and a connection is pinged at
/// checkout only when it was not pinged in the last [`PING_EVERY`]. diesel's pings every
/// checkout: a round trip and a statement for each page and health check. A connection
/// the server dropped (a restart) still fails at most that long before its ping finds it
/// and the pool replaces it.
#[cfg(feature = "postgres")]
pub struct PgManager {
    url: String,
    first: std::sync::Mutex<Option<PgConnection>>,
}

#[cfg(feature = "postgres")]
const PING_EVERY: Duration = Duration::from_secs(1);

/// A pooled PostgreSQL connection and when its ping last succeeded.
#[cfg(feature = "postgres")]
pub struct PingedPg {
    conn: PgConnection,
    pinged: std::time::Instant,
}

#[cfg(feature = "postgres")]
impl diesel::r2d2::ManageConnection for PgManager {
    type Connection = PingedPg;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PingedPg, diesel::r2d2::Error> {
        let made = self
            .first
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let conn = match made {
            Some(conn) => conn,
            None => {
                PgConnection::establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?
            }
        };
        Ok(PingedPg {
            conn,
            pinged: std::time::Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut PingedPg) -> Result<(), diesel::r2d2::Error> {
        use diesel::r2d2::R2D2Connection;
        if conn.pinged.elapsed() < PING_EVERY {
            return Ok(());
        }
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)?;
        conn.pinged = std::time::Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut PingedPg) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking() || conn.conn.is_broken()
    }
}

// min_idle is 0: r2d2 otherwise fills the pool from background threads, and a command
// that exits while one of them is inside libpq's connect crashes in libpq's exit handlers.
/// The file of the database `conn` has open; `None` for one without a file.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_file(conn: &mut SqliteConnection) -> Option<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct MainFile {
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    let file = diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .get_result::<MainFile>(conn)
        .ok()?
        .file;
    (!file.is_empty()).then_some(file)
}

/// A second connection to the SQLite file `conn` has open, for reading beside it on
/// another thread (the raw export); `None` when it cannot be opened, and the caller
/// reads on its own connection alone. It only reads: `query_only`.
#[cfg(feature = "sqlite")]
pub fn sqlite_reader(conn: &mut SqliteConnection) -> Option<SqliteConnection> {
    let mut reader = SqliteConnection::establish(&sqlite_file(conn)?).ok()?;
    reader
        .batch_execute("PRAGMA busy_timeout = 15000; PRAGMA query_only = ON;")
        .ok()?;
    Some(reader)
}

/// Puts SQLite in multi-thread mode before its first connection: diesel's connections
/// are `Send` but not `Sync`, and the pool hands each to one thread at a time, so
/// SQLite's own lock around every call on a connection (its default, serialized mode)
/// guards nothing here, and took 7% of a raw export's time.
#[cfg(feature = "sqlite")]
fn sqlite_without_connection_mutex() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before SQLite is initialised by any
        // connection of this process (`Once`, ahead of the first `establish`); if a
        // library initialised it earlier the call only returns SQLITE_MISUSE and SQLite
        // stays serialized.
        let rc =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite stays in serialized mode");
        }
    });
}

impl Db {
    /// Opens the pool and checks one connection, so a wrong URL is reported at once
    /// with the server's own words rather than after a pool timeout.
    pub fn connect(url: &DatabaseUrl) -> Result<Db, DbError> {
        let connect_error = |reason: String| DbError::Connect {
            url: url.display(),
            reason: reason.trim().to_string(),
        };
        match url {
            #[cfg(feature = "sqlite")]
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent() {
                    if !parent.as_os_str().is_empty() && !parent.is_dir() {
                        return Err(connect_error(format!(
                            "the folder {} does not exist",
                            parent.display()
                        )));
                    }
                }
                // The database holds answers: create it 0600 (SQLite gives its WAL and
                // shm files the database file's mode) and narrow an older one.
                if !path.exists() {
                    let _ = crate::files::create_private(path);
                }
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.as_os_str().to_owned();
                    file.push(suffix);
                    if let Err(e) = crate::files::make_private(Path::new(&file)) {
                        tracing::warn!(file = %Path::new(&file).display(), error = %e, "cannot make the database file private");
                    }
                }
                let path_str = path.to_string_lossy().to_string();
                sqlite_without_connection_mutex();
                SqliteConnection::establish(&path_str).map_err(|e| connect_error(e.to_string()))?;
                // No ping at checkout: a SQLite connection is a file handle, it cannot be
                // dropped by a server, and the ping was a statement on every request.
                let pool = Pool::builder()
                    .max_size(8)
                    .min_idle(Some(0))
                    .test_on_check_out(false)
                    .connection_timeout(Duration::from_secs(30))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::<SqliteConnection>::new(path_str))
                    .map_err(|e| connect_error(e.to_string()))?;
                Ok(Db::Sqlite(pool, Arc::new(group_commit::GroupCommit::new())))
            }
            #[cfg(feature = "postgres")]
            DatabaseUrl::Postgres(raw) => {
                let first =
                    PgConnection::establish(raw).map_err(|e| connect_error(e.to_string()))?;
                let pool = pg_pool(raw, PG_POOL_SIZE, Some(first))?;
                Ok(Db::Postgres(pool, Arc::from(raw.as_str())))
            }
            #[allow(unreachable_patterns)]
            other => Err(not_built(other.backend())),
        }
    }

    /// Another pool of at most `size` connections to the same database, for work that
    /// must not wait behind this pool's users nor make them wait (the submission
    /// writers). SQLite has one writer whatever the pool: there it is this pool.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    pub fn separate(&self, size: u32) -> Result<Db, DbError> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(..) => Ok(self.clone()),
            #[cfg(feature = "postgres")]
            Db::Postgres(_, url) => Ok(Db::Postgres(pg_pool(url, size, None)?, url.clone())),
        }
    }

    /// Connects and brings the schema up to date: what every command does first.
    /// Like [`Db::open`], for commands that read or change what is there: a SQLite file
    /// that does not exist is an error naming the path, never a new empty database (a
    /// mistyped path would otherwise report "no waves yet").
    pub fn open_existing(url: &DatabaseUrl) -> Result<Db, DbError> {
        if let DatabaseUrl::Sqlite(path) = url {
            if !path.exists() {
                return Err(DbError::Missing(path.display().to_string()));
            }
        }
        Db::open(url)
    }

    pub fn open(url: &DatabaseUrl) -> Result<Db, DbError> {
        let db = Db::connect(url)?;
        db.migrate()?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(..) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    pub fn get(&self) -> Result<Conn, DbError> {
        Ok(match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool, _) => Conn::Sqlite(pool.get()?),
            #[cfg(feature = "postgres")]
            Db::Postgres(pool, _) => Conn::Postgres(PgConn {
                conn: pool.get()?,
                pool: pool.clone(),
            }),
        })
    }

    /// Connections of the pool now, for `/metrics`.
    pub fn pool_use(&self) -> crate::metrics::PoolUse {
        let (state, max) = match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool, _) => (pool.state(), pool.max_size()),
            #[cfg(feature = "postgres")]
            Db::Postgres(pool, _) => (pool.state(), pool.max_size()),
        };
        crate::metrics::PoolUse {
            connections: state.connections,
            idle: state.idle_connections,
            max,
        }
    }

    /// Applies the embedded migrations that are not applied yet; returns their names.
    /// A schema already current costs one SELECT (see [`Conn::pending_migrations`]): every
    /// command starts here, and a report is timed whole.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let failed =
            |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
        let mut conn = self.get()?;
        if conn.pending_migrations()? == 0 {
            return Ok(Vec::new());
        }
        let names = match conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(mut conn) => conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(failed)?
                .iter()
                .map(|v| v.to_string())
                .collect(),
            #[cfg(feature = "postgres")]
            Conn::Postgres(mut conn) => {
                // Several `serve` processes may start together: one migrates, the others wait.
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                let result = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|applied| applied.iter().map(|v| v.to_string()).collect::<Vec<_>>())
                    .map_err(failed);
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                result?
            }
        };
        Ok(names)
    }

    /// Runs blocking database work off the async executor (actix workers are
    /// single-threaded runtimes; blocking them would stall every request they hold).
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        // The caller's span (a request's id) goes along, for what the work logs.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            let mut conn = db.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|_| E::from(DbError::TaskFailed))?
    }

    /// Runs short write work in a transaction and returns once it has committed. On
    /// SQLite the work of concurrent callers shares one transaction, each in its own
    /// savepoint (see [`group_commit`]); `work` must not begin a transaction itself.
    pub async fn write_grouped<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool, group) => group.run(pool, work).await,
            #[cfg(feature = "postgres")]
            Db::Postgres(..) => self.run(move |conn| conn.transaction(work)).await,
        }
    }
}

#[cfg(feature = "postgres")]
use diesel::RunQueryDsl;

impl Conn {
    /// Runs `work` in one transaction; functions that take `&mut Conn` compose inside it.
    /// On SQLite it begins with `BEGIN IMMEDIATE` (see [`transaction!`](crate::transaction)).
    /// Nested calls are refused by diesel's transaction manager, so callers don't nest.
    pub fn transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        // Held until the transaction has ended; see [`WriteGate`].
        #[cfg(feature = "sqlite")]
        let _pass = match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => {
                write_gate::write_gate(c).and_then(|gate| gate.enter(SQLITE_BUSY_TIMEOUT))
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => None,
        };
        let begun = match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN"),
        };
        begun.map_err(|e| E::from(DbError::Query(e)))?;
        let outcome = work(self);
        let finished = match (&outcome, &mut *self) {
            #[cfg(feature = "sqlite")]
            (Ok(_), Conn::Sqlite(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            #[cfg(feature = "postgres")]
            (Ok(_), Conn::Postgres(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            #[cfg(feature = "sqlite")]
            (Err(_), Conn::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
            #[cfg(feature = "postgres")]
            (Err(_), Conn::Postgres(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
        };
        match outcome {
            Ok(value) => finished
                .map(|()| value)
                .map_err(|e| E::from(DbError::Query(e))),
            // The work's own error says more than a failed rollback would.
            Err(e) => Err(e),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// How many embedded migrations the database lacks (0: the schema is current), for
    /// `/readyz` and every command's start: one SELECT. (diesel's harness first runs
    /// `CREATE TABLE IF NOT EXISTS` for its table, a statement that on PostgreSQL takes a
    /// lock and sends a notice each time; that is left to the rare case where this
    /// SELECT fails, such as a database never migrated.)
    pub fn pending_migrations(&mut self) -> Result<usize, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Version {
            #[diesel(sql_type = diesel::sql_types::Text)]
            version: String,
        }
        let applied = crate::with_conn!(*self, c => diesel::RunQueryDsl::load::<Version>(
            diesel::sql_query("SELECT version FROM __diesel_schema_migrations"),
            c,
        ));
        if let Ok(applied) = applied {
            let applied: std::collections::HashSet<String> =
                applied.into_iter().map(|v| v.version).collect();
            let embedded = self.embedded_versions()?;
            return Ok(embedded.iter().filter(|v| !applied.contains(*v)).count());
        }
        let failed =
            |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
        Ok(match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => c
                .pending_migrations(SQLITE_MIGRATIONS)
                .map_err(failed)?
                .len(),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c
                .pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(failed)?
                .len(),
        })
    }

    /// The versions of this build's migrations for this connection's backend.
    fn embedded_versions(&self) -> Result<Vec<String>, DbError> {
        use diesel::migration::MigrationSource;
        let failed =
            |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
        Ok(match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => {
                MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                    .map_err(failed)?
                    .iter()
                    .map(|m| m.name().version().to_string())
                    .collect()
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => {
                MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                    .map_err(failed)?
                    .iter()
                    .map(|m| m.name().version().to_string())
                    .collect()
            }
        })
    }

    /// Succeeds when the database answers a trivial query (the health check).
    pub fn ping(&mut self) -> Result<(), DbError> {
        crate::with_conn!(*self, c => c.batch_execute("SELECT 1"))?;
        Ok(())
    }
}

/// Which backend a concrete connection is, for the rare SQL written by hand (its
/// placeholders differ: `?` on SQLite, `$1` on PostgreSQL).
pub trait BackendKind {
    fn backend_kind(&self) -> Backend;
}

#[cfg(feature = "sqlite")]
impl BackendKind for SqliteConnection {
    fn backend_kind(&self) -> Backend {
        Backend::Sqlite
    }
}

#[cfg(feature = "postgres")]
impl BackendKind for PgConnection {
    fn backend_kind(&self) -> Backend {
        Backend::Postgres
    }
}

/// Runs `$body` with `$c` bound to the concrete `&mut SqliteConnection` or
/// `&mut PgConnection` behind a [`Conn`]; the body is compiled once per backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut $conn {
            #[cfg(feature = "sqlite")]
            $crate::db::Conn::Sqlite(pooled) => {
                let $c: &mut ::diesel::SqliteConnection = &mut *pooled;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::db::Conn::Postgres(pooled) => {
                let $c: &mut ::diesel::PgConnection = &mut *pooled;
                $body
            }
        }
    };
}

/// Like [`with_conn!`] inside one transaction. On SQLite the transaction starts with
/// `BEGIN IMMEDIATE`, taking the write lock up front so two writers queue on
/// busy_timeout instead of failing halfway with "database is locked".
/// The body returns `Result<T, E>` with `E: From<diesel::result::Error>`.
#[macro_export]
macro_rules! transaction {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut $conn {
            #[cfg(feature = "sqlite")]
            $crate::db::Conn::Sqlite(pooled) => {
                let conn: &mut ::diesel::SqliteConnection = &mut *pooled;
                conn.immediate_transaction(|$c| $body)
            }
            #[cfg(feature = "postgres")]
            $crate::db::Conn::Postgres(pooled) => {
                let conn: &mut ::diesel::PgConnection = &mut *pooled;
                ::diesel::Connection::transaction(conn, |$c| $body)
            }
        }
    };
}

/// Logs the SQL of every statement diesel runs (never its bound values: they hold link
/// tokens and answers) at debug level under the target `icsat::sql`, for connections made
/// from now on, when that level is on (`ICSAT_LOG=icsat::sql=debug`). Operators use it
/// to see what a request costs; the tests use it to check that views never count.
pub fn log_statements() {
    fn logger() -> Option<Box<dyn diesel::connection::Instrumentation>> {
        if !tracing::enabled!(target: "icsat::sql", tracing::Level::DEBUG) {
            return None;
        }
        Some(Box::new(
            |event: diesel::connection::InstrumentationEvent<'_>| {
                if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
                    let text = query.to_string();
                    let sql = text.split(" -- binds:").next().unwrap_or_default();
                    tracing::debug!(target: "icsat::sql", "{sql}");
                }
            },
        ))
    }
    if let Err(e) = diesel::connection::set_default_instrumentation(logger) {
        tracing::warn!(error = %e, "statements will not be logged");
    }
}

/// The error for a URL of a backend this build left out.
fn not_built(backend: Backend) -> DbError {
    match backend {
        Backend::Sqlite => DbError::NotBuilt {
            backend: "SQLite",
            feature: "sqlite",
        },
        Backend::Postgres => DbError::NotBuilt {
            backend: "PostgreSQL",
            feature: "postgres",
        },
    }
}

/// The current time as stored: UTC, truncated to microseconds (PostgreSQL's precision),
/// so both backends hold and return the same value.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/icsat.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("data/icsat.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/icsat.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("/var/lib/icsat.db")))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("mysql://u:pw@h/db"),
            Err(DbError::UnsupportedUrl(u)) if u == "mysql://u:***@h/db"
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(DbError::BadUrl(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite::memory:"),
            Err(DbError::BadUrl(_))
        ));
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://me:hunter2@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
        assert_eq!(
            DatabaseUrl::Postgres("postgres://a:b@c/d".into()).display(),
            "postgres://a:***@c/d"
        );
    }
}
