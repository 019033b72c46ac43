//! Reading roster and departments CSV files into checked rows. Pure: bytes in, rows or
//! every problem out, so a bad file is rejected before anything is written.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;

/// One problem in an input file, shown as `FILE:ROW: message` (`FILE: message` when it
/// concerns the whole file). Rows count as a spreadsheet does: the header is row 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub row: Option<u64>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(f, "{}:{}: {}", self.file, row, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// An employee as the roster file describes them, checked and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEmployee {
    pub row: u64,
    /// Lower-cased: emails are the employee's key and compare case-insensitively.
    pub email: String,
    pub name: String,
    pub department: String,
    pub manager_email: Option<String>,
    pub location: Option<String>,
    pub hire_date: Option<NaiveDate>,
    /// Every other column with a value, by its header: usable in `audience.where`.
    pub attributes: BTreeMap<String, String>,
}

/// A department as the departments file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRow {
    pub row: u64,
    pub name: String,
    pub parent: Option<String>,
    pub head_email: Option<String>,
}

const ROSTER_REQUIRED: [&str; 3] = ["email", "name", "department"];
const ROSTER_KNOWN: [&str; 6] = [
    "email",
    "name",
    "department",
    "manager_email",
    "location",
    "hire_date",
];
const DEPARTMENTS_REQUIRED: [&str; 1] = ["department"];
const DEPARTMENTS_KNOWN: [&str; 3] = ["department", "parent", "head_email"];

/// A CSV file read into UTF-8 cells, with the header's column positions.
struct Table {
    columns: HashMap<String, usize>,
    headers: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

fn error(file: &str, row: Option<u64>, message: impl Into<String>) -> RowError {
    RowError {
        file: file.to_string(),
        row,
        message: message.into(),
    }
}

/// Reads the header and every row, collecting all structural problems (encoding,
/// ragged rows, missing or repeated columns) instead of stopping at the first.
/// The separator of a file, read off its header line: a comma, or a semicolon or tab
/// when the header has more of those than commas (spreadsheets set to German, French or
/// Spanish save "CSV" with semicolons).
fn separator(bytes: &[u8]) -> u8 {
    let header = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| header.iter().filter(|b| **b == c).count();
    let (commas, semicolons, tabs) = (count(b','), count(b';'), count(b'\t'));
    if semicolons > commas && semicolons >= tabs {
        b';'
    } else if tabs > commas && tabs > semicolons {
        b'\t'
    } else {
        b','
    }
}

fn read_table(
    file: &str,
    bytes: &[u8],
    required: &[&str],
    known: &[&str],
    what: &str,
) -> Result<Table, Vec<RowError>> {
    // Spreadsheets often save UTF-8 with a byte-order mark; it is not part of the header.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(vec![error(
            file,
            None,
            format!(
                "the file is empty; its first row must be a header naming the columns ({})",
                required.join(",")
            ),
        )]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(separator(bytes))
        .from_reader(bytes);
    let mut errors = Vec::new();
    let header_record = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![error(
                file,
                Some(1),
                format!("unreadable header: {e}"),
            )])
        }
    };
    let mut headers = Vec::new();
    let mut columns = HashMap::new();
    for (index, raw) in header_record.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(raw) else {
            errors.push(error(
                file,
                Some(1),
                format!(
                    "column {} of the header is not valid UTF-8; save the file as UTF-8",
                    index + 1
                ),
            ));
            headers.push(String::new());
            continue;
        };
        let name = text.trim().to_string();
        let key = if known.contains(&name.to_lowercase().as_str()) {
            name.to_lowercase()
        } else {
            name.clone()
        };
        if key.is_empty() {
            errors.push(error(
                file,
                Some(1),
                format!("column {} of the header has no name", index + 1),
            ));
        } else if columns.insert(key.clone(), index).is_some() {
            errors.push(error(
                file,
                Some(1),
                format!("the column \"{key}\" appears twice in the header"),
            ));
        }
        headers.push(key);
    }
    for column in required {
        if !columns.contains_key(*column) {
            errors.push(error(
                file,
                Some(1),
                format!(
                    "the header has no \"{column}\" column; a {what} file needs the columns {}",
                    required.join(",")
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map(|p| p.line());
                errors.push(error(file, row, format!("unreadable row: {e}")));
                continue;
            }
        };
        let row = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != headers.len() {
            // A lone empty line in the middle is harmless; anything else is a shifted row.
            if record.len() == 1 && record.get(0).is_some_and(|c| c.is_empty()) {
                continue;
            }
            errors.push(error(
                file,
                Some(row),
                format!(
                    "has {} cells but the header has {} columns",
                    record.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        let mut cells = Vec::with_capacity(record.len());
        let mut row_ok = true;
        for (index, raw) in record.iter().enumerate() {
            match std::str::from_utf8(raw) {
                Ok(text) => cells.push(text.trim().to_string()),
                Err(_) => {
                    errors.push(error(
                        file,
                        Some(row),
                        format!(
                            "the \"{}\" cell is not valid UTF-8; save the file as UTF-8",
                            headers[index]
                        ),
                    ));
                    row_ok = false;
                }
            }
        }
        if row_ok {
            rows.push((row, cells));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(vec![error(
            file,
            None,
            format!("the file has a header but no {what} rows"),
        )]);
    }
    Ok(Table {
        columns,
        headers,
        rows,
    })
}

impl Table {
    fn cell<'a>(&self, cells: &'a [String], column: &str) -> Option<&'a str> {
        self.columns
            .get(column)
            .and_then(|&i| cells.get(i))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A plausible address: one `@` with text on both sides and no spaces. Deliverability
/// is the mail server's to judge; this catches the typos a spreadsheet invites.
/// A person's name on one line: line breaks, tabs and other control characters become
/// single spaces, so a name cannot add lines (or headers) to the emails it goes into.
pub fn one_line_name(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn normalise_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    let mut parts = email.split('@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next());
    let valid = match domain {
        Some(domain) => {
            parts.next().is_none()
                && !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && email.len() <= 254
                && !email
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || ",;<>\"".contains(c))
        }
        None => false,
    };
    if valid {
        Ok(email)
    } else {
        Err(format!("\"{raw}\" is not an email address"))
    }
}

/// The columns of a roster file, as its header names them (the known columns
/// lower-cased), after the same checks an import makes of the file's structure.
pub fn roster_columns(file: &str, bytes: &[u8]) -> Result<Vec<String>, Vec<RowError>> {
    let table = read_table(file, bytes, &ROSTER_REQUIRED, &ROSTER_KNOWN, "roster")?;
    Ok(table.headers)
}

/// Parses a roster file. `departments`, when a departments file was given, is the list
/// of names a row may use.
pub fn parse_roster(
    file: &str,
    bytes: &[u8],
    departments: Option<&HashMap<String, u64>>,
    departments_file: &str,
) -> Result<Vec<RosterEmployee>, Vec<RowError>> {
    let table = read_table(file, bytes, &ROSTER_REQUIRED, &ROSTER_KNOWN, "roster")?;
    let mut errors = Vec::new();
    let mut employees = Vec::with_capacity(table.rows.len());
    let mut first_row_of: HashMap<String, u64> = HashMap::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let row = *row;
        let mut problem = |message: String| errors.push(error(file, Some(row), message));
        let email = match table.cell(cells, "email") {
            None => {
                problem("the email is empty; every employee needs one".into());
                None
            }
            Some(raw) => match normalise_email(raw) {
                Ok(email) => match first_row_of.get(&email) {
                    Some(first) => {
                        problem(format!("the email {email} is already used on row {first}; emails must be unique"));
                        None
                    }
                    None => {
                        first_row_of.insert(email.clone(), row);
                        Some(email)
                    }
                },
                Err(message) => {
                    problem(format!("email: {message}"));
                    None
                }
            },
        };
        let name = table.cell(cells, "name");
        if name.is_none() {
            problem("the name is empty".into());
        }
        let department = table.cell(cells, "department");
        match (department, departments) {
            (None, _) => problem("the department is empty".into()),
            (Some(d), Some(known)) if !known.contains_key(d) => problem(
                match crate::definitions::closest(d, known.keys().map(String::as_str)) {
                    Some(close) => format!(
                        "the department \"{d}\" is not in {departments_file} (did you mean \"{close}\"?); add it there or correct the name"
                    ),
                    None => format!(
                        "the department \"{d}\" is not in {departments_file}; add it there or correct the name"
                    ),
                },
            ),
            _ => {}
        }
        let manager_email = match table.cell(cells, "manager_email").map(normalise_email) {
            Some(Err(message)) => {
                problem(format!("manager_email: {message}"));
                None
            }
            Some(Ok(m)) => Some(m),
            None => None,
        };
        let hire_date = match table.cell(cells, "hire_date") {
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(date) => Some(date),
                Err(_) => {
                    problem(format!(
                        "hire_date \"{raw}\" is not a date; write it as YYYY-MM-DD"
                    ));
                    None
                }
            },
            None => None,
        };
        let mut attributes: BTreeMap<String, String> = table
            .headers
            .iter()
            .zip(cells)
            .filter(|(h, v)| !ROSTER_KNOWN.contains(&h.as_str()) && !v.is_empty())
            .map(|(h, v)| (h.clone(), v.clone()))
            .collect();
        // The language of the employee's emails and form; kept among the attributes, so
        // an audience can also be chosen by it.
        if let Some(raw) = table.cell(cells, super::LANGUAGE) {
            if crate::i18n::is_language_tag(raw) {
                attributes.insert(super::LANGUAGE.into(), raw.replace('_', "-"));
            } else {
                problem(format!(
                    "language \"{raw}\" is not a language code; write two letters such as de or fr (a region may follow: de-CH)"
                ));
            }
        }
        if let (Some(email), Some(name), Some(department)) = (email, name, department) {
            employees.push(RosterEmployee {
                row,
                email,
                name: one_line_name(name),
                department: department.to_string(),
                manager_email,
                location: table.cell(cells, "location").map(str::to_string),
                hire_date,
                attributes,
            });
        }
    }
    if errors.is_empty() {
        Ok(employees)
    } else {
        Err(errors)
    }
}

/// Parses a departments file and checks it is a tree: unique names, known parents,
/// no cycles.
pub fn parse_departments(file: &str, bytes: &[u8]) -> Result<Vec<DepartmentRow>, Vec<RowError>> {
    let table = read_table(
        file,
        bytes,
        &DEPARTMENTS_REQUIRED,
        &DEPARTMENTS_KNOWN,
        "departments",
    )?;
    let mut errors = Vec::new();
    let mut departments: Vec<DepartmentRow> = Vec::with_capacity(table.rows.len());
    let mut row_of: HashMap<String, u64> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let Some(name) = table.cell(cells, "department") else {
            errors.push(error(file, Some(row), "the department name is empty"));
            continue;
        };
        if let Some(first) = row_of.get(name) {
            errors.push(error(
                file,
                Some(row),
                format!("the department \"{name}\" is already defined on row {first}"),
            ));
            continue;
        }
        row_of.insert(name.to_string(), row);
        let head_email = match table.cell(cells, "head_email").map(normalise_email) {
            Some(Err(message)) => {
                errors.push(error(file, Some(row), format!("head_email: {message}")));
                None
            }
            Some(Ok(e)) => Some(e),
            None => None,
        };
        departments.push(DepartmentRow {
            row,
            name: name.to_string(),
            parent: table.cell(cells, "parent").map(str::to_string),
            head_email,
        });
    }
    let parent_of: HashMap<&str, Option<&str>> = departments
        .iter()
        .map(|d| (d.name.as_str(), d.parent.as_deref()))
        .collect();
    for d in &departments {
        if let Some(parent) = &d.parent {
            if !parent_of.contains_key(parent.as_str()) {
                errors.push(error(
                    file,
                    Some(d.row),
                    format!(
                        "the parent \"{parent}\" of \"{}\" is not a department in this file",
                        d.name
                    ),
                ));
            }
        }
        if let Some(cycle) = cycle_through(&d.name, &parent_of) {
            errors.push(error(
                file,
                Some(d.row),
                format!(
                    "the department \"{}\" is its own ancestor ({}); a department tree has no cycles",
                    d.name,
                    cycle.join(" → ")
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(departments)
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

/// The chain `start → parent → … → start` when following parents from `start` comes
/// back to it.
fn cycle_through(start: &str, parent_of: &HashMap<&str, Option<&str>>) -> Option<Vec<String>> {
    let mut chain = vec![start.to_string()];
    let mut current = start;
    // A path longer than the number of departments must have looped elsewhere.
    for _ in 0..=parent_of.len() {
        match parent_of.get(current).copied().flatten() {
            None => return None,
            Some(parent) if parent == start => {
                chain.push(start.to_string());
                return Some(chain);
            }
            Some(parent) => {
                chain.push(parent.to_string());
                current = parent;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(text: &[u8]) -> Result<Vec<RosterEmployee>, Vec<String>> {
        parse_roster("r.csv", text, None, "d.csv")
            .map_err(|errs| errs.iter().map(ToString::to_string).collect())
    }

    fn departments(text: &str) -> Result<Vec<DepartmentRow>, Vec<String>> {
        parse_departments("d.csv", text.as_bytes())
            .map_err(|errs| errs.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_columns_by_name_in_any_order_with_attributes() {
        let rows = roster(
            "\u{feff}Department,EMAIL,name,level,location\nIT, Ada@Example.com ,Ada Lovelace,senior,\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        let ada = &rows[0];
        assert_eq!(ada.email, "ada@example.com");
        assert_eq!(ada.department, "IT");
        assert_eq!(ada.row, 2);
        assert_eq!(ada.location, None);
        assert_eq!(
            ada.attributes.get("level").map(String::as_str),
            Some("senior")
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_row_number() {
        let errs = roster(
            b"email,name,department,hire_date\n\
              a@x.io,A,IT,2020-01-01\n\
              ,B,IT,\n\
              A@X.io,C,IT,\n\
              d@x.io,D,IT,01/02/2020\n\
              e@x.io,,IT,\n\
              not-an-email,F,IT,\n\
              g@x.io,G,,\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "r.csv:3: the email is empty; every employee needs one",
                "r.csv:4: the email a@x.io is already used on row 2; emails must be unique",
                "r.csv:5: hire_date \"01/02/2020\" is not a date; write it as YYYY-MM-DD",
                "r.csv:6: the name is empty",
                "r.csv:7: email: \"not-an-email\" is not an email address",
                "r.csv:8: the department is empty",
            ]
        );
    }

    #[test]
    fn structural_problems_name_what_to_fix() {
        assert_eq!(
            roster(b"").unwrap_err(),
            vec!["r.csv: the file is empty; its first row must be a header naming the columns (email,name,department)"]
        );
        assert_eq!(
            roster(b"email,name,department\n").unwrap_err(),
            vec!["r.csv: the file has a header but no roster rows"]
        );
        assert_eq!(
            roster(b"email,name\na@x.io,A\n").unwrap_err(),
            vec!["r.csv:1: the header has no \"department\" column; a roster file needs the columns email,name,department"]
        );
        assert_eq!(
            roster(b"email,name,department,email\na@x.io,A,IT,b@x.io\n").unwrap_err(),
            vec!["r.csv:1: the column \"email\" appears twice in the header"]
        );
        assert_eq!(
            roster(b"email,name,department\na@x.io,A,IT,extra\n").unwrap_err(),
            vec!["r.csv:2: has 4 cells but the header has 3 columns"]
        );
        assert_eq!(
            roster(b"email,name,department\na@x.io,Jos\xe9,IT\n").unwrap_err(),
            vec!["r.csv:2: the \"name\" cell is not valid UTF-8; save the file as UTF-8"]
        );
    }

    #[test]
    fn unknown_department_is_refused_when_a_departments_file_is_given() {
        let known: HashMap<String, u64> = [("IT".to_string(), 2)].into();
        let errs = parse_roster(
            "r.csv",
            b"email,name,department\na@x.io,A,IT\nb@x.io,B,Slaes\n",
            Some(&known),
            "d.csv",
        )
        .unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "r.csv:3: the department \"Slaes\" is not in d.csv; add it there or correct the name"
        );
        let known: HashMap<String, u64> = [("Sales".to_string(), 2)].into();
        let errs = parse_roster(
            "r.csv",
            b"email,name,department\nb@x.io,B,Slaes\n",
            Some(&known),
            "d.csv",
        )
        .unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "r.csv:2: the department \"Slaes\" is not in d.csv (did you mean \"Sales\"?); add it there or correct the name"
        );
    }

    #[test]
    fn a_language_column_is_checked_and_kept_with_the_attributes() {
        let people =
            roster(b"email,name,department,language\na@x.io,A,IT,de_CH\nb@x.io,B,IT,\n").unwrap();
        assert_eq!(
            people[0].attributes.get("language").map(String::as_str),
            Some("de-CH")
        );
        assert!(!people[1].attributes.contains_key("language"));
        let errors = roster(b"email,name,department,language\na@x.io,A,IT,Deutsch\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("r.csv:2: language \"Deutsch\" is not a language code"),
            "{errors:?}"
        );
    }

    #[test]
    fn semicolons_and_tabs_separate_when_the_header_says_so() {
        for text in [
            "email;name;department\na@x.io;\"Doe, Jane\";IT\n",
            "email\tname\tdepartment\na@x.io\tDoe, Jane\tIT\n",
            "email,name,department\na@x.io,\"Doe, Jane\",IT\n",
        ] {
            let rows = roster(text.as_bytes()).unwrap();
            assert_eq!(rows[0].name, "Doe, Jane", "{text:?}");
            assert_eq!(rows[0].department, "IT", "{text:?}");
        }
    }

    #[test]
    fn departments_form_a_tree() {
        let tree =
            departments("department,parent,head_email\nCompany,,\nIT,Company,it@x.io\n").unwrap();
        assert_eq!(tree[1].parent.as_deref(), Some("Company"));
        assert_eq!(tree[1].head_email.as_deref(), Some("it@x.io"));
        assert_eq!(
            departments("department,parent,head_email\nA,B,\nB,A,\nC,,\nC,,\nD,Nowhere,\n").unwrap_err(),
            vec![
                "d.csv:2: the department \"A\" is its own ancestor (A → B → A); a department tree has no cycles",
                "d.csv:3: the department \"B\" is its own ancestor (B → A → B); a department tree has no cycles",
                "d.csv:5: the department \"C\" is already defined on row 4",
                "d.csv:6: the parent \"Nowhere\" of \"D\" is not a department in this file",
            ]
        );
        assert_eq!(
            departments("department,parent\nSelf,Self\n").unwrap_err(),
            vec!["d.csv:2: the department \"Self\" is its own ancestor (Self → Self); a department tree has no cycles"]
        );
    }
}
