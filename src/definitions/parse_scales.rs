//! Reading answer scales: `[scales.NAME]` tables and the scale of a likert question
//! (a named `scale`, or inline `scale_labels` with `favorable`).

use std::collections::{BTreeMap, BTreeSet};

use super::model::{QuestionKind, Scale};
use super::reader::{Reader, Table, Value};
use super::text::TextList;
use super::translations::Languages;

const SCALE_KEYS: &[&str] = &["labels", "favorable"];

pub const MIN_SCALE_LABELS: usize = 2;
pub const MAX_SCALE_LABELS: usize = 11;

/// The scales of a file; a broken one is kept as `None` so that questions using it
/// don't also report it as undefined.
pub(super) struct Scales(BTreeMap<String, Option<Scale>>);

impl Scales {
    pub(super) fn valid(self) -> BTreeMap<String, Scale> {
        self.0
            .into_iter()
            .filter_map(|(name, scale)| scale.map(|s| (name, s)))
            .collect()
    }
}

pub(super) fn read_scales(r: &mut Reader<'_>, top: &Table<'_, '_>, langs: &Languages) -> Scales {
    let mut scales = BTreeMap::new();
    let Some(value) = top.get("scales") else {
        return Scales(scales);
    };
    let Some(table) = r.table(value, "\"scales\"", "[scales]".to_owned()) else {
        return Scales(scales);
    };
    for (name, value) in table.entries.iter() {
        let name = name.get_ref().to_string();
        let scale = read_scale(r, &name, value, langs);
        scales.insert(name, scale);
    }
    Scales(scales)
}

fn read_scale(
    r: &mut Reader<'_>,
    name: &str,
    value: &Value<'_>,
    langs: &Languages,
) -> Option<Scale> {
    let table = r.table(
        value,
        &format!("scale \"{name}\""),
        format!("scale \"{name}\""),
    )?;
    r.check_keys(&table, SCALE_KEYS, |_| None);
    let labels = r.required(&table, "labels")?;
    let (labels, favorable) =
        read_labels_and_favorable(r, labels, table.get("favorable"), &table.name, langs)?;
    Some(Scale { labels, favorable })
}

/// Labels (2 to 11, distinct) and the favourable values (in 1..k; default the top two,
/// or the top one on scales of 2 or 3 labels, where the top two would be most or all of
/// the scale).
fn read_labels_and_favorable(
    r: &mut Reader<'_>,
    labels_value: &Value<'_>,
    favorable_value: Option<&Value<'_>>,
    owner: &str,
    langs: &Languages,
) -> Option<(TextList, Vec<u32>)> {
    let labels = r.text_list(labels_value, &format!("the labels of {owner}"), langs, true)?;
    let k = labels.len();
    if !(MIN_SCALE_LABELS..=MAX_SCALE_LABELS).contains(&k) {
        r.error(
            &labels_value.span(),
            format!("{owner} has {k} labels; a scale has {MIN_SCALE_LABELS} to {MAX_SCALE_LABELS}"),
        );
        return None;
    }
    let k = u32::try_from(k).ok()?;
    let favorable = match favorable_value {
        None if k <= 3 => vec![k],
        None => vec![k - 1, k],
        Some(v) => read_favorable(r, v, owner, k)?,
    };
    Some((labels, favorable))
}

fn read_favorable(r: &mut Reader<'_>, value: &Value<'_>, owner: &str, k: u32) -> Option<Vec<u32>> {
    let what = format!("\"favorable\" of {owner}");
    let items = r.array(value, &what)?;
    if items.is_empty() {
        r.error(
            &value.span(),
            format!("{what} is empty; list the values counted as favourable"),
        );
        return None;
    }
    let mut out = BTreeSet::new();
    let mut ok = true;
    for item in items {
        let Some(n) = r.integer(item, &format!("each entry of {what}")) else {
            ok = false;
            continue;
        };
        match u32::try_from(n) {
            Ok(v) if (1..=k).contains(&v) => {
                if !out.insert(v) {
                    r.error(&item.span(), format!("favorable value {v} is listed twice"));
                    ok = false;
                }
            }
            _ => {
                r.error(
                    &item.span(),
                    format!("favorable value {n} is outside the scale's values 1..{k}"),
                );
                ok = false;
            }
        }
    }
    ok.then(|| out.into_iter().collect())
}

/// A likert question takes either `scale` (a named scale, which carries `favorable`)
/// or inline `scale_labels` with an optional `favorable`, not both.
pub(super) fn read_likert(
    r: &mut Reader<'_>,
    table: &Table<'_, '_>,
    scales: &Scales,
    langs: &Languages,
) -> Option<QuestionKind> {
    match (table.get("scale"), table.get("scale_labels")) {
        (Some(_), Some(_)) => {
            let span = table.key_span("scale_labels").unwrap_or(table.span.clone());
            r.error(
                &span,
                format!(
                    "{} has both \"scale\" and \"scale_labels\"; use one of them",
                    table.name
                ),
            );
            None
        }
        (None, None) => {
            r.error(
                &table.span,
                format!(
                    "{} needs \"scale\" (the name of a [scales] table) or \"scale_labels\"",
                    table.name
                ),
            );
            None
        }
        (Some(scale_value), None) => {
            let name = r.string(scale_value, &table.describe("scale"))?;
            if let Some(span) = table.key_span("favorable") {
                r.error(
                    &span,
                    format!(
                        "\"favorable\" of {} belongs on the scale: set it in [scales.{name}], or use scale_labels",
                        table.name
                    ),
                );
                return None;
            }
            match scales.0.get(name) {
                Some(Some(scale)) => Some(QuestionKind::Likert {
                    scale: Some(name.to_owned()),
                    labels: scale.labels.clone(),
                    favorable: scale.favorable.clone(),
                }),
                // Already reported where the scale is defined.
                Some(None) => None,
                None => {
                    let defined = if scales.0.is_empty() {
                        format!("no scales are defined; add a [scales.{name}] table")
                    } else {
                        let names: Vec<&str> = scales.0.keys().map(String::as_str).collect();
                        format!("defined scales: {}", names.join(", "))
                    };
                    r.error(
                        &scale_value.span(),
                        format!("scale \"{name}\" is not defined; {defined}"),
                    );
                    None
                }
            }
        }
        (None, Some(labels)) => {
            let (labels, favorable) =
                read_labels_and_favorable(r, labels, table.get("favorable"), &table.name, langs)?;
            Some(QuestionKind::Likert {
                scale: None,
                labels,
                favorable,
            })
        }
    }
}
