//! The `icsat` command line (`docs/spec/interfaces.md`): parsing and dispatch; each
//! command's work lives in the domain module it belongs to.

mod demo;
mod export;
mod loop_closing;
mod operations;
mod report;
mod roster;
mod serve;
mod service;
mod survey;
mod wave;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::ConfigArgs;
use crate::error::AppError;

#[derive(Debug, Parser)]
#[command(
    name = "icsat",
    version,
    about = "Internal customer satisfaction: surveys of internal services and eNPS",
    long_about = "icsat measures how well internal services (HR, IT, Finance, Payroll, Procurement, \
                  Facilities) serve the employees who depend on them, and how engaged those employees \
                  are (eNPS). Settings come from flags, ICSAT_* environment variables or icsat.toml."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Web service, scheduler and mail sender in one process
    Serve,
    /// A demo organisation with several years of waves, then serve
    ///
    /// Without ICSAT_DATABASE_URL the demo is built in icsat-demo.db in the current
    /// folder, rebuilt from scratch on every run; a database given explicitly must be
    /// empty. Mail is written as .eml files (ICSAT_OUTBOX_DIR), never sent.
    Demo {
        /// About how many employees the company has
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(30..=100_000))]
        employees: u32,
        /// Seed of the answers: the same seed gives the same figures
        #[arg(long, default_value_t = 2027)]
        seed: u64,
        /// Build the demo and stop, without serving it
        #[arg(long)]
        no_serve: bool,
    },
    /// Create or upgrade the database
    Migrate,
    /// Check and list survey definitions
    #[command(subcommand)]
    Survey(SurveyCommand),
    /// Load or update the employee roster
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Run waves by hand
    #[command(subcommand)]
    Wave(WaveCommand),
    /// Load answers collected elsewhere
    #[command(subcommand)]
    Responses(ResponsesCommand),
    /// Mail that could not be delivered
    #[command(subcommand)]
    Mail(MailCommand),
    /// Results of a wave
    Report {
        survey: String,
        #[arg(long)]
        wave: Option<String>,
        /// A department: its subtree only
        #[arg(long)]
        department: Option<String>,
        /// Only respondents with this roster attribute (ATTRIBUTE=VALUE; up to 3)
        #[arg(long = "where", value_name = "ATTRIBUTE=VALUE")]
        filters: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Every wave side by side, with significance
    Trend {
        survey: String,
        /// A department: its subtree only
        #[arg(long)]
        department: Option<String>,
        /// Only the last N waves (each still compared with the wave before it)
        #[arg(long, value_name = "N")]
        last: Option<usize>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// CSV for spreadsheets (UTF-8 with BOM): the wave's figures with their change
    /// from the wave before, or with --raw one row per response
    Export {
        survey: String,
        #[arg(long)]
        wave: String,
        /// A department: its subtree only
        #[arg(long)]
        department: Option<String>,
        /// One row per response instead of the figures (departments shown only where the
        /// report would show them)
        #[arg(long)]
        raw: bool,
        /// Write to FILE instead of standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Accounts for HR and department heads
    #[command(subcommand)]
    User(UserCommand),
    /// Share a wave's results with its employees ("What we heard")
    #[command(subcommand)]
    Results(ResultsCommand),
    /// Action plans: what heads and service owners do about the results
    #[command(subcommand)]
    Action(ActionCommand),
    /// Internal services of the catalogue (services.toml) and their scorecards
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Keys for ticketing systems that ask for feedback after a request
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Copy the whole database into a new FILE, consistent while `serve` writes
    ///
    /// SQLite: FILE is a SQLite database. PostgreSQL: FILE is a text file of the
    /// tables' rows with a checksum. Either holds everything, answers included (mode 0600).
    Backup {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Erase what the retention settings no longer keep (serve does it daily)
    ///
    /// Departed employees after ICSAT_RETAIN_DEPARTED_DAYS (their invitations; answers
    /// stay), sent and failed mail after ICSAT_RETAIN_MAIL_DAYS, expired sessions and
    /// sign-in links, audit entries after ICSAT_RETAIN_AUDIT_DAYS.
    Purge {
        /// Show what would be erased and erase nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Who did what and when, newest first: sign-ins, exports, releases, accounts, ...
    Audit {
        /// Only entries from this day (YYYY-MM-DD, UTC) or moment (RFC 3339) on
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// At most this many entries
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Restore a backup into an empty database (checks the file first; all or nothing)
    Restore {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Replace everything in a database that is not empty
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SurveyCommand {
    /// Check definitions (files or folders; default: the definitions folder)
    Validate {
        paths: Vec<PathBuf>,
        /// Also check departments against this roster file instead of the database
        #[arg(long, value_name = "ROSTER.csv")]
        roster: Option<PathBuf>,
        /// The departments file that goes with --roster
        #[arg(long, value_name = "DEPTS.csv", requires = "roster")]
        departments: Option<PathBuf>,
    },
    /// Surveys, their schedules and next wave
    List,
}

#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Load or update employees from a CSV file (all or nothing)
    Import {
        #[arg(value_name = "ROSTER.csv")]
        roster: PathBuf,
        /// Departments file: department,parent,head_email
        #[arg(long, value_name = "DEPTS.csv")]
        departments: Option<PathBuf>,
        /// Print what would change and change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WaveCommand {
    /// Open a wave of a survey now
    Open {
        survey: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Remind those who have not answered (WAVE: SURVEY/LABEL, a label, or an id)
    Remind { wave: String },
    /// Close a wave (WAVE: SURVEY/LABEL, a label, or an id)
    Close { wave: String },
    /// Waves with their status, response rate and mail
    List,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Undelivered messages grouped by the server's reply (WAVE: SURVEY/LABEL, a label,
    /// or an id; default: every wave with some)
    Failed {
        wave: Option<String>,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResponsesCommand {
    /// Load answers collected elsewhere as a closed wave
    Import {
        survey: String,
        #[arg(long)]
        wave: String,
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an HR admin or a department head
    Add {
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        department: Option<String>,
    },
    /// Accounts with their role, department, state and open sessions
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Take an account's access away: its sessions end and its sign-in links stop
    /// working (`user add` gives it back)
    Deactivate { email: String },
}

#[derive(Debug, Subcommand)]
pub enum ResultsCommand {
    /// Publish a closed wave's results to its employees (WAVE: SURVEY/LABEL)
    Publish {
        wave: String,
        /// Email every employee invited to the wave their own link
        #[arg(long)]
        notify: bool,
        /// How many days the results stay shared
        #[arg(long, default_value_t = crate::publishing::DEFAULT_SHARING_DAYS)]
        days: u32,
    },
    /// Hide published results again; their links stop working
    Unpublish { wave: String },
}

#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Record an action on a survey's results
    Add {
        survey: String,
        #[arg(long)]
        title: String,
        /// The wave whose results it answers
        #[arg(long)]
        wave: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// The owner's address: a head's account (or HR's)
        #[arg(long)]
        owner: String,
        /// The department acting (default: the owner's, or the service's)
        #[arg(long)]
        department: Option<String>,
        /// The service it improves (a section's `about`)
        #[arg(long)]
        service: Option<String>,
        /// A question it answers (repeat for several)
        #[arg(long = "question")]
        questions: Vec<String>,
        /// A consumer department whose rating of the service it answers (repeat)
        #[arg(long = "consumer")]
        consumers: Vec<String>,
        /// Due date, YYYY-MM-DD
        #[arg(long)]
        due: Option<chrono::NaiveDate>,
        /// planned, in-progress, done or dropped
        #[arg(long)]
        status: Option<String>,
    },
    /// Actions with their status and latest update
    List {
        survey: Option<String>,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// A progress update: a note, a new status, a new due date
    Update {
        id: i64,
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        due: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Every service with its latest company-wide figures against its targets
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// One service's scorecard: every source, every consumer department, over time
    Report {
        id: String,
        #[arg(long, value_enum, default_value_t = ScorecardFormat::Text)]
        format: ScorecardFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Make a key for NAME (e.g. servicenow); it is printed once and only its hash kept
    Add { name: String },
    /// Every integration, with its requests and how many were asked
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Stop NAME's key from working
    Revoke { name: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScorecardFormat {
    Text,
    Json,
    /// One row per department and wave (UTF-8 with BOM, for spreadsheets)
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Role {
    Admin,
    Head,
}

/// Parses the command line, runs the command, prints any error and returns the status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::files::private_umask();
    init_logging(
        matches!(cli.command, Command::Serve),
        cli.config.log_format.unwrap_or_default(),
    );
    if std::env::args().any(|a| a == "--secret" || a.starts_with("--secret=")) {
        tracing::warn!("--secret puts the key on the command line, where every user of this machine can read it (ps, /proc); set ICSAT_SECRET instead");
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn init_logging(service: bool, format: crate::config::LogFormat) {
    let default = if service { "info" } else { "warn" };
    let asked = std::env::var("ICSAT_LOG").unwrap_or_default();
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("ICSAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // actix's HTTP parser logs every malformed request as an ERROR ("stream error"):
    // anyone can flood the log that way, and it is the client's fault, not ours. Its
    // debug lines say the same; off unless asked for by name.
    if !asked.contains("actix_http") {
        if let Ok(directive) = "actix_http::h1::dispatcher=off".parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = match format {
        crate::config::LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .try_init(),
        // One object per line: the event's fields at the top, the request's span (its
        // request id, method and route pattern) under "span".
        crate::config::LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    crate::db::log_statements();
}

pub fn run(cli: Cli) -> Result<(), AppError> {
    let config = cli.config.resolve()?;
    match cli.command {
        Command::Serve => serve::serve(config),
        Command::Migrate => {
            let db = crate::db::Db::connect(&config.database_url)?;
            let applied = db.migrate()?;
            if applied.is_empty() {
                println!(
                    "{}: the schema is up to date",
                    config.database_url.display()
                );
            } else {
                println!(
                    "{}: applied {}",
                    config.database_url.display(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::Survey(SurveyCommand::Validate {
            paths,
            roster,
            departments,
        }) => survey::validate(&config, &paths, roster.as_deref(), departments.as_deref()),
        Command::Survey(SurveyCommand::List) => survey::list(&config),
        Command::Roster(RosterCommand::Import {
            roster,
            departments,
            dry_run,
        }) => roster::import(&config, &roster, departments.as_deref(), dry_run),
        Command::Demo {
            employees,
            seed,
            no_serve,
        } => demo::demo(
            config,
            &crate::demo::DemoOptions {
                employees: employees as usize,
                seed,
            },
            !no_serve,
        ),
        Command::Wave(WaveCommand::Open { survey, label }) => {
            wave::open(&config, &survey, label.as_deref())
        }
        Command::Wave(WaveCommand::Remind { wave }) => wave::remind(&config, &wave),
        Command::Wave(WaveCommand::Close { wave }) => wave::close(&config, &wave),
        Command::Wave(WaveCommand::List) => wave::list(&config),
        Command::Mail(MailCommand::Failed { wave, format }) => {
            wave::failed_mail(&config, wave.as_deref(), format)
        }
        Command::Responses(ResponsesCommand::Import { survey, wave, file }) => {
            let db = crate::db::Db::open(&config.database_url)?;
            let mut conn = db.get()?;
            let loaded = crate::surveys::load(std::slice::from_ref(&config.definitions))?;
            crate::surveys::sync(&mut conn, &loaded)?;
            let count = crate::responses::import::import_file(&mut conn, &survey, &wave, &file)?;
            crate::audit::record(
                &mut conn,
                &crate::audit::cli_actor(),
                crate::audit::RESPONSES_IMPORT,
                &format!("{survey}/{wave}"),
                &format!("{count} responses"),
            );
            println!("imported {count} responses into wave {wave} of {survey} (closed)");
            Ok(())
        }
        Command::Report {
            survey,
            wave,
            department,
            filters,
            format,
        } => report::report(
            &config,
            &survey,
            wave.as_deref(),
            department.as_deref(),
            &filters,
            format,
        ),
        Command::Trend {
            survey,
            department,
            last,
            format,
        } => report::trend(&config, &survey, department.as_deref(), last, format),
        Command::Export {
            survey,
            wave,
            department,
            raw,
            output,
        } => export::export(
            &config,
            &crate::exports::ExportQuery {
                survey: &survey,
                wave: &wave,
                department: department.as_deref(),
            },
            raw,
            output.as_deref(),
        ),
        Command::Backup { file } => operations::backup(&config, &file),
        Command::Restore { file, force } => operations::restore(&config, &file, force),
        Command::Purge { dry_run } => operations::purge(&config, dry_run),
        Command::Audit {
            since,
            format,
            limit,
        } => operations::audit(&config, since.as_deref(), format, limit),
        Command::User(UserCommand::Add {
            email,
            role,
            department,
        }) => {
            let db = crate::db::Db::open(&config.database_url)?;
            let mut conn = db.get()?;
            let role = match role {
                Role::Admin => crate::users::Role::Admin,
                Role::Head => crate::users::Role::Head,
            };
            let new = crate::users::add(&mut conn, &email, role, department.as_deref())?;
            let what = if new { "added" } else { "updated" };
            crate::audit::record(
                &mut conn,
                &crate::audit::cli_actor(),
                if new {
                    crate::audit::USER_ADD
                } else {
                    crate::audit::USER_UPDATE
                },
                &email,
                &match &department {
                    Some(d) => format!("{} of {d}", role.as_str()),
                    None => role.as_str().to_string(),
                },
            );
            match department {
                Some(d) => println!("{what} {email}: {} of {d}", role.as_str()),
                None => println!("{what} {email}: {}", role.as_str()),
            }
            Ok(())
        }
        Command::Results(command) => loop_closing::results(&config, command),
        Command::Action(command) => loop_closing::action(&config, command),
        Command::Service(command) => service::run(&config, command),
        Command::Integration(command) => service::integration(&config, command),
        Command::User(UserCommand::List { format }) => {
            let db = crate::db::Db::open_existing(&config.database_url)?;
            let accounts = crate::users::list(&mut db.get()?)?;
            print!("{}", operations::accounts(&accounts, format)?);
            Ok(())
        }
        Command::User(UserCommand::Deactivate { email }) => {
            let db = crate::db::Db::open_existing(&config.database_url)?;
            let mut conn = db.get()?;
            let (email, was_active) = crate::users::deactivate(&mut conn, &email)?;
            crate::audit::record(
                &mut conn,
                &crate::audit::cli_actor(),
                crate::audit::USER_DEACTIVATE,
                &email,
                "",
            );
            if was_active {
                println!("deactivated {email}: sessions ended, sign-in links revoked");
            } else {
                println!("{email} was inactive already; its sessions and links are gone");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
