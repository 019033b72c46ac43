//! `report_by` and `tenure_bands`: the roster facts a response keeps, as report
//! dimensions. Whatever the roster holds beyond them (grades, employee numbers, exact
//! dates) never reaches the response tables, so it cannot be joined back to a person.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Months, NaiveDate};
use serde::Serialize;

use super::diagnostic::Located;
use super::reader::{Reader, Table, Value};

/// The dimension derived from `hire_date`, kept only as a band of `tenure_bands`.
pub const TENURE: &str = "tenure";

/// Roster columns `report_by` refuses, each with the reason given to the author.
const REFUSED: &[(&str, &str)] = &[
    ("email", "an email address identifies the respondent"),
    ("name", "a name identifies the respondent"),
    (
        "manager_email",
        "the manager identifies a team, often of one or two people, and so the respondent",
    ),
    (
        "department",
        "every response keeps its department already; list only other columns",
    ),
    (
        "hire_date",
        "an exact date can single out one person; report it in bands instead: add \"tenure\" to report_by with tenure_bands = [\"1y\", \"3y\", \"5y\"]",
    ),
];

/// Longest dimension name, as for ids.
const MAX_NAME_LEN: usize = 64;
/// Largest band bound in years (and its equivalent in months): a working life.
const MAX_BAND_YEARS: u32 = 60;

/// What a response keeps of its respondent's roster entry (besides the department).
/// Empty by default: a response keeps only its department.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReportBy {
    /// Roster column names as slugs ([`column_slug`]), and possibly [`TENURE`], in file
    /// order; each at most once.
    pub dimensions: Vec<Located<String>>,
    /// Upper bounds of the tenure bands, strictly ascending; non-empty exactly when
    /// `tenure` is a dimension.
    pub tenure_bands: Vec<TenureBound>,
}

/// One bound of `tenure_bands`, as written (`"1y"`, `"18m"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenureBound {
    pub months: u32,
    pub text: String,
}

impl fmt::Display for TenureBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for TenureBound {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl ReportBy {
    pub fn is_empty(&self) -> bool {
        self.dimensions.is_empty()
    }

    /// The dimension names, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.dimensions.iter().map(|d| d.value.as_str())
    }

    pub fn declares(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// Every value `tenure` can take, shortest first: `["<1y", "1y-3y", "3y-5y", "5y+"]`
    /// for bands `["1y", "3y", "5y"]`; empty without bands.
    pub fn tenure_labels(&self) -> Vec<String> {
        let Some(first) = self.tenure_bands.first() else {
            return Vec::new();
        };
        let mut labels = vec![format!("<{first}")];
        labels.extend(
            self.tenure_bands
                .windows(2)
                .map(|pair| format!("{}-{}", pair[0], pair[1])),
        );
        if let Some(last) = self.tenure_bands.last() {
            labels.push(format!("{last}+"));
        }
        labels
    }

    /// The band of someone hired on `hired`, on day `on`: the first band whose bound
    /// they have not reached yet (a future hire date counts as the shortest band);
    /// `None` without bands.
    pub fn tenure_band(&self, hired: NaiveDate, on: NaiveDate) -> Option<String> {
        let labels = self.tenure_labels();
        let reached = self
            .tenure_bands
            .iter()
            .take_while(|bound| {
                hired
                    .checked_add_months(Months::new(bound.months))
                    .is_some_and(|anniversary| anniversary <= on)
            })
            .count();
        labels.get(reached).cloned()
    }

    /// The dimension values of one respondent on day `on`: `columns` are their roster
    /// columns by [`column_slug`] (location and the attribute columns), `hired` their
    /// hire date. A dimension without a value is left out.
    pub fn values(
        &self,
        columns: &BTreeMap<String, String>,
        hired: Option<NaiveDate>,
        on: NaiveDate,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in self.names() {
            let value = if name == TENURE {
                hired.and_then(|h| self.tenure_band(h, on))
            } else {
                columns.get(name).filter(|v| !v.is_empty()).cloned()
            };
            if let Some(value) = value {
                out.insert(name.to_owned(), value);
            }
        }
        out
    }
}

/// How `report_by` names a roster column: the header lower-cased, with every run of
/// characters other than ASCII letters, digits and `_` as one `-` (`"Contract Type"`
/// is `contract-type`).
pub fn column_slug(header: &str) -> String {
    let mut slug = String::with_capacity(header.len());
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Why `report_by` refuses a column, or `None` for a column it may name.
pub fn refusal(name: &str) -> Option<&'static str> {
    REFUSED
        .iter()
        .find(|(refused, _)| *refused == name)
        .map(|(_, why)| *why)
}

/// `report_by` (default: empty) and `tenure_bands` (only with `tenure`).
pub(super) fn read_report_by(r: &mut Reader<'_>, top: &Table<'_, '_>) -> Option<ReportBy> {
    let dimensions = match top.get("report_by") {
        None => Some(Vec::new()),
        Some(v) => read_dimensions(r, v),
    };
    let bands = match top.get("tenure_bands") {
        None => Some(None),
        Some(v) => read_bands(r, v).map(Some),
    };
    let (dimensions, bands) = (dimensions?, bands?);
    let tenure = dimensions.iter().find(|d| d.value == TENURE);
    match (tenure, bands) {
        (Some(tenure), None) => {
            r.error_at(
                tenure.pos,
                "\"tenure\" in report_by needs tenure_bands: tenure is kept only as a band, e.g. tenure_bands = [\"1y\", \"3y\", \"5y\"]",
            );
            None
        }
        (None, Some(_)) => {
            let span = top.key_span("tenure_bands").unwrap_or(0..0);
            r.error(
                &span,
                "\"tenure_bands\" is set but report_by has no \"tenure\"; add \"tenure\" to report_by, or remove tenure_bands",
            );
            None
        }
        (_, bands) => Some(ReportBy {
            dimensions,
            tenure_bands: bands.unwrap_or_default(),
        }),
    }
}

fn read_dimensions(r: &mut Reader<'_>, value: &Value<'_>) -> Option<Vec<Located<String>>> {
    let list = r.string_list(value, "\"report_by\"")?;
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        let name = item.value.as_str();
        if let Some(why) = refusal(name) {
            r.error_at(item.pos, format!("report_by can't keep \"{name}\": {why}"));
            ok = false;
        } else if !is_dimension_name(name) {
            r.error_at(
                item.pos,
                format!(
                    "\"{name}\" in report_by is not a column name as report_by writes it: use 1 to {MAX_NAME_LEN} lowercase letters, digits, '_' and '-' (the roster header lower-cased, spaces as '-')"
                ),
            );
            ok = false;
        } else if list[..i].iter().any(|earlier| earlier.value == name) {
            r.error_at(item.pos, format!("\"{name}\" is listed twice in report_by"));
            ok = false;
        }
    }
    ok.then_some(list)
}

/// A name [`column_slug`] can produce.
fn is_dimension_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len()) && column_slug(name) == name
}

fn read_bands(r: &mut Reader<'_>, value: &Value<'_>) -> Option<Vec<TenureBound>> {
    let what = "\"tenure_bands\"";
    let items = r.array(value, what)?;
    if items.is_empty() {
        r.error(
            &value.span(),
            "\"tenure_bands\" is empty; list at least one bound, e.g. [\"1y\", \"3y\", \"5y\"]",
        );
        return None;
    }
    let mut bounds: Vec<TenureBound> = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let Some(text) = r.string(item, "each entry of \"tenure_bands\"") else {
            ok = false;
            continue;
        };
        let bound = match parse_bound(text) {
            Ok(bound) => bound,
            Err(message) => {
                r.error(&item.span(), message);
                ok = false;
                continue;
            }
        };
        if let Some(previous) = bounds.last().filter(|p| p.months >= bound.months) {
            r.error(
                &item.span(),
                format!(
                    "tenure band \"{bound}\" does not come after \"{previous}\"; list the bounds from shortest to longest, e.g. [\"1y\", \"3y\", \"5y\"]"
                ),
            );
            ok = false;
            continue;
        }
        bounds.push(bound);
    }
    ok.then_some(bounds)
}

/// `"3y"` or `"18m"`: whole years or months, up to a working life.
fn parse_bound(text: &str) -> Result<TenureBound, String> {
    let help = "write a whole number followed by y (years) or m (months), e.g. \"1y\" or \"6m\"";
    let (digits, per_unit) = if let Some(years) = text.strip_suffix('y') {
        (years, 12)
    } else if let Some(months) = text.strip_suffix('m') {
        (months, 1)
    } else {
        return Err(format!("tenure band \"{text}\" is not a duration; {help}"));
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("tenure band \"{text}\" is not a duration; {help}"));
    }
    let months = digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .filter(|m| (1..=MAX_BAND_YEARS * 12).contains(m))
        .ok_or_else(|| {
            format!(
                "tenure band \"{text}\" is out of range; bands run from 1m to {MAX_BAND_YEARS}y"
            )
        })?;
    Ok(TenureBound {
        months,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::Pos;

    fn bands(texts: &[&str]) -> ReportBy {
        ReportBy {
            dimensions: vec![Located::new(TENURE.to_owned(), Pos::START)],
            tenure_bands: texts.iter().map(|t| parse_bound(t).unwrap()).collect(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn bands_are_labelled_from_their_bounds() {
        assert_eq!(
            bands(&["1y", "3y", "5y"]).tenure_labels(),
            ["<1y", "1y-3y", "3y-5y", "5y+"]
        );
        assert_eq!(bands(&["6m"]).tenure_labels(), ["<6m", "6m+"]);
    }

    #[test]
    fn a_bound_is_reached_on_its_anniversary() {
        let report_by = bands(&["1y", "3y", "5y"]);
        let on = day(2027, 3, 1);
        let band = |hired| report_by.tenure_band(hired, on).unwrap();
        assert_eq!(band(day(2026, 3, 2)), "<1y");
        assert_eq!(band(day(2026, 3, 1)), "1y-3y");
        assert_eq!(band(day(2024, 3, 1)), "3y-5y");
        assert_eq!(band(day(2022, 3, 1)), "5y+");
        assert_eq!(band(day(2030, 1, 1)), "<1y", "a future hire date");
    }

    #[test]
    fn values_keep_declared_dimensions_only() {
        let mut report_by = bands(&["1y"]);
        report_by
            .dimensions
            .push(Located::new("location".to_owned(), Pos::START));
        let columns: BTreeMap<String, String> = [
            ("location".to_owned(), "Berlin".to_owned()),
            ("grade".to_owned(), "E7".to_owned()),
        ]
        .into();
        let on = day(2027, 1, 1);
        let values = report_by.values(&columns, Some(day(2020, 1, 1)), on);
        assert_eq!(
            values,
            BTreeMap::from([
                ("location".to_owned(), "Berlin".to_owned()),
                ("tenure".to_owned(), "1y+".to_owned()),
            ])
        );
        let without_date = report_by.values(&columns, None, on);
        assert_eq!(without_date.len(), 1, "no hire date, no tenure");
    }

    #[test]
    fn headers_become_slugs() {
        assert_eq!(column_slug("Contract Type"), "contract-type");
        assert_eq!(column_slug(" employee_number "), "employee_number");
        assert_eq!(column_slug("Cost centre / site"), "cost-centre-site");
        assert_eq!(column_slug("LOCATION"), "location");
    }
}
