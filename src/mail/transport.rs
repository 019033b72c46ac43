//! Where messages go: an SMTP server (lettre, async, pooled connections) or, without
//! `ICSAT_SMTP_URL`, `.eml` files in the outbox folder.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::compose::{envelope_sender, parse_recipient};
use super::MailError;
use crate::config::Config;
use crate::db::redact;

/// How long one SMTP command (connect, each reply) may take before the attempt counts
/// as a temporary failure.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

const URL_FORMS: &str = "write smtp://USER:PASSWORD@HOST:PORT (STARTTLS required), \
     smtps://USER:PASSWORD@HOST:PORT (TLS from the start) or smtp+plain://HOST:PORT \
     (no TLS: for a relay on this machine or network)";

/// Built once at start and shared: the SMTP variant keeps a pool of open connections.
pub enum Transport {
    // Boxed: the pooled transport is large, the file variant tiny.
    Smtp(Box<SmtpRelay>),
    Files(PathBuf),
}

/// An SMTP server and the pooled lettre transport that talks to it.
pub struct SmtpRelay {
    builder: AsyncSmtpTransportBuilder,
    /// Built on first use: lettre's pool spawns a tokio task when it is created (and
    /// another when dropped), so it can only exist inside the runtime; this way a
    /// `Transport` can be made (and a bad URL reported) before the runtime starts.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    described: String,
}

impl Drop for SmtpRelay {
    fn drop(&mut self) {
        // Outside a runtime the pool's own Drop would panic trying to spawn its cleanup;
        // the process is ending then, and the OS closes the connections.
        if tokio::runtime::Handle::try_current().is_err() {
            if let Some(transport) = self.transport.take() {
                std::mem::forget(transport);
            }
        }
    }
}

/// Why one attempt to send did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The server answered 4xx: try this message again later.
    #[error("{0}")]
    Temporary(String),
    /// The server could not be reached or talked to (refused, timed out, TLS, dropped):
    /// try again later; the other messages would fail the same way for now.
    #[error("{0}")]
    Unreachable(String),
    /// 5xx, or an address no server would take: retrying would not help.
    #[error("{0}")]
    Permanent(String),
}

impl Transport {
    /// SMTP when `ICSAT_SMTP_URL` is set, otherwise `.eml` files in `ICSAT_OUTBOX_DIR`.
    pub fn from_config(config: &Config) -> Result<Transport, MailError> {
        match &config.smtp_url {
            Some(url) => Transport::smtp(url, DEFAULT_SMTP_TIMEOUT),
            None => Ok(Transport::Files(config.outbox_dir.clone())),
        }
    }

    /// An SMTP transport from one of the accepted URL forms.
    pub fn smtp(url: &str, timeout: Duration) -> Result<Transport, MailError> {
        let parsed = SmtpUrl::parse(url)?;
        let builder = match parsed.security {
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&parsed.host)
                    .map_err(|e| MailError::SmtpUrl(format!("{}: {e}", redact(url))))?
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&parsed.host)
                .map_err(|e| MailError::SmtpUrl(format!("{}: {e}", redact(url))))?,
            Security::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&parsed.host)
            }
        };
        let mut builder = builder
            .port(parsed.port)
            .timeout(Some(timeout))
            // One message at a time per process: one connection in use, one spare.
            .pool_config(PoolConfig::new().max_size(2));
        if let Some((user, password)) = parsed.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let described = format!(
            "SMTP {}:{} ({})",
            parsed.host,
            parsed.port,
            parsed.security.describe()
        );
        Ok(Transport::Smtp(Box::new(SmtpRelay {
            builder,
            transport: OnceLock::new(),
            described,
        })))
    }

    pub fn files(dir: impl Into<PathBuf>) -> Transport {
        Transport::Files(dir.into())
    }

    /// For logs: where mail goes, never a password.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(relay) => relay.described.clone(),
            Transport::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// One attempt to hand over one stored message.
    pub async fn deliver(
        &self,
        outbox_id: i64,
        recipient: &str,
        message: &str,
    ) -> Result<(), DeliveryError> {
        if message.is_empty() {
            return Err(DeliveryError::Permanent(
                "the message was never built: its recipient address was not valid".into(),
            ));
        }
        match self {
            Transport::Smtp(relay) => relay.deliver(recipient, message).await,
            Transport::Files(dir) => {
                let dir = dir.clone();
                let bytes = message.as_bytes().to_vec();
                tokio::task::spawn_blocking(move || write_eml(&dir, outbox_id, &bytes))
                    .await
                    .map_err(|_| DeliveryError::Unreachable("the file writer stopped".into()))?
                    .map_err(|e| {
                        DeliveryError::Unreachable(format!(
                            "cannot write to the outbox folder: {e}"
                        ))
                    })
            }
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SmtpRelay {
    async fn deliver(&self, recipient: &str, message: &str) -> Result<(), DeliveryError> {
        let from = envelope_sender(message).ok_or_else(|| {
            DeliveryError::Permanent("the stored message names no valid sender".into())
        })?;
        let to = parse_recipient(recipient).ok_or_else(|| {
            DeliveryError::Permanent("the recipient is not an email address".into())
        })?;
        let envelope = Envelope::new(Some(from), vec![to])
            .map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        match transport.send_raw(&envelope, message.as_bytes()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }
}

/// lettre's errors in our three outcomes: 4xx is temporary, 5xx permanent; a connection
/// that can't be made or breaks (refused, timeout, TLS, a garbled reply) is a temporary
/// fault of the way to the server; a client error (e.g. an address the server can't
/// take without SMTPUTF8) would fail again the same way.
fn classify(error: &lettre::transport::smtp::Error) -> DeliveryError {
    let text = error_text(error);
    if error.is_permanent() {
        DeliveryError::Permanent(text)
    } else if error.is_transient() {
        DeliveryError::Temporary(text)
    } else if error.is_client() {
        DeliveryError::Permanent(text)
    } else {
        DeliveryError::Unreachable(text)
    }
}

/// The error with its causes, e.g. "Connection error: Connection refused (os error 111)".
fn error_text(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error).and_then(|s| s.source());
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `<dir>/<id>.eml`, written whole or not at all (temporary file, then rename), so a
/// crash leaves no half message and sending the same id again just replaces it.
fn write_eml(dir: &Path, outbox_id: i64, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{outbox_id}.eml"));
    let temp = dir.join(format!(".{outbox_id}.eml.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    StartTls,
    Tls,
    Plain,
}

impl Security {
    fn describe(self) -> &'static str {
        match self {
            Security::StartTls => "STARTTLS",
            Security::Tls => "TLS",
            Security::Plain => "no TLS",
        }
    }
}

#[derive(PartialEq, Eq)]
struct SmtpUrl {
    security: Security,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

impl SmtpUrl {
    fn parse(url: &str) -> Result<SmtpUrl, MailError> {
        let bad = |why: &str| MailError::SmtpUrl(format!("{why} in {}: {URL_FORMS}", redact(url)));
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (security, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (Security::StartTls, 587),
            "smtps" => (Security::Tls, 465),
            "smtp+plain" => (Security::Plain, 25),
            _ => return Err(bad(&format!("unknown scheme {scheme:?}"))),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(bad("a path or query is not expected"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let credentials = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let user = percent_decode(user).ok_or_else(|| bad("a bad %-escape in the user"))?;
                let password = percent_decode(password)
                    .ok_or_else(|| bad("a bad %-escape in the password"))?;
                if user.is_empty() {
                    return Err(bad("an empty user name"));
                }
                Some((user, password))
            }
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("a bad HOST:PORT"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(SmtpUrl {
            security,
            host,
            port: port.unwrap_or(default_port),
            credentials,
        })
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?.parse().ok()?),
        };
        return Some((host.to_string(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), Some(port.parse().ok()?))),
        None => Some((text.to_string(), None)),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_url_forms_parse() {
        let url = SmtpUrl::parse("smtp://me%40x.io:p%3Ass@mail.x.io:2525").unwrap();
        assert_eq!(url.security, Security::StartTls);
        assert_eq!(url.host, "mail.x.io");
        assert_eq!(url.port, 2525);
        assert_eq!(
            url.credentials,
            Some(("me@x.io".to_string(), "p:ss".to_string()))
        );
        let url = SmtpUrl::parse("smtps://u:p@mail.x.io").unwrap();
        assert_eq!((url.security, url.port), (Security::Tls, 465));
        let url = SmtpUrl::parse("smtp+plain://127.0.0.1:2525/").unwrap();
        assert_eq!(
            (url.security, url.host.as_str(), url.port, url.credentials),
            (Security::Plain, "127.0.0.1", 2525, None)
        );
        let url = SmtpUrl::parse("smtp+plain://[::1]:25").unwrap();
        assert_eq!(url.host, "::1");
        assert_eq!(SmtpUrl::parse("smtp://relay").unwrap().port, 587);
    }

    #[test]
    fn bad_urls_name_the_forms_and_hide_the_password() {
        for bad in [
            "mail.x.io:25",
            "http://u:hunter2@mail.x.io",
            "smtp://u:hunter2@mail.x.io:notaport",
            "smtp://u:hunter2@:25",
            "smtp://u:hunter2@mail.x.io/path",
        ] {
            let message = SmtpUrl::parse(bad).unwrap_err().to_string();
            assert!(message.contains("smtp+plain://HOST:PORT"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[tokio::test]
    async fn files_are_written_whole_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("new").join("outbox");
        let transport = Transport::files(&outbox);
        transport.deliver(7, "a@x.io", "first").await.unwrap();
        transport.deliver(7, "a@x.io", "second").await.unwrap();
        assert_eq!(
            std::fs::read_to_string(outbox.join("7.eml")).unwrap(),
            "second"
        );
        assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);
    }
}
