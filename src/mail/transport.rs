//! Where messages go: an SMTP server (lettre's async SMTP client over one kept-open
//! connection) or, without `ICSAT_SMTP_URL`, `.eml` files in the outbox folder.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::compose::{envelope_sender, parse_recipient};
use super::MailError;
use crate::config::Config;
use crate::db::redact;

/// How long one attempt (connecting, greeting, sending one message) may take before it
/// counts as a temporary failure. Keep it well under the sender's lease.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

const URL_FORMS: &str = "write smtp://USER:PASSWORD@HOST:PORT (STARTTLS required), \
     smtps://USER:PASSWORD@HOST:PORT (TLS from the start) or smtp+plain://HOST:PORT \
     (no TLS: for a relay on this machine or network)";

/// Built once at start and shared: the SMTP variant keeps its connection open between
/// messages.
pub enum Transport {
    Smtp(Box<SmtpRelay>),
    Files(PathBuf),
}

/// An SMTP server, and the one connection this process keeps open to it.
///
/// Not lettre's pooled `AsyncSmtpTransport`, for two reasons measured or read in lettre
/// 0.11: its sockets don't set TCP_NODELAY, and it writes a message's body and its final
/// `.` separately, so Nagle's algorithm holds the `.` back until the server's delayed
/// ACK (40 ms on Linux): 22 messages per second at best. And its async client has a
/// timeout on connecting only, so a server that stops answering would stall the sender
/// for good. Here lettre's `AsyncSmtpConnection` speaks SMTP over a socket we open,
/// and every attempt has a deadline. One connection is all a pool would hold anyway:
/// the sender sends one message at a time.
pub struct SmtpRelay {
    host: String,
    port: u16,
    tls: Option<TlsParameters>,
    tls_connector: Option<tokio_rustls::TlsConnector>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    idle: tokio::sync::Mutex<Option<(AsyncSmtpConnection, Instant)>>,
    described: String,
}

/// An idle connection older than this is checked with NOOP before it is used again.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(2);
/// An idle connection older than this is closed and a new one opened (servers close
/// idle connections after a minute or more).
const MAX_IDLE: Duration = Duration::from_secs(30);

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

    /// An SMTP transport from one of the accepted URL forms; `timeout` bounds each whole
    /// attempt (connecting, greeting, sending one message). Connects on first use.
    pub fn smtp(url: &str, timeout: Duration) -> Result<Transport, MailError> {
        let parsed = SmtpUrl::parse(url)?;
        let tls_error = |e: &dyn fmt::Display| MailError::SmtpUrl(format!("{}: {e}", redact(url)));
        let tls = match parsed.security {
            Security::StartTls => {
                Some(TlsParameters::new(parsed.host.clone()).map_err(|e| tls_error(&e))?)
            }
            _ => None,
        };
        let tls_connector = match parsed.security {
            Security::Tls => Some(tls_connector()),
            _ => None,
        };
        let described = format!(
            "SMTP {}:{} ({})",
            parsed.host,
            parsed.port,
            parsed.security.describe()
        );
        Ok(Transport::Smtp(Box::new(SmtpRelay {
            host: parsed.host,
            port: parsed.port,
            tls,
            tls_connector,
            credentials: parsed
                .credentials
                .map(|(user, password)| Credentials::new(user, password)),
            hello: ClientId::default(),
            timeout,
            idle: tokio::sync::Mutex::new(None),
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
        let mut idle = self.idle.lock().await;
        let attempt = async {
            let mut conn = self.connection(idle.take()).await?;
            match conn.send(&envelope, message.as_bytes()).await {
                Ok(_) => {
                    *idle = Some((conn, Instant::now()));
                    Ok(())
                }
                // lettre has already closed a connection that failed mid-message.
                Err(e) => Err(classify(&e)),
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            // The connection is dropped with the attempt; whether the server kept the
            // message is unknown, so it is tried again (at worst delivered twice).
            Err(_) => Err(DeliveryError::Unreachable(format!(
                "no answer from the SMTP server within {} s",
                self.timeout.as_secs_f64()
            ))),
        }
    }

    /// The idle connection if it is still good, or a new one.
    async fn connection(
        &self,
        idle: Option<(AsyncSmtpConnection, Instant)>,
    ) -> Result<AsyncSmtpConnection, DeliveryError> {
        if let Some((mut conn, since)) = idle {
            let age = since.elapsed();
            if !conn.has_broken() && age < MAX_IDLE {
                if age < CHECK_IDLE_AFTER || conn.test_connected().await {
                    return Ok(conn);
                }
            } else {
                conn.abort().await;
            }
        }
        self.connect().await.map_err(DeliveryError::Unreachable)
    }

    /// A new connection, greeted, encrypted and authenticated as the URL says. Any
    /// failure here is the way to the server, not the message: the text says which.
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let smtp = |e: lettre::transport::smtp::Error| error_text(&e);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
        // Each SMTP command waits for its reply anyway; Nagle's algorithm only delays.
        tcp.set_nodelay(true)
            .map_err(|e| format!("cannot set TCP_NODELAY: {e}"))?;
        let mut conn = match (&self.tls_connector, &self.tls) {
            (Some(connector), _) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| format!("{:?} is not a TLS server name: {e}", self.host))?;
                let tls = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with {}:{} failed: {e}", self.host, self.port))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(TlsTcp(tls)), &self.hello)
                    .await
                    .map_err(smtp)?
            }
            (None, Some(tls)) => {
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(smtp)?;
                // STARTTLS is required: without it the password and the messages would
                // cross the network in clear text.
                conn.starttls(tls.clone(), &self.hello)
                    .await
                    .map_err(smtp)?;
                conn
            }
            (None, None) => AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                .await
                .map_err(smtp)?,
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| format!("the SMTP server refused the login: {}", error_text(&e)))?;
        }
        Ok(conn)
    }
}

/// Implicit TLS (smtps://) over a socket we opened: rustls with the webpki roots and
/// the ring provider, as lettre's own rustls setup.
fn tls_connector() -> tokio_rustls::TlsConnector {
    let roots = tokio_rustls::rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth());
    let config = match config {
        Ok(config) => config,
        // ring supports the default versions; this branch only keeps panics out.
        Err(_) => tokio_rustls::rustls::ClientConfig::builder()
            .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// A TLS stream lettre can speak SMTP over (its trait, our type).
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
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
    // Messages hold live links: readable by the service's user only.
    crate::files::create_private_dir(dir)?;
    let path = dir.join(format!("{outbox_id}.eml"));
    let temp = dir.join(format!(".{outbox_id}.eml.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = crate::files::create_private(&temp)?;
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
        if security == Security::Plain && credentials.is_some() {
            // A password over an unencrypted connection is a password given away.
            return Err(bad("a user and password over smtp+plain:// (no TLS)"));
        }
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
            "smtp+plain://u:hunter2@relay.x.io:25",
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
