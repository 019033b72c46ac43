//! The web service: routes, shared state and the one place errors become responses.

pub mod access;
pub mod actions;
pub mod admin;
pub mod api;
pub mod cache;
pub mod charts;
pub mod client_ip;
pub mod data;
mod deadline;
pub mod feedback;
mod health;
pub mod heard;
pub mod limits;
mod observe;
pub mod pages;
pub mod results;
pub mod services;
pub mod signin;
pub mod survey;
pub mod views;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::config::Config;
use crate::db::Db;

/// What every handler may use; cloned into each worker.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Config,
    /// Signs CSRF tokens (and sessions): ICSAT_SECRET, or the one kept in the database.
    pub secret: String,
    pub pages: Arc<pages::Pages>,
    pub limiter: Arc<limits::FailureLimiter>,
    pub definitions: Arc<cache::DefinitionCache>,
    /// Definition files `serve` left out at start, one line per problem (the dashboard
    /// shows them).
    pub definition_problems: Arc<Vec<String>>,
    /// Stores submissions, shared by every worker (PostgreSQL's writes in batches).
    pub submissions: Arc<crate::responses::submit::SubmissionWriter>,
    /// Empty survey forms, rendered once (`survey::rendered`).
    pub forms: Arc<survey::rendered::RenderedForms>,
    /// Published results pages, rendered once per wave, department and release.
    pub heard: Arc<heard::HeardCache>,
    /// What the mails queued by web requests need (feedback invitations).
    pub mailer: Arc<crate::waves::lifecycle::Mailer>,
    /// Feedback requests per integration key.
    pub feedback_limits: Arc<feedback::FeedbackLimits>,
}

/// A bound, not yet running server and the port it got (tests bind port 0).
pub struct Application {
    pub port: u16,
    pub server: Server,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {address}: {reason}")]
    Bind { address: String, reason: String },
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
}

impl Application {
    pub fn build(state: AppState) -> Result<Application, StartError> {
        let address = state.config.bind.clone();
        let bind_error = |e: std::io::Error| StartError::Bind {
            address: address.clone(),
            reason: e.to_string(),
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let sign_in = web::Data::new(Arc::new(signin::SignInState::new(
            state.db.clone(),
            crate::auth::sign_in::SignInMailer {
                templates: crate::mail::Templates::new()?,
                base_url: state.config.base_url.clone(),
                from: state.config.mail_from.clone(),
                help_contact: state.config.help_contact.clone(),
            },
        )));
        let timeout = state.config.request_timeout;
        let https = state.config.base_url.starts_with("https://");
        let shutdown = state.config.shutdown_timeout;
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(sign_in.clone())
                .wrap(actix_web::middleware::from_fn(move |req, next| {
                    deadline::read_body(timeout, req, next)
                }))
                .wrap(security_headers(https))
                .wrap(actix_web::middleware::from_fn(observe::observe))
                .app_data(web::PayloadConfig::new(survey::MAX_BODY))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(observe::metrics))
                .route("/static/icsat.css", web::get().to(stylesheet))
                .route("/s/{token}", web::get().to(survey::show))
                .route("/s/{token}", web::post().to(survey::submit))
                .route("/", web::get().to(signin::home))
                .route("/login", web::get().to(signin::show))
                .route("/login", web::post().to(signin::ask))
                .route("/login/{token}", web::get().to(signin::confirm))
                .route("/login/{token}", web::post().to(signin::sign_in))
                .route("/logout", web::post().to(signin::logout))
                .route("/heard/{token}", web::get().to(heard::employee))
                .route(
                    "/results/{survey}/waves/{label}/heard",
                    web::get().to(heard::signed),
                )
                .route(
                    "/admin/surveys/{survey}/waves/{label}/heard",
                    web::get().to(heard::preview),
                )
                .route(
                    "/admin/surveys/{survey}/waves/{label}/publish",
                    web::post().to(heard::publish),
                )
                .route(
                    "/admin/surveys/{survey}/waves/{label}/unpublish",
                    web::post().to(heard::unpublish),
                )
                .route(
                    "/admin/surveys/{survey}/waves/{label}/shared-comments",
                    web::post().to(heard::share_comments),
                )
                .route("/admin", web::get().to(admin::index))
                .route(
                    "/admin/surveys/{survey}/waves/{label}",
                    web::get().to(admin::wave),
                )
                .route("/admin/surveys/{survey}/trend", web::get().to(admin::trend))
                .route(
                    "/admin/surveys/{survey}/follow-up",
                    web::get().to(admin::follow_up),
                )
                .route("/admin/mail/{id}/resend", web::post().to(admin::resend))
                .route(
                    "/admin/surveys/{survey}/waves/{label}/mail/resend",
                    web::get().to(admin::resend_group_confirm),
                )
                .route(
                    "/admin/surveys/{survey}/waves/{label}/mail/resend",
                    web::post().to(admin::resend_group),
                )
                .route("/admin/audit", web::get().to(admin::audit))
                .route("/results", web::get().to(results::index))
                .route("/results/{survey}", web::get().to(results::survey))
                .route(
                    "/results/{survey}/waves/{label}/summary.csv",
                    web::get().to(results::csv),
                )
                .route("/results/{survey}/actions", web::get().to(actions::page))
                .route("/results/{survey}/actions", web::post().to(actions::add))
                .route(
                    "/results/{survey}/actions/{id}",
                    web::post().to(actions::update),
                )
                .route("/api/actions", web::get().to(actions::api_list))
                .route("/api/actions", web::post().to(actions::api_add))
                .route("/api/actions/{id}", web::post().to(actions::api_update))
                .route("/services", web::get().to(services::catalogue))
                .route("/services/{id}", web::get().to(services::page))
                .route("/api/services", web::get().to(services::api_list))
                .route("/api/feedback-requests", web::post().to(feedback::request))
                .route("/api/services/{id}", web::get().to(services::api_scorecard))
                .route("/api/openapi.json", web::get().to(api::openapi))
                .route("/api/surveys", web::get().to(api::surveys))
                .route("/api/surveys/{survey}/waves", web::get().to(api::waves))
                .route(
                    "/api/surveys/{survey}/waves/{label}/report",
                    web::get().to(api::report),
                )
                .route(
                    "/api/surveys/{survey}/waves/{label}/comments",
                    web::get().to(api::comments),
                )
                .route("/api/surveys/{survey}/trend", web::get().to(api::trend))
                .service(web::scope("/api").default_service(web::to(api::not_found)))
                .default_service(web::to(not_found))
        })
        // Headers must arrive within 5 s (actix's default) or the timeout if shorter;
        // the body's deadline is `deadline`'s; a client gets a few seconds to close
        // after its answer.
        .client_request_timeout(timeout.min(Duration::from_secs(5)))
        .client_disconnect_timeout(Duration::from_secs(5))
        .on_connect(deadline::note_socket)
        // `serve` handles SIGTERM and SIGINT itself (its shutdown has more to do than
        // the HTTP server's); requests in flight get most of the time it allows.
        .disable_signals()
        .shutdown_timeout(drain_seconds(shutdown))
        .listen(listener)
        .map_err(bind_error)?
        .run();
        Ok(Application { port, server })
    }
}

/// Of a shutdown's time, what requests in flight may take (whole seconds, at least one):
/// the rest is for sealing the inbox and handing back mail leases.
pub fn drain_seconds(shutdown: Duration) -> u64 {
    let total = shutdown.as_secs();
    total.saturating_sub((total / 5).max(2)).max(1)
}

/// Headers every response carries: nothing loads from elsewhere, nothing frames us, and
/// no Referer ever carries a survey link's token to another site; served over https,
/// browsers are told to use nothing else for a year (HSTS).
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = if https {
        DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(pages::STYLESHEET)
}

/// Failed token lookups a client may make at once before it is told to wait (refilled
/// over ten minutes, then more slowly: see [`limits::FailureLimiter`]).
pub fn default_limiter() -> limits::FailureLimiter {
    limits::FailureLimiter::new(30, Duration::from_secs(600))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("Not found. Check the address; survey links are personal and must be copied whole.\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_in_flight_get_most_of_a_shutdown() {
        let drain = |s| super::drain_seconds(std::time::Duration::from_secs(s));
        assert_eq!(drain(30), 24);
        assert_eq!(drain(6), 4);
        assert_eq!(drain(2), 1);
        assert_eq!(drain(1), 1);
    }
}
