//! `POST /api/feedback-requests`: a ticketing system reports a closed request, icsat
//! decides whether to ask the person for feedback (`services::feedback`). Authenticated
//! by an integration key (`Authorization: Bearer KEY`), limited per key; every refusal
//! is a JSON error that says what to fix, and stores nothing.

use std::num::NonZeroU32;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::AppState;
use crate::services::feedback::{self, FeedbackError, Request};

/// Requests a key may make per second, per process (a burst of as many).
pub const REQUESTS_PER_SECOND: u32 = 5_000;

/// The per-key limit of one process.
pub struct FeedbackLimits(DefaultKeyedRateLimiter<i64>);

impl Default for FeedbackLimits {
    fn default() -> Self {
        let rate = NonZeroU32::new(REQUESTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        FeedbackLimits(RateLimiter::keyed(Quota::per_second(rate)))
    }
}

fn error(
    status: StatusCode,
    message: String,
    extra: Option<(&str, serde_json::Value)>,
) -> HttpResponse {
    let mut body = serde_json::json!({ "error": message });
    if let (Some((key, value)), Some(map)) = (extra, body.as_object_mut()) {
        map.insert(key.to_string(), value);
    }
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn refusal(e: FeedbackError) -> HttpResponse {
    match e {
        FeedbackError::UnknownKey => error(StatusCode::UNAUTHORIZED, e.to_string(), None),
        FeedbackError::UnknownService { ref known, .. } => {
            let known = serde_json::json!(known);
            error(StatusCode::NOT_FOUND, e.to_string(), Some(("known", known)))
        }
        FeedbackError::UnknownEmployee(_) => error(StatusCode::NOT_FOUND, e.to_string(), None),
        FeedbackError::NoFeedback(_) | FeedbackError::Invalid(_) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string(), None)
        }
        other => {
            tracing::error!(error = %other, "a feedback request could not be decided");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the request could not be decided right now; send it again in a minute".into(),
                None,
            )
        }
    }
}

/// The key of `Authorization: Bearer KEY`.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_string())
}

/// `POST /api/feedback-requests` with `{"email", "service", "reference"?}`.
pub async fn request(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(key) = bearer(&req) else {
        return refusal(FeedbackError::UnknownKey);
    };
    let parsed: Request = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not the JSON expected ({e}); send {{\"email\": \"...\", \"service\": \"...\", \"reference\": \"...\"}} (reference optional)"
                ),
                None,
            )
        }
    };
    let db = state.db.clone();
    let integration = match db.run(move |conn| feedback::authenticate(conn, &key)).await {
        Ok(id) => id,
        Err(e) => return refusal(e),
    };
    if state.feedback_limits.0.check_key(&integration).is_err() {
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "1"))
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({
                "error": format!("more than {REQUESTS_PER_SECOND} requests a second with this key; wait a second and send the rest")
            }));
    }
    let mailer = state.mailer.clone();
    let decided = state
        .db
        .run(move |conn| -> Result<_, FeedbackError> {
            let catalogue = crate::services::current_catalogue(conn)?.ok_or_else(|| {
                FeedbackError::UnknownService {
                    id: parsed.service.clone(),
                    known: Vec::new(),
                }
            })?;
            feedback::decide(
                conn,
                &mailer,
                &catalogue,
                integration,
                &parsed,
                crate::db::now(),
                &mut rand::rng(),
            )
        })
        .await;
    match decided {
        Ok(decision) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(decision),
        Err(e) => refusal(e),
    }
}
