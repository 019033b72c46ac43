//! Texts a person reads, in the survey's default language and optional translations.

use std::collections::BTreeMap;

use serde::Serialize;

/// A text shown to respondents: `text = "..."` or `text = { en = "...", de = "..." }`.
///
/// `default` is the text in the survey's default `language` (the one answers and
/// exports use); `translations` holds the other languages only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Text {
    pub default: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, String>,
}

impl Text {
    pub fn plain(text: impl Into<String>) -> Self {
        Text {
            default: text.into(),
            translations: BTreeMap::new(),
        }
    }

    /// The text in `lang`, or in the default language when there is no translation
    /// (a respondent with an unlisted language still gets a readable survey).
    pub fn get(&self, lang: &str) -> &str {
        self.translations
            .get(lang)
            .map_or(self.default.as_str(), String::as_str)
    }

    pub fn is_translated(&self) -> bool {
        !self.translations.is_empty()
    }
}

/// A list of texts (scale labels, choice options), translated as a whole:
/// `options = { en = ["Email", "Chat"], de = ["E-Mail", "Chat"] }`.
/// Every translation has as many entries as the default list, in the same order, so
/// the n-th entry means the same answer in every language.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TextList {
    pub default: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, Vec<String>>,
}

impl TextList {
    pub fn plain(items: Vec<String>) -> Self {
        TextList {
            default: items,
            translations: BTreeMap::new(),
        }
    }

    /// The list in `lang`, falling back to the default language.
    pub fn get(&self, lang: &str) -> &[String] {
        self.translations.get(lang).unwrap_or(&self.default)
    }

    pub fn len(&self) -> usize {
        self.default.len()
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_empty()
    }
}
