//! Internal services as first-class: the catalogue HR keeps in `services.toml` (read
//! and checked by [`crate::definitions::parse_catalogue`], stored here so every `serve`
//! process reads the same), and each service's scorecard ([`scorecard`]): its figures
//! from every survey that rates it, against its targets, per consumer department.

pub mod feedback;
pub mod scorecard;

use crate::db::{settings, Conn, DbError};
use crate::definitions::{parse_catalogue, Catalogue};

/// The `settings` key of the stored catalogue's source.
const CATALOGUE_SETTING: &str = "service_catalogue";

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("there is no service {id:?}; known services: {known}")]
    UnknownService { id: String, known: String },
    #[error("there is no service catalogue yet: add services.toml to the definitions folder (see docs/spec/survey-definition.md)")]
    NoCatalogue,
    #[error(transparent)]
    Report(#[from] crate::reports::ReportError),
    #[error(transparent)]
    Action(#[from] crate::actions::ActionError),
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        ServiceError::Db(DbError::Query(e))
    }
}

/// Stores the catalogue's source as the current one (`None`: the folder has none).
pub fn store_catalogue(conn: &mut Conn, source: Option<&str>) -> Result<(), DbError> {
    match source {
        Some(source) => settings::put(conn, CATALOGUE_SETTING, source),
        None => settings::remove(conn, CATALOGUE_SETTING),
    }
}

/// The stored catalogue; `None` before one was loaded. One stored by an older release
/// whose rules it no longer meets counts as none (and is said in the log), so the
/// pages that read it keep working until the folder is loaded again.
pub fn current_catalogue(conn: &mut Conn) -> Result<Option<Catalogue>, DbError> {
    let Some(source) = settings::get(conn, CATALOGUE_SETTING)? else {
        return Ok(None);
    };
    match parse_catalogue(&source) {
        Ok(catalogue) => Ok(Some(catalogue)),
        Err(diagnostics) => {
            tracing::error!(
                problems = diagnostics.len(),
                "the stored service catalogue no longer reads; run `icsat survey validate` and restart"
            );
            Ok(None)
        }
    }
}

/// The catalogue, or the error that says there is none.
pub fn catalogue(conn: &mut Conn) -> Result<Catalogue, ServiceError> {
    current_catalogue(conn)?.ok_or(ServiceError::NoCatalogue)
}
