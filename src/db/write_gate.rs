//! The in-process queue of one SQLite database's writers, and the checkpointer that keeps
//! its write-ahead log short.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, PooledConnection};

use super::SQLITE_BUSY_TIMEOUT;

/// The in-process queue of one SQLite database's writers. SQLite lets one transaction
/// write at a time; `BEGIN IMMEDIATE` on a second connection waits in SQLite's busy
/// handler, which sleeps and retries (1, 2, 5, 10 ms and longer), so under load writers
/// slept while the database was free and the write lock went to whoever woke first.
/// Writers of one process instead queue here and are woken as soon as the previous one
/// has committed. Writers of other processes still meet at SQLite's lock and its
/// busy_timeout, as before; so does a writer that waited here longer than that timeout.
pub(super) struct WriteGate {
    tickets: Mutex<Tickets>,
    turn: Condvar,
}

/// Writers enter in the order they arrived (a ticket lock), so none waits behind a
/// stream of later ones, the checkpointer included.
#[derive(Default)]
struct Tickets {
    next: u64,
    serving: u64,
    /// Tickets whose holders stopped waiting: skipped when their turn comes.
    abandoned: BTreeSet<u64>,
}

impl Tickets {
    fn advance(&mut self) {
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
    }
}

/// How often a database file's checkpointer copies committed pages from the WAL into
/// the database file (SQLite's own automatic checkpoint would do it inside a writer's
/// COMMIT, holding up every writer queued behind it for the copy and two fsyncs).
const CHECKPOINT_PERIOD: Duration = Duration::from_millis(200);

/// WAL frames (pages, 4 KiB each by default) beyond which the checkpointer holds writers
/// back for one checkpoint, so that the WAL can start over from its beginning: writers
/// that never pause would otherwise outrun every checkpoint and the WAL would only grow.
#[cfg(not(test))]
const CHECKPOINT_RESTART_FRAMES: i64 = 32_768;
/// Small in unit tests, so a test sees many restarts in a few megabytes of writes.
#[cfg(test)]
const CHECKPOINT_RESTART_FRAMES: i64 = 256;

/// Passage through a [`WriteGate`]: the next writer may enter when it is dropped.
pub(super) struct WritePass(Arc<WriteGate>);

impl WriteGate {
    fn new() -> WriteGate {
        WriteGate {
            tickets: Mutex::new(Tickets::default()),
            turn: Condvar::new(),
        }
    }

    pub(super) fn enter(self: Arc<Self>, patience: Duration) -> Option<WritePass> {
        let deadline = Instant::now() + patience;
        let mut tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = tickets.next;
        tickets.next += 1;
        while tickets.serving != ticket {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tickets.abandoned.insert(ticket);
                return None;
            }
            tickets = self
                .turn
                .wait_timeout(tickets, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(tickets);
        Some(WritePass(self))
    }
}

impl Drop for WritePass {
    fn drop(&mut self) {
        self.0
            .tickets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .advance();
        self.0.turn.notify_all();
    }
}

#[derive(diesel::QueryableByName)]
struct CheckpointOutcome {
    /// 1 when the checkpoint could not finish (for RESTART: readers still used old
    /// frames of the WAL).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

/// How long the checkpointer holds writers back for the WAL to start over, at most.
const RESTART_PATIENCE: Duration = Duration::from_millis(50);

/// Keeps the WAL of one database file short while its [`WriteGate`] exists (while any
/// connection of this process that wrote through it is open): every
/// [`CHECKPOINT_PERIOD`] a PASSIVE checkpoint, which copies pages while readers and
/// writers go on, and when the WAL has grown past [`CHECKPOINT_RESTART_FRAMES`] a
/// RESTART checkpoint with this process's writers held at the gate. Durability does not
/// depend on it: every commit was synced to the WAL (synchronous = FULL), and a
/// checkpoint syncs the database file before the WAL may start over.
fn run_checkpointer(mut conn: SqliteConnection, file: Arc<std::fs::File>, gate: Weak<WriteGate>) {
    let mut checkpoint = |mode: &str| {
        diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})"))
            .get_result::<CheckpointOutcome>(&mut conn)
            .ok()
    };
    loop {
        std::thread::sleep(CHECKPOINT_PERIOD);
        let Some(gate) = gate.upgrade() else {
            return;
        };
        let outcome = checkpoint("PASSIVE");
        if outcome.is_some_and(|o| o.log >= CHECKPOINT_RESTART_FRAMES) {
            // While writers go on: write out the pages the copy left in the OS's cache
            // (the RESTART syncs the database file, and syncing tens of megabytes inside
            // the gate held every writer for 25-40 ms), and copy what came meanwhile,
            // so that little is left to do while writers wait.
            let _ = file.sync_data();
            checkpoint("PASSIVE");
            if let Some(_pass) = gate.enter(SQLITE_BUSY_TIMEOUT) {
                restart(&mut checkpoint);
            }
        }
    }
}

/// With writers held: copies the frames committed since the last checkpoint and starts
/// the WAL over as soon as no reader still uses its old frames. This connection has no
/// busy handler, so a RESTART that meets such a reader returns at once and is tried again
/// 100 µs later: SQLite's busy handler would sleep 1, 2, 5, 10 ms... between tries, and
/// every writer waits for those sleeps (readers here finish within a millisecond).
fn restart(checkpoint: &mut impl FnMut(&str) -> Option<CheckpointOutcome>) {
    let deadline = Instant::now() + RESTART_PATIENCE;
    while checkpoint("RESTART").is_some_and(|o| o.busy != 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// The gate of the database file a pooled SQLite connection has open, found once per
/// connection (by the file's full path, so every pool on that file shares it) and kept
/// with it. `None` inside a transaction already begun (diesel refuses that one at once,
/// as before) and when the file cannot be named.
pub(super) fn write_gate(
    conn: &mut PooledConnection<ConnectionManager<SqliteConnection>>,
) -> Option<Arc<WriteGate>> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let depth = AnsiTransactionManager::transaction_manager_status_mut(&mut **conn)
        .transaction_depth()
        .ok()
        .flatten();
    if depth.is_some() {
        return None;
    }
    if let Some(gate) = PooledConnection::extensions(conn).get::<Arc<WriteGate>>() {
        return Some(gate.clone());
    }
    let file = super::sqlite_file(conn)?;
    static GATES: OnceLock<Mutex<HashMap<String, Weak<WriteGate>>>> = OnceLock::new();
    let mut gates = GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let gate = match gates.get(&file).and_then(Weak::upgrade) {
        Some(gate) => gate,
        None => {
            // The checkpointer's own connection, without a busy handler (see
            // `restart`). Should it not open, or its thread not start, there is no gate
            // and connections checkpoint themselves.
            let mut checkpointer = SqliteConnection::establish(&file).ok()?;
            checkpointer
                .batch_execute("PRAGMA busy_timeout = 0;")
                .ok()?;
            let handle = sync_handle(&file)?;
            let gate = Arc::new(WriteGate::new());
            let weak = Arc::downgrade(&gate);
            std::thread::Builder::new()
                .name("icsat-checkpoint".into())
                .spawn(move || run_checkpointer(checkpointer, handle, weak))
                .ok()?;
            gates.retain(|_, gate| gate.strong_count() > 0);
            gates.insert(file, Arc::downgrade(&gate));
            gate
        }
    };
    drop(gates);
    // The file's checkpointer copies the WAL from now on, outside the gate.
    conn.batch_execute("PRAGMA wal_autocheckpoint = 0;").ok()?;
    PooledConnection::extensions_mut(conn).insert(gate.clone());
    Some(gate)
}

/// A handle on the database file for syncing it outside the gate (see
/// `run_checkpointer`), opened once per file and never closed: POSIX file locks belong to
/// the process, so closing any handle on the file would drop the locks every SQLite
/// connection of this process holds on it, and another process could then delete a WAL
/// still in use (SQLite's own handles avoid that; this one is not SQLite's). One handle
/// per database file the process ever wrote to.
fn sync_handle(file: &str) -> Option<Arc<std::fs::File>> {
    static HANDLES: OnceLock<Mutex<HashMap<String, Arc<std::fs::File>>>> = OnceLock::new();
    let mut handles = HANDLES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = handles.get(file) {
        return Some(handle.clone());
    }
    let handle = Arc::new(std::fs::File::open(file).ok()?);
    handles.insert(file.to_string(), handle.clone());
    Some(handle)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use diesel::connection::SimpleConnection;

    use crate::db::{DatabaseUrl, Db, DbError};

    /// Writers that never pause, with short readers (like token lookups) always on the
    /// WAL: the checkpointer still gets the WAL to start over, so its file stays a part
    /// of all that was written (without restarts it would hold every frame written). A
    /// quarter on a quiet machine; under half when other work shares the cores (CI).
    #[test]
    fn the_wal_starts_over_under_endless_writes_and_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
        let db = Db::connect(&url).expect("db");
        let mut conn = db.get().expect("connection");
        crate::with_conn!(conn, c => c.batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)"))
            .expect("table");
        let writing = Arc::new(AtomicBool::new(true));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (db, writing) = (db.clone(), writing.clone());
                std::thread::spawn(move || {
                    let mut reader = db.get().expect("reader");
                    while writing.load(Ordering::Relaxed) {
                        crate::with_conn!(reader, c => c.batch_execute("SELECT length(v) FROM t WHERE k = (SELECT max(k) FROM t)"))
                            .expect("read");
                    }
                })
            })
            .collect();
        // 40 rows of 4000 bytes a transaction: about 40 pages of WAL each.
        let started = Instant::now();
        let mut transactions = 0u64;
        while started.elapsed() < Duration::from_secs(3) || transactions < 200 {
            conn.transaction(|conn| {
                crate::with_conn!(*conn, c => c.batch_execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) \
                     INSERT INTO t (v) SELECT randomblob(4000) FROM n"
                ))?;
                Ok::<(), DbError>(())
            })
            .expect("write");
            transactions += 1;
        }
        writing.store(false, Ordering::Relaxed);
        for reader in readers {
            reader.join().expect("reader thread");
        }
        let written = transactions * 40 * 4096;
        let wal = std::fs::metadata(dir.path().join("w.db-wal")).map_or(0, |m| m.len());
        assert!(
            wal * 2 < written,
            "the WAL holds {wal} bytes of the {written} written in {transactions} transactions"
        );
    }
}
