//! Errors found in a survey definition, each at a 1-based line and column.

use serde::Serialize;

/// One broken rule, at the line and column (1-based, counted in characters) of the
/// offending key or value. Displays as `LINE:COLUMN: message`; use [`Diagnostic::render`]
/// for the `FILE:LINE:COLUMN: message` form that `icsat survey validate` prints.
///
/// Ordered by position so a file's errors read top to bottom.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    /// `FILE:LINE:COLUMN: message`, the form editors and CI annotate.
    pub fn render(&self, file: &str) -> String {
        format!("{file}:{self}")
    }
}

/// Renders every diagnostic of one file, one per line, in position order.
pub fn render_all(file: &str, diagnostics: &[Diagnostic]) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort();
    sorted.iter().map(|d| d.render(file) + "\n").collect()
}

/// A 1-based position in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of the file: used where there is no key to point at.
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// A value together with where it was written, so later cross-checks (roster, earlier
/// versions) can point at it. Serializes as the bare value: positions are for messages,
/// not for exports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Located<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Located { value, pos }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> Serialize for Located<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// Maps byte offsets (what the TOML parser reports) to lines and character columns.
pub(crate) struct LineIndex<'s> {
    source: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            source,
            line_starts,
        }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.source.len());
        // line_starts[0] == 0, so the partition point is at least 1.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        // Columns count characters, not bytes, so a name with umlauts before the
        // error doesn't push the column off.
        let column = match self.source.get(start..offset) {
            Some(prefix) => prefix.chars().count(),
            None => offset - start,
        };
        Pos {
            line,
            column: column + 1,
        }
    }
}
