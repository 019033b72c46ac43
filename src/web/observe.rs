//! What operators watch: every request measured by its route pattern (`crate::metrics`)
//! and given a request id for the logs, and `GET /metrics`, the Prometheus text
//! exposition.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use tracing::Instrument;

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

/// The id of a request: the caller's `X-Request-Id` when it is a plain one (a proxy's,
/// to follow a request through both logs), else a new random one. Never anything taken
/// from the path or the body.
fn request_id(req: &ServiceRequest) -> String {
    let given = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    match given {
        Some(id) => id.to_string(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    }
}

const REQUEST_ID: &str = "x-request-id";

/// Every request gets a request id (in its log span and the `X-Request-Id` response
/// header) and is measured: its route pattern (`/s/{token}`, never the path, which holds
/// the token), method, status and time. Logs "request" at debug level under the target
/// `icsat::http` when it is answered.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let measured = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.metrics);
    let started = std::time::Instant::now();
    let id = request_id(&req);
    let method = method_label(req.method());
    let route = req.match_pattern();
    let route = route.as_deref().unwrap_or("unmatched");
    let span = tracing::info_span!("request", request_id = %id, method, route);
    let result = next.call(req).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    if measured {
        metrics::global().http_request(route, method, status, seconds);
    }
    span.in_scope(
        || tracing::debug!(target: "icsat::http", status, ms = seconds * 1000.0, "request"),
    );
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    Ok(res)
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
