//! `icsat backup FILE` and `icsat restore FILE`: a consistent copy of the whole database,
//! taken while `serve` keeps writing, and its restoration into an empty database.
//!
//! SQLite: the backup is itself a SQLite database, written by `VACUUM INTO` (one read
//! transaction, so a consistent snapshot; writers go on meanwhile). PostgreSQL: a text
//! file of the app's tables, one JSON object per row (`row_to_json`), read in one
//! `REPEATABLE READ` transaction and closed by a checksum line; restoring reads the rows
//! back with `json_populate_recordset`, so every value comes back exactly. Either way a
//! backup holds everything, answers included: it is written with mode 0600.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::{DatabaseUrl, Db, DbError};

/// First line of a PostgreSQL backup file (its format version follows).
const PG_MAGIC: &str = "ICSAT-BACKUP 1 postgres";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// diesel's own bookkeeping: carried as the backup's schema version, not as rows.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";
/// Rows per `FETCH` when reading, and per `INSERT` when restoring, on PostgreSQL.
const CHUNK: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: name a new file (a backup never overwrites one)")]
    Exists(String),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not a usable icsat backup: {reason}")]
    BadFile { path: String, reason: String },
    #[error("{path} is a backup of a {from} database; restore it into a {from} database, not a {to} one")]
    WrongBackend {
        path: String,
        from: &'static str,
        to: &'static str,
    },
    #[error(
        "the backup's schema ({backup}) differs from this database's ({target}): restore with \
         the icsat version that made the backup, then upgrade"
    )]
    Schema { backup: String, target: String },
    #[error(
        "the database {url} is not empty ({table} has rows): restore into a new, empty \
         database, or add --force to replace everything in it"
    )]
    NotEmpty { url: String, table: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for BackupError {
    fn from(e: diesel::result::Error) -> Self {
        BackupError::Db(DbError::Query(e))
    }
}

/// What a backup or restore covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub tables: usize,
    pub rows: u64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Edge {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Creates `path` empty with mode 0600; fails if it exists.
fn create_private(path: &Path) -> Result<File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(path.display().to_string()),
        _ => BackupError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        },
    })
}

/// Where a file is written before it is complete: renamed onto `file` at the end, so a
/// failed backup never leaves something that looks like one.
fn partial(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", file.display()))
}

/// Orders tables so that every table comes after those it references.
fn parents_first(tables: &[String], edges: &[(String, String)]) -> Result<Vec<String>, String> {
    let mut remaining: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut order = Vec::new();
    while !remaining.is_empty() {
        let ready: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|t| {
                !edges.iter().any(|(child, parent)| {
                    child == t && parent != t && remaining.contains(parent.as_str())
                })
            })
            .collect();
        if ready.is_empty() {
            return Err(format!(
                "the tables {remaining:?} reference each other in a cycle"
            ));
        }
        for t in ready {
            remaining.remove(t);
            order.push(t.to_string());
        }
    }
    Ok(order)
}

/// Backs up the database at `url` into the new file `file`.
pub fn backup(url: &DatabaseUrl, file: &Path) -> Result<Summary, BackupError> {
    if file.exists() {
        return Err(BackupError::Exists(file.display().to_string()));
    }
    let db = Db::open_existing(url)?;
    let tmp = partial(file);
    // A partial file of an earlier, interrupted run is ours to replace.
    let _ = std::fs::remove_file(&tmp);
    let written = match db.get()? {
        #[cfg(feature = "sqlite")]
        crate::db::Conn::Sqlite(mut c) => backup_sqlite(&mut c, &tmp),
        #[cfg(feature = "postgres")]
        crate::db::Conn::Postgres(mut c) => backup_postgres(&mut c, &tmp),
    };
    let summary = match written {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, file).map_err(|e| BackupError::Write {
        path: file.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(summary)
}

/// Restores the backup `file` into the database at `url` (created or upgraded first),
/// which must be empty unless `force`: then everything in it is replaced. All or
/// nothing: a bad file or a failed step changes nothing.
pub fn restore(url: &DatabaseUrl, file: &Path, force: bool) -> Result<Summary, BackupError> {
    let mut head = [0u8; 23];
    let read_error = |e: std::io::Error| BackupError::Read {
        path: file.display().to_string(),
        reason: e.to_string(),
    };
    let n = File::open(file)
        .and_then(|mut f| f.read(&mut head))
        .map_err(read_error)?;
    let head = &head[..n];
    let kind = if head.starts_with(SQLITE_MAGIC) {
        "SQLite"
    } else if head.starts_with(PG_MAGIC.as_bytes()) {
        "PostgreSQL"
    } else {
        return Err(BackupError::BadFile {
            path: file.display().to_string(),
            reason: "it is neither a SQLite database nor an icsat PostgreSQL backup".into(),
        });
    };
    let target = match url {
        DatabaseUrl::Sqlite(_) => "SQLite",
        DatabaseUrl::Postgres(_) => "PostgreSQL",
    };
    if kind != target {
        return Err(BackupError::WrongBackend {
            path: file.display().to_string(),
            from: kind,
            to: target,
        });
    }
    match url {
        #[cfg(feature = "sqlite")]
        DatabaseUrl::Sqlite(path) => sqlite::restore(url, path, file, force),
        #[cfg(feature = "postgres")]
        DatabaseUrl::Postgres(_) => postgres::restore(url, file, force),
        #[allow(unreachable_patterns)]
        _ => Err(BackupError::Db(DbError::UnsupportedUrl(url.display()))),
    }
}

#[cfg(feature = "sqlite")]
use sqlite::backup as backup_sqlite;

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use diesel::migration::MigrationSource;
    use diesel::sqlite::Sqlite;
    use diesel_migrations::MigrationHarness;

    pub(super) fn backup(conn: &mut SqliteConnection, tmp: &Path) -> Result<Summary, BackupError> {
        drop(create_private(tmp)?);
        // One read transaction: a consistent snapshot, while writers carry on (WAL).
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(tmp.to_string_lossy().to_string())
            .execute(conn)?;
        let mut copy = open_checked(tmp)?;
        count(&mut copy)
    }

    fn tables(conn: &mut SqliteConnection, schema: &str) -> Result<Vec<String>, BackupError> {
        Ok(diesel::sql_query(format!(
            "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '{MIGRATIONS_TABLE}' ORDER BY name"
        ))
        .load::<Name>(conn)?
        .into_iter()
        .map(|n| n.name)
        .collect())
    }

    fn count(conn: &mut SqliteConnection) -> Result<Summary, BackupError> {
        let tables = tables(conn, "main")?;
        let mut rows = 0;
        for t in &tables {
            rows += diesel::sql_query(format!("SELECT count(*) AS n FROM {}", quote(t)))
                .get_result::<Count>(conn)?
                .n as u64;
        }
        Ok(Summary {
            tables: tables.len(),
            rows,
        })
    }

    /// Opens a backup file and checks that it is a whole icsat database this version
    /// knows how to upgrade.
    fn open_checked(path: &Path) -> Result<SqliteConnection, BackupError> {
        let bad = |reason: String| BackupError::BadFile {
            path: path.display().to_string(),
            reason,
        };
        let mut conn =
            SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| bad(e.to_string()))?;
        let check: Vec<Name> =
            diesel::sql_query("SELECT integrity_check AS name FROM pragma_integrity_check")
                .load(&mut conn)
                .map_err(|e| bad(e.to_string()))?;
        if check.len() != 1 || check[0].name != "ok" {
            return Err(bad(format!(
                "SQLite finds it damaged: {}",
                check.first().map(|c| c.name.as_str()).unwrap_or("")
            )));
        }
        let applied = conn
            .applied_migrations()
            .map_err(|_| bad("it is not an icsat database (no schema version)".into()))?;
        let known: BTreeSet<String> =
            MigrationSource::<Sqlite>::migrations(&crate::db::SQLITE_MIGRATIONS)
                .map_err(|e| bad(e.to_string()))?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect();
        if applied.is_empty() {
            return Err(bad("it is not an icsat database (no schema version)".into()));
        }
        if let Some(unknown) = applied.iter().find(|v| !known.contains(&v.to_string())) {
            return Err(bad(format!(
                "it was made by a newer icsat (schema {unknown}): restore it with that version"
            )));
        }
        Ok(conn)
    }

    pub(super) fn restore(
        url: &DatabaseUrl,
        path: &Path,
        file: &Path,
        force: bool,
    ) -> Result<Summary, BackupError> {
        // Upgrade a copy, never the backup itself, to this version's schema.
        let copy = PathBuf::from(format!("{}.restoring", path.display()));
        let _ = std::fs::remove_file(&copy);
        let result = (|| -> Result<Summary, BackupError> {
            {
                let mut out = create_private(&copy)?;
                let mut input = File::open(file).map_err(|e| BackupError::Read {
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?;
                std::io::copy(&mut input, &mut out).map_err(|e| BackupError::Write {
                    path: copy.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            {
                let mut conn = open_checked(&copy).map_err(|e| match e {
                    BackupError::BadFile { reason, .. } => BackupError::BadFile {
                        path: file.display().to_string(),
                        reason,
                    },
                    other => other,
                })?;
                conn.run_pending_migrations(crate::db::SQLITE_MIGRATIONS)
                    .map_err(|e| DbError::Migration(e.to_string()))?;
            }
            drop(Db::open(url)?);
            let mut conn = SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| {
                DbError::Connect {
                    url: url.display(),
                    reason: e.to_string(),
                }
            })?;
            // Foreign keys are checked once at the end (rows of a table referencing
            // their own table may come in any order); secure_delete as `serve` has it.
            conn.batch_execute(
                "PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = OFF; PRAGMA secure_delete = ON;",
            )?;
            diesel::sql_query("ATTACH DATABASE ? AS backup")
                .bind::<Text, _>(copy.to_string_lossy().to_string())
                .execute(&mut conn)?;
            let copied = conn.immediate_transaction(|c| copy_tables(c, url, force));
            let _ = detach(&mut conn);
            copied
        })();
        let _ = std::fs::remove_file(&copy);
        result
    }

    fn detach(conn: &mut SqliteConnection) -> QueryResult<()> {
        conn.batch_execute("DETACH DATABASE backup")
    }

    fn copy_tables(
        conn: &mut SqliteConnection,
        url: &DatabaseUrl,
        force: bool,
    ) -> Result<Summary, BackupError> {
        let main = tables(conn, "main")?;
        let from = tables(conn, "backup")?;
        if let Some(extra) = from.iter().find(|t| !main.contains(t)) {
            return Err(BackupError::Schema {
                backup: format!("table {extra}"),
                target: "no such table".into(),
            });
        }
        for t in &main {
            let n = diesel::sql_query(format!("SELECT count(*) AS n FROM main.{}", quote(t)))
                .get_result::<Count>(conn)?
                .n;
            if n > 0 {
                if !force {
                    return Err(BackupError::NotEmpty {
                        url: url.display(),
                        table: t.clone(),
                    });
                }
                conn.batch_execute(&format!("DELETE FROM main.{}", quote(t)))?;
            }
        }
        let mut rows = 0;
        for t in &from {
            #[derive(QueryableByName)]
            struct Column {
                #[diesel(sql_type = Text)]
                name: String,
            }
            let columns: Vec<String> = diesel::sql_query("SELECT name FROM pragma_table_info(?)")
                .bind::<Text, _>(t)
                .load::<Column>(conn)?
                .into_iter()
                .map(|c| quote(&c.name))
                .collect();
            let columns = columns.join(", ");
            rows += diesel::sql_query(format!(
                "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM backup.{table}",
                table = quote(t)
            ))
            .execute(conn)? as u64;
        }
        let broken: Vec<Name> =
            diesel::sql_query("SELECT \"table\" AS name FROM pragma_foreign_key_check LIMIT 1")
                .load(conn)?;
        if let Some(b) = broken.first() {
            return Err(BackupError::BadFile {
                path: "the backup".into(),
                reason: format!("rows of {} reference rows it lacks", b.name),
            });
        }
        Ok(Summary {
            tables: from.len(),
            rows,
        })
    }
}

#[cfg(feature = "postgres")]
use postgres::backup as backup_postgres;

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, BufWriter, Write};

    /// Writes lines and hashes them, for the closing checksum.
    struct Hashed {
        out: BufWriter<File>,
        hash: Sha256,
        path: String,
    }

    impl Hashed {
        fn line(&mut self, text: &str) -> Result<(), BackupError> {
            self.hash.update(text.as_bytes());
            self.hash.update(b"\n");
            self.out
                .write_all(text.as_bytes())
                .and_then(|()| self.out.write_all(b"\n"))
                .map_err(|e| BackupError::Write {
                    path: self.path.clone(),
                    reason: e.to_string(),
                })
        }
    }

    fn tables(conn: &mut PgConnection) -> Result<Vec<String>, BackupError> {
        Ok(diesel::sql_query(format!(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '{MIGRATIONS_TABLE}' ORDER BY table_name"
        ))
        .load::<Name>(conn)?
        .into_iter()
        .map(|n| n.name)
        .collect())
    }

    /// Foreign keys between the schema's tables: (child, parent).
    fn edges(conn: &mut PgConnection) -> Result<Vec<(String, String)>, BackupError> {
        Ok(diesel::sql_query(
            "SELECT cl.relname::text AS child, pr.relname::text AS parent FROM pg_constraint co \
             JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class pr ON pr.oid = co.confrelid \
             JOIN pg_namespace n ON n.oid = cl.relnamespace \
             WHERE co.contype = 'f' AND n.nspname = current_schema()",
        )
        .load::<Edge>(conn)?
        .into_iter()
        .map(|e| (e.child, e.parent))
        .collect())
    }

    fn migrations(conn: &mut PgConnection) -> Result<Vec<String>, BackupError> {
        Ok(diesel::sql_query(format!(
            "SELECT version::text AS name FROM {MIGRATIONS_TABLE} ORDER BY version"
        ))
        .load::<Name>(conn)?
        .into_iter()
        .map(|n| n.name)
        .collect())
    }

    pub(super) fn backup(conn: &mut PgConnection, tmp: &Path) -> Result<Summary, BackupError> {
        let file = create_private(tmp)?;
        let mut out = Hashed {
            out: BufWriter::new(file),
            hash: Sha256::new(),
            path: tmp.display().to_string(),
        };
        // One snapshot for every table: what the backup holds was all true at one moment.
        conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let result = (|| -> Result<Summary, BackupError> {
            let tables = tables(conn)?;
            let order =
                parents_first(&tables, &edges(conn)?).map_err(|reason| BackupError::BadFile {
                    path: "the database".into(),
                    reason,
                })?;
            out.line(PG_MAGIC)?;
            let meta = serde_json::json!({
                "made_at": crate::db::now().to_string(),
                "migrations": migrations(conn)?,
            });
            out.line(&meta.to_string())?;
            let mut rows = 0u64;
            for t in &order {
                out.line(&format!("T {t}"))?;
                conn.batch_execute(&format!(
                    "DECLARE icsat_backup NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS name FROM {} t",
                    quote(t)
                ))?;
                loop {
                    let chunk: Vec<Name> =
                        diesel::sql_query(format!("FETCH {CHUNK} FROM icsat_backup")).load(conn)?;
                    for row in &chunk {
                        out.line(&format!("R {}", row.name))?;
                    }
                    rows += chunk.len() as u64;
                    if chunk.len() < CHUNK {
                        break;
                    }
                }
                conn.batch_execute("CLOSE icsat_backup")?;
            }
            Ok(Summary {
                tables: order.len(),
                rows,
            })
        })();
        let _ = conn.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let summary = result?;
        let digest = hex(&out.hash.clone().finalize());
        let end = format!("END {} {digest}", summary.rows);
        out.out
            .write_all(end.as_bytes())
            .and_then(|()| out.out.write_all(b"\n"))
            .and_then(|()| out.out.flush())
            .and_then(|()| out.out.get_ref().sync_all())
            .map_err(|e| BackupError::Write {
                path: out.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(summary)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The backup's schema versions and tables with their row counts, once its
    /// checksum is right: nothing is written from a damaged or cut-off file.
    /// A verified file's schema versions, and its tables with their row counts.
    type Contents = (Vec<String>, Vec<(String, u64)>);

    fn verify(file: &Path) -> Result<Contents, BackupError> {
        let bad = |reason: String| BackupError::BadFile {
            path: file.display().to_string(),
            reason,
        };
        let input = File::open(file).map_err(|e| BackupError::Read {
            path: file.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut hash = Sha256::new();
        let mut migrations = None;
        let mut tables: Vec<(String, u64)> = Vec::new();
        let mut total = 0u64;
        let mut ended = None;
        for (i, line) in BufReader::new(input).lines().enumerate() {
            let line = line.map_err(|e| bad(e.to_string()))?;
            if ended.is_some() {
                return Err(bad("it goes on after its end line".into()));
            }
            if let Some(end) = line.strip_prefix("END ") {
                ended = Some(end.to_string());
                continue;
            }
            match i {
                0 if line == PG_MAGIC => {}
                0 => return Err(bad("its first line is not an icsat backup's".into())),
                1 => {
                    let meta: serde_json::Value =
                        serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
                    let list: Vec<String> = serde_json::from_value(meta["migrations"].clone())
                        .map_err(|_| bad("its schema version is missing".into()))?;
                    migrations = Some(list);
                }
                _ => {
                    if let Some(t) = line.strip_prefix("T ") {
                        tables.push((t.to_string(), 0));
                    } else if line.starts_with("R {") && line.ends_with('}') {
                        let Some(last) = tables.last_mut() else {
                            return Err(bad(format!("line {} is a row of no table", i + 1)));
                        };
                        last.1 += 1;
                        total += 1;
                    } else {
                        return Err(bad(format!("line {} is not a row", i + 1)));
                    }
                }
            }
            hash.update(line.as_bytes());
            hash.update(b"\n");
        }
        let Some(end) = ended else {
            return Err(bad("it is cut off (no end line)".into()));
        };
        if end != format!("{total} {}", hex(&hash.finalize())) {
            return Err(bad("its checksum does not match: it is damaged".into()));
        }
        let migrations = migrations.ok_or_else(|| bad("it is empty".into()))?;
        Ok((migrations, tables))
    }

    pub(super) fn restore(
        url: &DatabaseUrl,
        file: &Path,
        force: bool,
    ) -> Result<Summary, BackupError> {
        let (backup_schema, backup_tables) = verify(file)?;
        let db = Db::open(url)?;
        let crate::db::Conn::Postgres(mut conn) = db.get()? else {
            return Err(BackupError::Db(DbError::UnsupportedUrl(url.display())));
        };
        let conn: &mut PgConnection = &mut conn;
        let target_schema = migrations(conn)?;
        if target_schema != backup_schema {
            return Err(BackupError::Schema {
                backup: backup_schema.last().cloned().unwrap_or_default(),
                target: target_schema.last().cloned().unwrap_or_default(),
            });
        }
        let tables = tables(conn)?;
        if let Some((extra, _)) = backup_tables.iter().find(|(t, _)| !tables.contains(t)) {
            return Err(BackupError::Schema {
                backup: format!("table {extra}"),
                target: "no such table".into(),
            });
        }
        let edges = edges(conn)?;
        conn.transaction(|conn| {
            // Two restores at once would each find the database empty.
            conn.batch_execute(&format!(
                "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
                tables
                    .iter()
                    .map(|t| quote(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            let order = parents_first(&tables, &edges).map_err(|reason| BackupError::BadFile {
                path: "the database".into(),
                reason,
            })?;
            for t in order.iter().rev() {
                let n = diesel::sql_query(format!(
                    "SELECT count(*) AS n FROM (SELECT 1 FROM {} LIMIT 1) x",
                    quote(t)
                ))
                .get_result::<Count>(conn)?
                .n;
                if n > 0 {
                    if !force {
                        return Err(BackupError::NotEmpty {
                            url: url.display(),
                            table: t.clone(),
                        });
                    }
                    conn.batch_execute(&format!("DELETE FROM {}", quote(t)))?;
                }
            }
            let rows = load(conn, file)?;
            reset_sequences(conn)?;
            Ok(Summary {
                tables: backup_tables.len(),
                rows,
            })
        })
    }

    /// Inserts the rows of the (verified) file, table by table in its order (parents
    /// first). Rows referencing their own table are put in an order where each comes
    /// after the row it references.
    fn load(conn: &mut PgConnection, file: &Path) -> Result<u64, BackupError> {
        let self_keys = self_references(conn)?;
        let input = File::open(file).map_err(|e| BackupError::Read {
            path: file.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut table: Option<String> = None;
        let mut batch: Vec<String> = Vec::new();
        let mut rows = 0u64;
        let mut flush = |conn: &mut PgConnection,
                         table: &Option<String>,
                         batch: &mut Vec<String>|
         -> Result<(), BackupError> {
            let Some(t) = table else { return Ok(()) };
            if batch.is_empty() {
                return Ok(());
            }
            if let Some((column, referenced)) = self_keys.get(t.as_str()) {
                *batch = tree_order(std::mem::take(batch), column, referenced);
            }
            for chunk in batch.chunks(CHUNK) {
                let array = format!("[{}]", chunk.join(","));
                diesel::sql_query(format!(
                    "INSERT INTO {t} SELECT * FROM json_populate_recordset(NULL::{t}, $1::json)",
                    t = quote(t)
                ))
                .bind::<Text, _>(array)
                .execute(conn)?;
            }
            rows += batch.len() as u64;
            batch.clear();
            Ok(())
        };
        for line in BufReader::new(input).lines().skip(2) {
            let line = line.map_err(|e| BackupError::Read {
                path: file.display().to_string(),
                reason: e.to_string(),
            })?;
            if let Some(row) = line.strip_prefix("R ") {
                batch.push(row.to_string());
                let whole_table = table.as_deref().is_some_and(|t| self_keys.contains_key(t));
                if batch.len() >= CHUNK && !whole_table {
                    flush(conn, &table, &mut batch)?;
                }
            } else if let Some(t) = line.strip_prefix("T ") {
                flush(conn, &table, &mut batch)?;
                table = Some(t.to_string());
            } else {
                flush(conn, &table, &mut batch)?;
                table = None;
            }
        }
        flush(conn, &table, &mut batch)?;
        Ok(rows)
    }

    /// Tables with a foreign key into themselves: table -> (column, referenced column).
    fn self_references(
        conn: &mut PgConnection,
    ) -> Result<HashMap<String, (String, String)>, BackupError> {
        #[derive(QueryableByName)]
        struct SelfKey {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Text)]
            child: String,
            #[diesel(sql_type = Text)]
            parent: String,
        }
        let rows: Vec<SelfKey> = diesel::sql_query(
            "SELECT cl.relname::text AS name, a.attname::text AS child, b.attname::text AS parent \
             FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid \
             JOIN pg_namespace n ON n.oid = cl.relnamespace \
             JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] \
             JOIN pg_attribute b ON b.attrelid = co.confrelid AND b.attnum = co.confkey[1] \
             WHERE co.contype = 'f' AND co.conrelid = co.confrelid AND n.nspname = current_schema()",
        )
        .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.name, (r.child, r.parent)))
            .collect())
    }

    /// Orders rows so that a row whose `column` references another row's `referenced`
    /// comes after it (rows referencing nothing present keep their place in front).
    fn tree_order(rows: Vec<String>, column: &str, referenced: &str) -> Vec<String> {
        let parsed: Vec<(String, Option<String>, String)> = rows
            .into_iter()
            .map(|raw| {
                let value: serde_json::Value = serde_json::from_str(&raw).unwrap_or_default();
                let key = value[referenced].to_string();
                let parent = (!value[column].is_null()).then(|| value[column].to_string());
                (key, parent, raw)
            })
            .collect();
        let keys: BTreeSet<&String> = parsed.iter().map(|(k, _, _)| k).collect();
        let mut placed: BTreeSet<String> = BTreeSet::new();
        let mut order = Vec::with_capacity(parsed.len());
        let mut left: Vec<&(String, Option<String>, String)> = parsed.iter().collect();
        while !left.is_empty() {
            let before = left.len();
            left.retain(|(key, parent, raw)| {
                let ready = parent
                    .as_ref()
                    .is_none_or(|p| placed.contains(p) || !keys.contains(p));
                if ready {
                    placed.insert(key.clone());
                    order.push(raw.clone());
                }
                !ready
            });
            if left.len() == before {
                // A cycle: the database refuses it, with its own message.
                order.extend(left.iter().map(|(_, _, raw)| raw.clone()));
                break;
            }
        }
        order
    }

    /// Moves each serial column's sequence past the restored ids.
    fn reset_sequences(conn: &mut PgConnection) -> Result<(), BackupError> {
        let serials: Vec<Edge> = diesel::sql_query(
            "SELECT table_name::text AS child, column_name::text AS parent \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND column_default LIKE 'nextval(%'",
        )
        .load(conn)?;
        for s in serials {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), \
                 COALESCE((SELECT max({c}) FROM {t}), 0) + 1, false) IS NOT NULL AS name",
                c = quote(&s.parent),
                t = quote(&s.child)
            ))
            .bind::<Text, _>(quote(&s.child))
            .bind::<Text, _>(&s.parent)
            .execute(conn)?;
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rows_of_a_tree_come_after_their_parents() {
            let rows = vec![
                r#"{"id":3,"parent_id":2}"#.to_string(),
                r#"{"id":2,"parent_id":1}"#.to_string(),
                r#"{"id":1,"parent_id":null}"#.to_string(),
                r#"{"id":4,"parent_id":99}"#.to_string(),
            ];
            let ordered = tree_order(rows, "parent_id", "id");
            let ids: Vec<i64> = ordered
                .iter()
                .map(|r| {
                    serde_json::from_str::<serde_json::Value>(r).unwrap()["id"]
                        .as_i64()
                        .unwrap()
                })
                .collect();
            assert_eq!(ids, vec![1, 4, 2, 3]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_cycles_are_refused() {
        let tables: Vec<String> = ["answers", "responses", "waves", "departments"]
            .map(String::from)
            .to_vec();
        let edges = vec![
            ("answers".to_string(), "responses".to_string()),
            ("responses".to_string(), "waves".to_string()),
            ("responses".to_string(), "departments".to_string()),
            ("departments".to_string(), "departments".to_string()),
        ];
        let order = parents_first(&tables, &edges).unwrap();
        let at = |t: &str| order.iter().position(|x| x == t).unwrap();
        assert!(at("waves") < at("responses") && at("departments") < at("responses"));
        assert!(at("responses") < at("answers"));
        let cycle = vec![
            ("a".to_string(), "b".to_string()),
            ("b".to_string(), "a".to_string()),
        ];
        assert!(parents_first(&["a".into(), "b".into()], &cycle).is_err());
    }
}
