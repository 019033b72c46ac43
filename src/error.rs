//! The errors a command can end with, mapped once to an exit status.

use std::process::ExitCode;

use crate::config::ConfigError;
use crate::db::DbError;
use crate::reports::ReportError;
use crate::responses::import::ImportError;
use crate::roster::RosterError;
use crate::surveys::SurveyError;
use crate::web::StartError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Survey(#[from] SurveyError),
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(transparent)]
    Responses(#[from] ImportError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Export(#[from] crate::exports::ExportError),
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    #[error(transparent)]
    Wave(crate::waves::WaveError),
    #[error(transparent)]
    User(#[from] crate::users::UserError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    #[error(transparent)]
    Publish(#[from] crate::publishing::PublishError),
    #[error(transparent)]
    Action(#[from] crate::actions::ActionError),
    #[error(transparent)]
    Service(#[from] crate::services::ServiceError),
    #[error(transparent)]
    Feedback(#[from] crate::services::feedback::FeedbackError),
    #[error("{0}")]
    BadArgument(String),
    #[error("cannot write the output: {0}")]
    Output(String),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the web server stopped: {0}")]
    Server(std::io::Error),
    #[error("`icsat {0}` is not available yet in this version of icsat")]
    NotYet(&'static str),
}

impl AppError {
    /// 1 for every failure a command reports (usage errors exit 2, from clap).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(1)
    }
}
