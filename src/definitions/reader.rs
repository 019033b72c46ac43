//! Reading spanned TOML values into typed ones, collecting one diagnostic per broken
//! rule instead of stopping at the first.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{Diagnostic, LineIndex, Located, Pos};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Collects diagnostics while a file is read.
pub(crate) struct Reader<'s> {
    lines: LineIndex<'s>,
    diagnostics: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Reader {
            lines: LineIndex::new(source),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn pos(&self, span: &Range<usize>) -> Pos {
        self.lines.pos(span.start)
    }

    pub(crate) fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let pos = self.pos(span);
        self.diagnostics.push(Diagnostic::new(pos, message));
    }

    pub(crate) fn error_at(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(pos, message));
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    /// The diagnostics in file order, without repeats.
    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        let mut all = self.diagnostics;
        all.sort();
        all.dedup();
        all
    }

    /// Reports every key of `table` not in `allowed`. `misplaced` may explain a key that
    /// belongs elsewhere (e.g. `max` on a likert question) instead of calling it unknown.
    pub(crate) fn check_keys(
        &mut self,
        table: &Table<'_, '_>,
        allowed: &[&str],
        misplaced: impl Fn(&str) -> Option<String>,
    ) {
        for key in table.entries.keys() {
            let name = key.get_ref().as_ref();
            if allowed.contains(&name) {
                continue;
            }
            let message = misplaced(name).unwrap_or_else(|| {
                let mut message = format!(
                    "unknown key \"{name}\" in {}; expected one of: {}",
                    table.name,
                    allowed.join(", ")
                );
                if let Some(close) = closest(name, allowed.iter().copied()) {
                    message.push_str(&format!(" (did you mean \"{close}\"?)"));
                }
                message
            });
            self.error(&key.span(), message);
        }
    }

    /// The value of a required key, or a diagnostic at the table when it is missing.
    pub(crate) fn required<'a, 'i>(
        &mut self,
        table: &Table<'a, 'i>,
        key: &str,
    ) -> Option<&'a Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            self.error(
                &table.span,
                format!("missing required key \"{key}\" in {}", table.name),
            );
        }
        value
    }

    /// A value as a sub-table, or a type diagnostic.
    pub(crate) fn table<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
        name: String,
    ) -> Option<Table<'a, 'i>> {
        match value.get_ref() {
            DeValue::Table(entries) => Some(Table {
                entries,
                span: value.span(),
                name,
            }),
            _ => self.wrong_type(value, what, "a table"),
        }
    }

    pub(crate) fn array<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
    ) -> Option<&'a [Value<'i>]> {
        match value.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => self.wrong_type(value, what, "an array"),
        }
    }

    pub(crate) fn string<'a>(&mut self, value: &'a Value<'_>, what: &str) -> Option<&'a str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => self.wrong_type(value, what, "a string"),
        }
    }

    /// A string that must not be blank (names, texts).
    pub(crate) fn nonblank_string<'a>(
        &mut self,
        value: &'a Value<'_>,
        what: &str,
    ) -> Option<&'a str> {
        let s = self.string(value, what)?;
        if s.trim().is_empty() {
            self.error(&value.span(), format!("{what} must not be empty"));
            return None;
        }
        Some(s)
    }

    pub(crate) fn located_string(
        &mut self,
        value: &Value<'_>,
        what: &str,
    ) -> Option<Located<String>> {
        let s = self.nonblank_string(value, what)?;
        Some(Located::new(s.to_owned(), self.pos(&value.span())))
    }

    pub(crate) fn bool(&mut self, value: &Value<'_>, what: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => self.wrong_type(value, what, "a boolean (true or false)"),
        }
    }

    pub(crate) fn integer(&mut self, value: &Value<'_>, what: &str) -> Option<i64> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(&value.span(), format!("{what} is too large"));
                    None
                }
            },
            _ => self.wrong_type(value, what, "an integer"),
        }
    }

    /// An integer in `range`, with a message naming the range.
    pub(crate) fn integer_in(
        &mut self,
        value: &Value<'_>,
        what: &str,
        range: Range<i64>,
        expected: &str,
    ) -> Option<u32> {
        let n = self.integer(value, what)?;
        match u32::try_from(n) {
            Ok(small) if range.contains(&n) => Some(small),
            _ => {
                self.error(&value.span(), format!("{what} is {n}; {expected}"));
                None
            }
        }
    }

    /// An integer or a float, as f64.
    pub(crate) fn number(&mut self, value: &Value<'_>, what: &str) -> Option<f64> {
        match value.get_ref() {
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(x) => Some(x),
                Err(_) => {
                    self.error(&value.span(), format!("{what} is not a number"));
                    None
                }
            },
            // Exact below 2^53, far beyond any share or count written here.
            DeValue::Integer(_) => self.integer(value, what).map(|n| n as f64),
            _ => self.wrong_type(value, what, "a number"),
        }
    }

    /// An array of non-empty strings, each with its position.
    pub(crate) fn string_list(
        &mut self,
        value: &Value<'_>,
        what: &str,
    ) -> Option<Vec<Located<String>>> {
        let items = self.array(value, what)?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.located_string(item, &format!("each entry of {what}")) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(crate) fn wrong_type<T>(
        &mut self,
        value: &Value<'_>,
        what: &str,
        expected: &str,
    ) -> Option<T> {
        let found = match value.get_ref() {
            DeValue::String(_) => "a string",
            DeValue::Integer(_) => "an integer",
            DeValue::Float(_) => "a float",
            DeValue::Boolean(_) => "a boolean",
            DeValue::Datetime(_) => "a date-time",
            DeValue::Array(_) => "an array",
            DeValue::Table(_) => "a table",
        };
        self.error(
            &value.span(),
            format!("{what} must be {expected}, found {found}"),
        );
        None
    }
}

/// A file's TOML root, or the one diagnostic of its first syntax error (nothing after
/// it can be trusted).
pub(crate) fn parse_root(source: &str) -> Result<Spanned<DeTable<'_>>, Vec<Diagnostic>> {
    DeTable::parse(source).map_err(|e| {
        let mut r = Reader::new(source);
        r.error(
            &e.span().unwrap_or(0..0),
            format!("TOML syntax error: {}", e.message()),
        );
        r.into_diagnostics()
    })
}

/// A TOML table being read, with its span (where "missing key" errors point) and how
/// messages name it (`section "it"`, `[schedule]`).
pub(crate) struct Table<'a, 'i> {
    pub(crate) entries: &'a DeTable<'i>,
    pub(crate) span: Range<usize>,
    pub(crate) name: String,
}

impl<'a, 'i> Table<'a, 'i> {
    /// The file's root table.
    pub(crate) fn top(root: &'a Spanned<DeTable<'i>>) -> Table<'a, 'i> {
        Table {
            entries: root.get_ref(),
            span: 0..0,
            name: TOP_LEVEL.to_owned(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.entries.get(key)
    }

    /// The span of `key` itself (for errors about the key, not its value).
    pub(crate) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.entries.get_key_value(key).map(|(k, _)| k.span())
    }

    /// How a key of this table is named in messages: `"max" of question "tools"`, or
    /// just `"min_group_size"` at the top level.
    pub(crate) fn describe(&self, key: &str) -> String {
        if self.name == TOP_LEVEL {
            format!("\"{key}\"")
        } else {
            format!("\"{key}\" of {}", self.name)
        }
    }
}

/// The name of the file's root table in messages.
pub(crate) const TOP_LEVEL: &str = "the top level";

/// The candidate closest to `word` by edit distance, when close enough to be a typo.
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of neighbours as one edit (optimal string
/// alignment), since swapped letters are the commonest typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Checks a slug (`[a-z0-9-]`, `min..=64` characters); the error names what it is for.
pub(crate) fn check_slug(slug: &str, min: usize) -> Result<(), String> {
    let len = slug.chars().count();
    let valid_chars = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid_chars && (min..=64).contains(&len) {
        Ok(())
    } else {
        Err(format!(
            "\"{slug}\" is not a valid id: use {min} to 64 lowercase letters, digits and hyphens"
        ))
    }
}
