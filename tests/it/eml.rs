//! Reading a stored message as a mail client would: the subject decoded from RFC 2047,
//! the text and HTML parts from quoted-printable or base64, as lettre writes them.

use base64::Engine;

pub struct Eml {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn parse(message: &str) -> Eml {
    let message = message.replace("\r\n", "\n");
    let (headers, body) = message.split_once("\n\n").expect("headers and body");
    let headers = unfold(headers);
    let subject = header(&headers, "subject")
        .map(decode_words)
        .unwrap_or_default();
    let boundary = header(&headers, "content-type")
        .and_then(|t| t.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_string())
        .expect("a multipart message");
    let mut text = String::new();
    let mut html = String::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        let Some((part_headers, part_body)) = part.trim_start_matches('\n').split_once("\n\n")
        else {
            continue;
        };
        let part_headers = unfold(part_headers);
        let kind = header(&part_headers, "content-type").unwrap_or_default();
        let encoding = header(&part_headers, "content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let decoded = match encoding.as_str() {
            "base64" => String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(part_body.split_whitespace().collect::<String>())
                    .expect("base64"),
            )
            .expect("utf-8"),
            "quoted-printable" => quoted_printable(part_body),
            _ => part_body.to_string(),
        };
        if kind.starts_with("text/plain") {
            text = decoded;
        } else if kind.starts_with("text/html") {
            html = decoded;
        }
    }
    Eml {
        subject,
        text,
        html,
    }
}

fn unfold(headers: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`), joined.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for word in value.split_whitespace() {
        let inner = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let _charset = parts.next()?;
                Some((
                    parts.next()?.to_ascii_lowercase(),
                    parts.next()?.to_string(),
                ))
            });
        // Whitespace between two encoded words is not part of the text.
        let joins_encoded = last_encoded && inner.is_some();
        if !out.is_empty() && !joins_encoded {
            out.push(' ');
        }
        last_encoded = inner.is_some();
        match inner {
            Some((encoding, data)) if encoding == "b" => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .expect("base64 word");
                out.push_str(&String::from_utf8(bytes).expect("utf-8 word"));
            }
            Some((_, data)) => out.push_str(&quoted_printable(&data.replace('_', " "))),
            None => out.push_str(word),
        }
    }
    out
}

fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 after quoted-printable")
}
