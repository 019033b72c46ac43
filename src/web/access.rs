//! Signed-in requests: the session cookie, CSRF tokens, and the one place a refusal
//! becomes a response (a redirect to /login for pages, 401/403 JSON for the API, plain
//! text for downloads).

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;
use crate::auth::{sessions, User};

pub const SESSION_COOKIE: &str = "icsat_session";
/// A random value set before sign-in, binding the sign-in forms to this browser.
pub const PRE_COOKIE: &str = "icsat_pre";

/// Which kind of answer a route gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Html,
    Json,
    Csv,
}

/// A request with a live session.
pub struct Signed {
    pub user: User,
    pub session: String,
}

/// Why a request gets no content.
#[derive(Debug)]
pub enum Denied {
    SignIn,
    Forbidden(String),
    NotFound(String),
    Unavailable,
}

impl Denied {
    pub fn respond(&self, state: &AppState, output: Output) -> HttpResponse {
        let (status, text) = match self {
            Denied::SignIn => (
                StatusCode::UNAUTHORIZED,
                "Sign in first: ask for a sign-in link at /login.".to_string(),
            ),
            Denied::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                format!("Not available to your account: {why}."),
            ),
            Denied::NotFound(what) => (StatusCode::NOT_FOUND, what.clone()),
            Denied::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The results are unavailable right now; please try again in a few minutes."
                    .to_string(),
            ),
        };
        match output {
            Output::Html if matches!(self, Denied::SignIn) => HttpResponse::SeeOther()
                .insert_header(("Location", "/login"))
                .insert_header(("Cache-Control", "no-store"))
                .finish(),
            Output::Html => {
                let heading = match status {
                    StatusCode::FORBIDDEN => "Not available to your account",
                    StatusCode::NOT_FOUND => "Not found",
                    _ => "Unavailable",
                };
                state
                    .pages
                    .app_message(status, heading, &[text], &state.config.help_contact)
            }
            Output::Json => HttpResponse::build(status)
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({ "error": text })),
            Output::Csv => HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .insert_header(("Cache-Control", "no-store"))
                .body(format!("{text}\n")),
        }
    }
}

/// The signed-in account, or why not.
pub async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<Signed, Denied> {
    let Some(cookie) = req.cookie(cookie_name(state, SESSION_COOKIE)) else {
        return Err(Denied::SignIn);
    };
    let session = cookie.value().to_string();
    let lookup = session.clone();
    let found = state
        .db
        .run(move |conn| sessions::find(conn, &lookup, crate::db::now()))
        .await;
    match found {
        Ok(Some(user)) => Ok(Signed { user, session }),
        Ok(None) => Err(Denied::SignIn),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            Err(Denied::Unavailable)
        }
    }
}

/// A keyed hash only this service can make, of `purpose` bound to `binding` (a
/// session id, or the pre-sign-in cookie).
pub fn csrf(secret: &str, purpose: &str, binding: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{purpose}:{binding}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `given` is the CSRF token of `purpose` for `binding`, compared in constant time.
pub fn csrf_ok(secret: &str, purpose: &str, binding: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    if binding.is_empty() {
        return false;
    }
    constant_time_eq(&csrf(secret, purpose, binding), given)
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn constant_time_eq(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The CSRF token of a signed-in form.
pub fn session_csrf(state: &AppState, signed: &Signed) -> String {
    csrf(&state.secret, "session-form", &signed.session)
}

pub fn session_csrf_ok(state: &AppState, signed: &Signed, given: Option<&str>) -> bool {
    csrf_ok(&state.secret, "session-form", &signed.session, given)
}

fn secure(state: &AppState) -> bool {
    state.config.base_url.starts_with("https://")
}

/// The name a cookie goes by: over https with the `__Host-` prefix, which browsers
/// accept only from this very host, over https, for the whole site, so neither a
/// sibling subdomain nor a plain-http page can plant or overwrite it.
pub fn cookie_name(state: &AppState, name: &'static str) -> &'static str {
    match (secure(state), name) {
        (true, SESSION_COOKIE) => "__Host-icsat_session",
        (true, PRE_COOKIE) => "__Host-icsat_pre",
        _ => name,
    }
}

/// A cookie only this site's pages send, never readable by scripts.
pub fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: Option<CookieDuration>,
) -> Cookie<'static> {
    let mut builder = Cookie::build(cookie_name(state, name), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state));
    if let Some(age) = max_age {
        builder = builder.max_age(age);
    }
    builder.finish()
}

/// A cookie that removes `name`.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    cookie(state, name, String::new(), Some(CookieDuration::ZERO))
}

/// The fields of an url-encoded form body (the last value of a repeated name wins).
pub fn form_fields(body: &[u8]) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The client a request comes from (see [`super::client_ip`]).
pub fn client(state: &AppState, req: &HttpRequest) -> std::net::IpAddr {
    super::client_ip::client(req, &state.config.trusted_proxies)
}
