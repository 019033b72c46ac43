//! `GET /healthz`: for load balancers and monitoring; 200 only when the database answers.

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::db::DbError;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    match db.run(|conn| -> Result<(), DbError> { conn.ping() }).await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable\n")
        }
    }
}
