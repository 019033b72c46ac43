//! The web service: routes, shared state and the one place errors become responses.

mod health;

use std::net::TcpListener;

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
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(security_headers())
                .route("/healthz", web::get().to(health::healthz))
                .default_service(web::to(not_found))
        })
        .listen(listener)
        .map_err(bind_error)?
        .run();
        Ok(Application { port, server })
    }
}

/// Headers every response carries: nothing loads from elsewhere, nothing frames us, and
/// no Referer ever carries a survey link's token to another site.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("Not found. Check the address; survey links are personal and must be copied whole.\n")
}
