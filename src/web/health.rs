//! `GET /healthz` and `GET /readyz`, for load balancers, orchestrators and monitoring.

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

/// Ready: the database answers and its schema is the one this version expects (no
/// migration pending); 503 and the reason otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let unavailable = |reason: &str| {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .insert_header(("Cache-Control", "no-store"))
            .body(format!("{reason}\n"))
    };
    match state
        .db
        .run(|conn| -> Result<usize, DbError> { conn.pending_migrations() })
        .await
    {
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
