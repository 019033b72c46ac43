//! icsat's own words in the employee's language: the survey form's buttons, hints and
//! errors, the pages around it (thanks, already answered, closed) and the invitation and
//! reminder emails. Question texts are the definition's (`definitions::text`); these are
//! the product's, one catalogue a language in `templates/messages/`, compiled into the
//! binary. Pure: no I/O.
//!
//! A survey in a language without a catalogue (say Arabic) shows its questions in that
//! language and the product's words in English; its layout still follows the language's
//! direction ([`direction`]).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, TimeZone};

use crate::definitions::{ReportBy, TENURE};

/// The languages the product's words ship in; English is the fallback for every key.
pub const SHIPPED: [&str; 4] = ["en", "de", "fr", "es"];

const CATALOGUES: [(&str, &str); 4] = [
    ("en", include_str!("../../templates/messages/en.toml")),
    ("de", include_str!("../../templates/messages/de.toml")),
    ("fr", include_str!("../../templates/messages/fr.toml")),
    ("es", include_str!("../../templates/messages/es.toml")),
];

/// Languages written right to left: the form is laid out mirrored for them, scales
/// included (their first option stands on the right, where a reader starts).
const RIGHT_TO_LEFT: [&str; 6] = ["ar", "he", "fa", "ur", "yi", "ps"];

/// One language's catalogue: texts by `section.key`.
#[derive(Debug)]
pub struct Words {
    lang: &'static str,
    texts: BTreeMap<String, String>,
}

static LOADED: LazyLock<Vec<Words>> = LazyLock::new(|| {
    CATALOGUES
        .iter()
        .map(|(lang, text)| Words {
            lang,
            // A catalogue that does not parse leaves its language on English words; the
            // test `every_catalogue_has_every_key` fails on it long before a release.
            texts: parse(text).unwrap_or_default(),
        })
        .collect()
});

/// The catalogue for `lang` (`de`, `de-AT`, `de_CH` all give German), else English.
pub fn words(lang: &str) -> &'static Words {
    let primary = primary(lang);
    LOADED
        .iter()
        .find(|w| w.lang == primary)
        .unwrap_or_else(|| &LOADED[0])
}

/// `ltr` or `rtl`, for the page's `dir` attribute.
pub fn direction(lang: &str) -> &'static str {
    if RIGHT_TO_LEFT.contains(&primary(lang).as_str()) {
        "rtl"
    } else {
        "ltr"
    }
}

/// The language's primary subtag, lower case: `pt-BR` → `pt`.
fn primary(lang: &str) -> String {
    lang.split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The survey language to use: the first of `wanted` the survey has (exactly, else by
/// primary subtag: an employee marked `de-CH` gets a survey's `de`), else `default`.
pub fn pick(available: &[String], default: &str, wanted: &[&str]) -> String {
    for want in wanted {
        if let Some(exact) = available.iter().find(|a| a.eq_ignore_ascii_case(want)) {
            return exact.clone();
        }
        let want = primary(want);
        if want.is_empty() {
            continue;
        }
        if let Some(close) = available.iter().find(|a| primary(a) == want) {
            return close.clone();
        }
    }
    default.to_string()
}

/// The languages of an `Accept-Language` header, most wanted first (`q=0` left out).
pub fn accept_language(header: &str) -> Vec<&str> {
    let mut ranked: Vec<(f32, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, i, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().map(|(_, _, tag)| tag).collect()
}

/// Whether `raw` looks like a language tag (`de`, `pt-BR`, `zh-Hant`): what a roster's
/// `language` column may hold.
pub fn is_language_tag(raw: &str) -> bool {
    let mut parts = raw.split(['-', '_']);
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

impl Words {
    /// The catalogue's language (English for a language without one).
    pub fn lang(&self) -> &'static str {
        self.lang
    }

    /// The text of `key` (`section.key`): this language's, else English, else the key.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.texts
            .get(key)
            .or_else(|| LOADED[0].texts.get(key))
            .map_or(key, String::as_str)
    }

    /// The text of `key` with its `{name}` placeholders filled from `args`.
    pub fn fill(&self, key: &str, args: &[(&str, &dyn Display)]) -> String {
        fill(self.get(key), args)
    }

    /// Every text of a section, filled from `args`, by key without the section: what a
    /// template reads as `t.key`.
    pub fn section(
        &self,
        section: &str,
        args: &[(&str, &dyn Display)],
    ) -> BTreeMap<String, String> {
        let prefix = format!("{section}.");
        LOADED[0]
            .texts
            .keys()
            .filter_map(|key| key.strip_prefix(&prefix).map(|short| (short, key)))
            .map(|(short, key)| (short.to_string(), self.fill(key, args)))
            .collect()
    }

    /// A moment as people read it: "Friday 14 March 2027, 18:00 CET",
    /// "Freitag, 14. März 2027, 18:00 Uhr CET".
    pub fn date_time<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> String
    where
        Tz::Offset: Display,
    {
        let weekday = self.get_owned(&format!(
            "date.weekday_{}",
            t.weekday().number_from_monday()
        ));
        let month = self.get_owned(&format!("date.month_{}", t.month()));
        self.fill(
            "date.format",
            &[
                ("weekday", &weekday),
                ("day", &t.day()),
                ("month", &month),
                ("year", &t.year()),
                ("time", &t.format("%H:%M")),
                ("zone", &t.format("%Z")),
            ],
        )
    }

    fn get_owned(&self, key: &str) -> String {
        self.get(key).to_string()
    }

    /// What an anonymous answer is stored with, for the privacy texts: "your department
    /// and your location".
    pub fn kept(&self, report_by: &ReportBy) -> String {
        let names: Vec<String> = report_by
            .names()
            .map(|n| match n {
                TENURE => self.get("privacy.attribute_tenure").to_string(),
                "location" => self.get("privacy.attribute_location").to_string(),
                other => other.replace(['-', '_'], " "),
            })
            .collect();
        match names.split_last() {
            None => self.get("privacy.kept_department").to_string(),
            Some((last, rest)) => {
                let names = if rest.is_empty() {
                    last.clone()
                } else {
                    format!("{} {} {last}", rest.join(", "), self.get("privacy.and"))
                };
                self.fill("privacy.kept_more", &[("names", &names)])
            }
        }
    }
}

/// A text to say later, in the reader's language: a catalogue key and its arguments.
/// Pure code (the form's checks) says what is wrong without knowing who reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Phrase {
    pub fn new(key: &'static str) -> Phrase {
        Phrase {
            key,
            args: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Display) -> Phrase {
        self.args.push((name, value.to_string()));
        self
    }

    /// The phrase in `words`' language.
    pub fn say(&self, words: &Words) -> String {
        let args: Vec<(&str, &dyn Display)> = self
            .args
            .iter()
            .map(|(n, v)| (*n, v as &dyn Display))
            .collect();
        words.fill(self.key, &args)
    }
}

/// `text` with each `{name}` of `args` replaced; other braces stay as they are.
pub fn fill(text: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (v.to_string(), close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(&value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A catalogue's texts by `section.key`; every value must be a string.
fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut texts = BTreeMap::new();
    for (section, entries) in &table {
        let toml::Value::Table(entries) = entries else {
            return Err(format!("[{section}] is not a table"));
        };
        for (key, value) in entries {
            let toml::Value::String(value) = value else {
                return Err(format!("{section}.{key} is not a string"));
            };
            texts.insert(format!("{section}.{key}"), value.clone());
        }
    }
    Ok(texts)
}

/// The `{placeholders}` of a text, sorted.
#[cfg(test)]
fn placeholders(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = text
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests;
