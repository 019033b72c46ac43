//! `icsat responses import`: answers collected elsewhere (earlier years, another tool)
//! loaded as a closed wave, so trends start on day one. Every cell is checked against the
//! definition first; one bad cell and nothing is stored.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{AnswerValue, NewResponse};
use crate::definitions::{Definition, Question, QuestionKind, TENURE};

/// A bad cell as `FILE:ROW:COLUMN: message` (row 1 is the header; columns from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub file: String,
    pub row: u64,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.row, self.column, self.message
        )
    }
}

/// What a column of a responses file holds.
#[derive(Clone, Copy)]
enum Column<'d> {
    Department,
    Question(&'d Question),
    /// A dimension the definition declares (`report_by`), kept with each response.
    Dimension(&'d str),
    /// A column already reported as bad.
    Bad,
}

/// Parses a responses file: a `department` column, then one column per question id,
/// and optionally one per dimension the definition declares (`report_by`; `tenure` as
/// one of its bands). A response keeps the dimensions its row gives, nothing else.
/// `departments` maps every known department name to its id.
pub fn parse(
    file: &str,
    bytes: &[u8],
    definition: &Definition,
    departments: &HashMap<String, i64>,
) -> Result<Vec<NewResponse>, Vec<CellError>> {
    let err = |row: u64, column: usize, message: String| CellError {
        file: file.to_string(),
        row,
        column,
        message,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![err(
            1,
            1,
            "the file is empty; its first row must be a header: department, then question ids"
                .into(),
        )]);
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![err(1, 1, format!("unreadable header: {e}"))]),
    };
    let mut errors = Vec::new();
    let report_by = &definition.report_by;
    let tenure_labels = report_by.tenure_labels();
    let mut columns: Vec<Column> = Vec::with_capacity(header.len());
    let mut seen = HashSet::new();
    for (index, raw) in header.iter().enumerate() {
        let column = index + 1;
        let name = String::from_utf8_lossy(raw).trim().to_string();
        if !seen.insert(name.clone()) {
            errors.push(err(
                1,
                column,
                format!("the column \"{name}\" appears twice"),
            ));
            columns.push(Column::Bad);
            continue;
        }
        if name == "department" {
            columns.push(Column::Department);
            continue;
        }
        if let Some(q) = definition.question(&name) {
            columns.push(Column::Question(q));
            continue;
        }
        if let Some(dimension) = report_by.names().find(|d| *d == name) {
            columns.push(Column::Dimension(dimension));
            continue;
        }
        let known: Vec<&str> = definition
            .questions()
            .map(|(_, q)| q.id.value.as_str())
            .collect();
        let message = if report_by.is_empty() {
            format!(
                "\"{name}\" is not a question of survey {}; its questions are: {}",
                definition.id.value,
                known.join(", ")
            )
        } else {
            let dimensions: Vec<&str> = report_by.names().collect();
            format!(
                "\"{name}\" is not a question of survey {} nor one of its report_by dimensions; its questions are: {}; its dimensions: {}",
                definition.id.value,
                known.join(", "),
                dimensions.join(", ")
            )
        };
        errors.push(err(1, column, message));
        columns.push(Column::Bad);
    }
    if !columns.iter().any(|c| matches!(c, Column::Department)) {
        errors.push(err(1, 1, "the header has no \"department\" column".into()));
        return Err(errors);
    }
    let mut responses = Vec::new();
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(err(row, 1, format!("unreadable row: {e}")));
                continue;
            }
        };
        let row = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != header.len() {
            if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
                continue;
            }
            errors.push(err(
                row,
                1,
                format!(
                    "has {} cells but the header has {} columns",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let mut response = NewResponse {
            department_id: None,
            attributes: "{}".to_string(),
            employee_id: None,
            answers: Vec::new(),
        };
        let mut dimensions = std::collections::BTreeMap::new();
        for (index, raw) in record.iter().enumerate() {
            let column = index + 1;
            let Ok(cell) = std::str::from_utf8(raw) else {
                errors.push(err(
                    row,
                    column,
                    "the cell is not valid UTF-8; save the file as UTF-8".into(),
                ));
                continue;
            };
            match columns[index] {
                Column::Department => {
                    let name = cell.trim();
                    match departments.get(name) {
                        Some(&id) => response.department_id = Some(id),
                        None if name.is_empty() => errors.push(err(row, column, "the department is empty".into())),
                        None => errors.push(err(
                            row,
                            column,
                            format!("the department \"{name}\" is not in the roster; import the departments first or correct the name"),
                        )),
                    }
                }
                Column::Question(question) => match answer(question, cell) {
                    Ok(values) => response.answers.extend(values),
                    Err(message) => errors.push(err(
                        row,
                        column,
                        format!("{}: {message}", question.id.value),
                    )),
                },
                Column::Dimension(name) => {
                    let value = cell.trim();
                    if value.is_empty() {
                        continue;
                    }
                    if name == TENURE && !tenure_labels.iter().any(|l| l == value) {
                        errors.push(err(
                            row,
                            column,
                            format!(
                                "tenure: \"{value}\" is not one of the tenure bands: {}",
                                tenure_labels.join(", ")
                            ),
                        ));
                        continue;
                    }
                    dimensions.insert(name.to_string(), value.to_string());
                }
                Column::Bad => {}
            }
        }
        response.attributes = super::dimensions::to_json(&dimensions);
        responses.push(response);
    }
    if responses.is_empty() && errors.is_empty() {
        errors.push(err(1, 1, "the file has a header but no responses".into()));
    }
    if errors.is_empty() {
        Ok(responses)
    } else {
        Err(errors)
    }
}

/// The stored answers for one cell; an empty cell is no answer.
fn answer(question: &Question, cell: &str) -> Result<Vec<AnswerValue>, String> {
    let id = &question.id.value;
    let one = |value: Option<i32>, text: Option<String>, ordinal: i32| AnswerValue {
        question_id: id.clone(),
        ordinal,
        value,
        text,
    };
    let trimmed = cell.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    match &question.kind {
        QuestionKind::Text { max_length } => {
            let length = cell.chars().count();
            if length > *max_length as usize {
                return Err(format!(
                    "the comment has {length} characters; at most {max_length} are allowed"
                ));
            }
            Ok(vec![one(None, Some(cell.to_string()), 0)])
        }
        QuestionKind::Choice { options, multiple } => {
            let chosen: Vec<&str> = trimmed
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if !multiple && chosen.len() > 1 {
                return Err(format!(
                    "only one option may be chosen, not {}",
                    chosen.len()
                ));
            }
            let mut indexes = Vec::new();
            for option in chosen {
                let Some(index) = options.default.iter().position(|o| o == option) else {
                    return Err(format!(
                        "\"{option}\" is not an option; the options are: {}",
                        options.default.join("; ")
                    ));
                };
                if indexes.contains(&index) {
                    return Err(format!("\"{option}\" is chosen twice"));
                }
                indexes.push(index);
            }
            indexes.sort_unstable();
            Ok(indexes
                .into_iter()
                .enumerate()
                .map(|(ordinal, index)| one(Some(index as i32), None, ordinal as i32))
                .collect())
        }
        _ => {
            let range = question.value_range().unwrap_or(0..=0);
            match trimmed.parse::<u32>() {
                Ok(v) if range.contains(&v) => Ok(vec![one(Some(v as i32), None, 0)]),
                _ => Err(format!(
                    "\"{trimmed}\" is not a valid {} answer; write a whole number from {} to {}",
                    question.type_name(),
                    range.start(),
                    range.end()
                )),
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{}\nresponses not imported: {} problem(s) to fix; nothing was changed", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"), .0.len())]
    Invalid(Vec<CellError>),
    #[error("{0}")]
    Label(String),
    #[error("survey {survey} already has a wave labelled {label:?}; choose another --wave label (existing: {existing})")]
    WaveExists {
        survey: String,
        label: String,
        existing: String,
    },
    #[error(transparent)]
    Survey(#[from] crate::surveys::SurveyError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// Loads `path` into a new closed wave `label` of survey `slug`, run with the survey's
/// current definition version. All or nothing; then closed as any wave is, responses
/// generalised (`super::generalise::at_close`).
pub fn import_file(
    conn: &mut crate::db::Conn,
    slug: &str,
    label: &str,
    path: &std::path::Path,
) -> Result<usize, ImportError> {
    use crate::db::schema::departments;
    use crate::waves::{self, NewWave, Origin};
    use diesel::prelude::*;

    waves::check_label(label).map_err(ImportError::Label)?;
    let (version_id, definition) = crate::surveys::current(conn, slug)?;
    let survey_id = waves::survey_id(conn, slug)?
        .ok_or(crate::db::DbError::Query(diesel::result::Error::NotFound))?;
    let wave_exists = |conn: &mut crate::db::Conn| -> Result<ImportError, ImportError> {
        let existing: Vec<String> = waves::of_survey(conn, survey_id)?
            .into_iter()
            .map(|w| w.label)
            .collect();
        Ok(ImportError::WaveExists {
            survey: slug.to_string(),
            label: label.to_string(),
            existing: existing.join(", "),
        })
    };
    if waves::find(conn, survey_id, label)?.is_some() {
        return Err(wave_exists(conn)?);
    }
    let bytes = std::fs::read(path).map_err(|e| ImportError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let known: HashMap<String, i64> = crate::with_conn!(*conn, c => departments::table
        .select((departments::name, departments::id))
        .load::<(String, i64)>(c))
    .map_err(crate::db::DbError::from)?
    .into_iter()
    .collect();
    let responses = parse(&path.display().to_string(), &bytes, &definition, &known)
        .map_err(ImportError::Invalid)?;
    // A label that is a date is when the wave ran; otherwise the import time stands in.
    let opens_at = chrono::NaiveDate::parse_from_str(label, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_else(crate::db::now);
    let now = crate::db::now();
    let wave_id = conn.transaction(|conn| {
        let wave_id = waves::insert(
            conn,
            &NewWave {
                survey_id,
                version_id,
                label,
                origin: Origin::Import,
                status: "closed",
                opens_at,
                closes_at: Some(now),
                closed_at: Some(now),
            },
        )?;
        let Some(wave_id) = wave_id else {
            return Err(wave_exists(conn)?);
        };
        super::store::insert(conn, wave_id, &responses)?;
        Ok(wave_id)
    })?;
    // An imported wave is closed at once: what follows closing follows now.
    crate::waves::lifecycle::finish_closing(conn, wave_id, label, &definition);
    Ok(responses.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::parse_definition;

    const DEFINITION: &str = r#"
id = "pulse"
title = "Pulse"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["1", "2", "3", "4", "5"]

[[sections]]
id = "s"
title = "S"

  [[sections.questions]]
  id = "q1"
  type = "likert"
  scale = "agree5"
  text = "Q1"

  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "E"

  [[sections.questions]]
  id = "channel"
  type = "choice"
  multiple = true
  options = ["Email", "Chat", "Phone"]
  text = "C"

  [[sections.questions]]
  id = "comment"
  type = "text"
  max_length = 10
  text = "T"
"#;

    fn run(csv: &str) -> Result<Vec<NewResponse>, Vec<String>> {
        let definition = parse_definition(DEFINITION).expect("valid definition");
        let departments: HashMap<String, i64> =
            [("IT".to_string(), 1), ("HR".to_string(), 2)].into();
        parse("r.csv", csv.as_bytes(), &definition, &departments)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_every_answer_type() {
        let responses =
            run("department,q1,enps,channel,comment\nIT,4,9,Chat; Email,fine\nHR,,,,\n").unwrap();
        assert_eq!(responses.len(), 2);
        let values: Vec<(String, i32, Option<i32>)> = responses[0]
            .answers
            .iter()
            .map(|a| (a.question_id.clone(), a.ordinal, a.value))
            .collect();
        assert_eq!(
            values,
            vec![
                ("q1".into(), 0, Some(4)),
                ("enps".into(), 0, Some(9)),
                ("channel".into(), 0, Some(0)),
                ("channel".into(), 1, Some(1)),
                ("comment".into(), 0, None),
            ]
        );
        assert_eq!(responses[1].department_id, Some(2));
        assert!(responses[1].answers.is_empty());
    }

    #[test]
    fn lists_every_bad_cell() {
        let errors = run("department,q1,enps,channel,comment,nope\n\
             IT,6,9,Chat,,x\n\
             Sales,3,11,Fax,much too long a comment,\n\
             HR,x,-1,Chat;Chat,,\n")
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "r.csv:1:6: \"nope\" is not a question of survey pulse; its questions are: q1, enps, channel, comment",
                "r.csv:2:2: q1: \"6\" is not a valid likert answer; write a whole number from 1 to 5",
                "r.csv:3:1: the department \"Sales\" is not in the roster; import the departments first or correct the name",
                "r.csv:3:3: enps: \"11\" is not a valid enps answer; write a whole number from 0 to 10",
                "r.csv:3:4: channel: \"Fax\" is not an option; the options are: Email; Chat; Phone",
                "r.csv:3:5: comment: the comment has 23 characters; at most 10 are allowed",
                "r.csv:4:2: q1: \"x\" is not a valid likert answer; write a whole number from 1 to 5",
                "r.csv:4:3: enps: \"-1\" is not a valid enps answer; write a whole number from 0 to 10",
                "r.csv:4:4: channel: \"Chat\" is chosen twice",
            ]
        );
    }

    #[test]
    fn structure_problems_are_reported() {
        assert_eq!(run("").unwrap_err().len(), 1);
        assert_eq!(
            run("q1\n3\n").unwrap_err(),
            vec!["r.csv:1:1: the header has no \"department\" column"]
        );
        assert_eq!(
            run("department,q1\n").unwrap_err(),
            vec!["r.csv:1:1: the file has a header but no responses"]
        );
    }
}
