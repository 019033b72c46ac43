//! What a response keeps of its respondent's roster entry: the dimensions its wave's
//! definition declares (`report_by`), with tenure as a band, and nothing else.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::{employees, survey_versions};
use crate::db::{Conn, DbError};
use crate::definitions::{column_slug, parse_definition, ReportBy};

/// An employee's roster entry as far as dimensions can draw on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterFacts {
    /// Location and the attribute columns, by column slug.
    pub columns: BTreeMap<String, String>,
    pub hire_date: Option<NaiveDate>,
}

impl RosterFacts {
    /// From the employee row: `attributes` is the JSON object the roster import stores.
    pub fn from_row(
        attributes: &str,
        location: Option<String>,
        hire_date: Option<NaiveDate>,
    ) -> RosterFacts {
        // Written by the roster import as an object of strings; anything else keeps nothing.
        let raw: BTreeMap<String, String> = serde_json::from_str(attributes).unwrap_or_default();
        let mut columns = BTreeMap::new();
        for (header, value) in raw {
            // Two headers with one slug: the first (in header order) stands.
            columns.entry(column_slug(&header)).or_insert(value);
        }
        if let Some(location) = location {
            columns.insert("location".to_owned(), location);
        }
        RosterFacts { columns, hire_date }
    }
}

/// The `attributes` a response stores: the declared dimensions of `facts` on day `on`,
/// as a JSON object with sorted keys (so equal dimensions are equal text).
pub fn stored_attributes(report_by: &ReportBy, facts: &RosterFacts, on: NaiveDate) -> String {
    to_json(&report_by.values(&facts.columns, facts.hire_date, on))
}

/// A dimensions map as stored: canonical JSON, `{}` when empty.
pub fn to_json(values: &BTreeMap<String, String>) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "{}".to_owned())
}

/// The stored attributes of an employee answering a wave of definition version
/// `version_id` on day `on`.
pub fn of_employee(
    conn: &mut Conn,
    employee_id: i64,
    version_id: i64,
    on: NaiveDate,
) -> Result<String, DbError> {
    let (attributes, location, hire_date): (String, Option<String>, Option<NaiveDate>) = crate::with_conn!(*conn, c => employees::table
        .find(employee_id)
        .select((employees::attributes, employees::location, employees::hire_date))
        .get_result(c))?;
    let hash: String = crate::with_conn!(*conn, c => survey_versions::table
        .find(version_id)
        .select(survey_versions::source_hash)
        .get_result(c))?;
    let report_by = report_by_of(conn, version_id, &hash)?;
    let facts = RosterFacts::from_row(&attributes, location, hire_date);
    Ok(stored_attributes(&report_by, &facts, on))
}

/// Parsed `report_by` of each definition source seen, by the source's SHA-256: a stored
/// version never changes, and a hash names the same source in any database, so one
/// process serving (or testing) several databases never mixes them up.
fn parsed() -> &'static Mutex<HashMap<String, Arc<ReportBy>>> {
    static PARSED: OnceLock<Mutex<HashMap<String, Arc<ReportBy>>>> = OnceLock::new();
    PARSED.get_or_init(Mutex::default)
}

/// `report_by` of definition version `version_id`, whose source hash is `hash`; parsed
/// once per process. A stored source that no longer parses (an older release's rules)
/// keeps nothing: the safe reading of a definition that can't be read.
pub fn report_by_of(
    conn: &mut Conn,
    version_id: i64,
    hash: &str,
) -> Result<Arc<ReportBy>, DbError> {
    if let Some(found) = parsed().lock().ok().and_then(|m| m.get(hash).cloned()) {
        return Ok(found);
    }
    let source: String = crate::with_conn!(*conn, c => survey_versions::table
        .find(version_id)
        .select(survey_versions::source)
        .get_result(c))?;
    let report_by = match parse_definition(&source) {
        Ok(definition) => definition.report_by,
        Err(_) => {
            tracing::warn!(
                version_id,
                "a stored definition no longer parses; its responses keep no dimensions"
            );
            ReportBy::default()
        }
    };
    let report_by = Arc::new(report_by);
    if let Ok(mut map) = parsed().lock() {
        map.insert(hash.to_owned(), report_by.clone());
    }
    Ok(report_by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::parse_definition;

    #[test]
    fn only_declared_dimensions_are_stored() {
        let definition = parse_definition(
            r#"id = "pulse"
title = "Pulse"
report_by = ["location", "contract-type", "tenure"]
tenure_bands = ["1y", "3y"]
[audience]
departments = ["*"]
[[sections]]
id = "s"
title = "S"
  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "E"
"#,
        )
        .expect("valid");
        let facts = RosterFacts::from_row(
            r#"{"Contract Type":"permanent","grade":"E7","employee_number":"4711"}"#,
            Some("Berlin".into()),
            NaiveDate::from_ymd_opt(2025, 6, 1),
        );
        let on = NaiveDate::from_ymd_opt(2027, 1, 1).expect("date");
        assert_eq!(
            stored_attributes(&definition.report_by, &facts, on),
            r#"{"contract-type":"permanent","location":"Berlin","tenure":"1y-3y"}"#
        );
        assert_eq!(
            stored_attributes(&ReportBy::default(), &facts, on),
            "{}",
            "nothing declared, nothing kept"
        );
    }
}
