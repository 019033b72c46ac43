//! `GET /healthz` and `GET /readyz`, for load balancers, orchestrators and monitoring.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::db::DbError;

/// Alive: the process answers HTTP. Asks nothing of the database, so that a database
/// outage makes instances unready, not restarted.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .insert_header(("Cache-Control", "no-store"))
        .body("ok\n")
}

/// How long one readiness answer is reused. Load balancers of several processes may ask
/// many times a second; each asking the database would queue for pool connections
/// behind the pages (a p99 of 100 ms under load on PostgreSQL), while an answer a
/// fraction of a second old is as good to them.
const READY_FOR: Duration = Duration::from_millis(500);

/// The last readiness answer: when, and the pending migrations or the failure.
static LAST_CHECK: Mutex<Option<(Instant, Result<usize, String>)>> = Mutex::new(None);

/// Ready: the database answers and its schema is the one this version expects (no
/// migration pending); 503 and the reason otherwise. Asks the database at most every
/// [`READY_FOR`].
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let unavailable = |reason: &str| {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .insert_header(("Cache-Control", "no-store"))
            .body(format!("{reason}\n"))
    };
    let recent = LAST_CHECK
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .filter(|(at, _)| at.elapsed() < READY_FOR)
        .map(|(_, result)| result.clone());
    let result = match recent {
        Some(result) => result,
        None => {
            let result = state
                .db
                .run(|conn| -> Result<usize, DbError> { conn.pending_migrations() })
                .await
                .map_err(|e| e.to_string());
            *LAST_CHECK.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((Instant::now(), result.clone()));
            result
        }
    };
    match result {
        Ok(0) => HttpResponse::Ok()
            .content_type("text/plain")
            .insert_header(("Cache-Control", "no-store"))
            .body("ready\n"),
        Ok(pending) => unavailable(&format!(
            "{pending} database migrations pending: run `icsat migrate`"
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("database unavailable")
        }
    }
}
