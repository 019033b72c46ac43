//! Reading a whole definition file: syntax, the top-level keys and the audience.
//! Sections, questions and scales are in `parse_sections`, the schedule in
//! `parse_schedule`.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, Located, Pos};
use super::model::{Anonymity, Audience, Definition};
use super::reader::{check_slug, parse_root, Reader, Table};
use super::translations::Languages;

const TOP_KEYS: &[&str] = &[
    "id",
    "title",
    "intro",
    "anonymity",
    "min_group_size",
    "min_comment_group_size",
    "report_by",
    "tenure_bands",
    "release_every",
    "share_comments",
    "language",
    "languages",
    "schedule",
    "timezone",
    "audience",
    "scales",
    "sections",
];

const AUDIENCE_KEYS: &[&str] = &["departments", "exclude_departments", "where"];

/// Language when `language` is omitted.
pub const DEFAULT_LANGUAGE: &str = "en";
pub const DEFAULT_MIN_GROUP_SIZE: u32 = 5;
pub const DEFAULT_MIN_COMMENT_GROUP_SIZE: u32 = 10;
/// Below this a group's figures could point at individuals.
pub const SMALLEST_MIN_GROUP_SIZE: u32 = 3;
/// Shortest survey id: ids name surveys in URLs and commands, so one or two characters
/// are too cryptic (the spec's example comment: `[a-z0-9-]{3,64}`).
pub const SURVEY_ID_MIN_LEN: usize = 3;

/// Parses and checks one survey definition file.
///
/// Returns every broken rule at once, in file order, each at the line and column of
/// the offending key or value. A TOML syntax error stops reading there and gives one
/// diagnostic, since nothing after it can be trusted.
pub fn parse_definition(source: &str) -> Result<Definition, Vec<Diagnostic>> {
    let mut r = Reader::new(source);
    let root = parse_root(source)?;
    let top = Table::top(&root);
    r.check_keys(&top, TOP_KEYS, |_| None);

    let langs = read_languages(&mut r, &top);
    let id = r.required(&top, "id").and_then(|v| {
        let id = r.located_string(v, "\"id\"")?;
        match check_slug(&id, SURVEY_ID_MIN_LEN) {
            Ok(()) => Some(id),
            Err(e) => {
                r.error(
                    &v.span(),
                    format!("survey id {e}, e.g. \"internal-services\""),
                );
                None
            }
        }
    });
    let title = r
        .required(&top, "title")
        .and_then(|v| r.text(v, "\"title\"", &langs));
    let intro = top
        .get("intro")
        .and_then(|v| r.text(v, "\"intro\"", &langs));
    let anonymity = read_anonymity(&mut r, &top);
    let (min_group_size, min_comment_group_size) = read_thresholds(&mut r, &top);
    let report_by = super::report_by::read_report_by(&mut r, &top);
    let release_every = read_release_every(&mut r, &top);
    let share_comments = match top.get("share_comments") {
        None => Some(false),
        Some(v) => r.bool(v, "\"share_comments\""),
    };
    let schedule = top
        .get("schedule")
        .map(|v| super::parse_schedule::read_schedule(&mut r, v));
    // A survey run without a schedule (continuous feedback) may still name its zone.
    let timezone = match (top.get("timezone"), top.get("schedule")) {
        (None, _) => Some(None),
        (Some(v), Some(_)) => {
            r.error(
                &v.span(),
                "\"timezone\" belongs in [schedule] when the survey has one; move it there",
            );
            None
        }
        (Some(v), None) => {
            super::parse_schedule::read_timezone(&mut r, v, "\"timezone\"").map(Some)
        }
    };
    let audience = r
        .required(&top, "audience")
        .and_then(|v| read_audience(&mut r, v));
    let scales = super::parse_scales::read_scales(&mut r, &top, &langs);
    let sections = r
        .required(&top, "sections")
        .and_then(|v| super::parse_sections::read_sections(&mut r, v, &scales, &langs));

    if r.has_errors() {
        return Err(r.into_diagnostics());
    }
    let assembled = (|| {
        Some(Definition {
            id: id?,
            title: title?,
            intro,
            anonymity: anonymity?,
            min_group_size: min_group_size?,
            min_comment_group_size: min_comment_group_size?,
            report_by: report_by?,
            release_every: release_every?,
            share_comments: share_comments?,
            language: langs.default,
            languages: langs.all,
            schedule: match schedule {
                Some(s) => Some(s?),
                None => None,
            },
            timezone: timezone?,
            audience: audience?,
            scales: scales.valid(),
            sections: sections?,
        })
    })();
    // Every `None` above comes with a diagnostic; this is only a safety net.
    assembled.ok_or_else(|| {
        vec![Diagnostic::new(
            Pos::START,
            "the definition could not be read (internal error: a value was missing without a diagnostic)",
        )]
    })
}

/// `language` (default "en") and `languages` (default: just `language`), with the
/// default language first.
pub(crate) fn read_languages(r: &mut Reader<'_>, top: &Table<'_, '_>) -> Languages {
    let default = top
        .get("language")
        .and_then(|v| {
            let lang = r.nonblank_string(v, "\"language\"")?;
            if !is_language_code(lang) {
                r.error(
                    &v.span(),
                    format!("\"{lang}\" is not a language code; use a code such as \"en\", \"de\" or \"pt-BR\""),
                );
            }
            Some(lang.to_owned())
        })
        .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
    let mut all = vec![default.clone()];
    let listed = top.get("languages");
    if let Some(v) = listed {
        if let Some(list) = r.string_list(v, "\"languages\"") {
            let mut has_default = false;
            let mut seen: Vec<&str> = Vec::new();
            for lang in &list {
                let span_pos = lang.pos;
                if !is_language_code(lang) {
                    r.error_at(
                        span_pos,
                        format!("\"{}\" is not a language code; use a code such as \"en\", \"de\" or \"pt-BR\"", lang.value),
                    );
                } else if seen.contains(&lang.as_str()) {
                    r.error_at(
                        span_pos,
                        format!(
                            "language \"{}\" is listed twice in \"languages\"",
                            lang.value
                        ),
                    );
                }
                seen.push(lang);
                if lang.value == default {
                    has_default = true;
                } else if !all.contains(&lang.value) {
                    all.push(lang.value.clone());
                }
            }
            if !has_default {
                r.error(
                    &v.span(),
                    format!("\"languages\" must include the default language \"{default}\" (set by \"language\")"),
                );
            }
        }
    }
    Languages {
        default,
        all,
        listed: listed.is_some(),
    }
}

/// A BCP 47-like tag: a 2-3 letter lowercase language, then optional subtags.
fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('-');
    let language_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_lowercase()));
    language_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn read_anonymity(r: &mut Reader<'_>, top: &Table<'_, '_>) -> Option<Located<Anonymity>> {
    let Some(v) = top.get("anonymity") else {
        return Some(Located::new(Anonymity::default(), Pos::START));
    };
    let text = r.string(v, "\"anonymity\"")?;
    let anonymity = match text {
        "anonymous" => Anonymity::Anonymous,
        "confidential" => Anonymity::Confidential,
        other => {
            r.error(
                &v.span(),
                format!(
                    "anonymity \"{other}\" is not known; use \"anonymous\" or \"confidential\""
                ),
            );
            return None;
        }
    };
    Some(Located::new(anonymity, r.pos(&v.span())))
}

/// `release_every`: `"close"` (the default: figures are released once, when a wave
/// closes) or how often, at most, an open wave's figures are released (`"1d"`).
fn read_release_every(
    r: &mut Reader<'_>,
    top: &Table<'_, '_>,
) -> Option<Option<super::period::Period>> {
    let Some(value) = top.get("release_every") else {
        return Some(None);
    };
    let text = r.string(value, "\"release_every\"")?;
    if text == "close" {
        return Some(None);
    }
    match super::period::Period::parse(text) {
        Ok(period) => Some(Some(period)),
        Err(e) => {
            r.error(
                &value.span(),
                format!("\"release_every\" is \"close\" or how often figures are released while a wave is open, e.g. \"1d\" or \"1w\": {e}"),
            );
            None
        }
    }
}

/// `min_group_size` (default 5, at least 3) and `min_comment_group_size` (default the
/// larger of 10 and `min_group_size`, never below `min_group_size`).
fn read_thresholds(r: &mut Reader<'_>, top: &Table<'_, '_>) -> (Option<u32>, Option<u32>) {
    let group = match top.get("min_group_size") {
        None => Some(DEFAULT_MIN_GROUP_SIZE),
        Some(v) => r.integer_in(
            v,
            "\"min_group_size\"",
            i64::from(SMALLEST_MIN_GROUP_SIZE)..1_000_001,
            "it must be at least 3, so that no figure describes fewer than 3 people",
        ),
    };
    let comment = match top.get("min_comment_group_size") {
        None => Some(DEFAULT_MIN_COMMENT_GROUP_SIZE.max(group.unwrap_or(0))),
        Some(v) => {
            let floor = group.unwrap_or(SMALLEST_MIN_GROUP_SIZE);
            r.integer_in(
                v,
                "\"min_comment_group_size\"",
                i64::from(floor)..1_000_001,
                &format!("it must be at least min_group_size ({floor})"),
            )
        }
    };
    (group, comment)
}

fn read_audience(r: &mut Reader<'_>, value: &super::reader::Value<'_>) -> Option<Audience> {
    let table = r.table(value, "\"audience\"", "[audience]".to_owned())?;
    r.check_keys(&table, AUDIENCE_KEYS, |_| None);
    let departments = r.required(&table, "departments").and_then(|v| {
        let list = r.string_list(v, "\"departments\" of [audience]")?;
        if list.is_empty() {
            r.error(
                &v.span(),
                "\"departments\" of [audience] is empty; list department names, or \"*\" for everyone",
            );
            return None;
        }
        let everyone = list.iter().any(|d| d.value == "*");
        if everyone && list.len() > 1 {
            r.error(
                &v.span(),
                "\"*\" already means every department; list either \"*\" or department names",
            );
            return None;
        }
        check_unique(r, &list, "\"departments\" of [audience]").then_some(list)
    });
    let excluded = match table.get("exclude_departments") {
        None => Some(Vec::new()),
        Some(v) => r
            .string_list(v, "\"exclude_departments\" of [audience]")
            .and_then(|list| {
                let mut ok = check_unique(r, &list, "\"exclude_departments\" of [audience]");
                for d in list.iter().filter(|d| d.value == "*") {
                    r.error_at(d.pos, "\"*\" would exclude everyone; list department names");
                    ok = false;
                }
                ok.then_some(list)
            }),
    };
    let where_ = match table.get("where") {
        None => Some(BTreeMap::new()),
        Some(v) => read_where(r, v),
    };
    Some(Audience {
        departments: departments?,
        exclude_departments: excluded?,
        where_: where_?,
    })
}

/// `where = { location = ["Berlin", "Lyon"] }`: roster column -> accepted values.
fn read_where(
    r: &mut Reader<'_>,
    value: &super::reader::Value<'_>,
) -> Option<BTreeMap<String, Vec<String>>> {
    let table = r.table(
        value,
        "\"where\" of [audience]",
        "audience.where".to_owned(),
    )?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (column, v) in table.entries.iter() {
        let column = column.get_ref().as_ref();
        let what = format!("\"{column}\" of audience.where");
        match r.string_list(v, &what) {
            Some(list) if list.is_empty() => {
                r.error(
                    &v.span(),
                    format!("{what} is empty; list the accepted values"),
                );
                ok = false;
            }
            Some(list) => {
                out.insert(
                    column.to_owned(),
                    list.into_iter().map(|l| l.value).collect(),
                );
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Reports names listed twice; true when there are none.
fn check_unique(r: &mut Reader<'_>, list: &[Located<String>], what: &str) -> bool {
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        if list[..i].iter().any(|earlier| earlier.value == item.value) {
            r.error_at(
                item.pos,
                format!("\"{}\" is listed twice in {what}", item.value),
            );
            ok = false;
        }
    }
    ok
}
