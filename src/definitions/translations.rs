//! Reading texts and text lists that may be translated (`{ en = "...", de = "..." }`).

use std::collections::{BTreeMap, BTreeSet};

use toml::de::DeValue;

use super::reader::{Reader, Value};
use super::text::{Text, TextList};

/// The survey's languages: `default` (`language`) and every one texts are given in.
pub(crate) struct Languages {
    pub(crate) default: String,
    pub(crate) all: Vec<String>,
    /// Whether `languages` was written (only for the wording of messages).
    pub(crate) listed: bool,
}

impl Languages {
    fn listing(&self) -> String {
        let quoted: Vec<String> = self.all.iter().map(|l| format!("\"{l}\"")).collect();
        format!("languages = [{}]", quoted.join(", "))
    }
}

impl Reader<'_> {
    /// A text a person reads: a non-empty string, or a table with one non-empty string
    /// per language of the survey. A plain string serves every language.
    pub(crate) fn text(
        &mut self,
        value: &Value<'_>,
        what: &str,
        langs: &Languages,
    ) -> Option<Text> {
        let entries = match value.get_ref() {
            DeValue::Table(entries) => entries,
            DeValue::String(_) => {
                return self.nonblank_string(value, what).map(Text::plain);
            }
            _ => return self.wrong_type(value, what, "a string or a table of translations"),
        };
        let mut texts = BTreeMap::new();
        let mut ok = true;
        for (key, item) in entries.iter() {
            let lang = key.get_ref().as_ref();
            if !self.language_known(lang, &key.span(), what, langs) {
                ok = false;
                continue;
            }
            match self.nonblank_string(item, &format!("the \"{lang}\" text of {what}")) {
                Some(s) => {
                    texts.insert(lang.to_owned(), s.to_owned());
                }
                None => ok = false,
            }
        }
        ok &= self.all_languages_present(
            value,
            entries.keys().map(|k| k.get_ref().as_ref()),
            what,
            langs,
        );
        if !ok {
            return None;
        }
        let default = texts.remove(&langs.default)?;
        Some(Text {
            default,
            translations: texts,
        })
    }

    /// A list of texts (labels, options): an array of non-empty strings, or a table of
    /// such arrays per language, all of the same length. With `distinct`, entries must
    /// differ within each language (two equal options couldn't be told apart).
    pub(crate) fn text_list(
        &mut self,
        value: &Value<'_>,
        what: &str,
        langs: &Languages,
        distinct: bool,
    ) -> Option<TextList> {
        let entries = match value.get_ref() {
            DeValue::Table(entries) => entries,
            DeValue::Array(_) => {
                return self.plain_list(value, what, distinct).map(TextList::plain)
            }
            _ => {
                return self.wrong_type(
                    value,
                    what,
                    "an array of strings or a table of arrays per language",
                )
            }
        };
        let mut lists = BTreeMap::new();
        let mut ok = true;
        for (key, item) in entries.iter() {
            let lang = key.get_ref().as_ref();
            if !self.language_known(lang, &key.span(), what, langs) {
                ok = false;
                continue;
            }
            match self.plain_list(item, &format!("the \"{lang}\" list of {what}"), distinct) {
                Some(list) => {
                    lists.insert(lang.to_owned(), (list, item.span()));
                }
                None => ok = false,
            }
        }
        ok &= self.all_languages_present(
            value,
            entries.keys().map(|k| k.get_ref().as_ref()),
            what,
            langs,
        );
        if let Some((default, _)) = lists.get(&langs.default) {
            let expected = default.len();
            for (lang, (list, span)) in &lists {
                if list.len() != expected {
                    self.error(
                        span,
                        format!(
                            "the \"{lang}\" list of {what} has {} entries but the \"{}\" list has {expected}; translations must list the same entries in the same order",
                            list.len(),
                            langs.default
                        ),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        let mut lists: BTreeMap<String, Vec<String>> = lists
            .into_iter()
            .map(|(lang, (list, _))| (lang, list))
            .collect();
        let default = lists.remove(&langs.default)?;
        Some(TextList {
            default,
            translations: lists,
        })
    }

    fn plain_list(&mut self, value: &Value<'_>, what: &str, distinct: bool) -> Option<Vec<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            return self.wrong_type(value, what, "an array of strings");
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen = BTreeSet::new();
        let mut ok = true;
        for item in items.iter() {
            let Some(s) = self.nonblank_string(item, &format!("each entry of {what}")) else {
                ok = false;
                continue;
            };
            if distinct && !seen.insert(s) {
                self.error(
                    &item.span(),
                    format!("\"{s}\" appears twice in {what}; entries must differ"),
                );
                ok = false;
            }
            out.push(s.to_owned());
        }
        ok.then_some(out)
    }

    fn language_known(
        &mut self,
        lang: &str,
        key_span: &std::ops::Range<usize>,
        what: &str,
        langs: &Languages,
    ) -> bool {
        if langs.all.iter().any(|l| l == lang) {
            return true;
        }
        let hint = if langs.listed {
            format!("it is not one of {}", langs.listing())
        } else {
            format!(
                "add languages = [\"{}\", \"{lang}\"] at the top level to translate",
                langs.default
            )
        };
        self.error(
            key_span,
            format!("unknown language \"{lang}\" in {what}; {hint}"),
        );
        false
    }

    fn all_languages_present<'k>(
        &mut self,
        value: &Value<'_>,
        present: impl Iterator<Item = &'k str>,
        what: &str,
        langs: &Languages,
    ) -> bool {
        let present: BTreeSet<&str> = present.collect();
        let missing: Vec<String> = langs
            .all
            .iter()
            .filter(|l| !present.contains(l.as_str()))
            .map(|l| format!("\"{l}\""))
            .collect();
        if missing.is_empty() {
            return true;
        }
        self.error(
            &value.span(),
            format!(
                "{what} has no {} translation; every language of {} needs one",
                missing.join(", "),
                langs.listing()
            ),
        );
        false
    }
}
