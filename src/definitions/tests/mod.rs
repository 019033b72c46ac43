//! Tests of the definitions module: invalid files (message, line, column), valid
//! files, scheduling, cross-checks and the shipped definitions.

mod action_seen;
mod catalogue;
mod checks;
mod invalid;
mod measures;
mod schedule;
mod shipped;
mod valid;

use super::{parse_definition, Definition, Diagnostic};

/// The diagnostics of a file that must not parse.
pub(super) fn errors(source: &str) -> Vec<Diagnostic> {
    match parse_definition(source) {
        Ok(def) => panic!("expected errors, but the file parsed: {def:#?}"),
        Err(errors) => errors,
    }
}

/// A file that must parse.
pub(super) fn parsed(source: &str) -> Definition {
    match parse_definition(source) {
        Ok(def) => def,
        Err(errors) => {
            let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("expected no errors, got:\n{}", listing.join("\n"))
        }
    }
}

/// Asserts that `source` has exactly one error, at `line`:`column`, whose message
/// contains `message`.
#[track_caller]
pub(super) fn assert_error(source: &str, line: usize, column: usize, message: &str) {
    let errors = errors(source);
    let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one error, got:\n{}",
        listing.join("\n")
    );
    let e = &errors[0];
    assert!(
        e.message.contains(message),
        "message {:?} does not contain {:?}",
        e.message,
        message
    );
    assert_eq!(
        (e.line, e.column),
        (line, column),
        "position of {:?}",
        e.message
    );
}
