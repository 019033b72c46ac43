//! Configuration: each key from a flag, else its `ICSAT_*` environment variable, else an
//! optional `icsat.toml`, else the default of `docs/spec/interfaces.md`.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::db::{redact, DatabaseUrl, DbError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("ICSAT_DATABASE_URL: {0}")]
    Database(#[from] DbError),
    #[error(
        "ICSAT_BIND: {0:?} is not an address to listen on; write HOST:PORT, e.g. 127.0.0.1:8080"
    )]
    Bind(String),
    #[error("ICSAT_BASE_URL: {0:?} must start with http:// or https://")]
    BaseUrl(String),
    #[error("ICSAT_SECRET: {0} bytes is too short to sign sessions safely; use at least {MIN_SECRET_BYTES}, e.g. the output of `openssl rand -base64 48` (or leave it unset: one is generated and kept in the database)")]
    SecretTooShort(usize),
    #[error("ICSAT_SMTP_URL: smtp+plain:// would send the password unencrypted; use smtp:// (STARTTLS) or smtps:// with a user, or drop the user from smtp+plain://")]
    PlainSmtpCredentials,
    #[error("ICSAT_REQUEST_TIMEOUT: 0 would cut every request off; give seconds, e.g. 20")]
    RequestTimeout,
    #[error("ICSAT_TRUSTED_PROXIES: {0}")]
    TrustedProxies(String),
    #[error("ICSAT_SHUTDOWN_TIMEOUT: {0} is not between 1 and 3600 seconds")]
    ShutdownTimeout(u64),
}

/// The settings as flags; every one also reads its environment variable.
/// The shortest `ICSAT_SECRET` accepted: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Configuration file with the same keys in lower case (database_url = "...")
    #[arg(long, global = true, env = "ICSAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://icsat.db]
    #[arg(
        long,
        global = true,
        env = "ICSAT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Folder of survey definitions [default: survey-definitions]
    #[arg(long, global = true, env = "ICSAT_DEFINITIONS", value_name = "DIR")]
    pub definitions: Option<PathBuf>,
    /// Address the web service listens on [default: 127.0.0.1:8080]
    #[arg(long, global = true, env = "ICSAT_BIND", value_name = "HOST:PORT")]
    pub bind: Option<String>,
    /// Public address put into emailed links [default: http:// + bind]
    #[arg(long, global = true, env = "ICSAT_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// smtp://user:pass@host:port, smtps://..., smtp+plain://host:port [default: write .eml files]
    #[arg(
        long,
        global = true,
        env = "ICSAT_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// Folder for .eml files when no SMTP server is set [default: outbox]
    #[arg(long, global = true, env = "ICSAT_OUTBOX_DIR", value_name = "DIR")]
    pub outbox_dir: Option<PathBuf>,
    /// Sender address of every email [default: surveys@localhost]
    #[arg(long, global = true, env = "ICSAT_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Who emails name as the one to ask for help [default: the sender address]
    #[arg(
        long,
        global = true,
        env = "ICSAT_HELP_CONTACT",
        value_name = "CONTACT"
    )]
    pub help_contact: Option<String>,
    /// Key for signing sessions and CSRF tokens, at least 32 bytes; prefer the environment
    /// variable (a flag is visible to every user of the machine) [default: generated once,
    /// kept in the database]
    #[arg(
        long,
        global = true,
        env = "ICSAT_SECRET",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Reverse proxies whose X-Forwarded-For / Forwarded is believed: comma-separated CIDRs
    /// or addresses [default: none, every client is its TCP peer]
    #[arg(
        long,
        global = true,
        env = "ICSAT_TRUSTED_PROXIES",
        value_name = "CIDRS"
    )]
    pub trusted_proxies: Option<String>,
    /// Seconds a client has to send a request's body (its headers: 5, or this if shorter)
    /// [default: 20]
    #[arg(
        long,
        global = true,
        env = "ICSAT_REQUEST_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub request_timeout: Option<u64>,
    /// Days a person who left the roster is kept (then erased; answers stay) [default: 365]
    #[arg(
        long,
        global = true,
        env = "ICSAT_RETAIN_DEPARTED_DAYS",
        value_name = "DAYS"
    )]
    pub retain_departed_days: Option<u32>,
    /// Days sent and failed mail rows are kept [default: 90]
    #[arg(
        long,
        global = true,
        env = "ICSAT_RETAIN_MAIL_DAYS",
        value_name = "DAYS"
    )]
    pub retain_mail_days: Option<u32>,
    /// Days audit log entries are kept [default: 730]
    #[arg(
        long,
        global = true,
        env = "ICSAT_RETAIN_AUDIT_DAYS",
        value_name = "DAYS"
    )]
    pub retain_audit_days: Option<u32>,
    /// Serve `/metrics` and record what it shows [default: true]
    #[arg(long, global = true, env = "ICSAT_METRICS", value_name = "BOOL")]
    pub metrics: Option<bool>,
    /// Bearer token `/metrics` asks for [default: none, /metrics is open]
    #[arg(
        long,
        global = true,
        env = "ICSAT_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// Seconds `serve` takes to stop on SIGTERM or SIGINT: requests in flight finish, the
    /// inbox is sealed, mail leases handed back [default: 30]
    #[arg(
        long,
        global = true,
        env = "ICSAT_SHUTDOWN_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub shutdown_timeout: Option<u64>,
    /// Log lines as text, or as one JSON object per line (flag or variable only: logging
    /// starts before the configuration file is read) [default: text]
    #[arg(long, global = true, env = "ICSAT_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// `ICSAT_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database_url: Option<String>,
    definitions: Option<PathBuf>,
    bind: Option<String>,
    base_url: Option<String>,
    smtp_url: Option<String>,
    outbox_dir: Option<PathBuf>,
    mail_from: Option<String>,
    help_contact: Option<String>,
    secret: Option<String>,
    trusted_proxies: Option<String>,
    request_timeout: Option<u64>,
    retain_departed_days: Option<u32>,
    retain_mail_days: Option<u32>,
    retain_audit_days: Option<u32>,
    metrics: Option<bool>,
    metrics_token: Option<String>,
    shutdown_timeout: Option<u64>,
}

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// Whether the database URL was given (flag, env or file) rather than defaulted.
    pub database_url_given: bool,
    pub definitions: PathBuf,
    pub bind: String,
    pub base_url: String,
    pub smtp_url: Option<String>,
    pub outbox_dir: PathBuf,
    pub mail_from: String,
    /// Named in every email as the one to ask for help (`ICSAT_HELP_CONTACT`).
    pub help_contact: String,
    pub secret: Option<String>,
    /// Proxies whose forwarding headers name the client (`ICSAT_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a client may take to send a request's body (and at most its headers).
    pub request_timeout: std::time::Duration,
    /// How long departed employees, mail rows and audit entries are kept.
    pub retention: crate::retention::Retention,
    /// `ICSAT_METRICS`: whether `/metrics` is served and requests are measured.
    pub metrics: bool,
    /// `ICSAT_METRICS_TOKEN`: the bearer token `/metrics` asks for, if any.
    pub metrics_token: Option<String>,
    /// `ICSAT_SHUTDOWN_TIMEOUT`: the longest `serve` takes to stop once told to.
    pub shutdown_timeout: std::time::Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets, even in debug logs.
        f.debug_struct("Config")
            .field("database_url", &self.database_url.display())
            .field("definitions", &self.definitions)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact))
            .field("outbox_dir", &self.outbox_dir)
            .field("mail_from", &self.mail_from)
            .field("help_contact", &self.help_contact)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("request_timeout", &self.request_timeout)
            .field("retention", &self.retention)
            .field("metrics", &self.metrics)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl ConfigArgs {
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None if Path::new("icsat.toml").is_file() => read_file(Path::new("icsat.toml"))?,
            None => ConfigFile::default(),
        };
        let database_url_raw = self.database_url.clone().or(file.database_url);
        let database_url_given = database_url_raw.is_some();
        let database_url =
            DatabaseUrl::parse(database_url_raw.as_deref().unwrap_or("sqlite://icsat.db"))?;
        let bind = self
            .bind
            .clone()
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        if bind
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .is_none()
        {
            return Err(ConfigError::Bind(bind));
        }
        let base_url = self
            .base_url
            .clone()
            .or(file.base_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ConfigError::BaseUrl(base_url));
        }
        let mail_from = self
            .mail_from
            .clone()
            .or(file.mail_from)
            .unwrap_or_else(|| "surveys@localhost".to_string());
        let help_contact = self
            .help_contact
            .clone()
            .or(file.help_contact)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| mail_from.clone());
        let trusted_proxies = crate::web::client_ip::parse_trusted(
            self.trusted_proxies
                .as_deref()
                .or(file.trusted_proxies.as_deref())
                .unwrap_or(""),
        )
        .map_err(ConfigError::TrustedProxies)?;
        let secret = self
            .secret
            .clone()
            .or(file.secret)
            .filter(|s| !s.is_empty());
        if let Some(secret) = &secret {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(ConfigError::SecretTooShort(secret.len()));
            }
        }
        let smtp_url = self
            .smtp_url
            .clone()
            .or(file.smtp_url)
            .filter(|s| !s.is_empty());
        if let Some(url) = &smtp_url {
            if plain_with_credentials(url) {
                return Err(ConfigError::PlainSmtpCredentials);
            }
        }
        let request_timeout = self.request_timeout.or(file.request_timeout).unwrap_or(20);
        if request_timeout == 0 {
            return Err(ConfigError::RequestTimeout);
        }
        let defaults = crate::retention::Retention::default();
        let retention = crate::retention::Retention {
            departed_days: self
                .retain_departed_days
                .or(file.retain_departed_days)
                .unwrap_or(defaults.departed_days),
            mail_days: self
                .retain_mail_days
                .or(file.retain_mail_days)
                .unwrap_or(defaults.mail_days),
            audit_days: self
                .retain_audit_days
                .or(file.retain_audit_days)
                .unwrap_or(defaults.audit_days),
        };
        let shutdown_timeout = self
            .shutdown_timeout
            .or(file.shutdown_timeout)
            .unwrap_or(30);
        if !(1..=3600).contains(&shutdown_timeout) {
            return Err(ConfigError::ShutdownTimeout(shutdown_timeout));
        }
        Ok(Config {
            trusted_proxies,
            request_timeout: std::time::Duration::from_secs(request_timeout),
            retention,
            database_url,
            database_url_given,
            definitions: self
                .definitions
                .clone()
                .or(file.definitions)
                .unwrap_or_else(|| PathBuf::from("survey-definitions")),
            bind,
            base_url: base_url.trim_end_matches('/').to_string(),
            smtp_url,
            outbox_dir: self
                .outbox_dir
                .clone()
                .or(file.outbox_dir)
                .unwrap_or_else(|| PathBuf::from("outbox")),
            mail_from,
            help_contact,
            secret,
            shutdown_timeout: std::time::Duration::from_secs(shutdown_timeout),
            metrics: self.metrics.or(file.metrics).unwrap_or(true),
            metrics_token: self
                .metrics_token
                .clone()
                .or(file.metrics_token)
                .filter(|s| !s.is_empty()),
        })
    }
}

/// Whether `url` is `smtp+plain://` with a user (and so a password) in it.
pub fn plain_with_credentials(url: &str) -> bool {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    scheme.eq_ignore_ascii_case("smtp+plain") && rest.contains('@')
}

fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let config = ConfigArgs::default().resolve().unwrap();
        assert_eq!(config.database_url, DatabaseUrl::Sqlite("icsat.db".into()));
        assert!(!config.database_url_given);
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.base_url, "http://127.0.0.1:8080");
        assert_eq!(config.outbox_dir, PathBuf::from("outbox"));
        assert_eq!(config.mail_from, "surveys@localhost");
        assert_eq!(config.help_contact, "surveys@localhost");
        assert!(config.smtp_url.is_none() && config.secret.is_none());
        assert_eq!(config.shutdown_timeout, std::time::Duration::from_secs(30));
        assert!(config.metrics && config.metrics_token.is_none());
    }

    #[test]
    fn a_file_fills_what_flags_leave_open_and_rejects_typos() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("icsat.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\nmail_from = \"hr@x.io\"\n").unwrap();
        let args = ConfigArgs {
            config: Some(path.clone()),
            mail_from: Some("people@x.io".into()),
            ..Default::default()
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(config.mail_from, "people@x.io");
        std::fs::write(&path, "bnd = \"x\"\n").unwrap();
        let err = args.resolve().unwrap_err().to_string();
        assert!(err.contains("unknown field `bnd`"), "{err}");
    }

    #[test]
    fn retention_comes_from_flags_then_the_file_then_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("icsat.toml");
        std::fs::write(&path, "retain_mail_days = 30\nretain_audit_days = 400\n").unwrap();
        let args = ConfigArgs {
            config: Some(path),
            retain_audit_days: Some(100),
            ..Default::default()
        };
        let retention = args.resolve().unwrap().retention;
        assert_eq!(
            (
                retention.departed_days,
                retention.mail_days,
                retention.audit_days
            ),
            (365, 30, 100)
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let args = ConfigArgs {
            smtp_url: Some("smtp://me:pw@mail:587".into()),
            secret: Some("s3cret-s3cret-s3cret-s3cret-s3cret".into()),
            metrics_token: Some("m3trics".into()),
            database_url: Some("postgres://u:dbpw@h/d".into()),
            ..Default::default()
        };
        let shown = format!("{:?}", args.resolve().unwrap());
        assert!(
            !shown.contains("s3cret")
                && !shown.contains("m3trics")
                && !shown.contains("pw@")
                && !shown.contains("dbpw"),
            "{shown}"
        );
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let bad_bind = ConfigArgs {
            bind: Some("localhost".into()),
            ..Default::default()
        };
        assert!(bad_bind
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("HOST:PORT"));
        let bad_timeout = ConfigArgs {
            shutdown_timeout: Some(0),
            ..Default::default()
        };
        assert!(bad_timeout
            .resolve()
            .unwrap_err()
            .to_string()
            .starts_with("ICSAT_SHUTDOWN_TIMEOUT: 0 is not between 1 and 3600"));
        let bad_db = ConfigArgs {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        };
        assert!(bad_db
            .resolve()
            .unwrap_err()
            .to_string()
            .starts_with("ICSAT_DATABASE_URL: unsupported"));
    }

    #[test]
    fn short_secrets_and_plain_passwords_are_refused() {
        let short = ConfigArgs {
            secret: Some("x".repeat(31)),
            ..Default::default()
        };
        let err = short.resolve().unwrap_err().to_string();
        assert!(
            err.contains("31 bytes") && err.contains("at least 32"),
            "{err}"
        );
        let long = ConfigArgs {
            secret: Some("x".repeat(32)),
            ..Default::default()
        };
        assert!(long.resolve().is_ok());
        let plain = ConfigArgs {
            smtp_url: Some("smtp+plain://me:pw@relay:25".into()),
            ..Default::default()
        };
        let err = plain.resolve().unwrap_err().to_string();
        assert!(
            err.contains("smtp+plain://") && !err.contains("pw"),
            "{err}"
        );
        let relay = ConfigArgs {
            smtp_url: Some("smtp+plain://relay:25".into()),
            ..Default::default()
        };
        assert!(relay.resolve().is_ok());
    }
}
