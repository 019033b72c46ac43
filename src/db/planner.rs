//! Keeping PostgreSQL's planner statistics current for the tables that grow in bulk.
//!
//! Counting a wave reads its answers a page of response ids at a time. With no
//! statistics for `answers` (never analysed: autovacuum off, or not yet run after a seal
//! or an import of millions of rows) PostgreSQL plans each page as a scan of every
//! answer of every wave: measured at 100,000 respondents a wave, one release took
//! minutes instead of about a second. So the paths that read whole waves gather the
//! statistics themselves when the tables changed much since they were last gathered,
//! by autovacuum's own rule. SQLite plans these reads by the primary key either way.

#[cfg(feature = "postgres")]
use diesel::prelude::*;
#[cfg(feature = "postgres")]
use diesel::sql_types::{BigInt, Text};

use super::{Conn, DbError};

/// The tables whose statistics steer the counting and export reads.
#[cfg(feature = "postgres")]
const BULK_TABLES: [&str; 2] = ["responses", "answers"];

/// autovacuum's default rule: analyse when more than 50 rows plus 10% of the table
/// changed since the last analysis.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn is_stale(live: i64, changed: i64) -> bool {
    changed > 50 + live / 10
}

#[cfg(feature = "postgres")]
#[derive(QueryableByName)]
struct Changes {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = BigInt)]
    live: i64,
    #[diesel(sql_type = BigInt)]
    changed: i64,
}

/// Analyses `responses` and `answers` on PostgreSQL when they changed much since their
/// statistics were gathered; returns the tables analysed. Nothing on SQLite.
pub fn refresh_if_stale(conn: &mut Conn) -> Result<Vec<&'static str>, DbError> {
    #[cfg(feature = "postgres")]
    if let Conn::Postgres(pg) = conn {
        return refresh_postgres(pg);
    }
    let _ = conn;
    Ok(Vec::new())
}

#[cfg(feature = "postgres")]
fn refresh_postgres(pg: &mut PgConnection) -> Result<Vec<&'static str>, DbError> {
    // The tables of the connection's own search path (a schema per test run or bench).
    let changes: Vec<Changes> = diesel::sql_query(
        "SELECT c.relname::text AS relname, \
                COALESCE(s.n_live_tup, 0) AS live, \
                COALESCE(s.n_mod_since_analyze, 0) AS changed \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE c.oid IN ('responses'::regclass, 'answers'::regclass)",
    )
    .load(pg)?;
    let mut analysed = Vec::new();
    for table in BULK_TABLES {
        if changes
            .iter()
            .any(|c| c.relname == table && is_stale(c.live, c.changed))
        {
            // Table names are our constants, never input.
            diesel::sql_query(format!("ANALYZE {table}")).execute(pg)?;
            analysed.push(table);
        }
    }
    if !analysed.is_empty() {
        tracing::info!(tables = ?analysed, "planner statistics gathered");
    }
    Ok(analysed)
}

#[cfg(test)]
mod tests {
    use super::is_stale;

    #[test]
    fn stale_by_autovacuums_rule() {
        assert!(!is_stale(0, 50));
        assert!(is_stale(0, 51));
        assert!(!is_stale(1_000_000, 100_050));
        assert!(is_stale(1_000_000, 100_051));
        assert!(is_stale(15_000_000, 15_000_000));
    }
}
