//! `/login`, `/login/{token}` and `/logout`: sign-in by a one-time emailed link.
//!
//! Asking for a link always gets the same answer, whether or not the address has an
//! account. Opening the link shows a "Sign in" button; only its POST uses the link up,
//! so mail scanners that fetch every link in a message do not spend it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tera::Context;
use tokio::sync::mpsc;

use super::access::{self, PRE_COOKIE, SESSION_COOKIE};
use super::limits::FailureLimiter;
use super::AppState;
use crate::auth::sign_in::{self, SignInMailer};
use crate::auth::{sessions, sign_in::LINK_MINUTES, User};
use crate::users::Role;

/// Sign-in's own state: the queue of links to mail and the limits on asking and trying.
pub struct SignInState {
    /// Addresses to look up and mail a link to, in order, by one background task: the
    /// answer to `POST /login` never waits for the lookup, so its timing says nothing
    /// about whether the address has an account.
    queue: mpsc::Sender<String>,
    /// Links mailed per address and client (the owner's own asks stay theirs).
    per_address_client: FailureLimiter<(String, IpAddr)>,
    /// Links mailed per address from anywhere (no mail flood to one inbox).
    per_address: FailureLimiter<String>,
    /// Links asked for per client.
    asks_per_client: FailureLimiter,
    /// Unknown, used or expired links tried per client.
    pub per_client: FailureLimiter,
}

/// Asks waiting to be looked up; more are dropped quietly (the answer is the same).
const QUEUE: usize = 1024;

impl SignInState {
    /// Starts the background task that mails links (call inside the server's runtime).
    pub fn new(db: crate::db::Db, mailer: SignInMailer) -> SignInState {
        let (queue, mut asks) = mpsc::channel::<String>(QUEUE);
        let mailer = Arc::new(mailer);
        actix_web::rt::spawn(async move {
            while let Some(email) = asks.recv().await {
                let mailer = mailer.clone();
                let sent = db
                    .run(move |conn| sign_in::request_link(conn, &mailer, &email, crate::db::now()))
                    .await;
                if let Err(e) = sent {
                    tracing::error!(error = %e, "queueing a sign-in link failed");
                }
            }
        });
        SignInState {
            queue,
            per_address_client: FailureLimiter::new(5, Duration::from_secs(15 * 60)),
            per_address: FailureLimiter::new(20, Duration::from_secs(60 * 60)),
            asks_per_client: FailureLimiter::new(300, Duration::from_secs(10 * 60)),
            per_client: FailureLimiter::new(30, Duration::from_secs(10 * 60)),
        }
    }

    /// Queues a link for `email` unless this address or client asked too often; either
    /// way the caller answers the same, at once.
    fn ask(&self, email: String, client: IpAddr) {
        let within = self.asks_per_client.hit(&client).is_ok()
            && self
                .per_address_client
                .hit(&(email.clone(), client))
                .is_ok()
            && self.per_address.hit(&email).is_ok();
        if !within {
            tracing::debug!("a sign-in link was not sent: asked for too often");
            return;
        }
        if self.queue.try_send(email).is_err() {
            tracing::warn!(
                "sign-in links are asked for faster than they can be sent; one was dropped"
            );
        }
    }
}

const ASK_PURPOSE: &str = "login-ask";
const USE_PURPOSE: &str = "login-use";

/// The pre-sign-in value of this browser, and a cookie to set when it had none.
fn pre_value(
    state: &AppState,
    req: &HttpRequest,
) -> (String, Option<actix_web::cookie::Cookie<'static>>) {
    match req.cookie(access::cookie_name(state, PRE_COOKIE)) {
        Some(c) if crate::auth::sign_in_plausible(c.value()) => (c.value().to_string(), None),
        _ => {
            let (value, _) = crate::auth::fresh_secret();
            let cookie = access::cookie(
                state,
                PRE_COOKIE,
                value.clone(),
                Some(CookieDuration::hours(2)),
            );
            (value, Some(cookie))
        }
    }
}

fn with_cookie(
    mut response: HttpResponse,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    csrf: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    let mut context = Context::new();
    context.insert("page_title", "Sign in to the survey results");
    context.insert("csrf", csrf);
    context.insert("notice", &notice);
    context.insert("error", &error);
    context.insert("minutes", &LINK_MINUTES);
    context.insert("help", &state.config.help_contact);
    state.pages.render(status, "auth/login.html", &context)
}

/// `GET /login`: the email form (or, when signed in already, the way to one's results).
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Ok(signed) = access::signed_in(&state, &req).await {
        return home_redirect(&signed.user);
    }
    let (pre, cookie) = pre_value(&state, &req);
    let csrf = access::csrf(&state.secret, ASK_PURPOSE, &pre);
    with_cookie(
        login_page(&state, StatusCode::OK, &csrf, None, None),
        cookie,
    )
}

/// `POST /login`: queues a link for the address; answers the same at once, whether or
/// not the address has an account and whether or not it asked too often.
pub async fn ask(
    state: web::Data<AppState>,
    sign_in_state: web::Data<Arc<SignInState>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = access::form_fields(&body);
    let (pre, cookie) = pre_value(&state, &req);
    let csrf = access::csrf(&state.secret, ASK_PURPOSE, &pre);
    if cookie.is_some()
        || !access::csrf_ok(
            &state.secret,
            ASK_PURPOSE,
            &pre,
            fields.get("csrf").map(String::as_str),
        )
    {
        let page = login_page(
            &state,
            StatusCode::FORBIDDEN,
            &csrf,
            None,
            Some("This form has expired or did not come from this page. Please enter your address again."),
        );
        return with_cookie(page, cookie);
    }
    let email = fields
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    if email.is_empty() || email.len() > 320 || !email.contains('@') {
        return login_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &csrf,
            None,
            Some("Enter the email address of your account, e.g. name@example.com."),
        );
    }
    sign_in_state.ask(email, access::client(&state, &req));
    login_page(
        &state,
        StatusCode::OK,
        &csrf,
        Some(&format!(
            "If that address has an account, a link is on its way. It works once, for {LINK_MINUTES} minutes."
        )),
        None,
    )
}

/// The answer to an unknown, used or expired link: 404, or 429 when this client has
/// tried too many (counted only here, so a valid link is always served).
fn failed_link(state: &AppState, sign_in_state: &SignInState, req: &HttpRequest) -> HttpResponse {
    match sign_in_state.per_client.hit(&access::client(state, req)) {
        Ok(()) => link_problem(state, StatusCode::NOT_FOUND),
        Err(wait) => {
            let mut page = link_problem(state, StatusCode::TOO_MANY_REQUESTS);
            super::limits::set_retry_after(&mut page, wait);
            page
        }
    }
}

fn link_problem(state: &AppState, status: StatusCode) -> HttpResponse {
    state.pages.app_message(
        status,
        "This sign-in link does not work",
        &[
            "Sign-in links work once, for 15 minutes. This one is used, expired, or not complete."
                .into(),
            "Ask for a new one at /login.".into(),
        ],
        &state.config.help_contact,
    )
}

/// `GET /login/{token}`: a page with the "Sign in" button; uses nothing up.
pub async fn confirm(
    state: web::Data<AppState>,
    sign_in_state: web::Data<Arc<SignInState>>,
    req: HttpRequest,
    token: web::Path<String>,
) -> HttpResponse {
    let token = token.into_inner();
    let lookup = token.clone();
    let valid = state
        .db
        .run(move |conn| sign_in::valid_for(conn, &lookup, crate::db::now()))
        .await;
    let email = match valid {
        Ok(Some(email)) => email,
        Ok(None) => return failed_link(&state, &sign_in_state, &req),
        Err(e) => {
            tracing::error!(error = %e, "sign-in link lookup failed");
            return access::Denied::Unavailable.respond(&state, access::Output::Html);
        }
    };
    let (pre, cookie) = pre_value(&state, &req);
    let mut context = Context::new();
    context.insert("page_title", "Sign in");
    context.insert(
        "csrf",
        &access::csrf(&state.secret, USE_PURPOSE, &format!("{pre}:{token}")),
    );
    context.insert("token", &token);
    // Which account the link signs into: a link to someone else's account (planted to
    // read what this person then does) shows itself.
    context.insert("email", &email);
    context.insert("help", &state.config.help_contact);
    with_cookie(
        state
            .pages
            .render(StatusCode::OK, "auth/confirm.html", &context),
        cookie,
    )
}

/// `POST /login/{token}`: uses the link up and starts a session.
pub async fn sign_in(
    state: web::Data<AppState>,
    sign_in_state: web::Data<Arc<SignInState>>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let token = token.into_inner();
    let fields = access::form_fields(&body);
    let pre = req
        .cookie(access::cookie_name(&state, PRE_COOKIE))
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if pre.is_empty()
        || !access::csrf_ok(
            &state.secret,
            USE_PURPOSE,
            &format!("{pre}:{token}"),
            fields.get("csrf").map(String::as_str),
        )
    {
        return state.pages.app_message(
            StatusCode::FORBIDDEN,
            "Please sign in from the link's page",
            &["This form did not come from the sign-in page, or it has expired. Open the link from your email again; it has not been used.".into()],
            &state.config.help_contact,
        );
    }
    let signed = state
        .db
        .run(move |conn| -> Result<_, crate::auth::AuthError> {
            let now = crate::db::now();
            match sign_in::consume(conn, &token, now)? {
                Some(user) => {
                    let session = sessions::create(conn, &user, now)?;
                    crate::audit::record(
                        conn,
                        &user.email,
                        crate::audit::SIGN_IN,
                        user.role.as_str(),
                        "",
                    );
                    Ok(Some((user, session)))
                }
                None => Ok(None),
            }
        })
        .await;
    match signed {
        Ok(Some((user, session))) => {
            tracing::info!(user = user.id, "signed in");
            let mut response = home_redirect(&user);
            let _ = response.add_cookie(&access::cookie(
                &state,
                SESSION_COOKIE,
                session,
                Some(CookieDuration::hours(crate::auth::sessions::SESSION_HOURS)),
            ));
            let _ = response.add_cookie(&access::removal(&state, PRE_COOKIE));
            response
        }
        Ok(None) => failed_link(&state, &sign_in_state, &req),
        Err(e) => {
            tracing::error!(error = %e, "signing in failed");
            access::Denied::Unavailable.respond(&state, access::Output::Html)
        }
    }
}

/// `POST /logout`: ends the session.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(signed) => signed,
        Err(denied) => return denied.respond(&state, access::Output::Html),
    };
    let fields = access::form_fields(&body);
    if !access::session_csrf_ok(&state, &signed, fields.get("csrf").map(String::as_str)) {
        return access::Denied::Forbidden(
            "the sign-out form expired; reload the page and try again".into(),
        )
        .respond(&state, access::Output::Html);
    }
    let session = signed.session.clone();
    if let Err(e) = state
        .db
        .run(move |conn| sessions::end(conn, &session))
        .await
    {
        tracing::error!(error = %e, "ending a session failed");
        return access::Denied::Unavailable.respond(&state, access::Output::Html);
    }
    let mut response = HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .finish();
    let _ = response.add_cookie(&access::removal(&state, SESSION_COOKIE));
    response
}

/// Where an account starts: HR's dashboard, or a head's results.
pub fn home_redirect(user: &User) -> HttpResponse {
    let to = match user.role {
        Role::Admin => "/admin",
        Role::Head => "/results",
    };
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// `GET /`: the right start page, or sign-in.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match access::signed_in(&state, &req).await {
        Ok(signed) => home_redirect(&signed.user),
        Err(denied) => denied.respond(&state, access::Output::Html),
    }
}
