//! What operators watch: every request measured by its route pattern (`crate::metrics`),
//! and `GET /metrics`, the Prometheus text exposition.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::metrics::{self, Stored};

/// The method as a label: the usual ones, else "other" (a client may send any word).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Measures every request: its route pattern (`/s/{token}`, never the path, which holds
/// the token), method, status and time.
pub async fn measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let on = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.metrics);
    if !on {
        return next.call(req).await;
    }
    let started = std::time::Instant::now();
    let method = method_label(req.method());
    let result = next.call(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let (status, route) = match &result {
        Ok(res) => (res.status().as_u16(), res.request().match_pattern()),
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    metrics::global().http_request(
        route.as_deref().unwrap_or("unmatched"),
        method,
        status,
        seconds,
    );
    result
}

/// Whether the request carries `Authorization: Bearer {expected}`; compared as hashes,
/// so the time taken tells nothing of the token's length or its first bytes.
fn bearer_ok(req: &HttpRequest, expected: &str) -> bool {
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
        && !given.is_empty()
}

/// `GET /metrics`: counters of this process, and gauges read from the database now.
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if !state.config.metrics {
        return super::not_found().await;
    }
    if let Some(token) = &state.config.metrics_token {
        if !bearer_ok(&req, token) {
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer realm=\"icsat metrics\""))
                .content_type("text/plain; charset=utf-8")
                .body("/metrics needs the bearer token of ICSAT_METRICS_TOKEN.\n");
        }
    }
    let stored = state
        .db
        .run(|conn| -> Result<Stored, crate::mail::MailError> {
            let inbox_waiting = crate::responses::inbox::waiting(conn)?;
            let (mail, oldest) = crate::mail::totals(conn)?;
            let now = crate::db::now();
            let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            Ok(Stored {
                inbox_waiting,
                mail_queued: count(mail.queued),
                mail_sent: count(mail.sent),
                mail_failed: count(mail.failed),
                oldest_queued_seconds: oldest
                    .map_or(0.0, |t| (now - t).num_milliseconds() as f64 / 1000.0),
            })
        })
        .await;
    let stored = match stored {
        Ok(stored) => Some(stored),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            None
        }
    };
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(metrics::global().render(stored, state.db.pool_use()))
}
