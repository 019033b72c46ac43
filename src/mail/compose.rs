//! The RFC 5322 message: multipart/alternative (text, then HTML) with the headers mail
//! servers and clients expect from a machine-sent message.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use chrono::NaiveDateTime;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};

use super::{MailError, OutgoingMail};

/// Builds the whole message as stored in the outbox and sent as is.
/// `from` is `ICSAT_MAIL_FROM`: an address, optionally with a name (`Surveys <s@x.io>`).
pub fn compose(mail: &OutgoingMail, from: &str, now: NaiveDateTime) -> Result<String, MailError> {
    let from = parse_from(from)?;
    let to = parse_recipient(&mail.to_email)
        .ok_or_else(|| MailError::Compose("the recipient is not an email address".into()))?;
    let to = Mailbox::new(display_name(&mail.to_name), to);
    let message_id = format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        from.email.domain()
    );
    let message = Message::builder()
        .message_id(Some(message_id))
        .date(system_time(now))
        .from(from)
        .to(to)
        .subject(one_line(&mail.subject))
        // RFC 3834: no vacation or out-of-office replies to a machine-sent message.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        // Exchange ignores Auto-Submitted; this keeps its automatic replies away as well.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".into(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError::Compose(e.to_string()))?;
    // lettre encodes every part and header to 7-bit (quoted-printable, base64, RFC 2047),
    // so the message is ASCII and fits a TEXT column on both backends.
    String::from_utf8(message.formatted())
        .map_err(|_| MailError::Compose("the formatted message is not text".into()))
}

pub(crate) fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    Mailbox::from_str(from.trim()).map_err(|_| MailError::BadFrom(from.to_string()))
}

/// A roster address as an envelope recipient, or None when it isn't one.
pub(crate) fn parse_recipient(address: &str) -> Option<Address> {
    Address::from_str(address.trim()).ok()
}

/// The envelope sender of a stored message: the address of its `From:` header, which
/// [`compose`] wrote (so no second column is needed to know who sends it).
pub(crate) fn envelope_sender(message: &str) -> Option<Address> {
    let header_end = message.find("\r\n\r\n").unwrap_or(message.len());
    let mut from_value: Option<String> = None;
    for line in message[..header_end].split("\r\n") {
        if line.starts_with([' ', '\t']) {
            // A folded continuation of the previous header.
            if let Some(value) = from_value.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        if from_value.is_some() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("from") {
                from_value = Some(value.to_string());
            }
        }
    }
    let value = from_value?;
    let address = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.trim(),
    };
    Address::from_str(address.trim()).ok()
}

fn display_name(name: &str) -> Option<String> {
    let name = one_line(name);
    (!name.is_empty()).then_some(name)
}

/// Header text on one line: a roster or definition value with a line break must not
/// become a second header.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn system_time(now: NaiveDateTime) -> SystemTime {
    let micros = now.and_utc().timestamp_micros();
    if micros >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_micros(micros.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_micros(micros.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::MailKind;

    fn mail(to_name: &str, to_email: &str) -> OutgoingMail {
        OutgoingMail {
            dedupe_key: "k".into(),
            kind: MailKind::Invitation,
            wave_id: None,
            to_name: to_name.into(),
            to_email: to_email.into(),
            subject: "Your invitation:\r\nBcc: evil@example.com".into(),
            text: "Hello Zoë,\nplain".into(),
            html: "<p>Hello Zoë</p>".into(),
        }
    }

    fn now() -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339("2027-03-01T08:00:00Z")
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn the_message_has_the_headers_and_both_parts() {
        let text = compose(
            &mail("Zoë Östlund", "zoe@example.com"),
            "Surveys <surveys@hr.example.com>",
            now(),
        )
        .unwrap();
        let headers = &text[..text.find("\r\n\r\n").unwrap()];
        assert!(headers.contains("Message-ID: <"), "{headers}");
        assert!(headers.contains("@hr.example.com>"), "{headers}");
        assert!(
            headers.contains("Date: Mon, 01 Mar 2027 08:00:00"),
            "{headers}"
        );
        assert!(headers.contains("Auto-Submitted: auto-generated"));
        assert!(headers.contains("<zoe@example.com>"));
        assert!(headers.contains("MIME-Version: 1.0"));
        assert!(headers.contains("multipart/alternative"));
        // The line break in the subject did not make a Bcc header.
        assert!(!headers.contains("\r\nBcc:"), "{headers}");
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8"));
        assert!(text.is_ascii());
        assert_eq!(
            envelope_sender(&text).map(|a| a.to_string()),
            Some("surveys@hr.example.com".to_string())
        );
    }

    #[test]
    fn a_bare_sender_address_is_its_own_envelope() {
        let text = compose(&mail("", "a@example.com"), "surveys@localhost", now()).unwrap();
        assert_eq!(
            envelope_sender(&text).map(|a| a.to_string()),
            Some("surveys@localhost".to_string())
        );
    }

    #[test]
    fn bad_addresses_are_errors() {
        assert!(matches!(
            compose(&mail("A", "a@example.com"), "not an address", now()),
            Err(MailError::BadFrom(_))
        ));
        assert!(matches!(
            compose(&mail("A", "nobody"), "s@example.com", now()),
            Err(MailError::Compose(_))
        ));
    }
}
