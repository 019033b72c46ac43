//! Every figure against `tests/fixtures/stats/reference.json`, which
//! `scripts/reference_stats.py` computes with pandas and scipy from the raw answers it holds.

use serde::Serialize;
use serde_json::Value;

use crate::stats::trend::{nps_change, scale_change, scale_change_with_hours};
use crate::stats::{
    choice_summary, correlation, hours_summary, nps_summary, response_rate, scale_summary,
    service_summary, ChoiceCounts, Confidence, Gated, PairSums, Scale, ScaleAnswers,
    SuppressionReason, ValueCounts,
};

const REFERENCE: &str = include_str!("../../../tests/fixtures/stats/reference.json");

fn reference() -> Value {
    serde_json::from_str(REFERENCE).unwrap()
}

fn cases<'a>(reference: &'a Value, kind: &str) -> &'a Vec<Value> {
    let cases = reference[kind].as_array().unwrap();
    assert!(!cases.is_empty(), "no {kind} cases");
    cases
}

/// Compares our serialised figures with the reference: the same keys, booleans and
/// integers equal, floats to 1e-9 relative (absolute 1e-15 near zero, except p-values).
/// Returns how many figures it compared.
fn assert_matches(actual: &Value, expected: &Value, path: &str) -> usize {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            let (mut ak, mut ek) = (keys(a), keys(e));
            ak.sort();
            ek.sort();
            assert_eq!(ak, ek, "{path}: fields differ");
            e.iter()
                .map(|(k, v)| assert_matches(&a[k], v, &format!("{path}.{k}")))
                .sum()
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{path}: lengths differ");
            a.iter()
                .zip(e)
                .enumerate()
                .map(|(i, (a, e))| assert_matches(a, e, &format!("{path}[{i}]")))
                .sum()
        }
        (Value::Number(a), Value::Number(e)) => {
            if let (Some(a), Some(e)) = (a.as_u64(), e.as_u64()) {
                assert_eq!(a, e, "{path}");
            } else {
                let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
                let error = (a - e).abs();
                // A figure that is 0 in exact arithmetic may come out as ±1e-17 on either
                // side; p-values, however small, are compared relatively.
                let near_zero = !path.ends_with("p_value") && error <= 1e-15;
                assert!(
                    error <= 1e-9 * e.abs() || near_zero,
                    "{path}: {a} but the reference says {e} (relative error {})",
                    error / e.abs()
                );
            }
            1
        }
        _ => {
            assert_eq!(actual, expected, "{path}");
            1
        }
    }
}

fn check<T: Serialize>(actual: &T, case: &Value) -> usize {
    let name = case["name"].as_str().unwrap_or("case");
    let actual = serde_json::to_value(actual).unwrap();
    assert_matches(&actual, &case["expected"], name)
}

fn values(answers: &Value) -> Vec<u8> {
    answers
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect()
}

fn scale_of(case: &Value) -> Scale {
    let points = case["points"].as_u64().unwrap() as u8;
    Scale::likert(points, Some(&values(&case["favorable"]))).unwrap()
}

fn tally(mut counts: ValueCounts, answers: &Value) -> ValueCounts {
    for value in values(answers) {
        counts.add(value).unwrap();
    }
    counts
}

fn optional_tally(counts: ValueCounts, answers: &Value) -> Option<ValueCounts> {
    (!answers.is_null()).then(|| tally(counts, answers))
}

#[test]
fn scale_questions() {
    let reference = reference();
    let mut compared = 0;
    for case in cases(&reference, "scale") {
        let scale = scale_of(case);
        let counts = tally(scale.empty_counts(), &case["answers"]);
        let confidence = Confidence::new(case["level"].as_f64().unwrap()).unwrap();
        compared += check(&scale_summary(&counts, &scale, confidence).unwrap(), case);
    }
    assert!(compared > 100, "{compared}");
}

#[test]
fn enps_questions() {
    let reference = reference();
    for case in cases(&reference, "nps") {
        let counts = tally(ValueCounts::zero_to_ten(), &case["answers"]);
        check(&nps_summary(&counts, Confidence::default()).unwrap(), case);
    }
}

#[test]
fn choice_questions() {
    let reference = reference();
    for case in cases(&reference, "choice") {
        let options: Vec<&str> = case["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        let mut counts =
            ChoiceCounts::new(options.len(), case["multiple"].as_bool().unwrap()).unwrap();
        for answer in case["answers"].as_array().unwrap() {
            let chosen: Vec<usize> = values(answer).into_iter().map(usize::from).collect();
            counts.add(&chosen).unwrap();
        }
        check(&choice_summary(&counts, &options).unwrap(), case);
    }
}

#[test]
fn services() {
    let reference = reference();
    for case in cases(&reference, "service") {
        let rows = case["rows"].as_array().unwrap();
        let column = |i: usize, counts: ValueCounts| {
            let answers: Vec<Value> = rows.iter().map(|row| row[i].clone()).collect();
            let given: Vec<Value> = answers.into_iter().filter(|v| !v.is_null()).collect();
            tally(counts, &Value::Array(given))
        };
        let hidden = |id: &str| case["hidden"].as_array().unwrap().iter().any(|h| h == id);
        let gate = |id: &str| {
            if hidden(id) {
                Gated::withhold(SuppressionReason::TooFew { threshold: 5 })
            } else {
                Gated::reveal(())
            }
        };
        let questions = case["questions"].as_array().unwrap();
        let scales: Vec<Scale> = questions.iter().map(scale_of).collect();
        let counts: Vec<ValueCounts> = scales
            .iter()
            .enumerate()
            .map(|(i, scale)| column(i, scale.empty_counts()))
            .collect();
        let gated: Vec<Gated<ScaleAnswers<'_>>> = questions
            .iter()
            .zip(scales.iter().zip(&counts))
            .map(|(q, (scale, counts))| {
                gate(q["id"].as_str().unwrap()).map(|()| ScaleAnswers { counts, scale })
            })
            .collect();
        let nps_counts = case["nps"]
            .as_str()
            .map(|id| (id, column(questions.len(), ValueCounts::zero_to_ten())));
        let nps = nps_counts
            .as_ref()
            .map(|(id, counts)| gate(id).map(|()| counts));
        let respondents = rows
            .iter()
            .filter(|row| row.as_array().unwrap().iter().any(|v| !v.is_null()))
            .count() as u64;
        check(
            &service_summary(&gated, nps.as_ref(), respondents).unwrap(),
            case,
        );
    }
}

#[test]
fn scale_trends() {
    let reference = reference();
    for case in cases(&reference, "scale_trend") {
        let scale = scale_of(case);
        let earlier = optional_tally(scale.empty_counts(), &case["earlier"]);
        let later = optional_tally(scale.empty_counts(), &case["later"]);
        let both_shown = case["both_shown"].as_bool().unwrap();
        let change = scale_change(earlier.as_ref(), later.as_ref(), &scale, both_shown).unwrap();
        check(&change, case);
    }
}

#[test]
fn nps_trends() {
    let reference = reference();
    for case in cases(&reference, "nps_trend") {
        let earlier = optional_tally(ValueCounts::zero_to_ten(), &case["earlier"]);
        let later = optional_tally(ValueCounts::zero_to_ten(), &case["later"]);
        let both_shown = case["both_shown"].as_bool().unwrap();
        check(
            &nps_change(earlier.as_ref(), later.as_ref(), both_shown).unwrap(),
            case,
        );
    }
}

#[test]
fn drivers() {
    let reference = reference();
    for case in cases(&reference, "drivers") {
        let mut pairs = PairSums::default();
        for pair in case["pairs"].as_array().unwrap() {
            let xy = values(pair);
            pairs.add(xy[0], xy[1]);
        }
        check(&correlation(&pairs), case);
    }
}

/// The scale and the hours of a fixed measure, from the definitions module: the test
/// also checks that the code's midpoints are the documented ones the script uses.
fn measure_of(case: &Value) -> (Scale, Option<&'static [f64]>) {
    let measure = crate::definitions::Measure::of_type(case["type"].as_str().unwrap()).unwrap();
    let favorable: Vec<u8> = measure.favorable().iter().map(|v| *v as u8).collect();
    let scale = Scale::likert(measure.label_keys().len() as u8, Some(&favorable)).unwrap();
    (scale, measure.hours())
}

#[test]
fn csat_ces_and_lost_time() {
    let reference = reference();
    let mut compared = 0;
    for case in cases(&reference, "measure") {
        let (scale, hours) = measure_of(case);
        let counts = tally(scale.empty_counts(), &case["answers"]);
        let confidence = Confidence::new(case["level"].as_f64().unwrap()).unwrap();
        let mut summary = scale_summary(&counts, &scale, confidence).unwrap();
        if let Some(hours) = hours {
            summary.hours = Some(hours_summary(&counts, hours, confidence).unwrap());
        }
        compared += check(&summary, case);
    }
    assert!(compared > 100, "{compared}");
}

#[test]
fn csat_ces_and_lost_time_trends() {
    let reference = reference();
    for case in cases(&reference, "measure_trend") {
        let (scale, hours) = measure_of(case);
        let earlier = optional_tally(scale.empty_counts(), &case["earlier"]);
        let later = optional_tally(scale.empty_counts(), &case["later"]);
        let both_shown = case["both_shown"].as_bool().unwrap();
        let change = match hours {
            Some(hours) => {
                scale_change_with_hours(earlier.as_ref(), later.as_ref(), &scale, hours, both_shown)
            }
            None => scale_change(earlier.as_ref(), later.as_ref(), &scale, both_shown),
        }
        .unwrap();
        check(&change, case);
    }
}

#[test]
fn response_rates() {
    let reference = reference();
    for case in cases(&reference, "rates") {
        let invited = case["invited"].as_u64().unwrap();
        let responded = case["responded"].as_u64().unwrap();
        check(&response_rate(invited, responded).unwrap(), case);
    }
}

#[test]
fn the_reference_covers_the_required_edge_cases() {
    let reference = reference();
    let names = |kind: &str| -> Vec<String> {
        cases(&reference, kind)
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (kind, name) in [
        ("scale", "n = 0"),
        ("scale", "n = 1"),
        ("scale", "n = 2"),
        ("scale", "all answers equal"),
        ("nps", "all promoters"),
        ("nps", "all detractors"),
        ("scale_trend", "identical waves"),
        ("nps_trend", "identical waves"),
        ("scale_trend", "new question (later wave only)"),
        ("scale_trend", "retired question (earlier wave only)"),
        ("drivers", "n = 19: not shown"),
        ("drivers", "n = 20"),
        ("measure", "lost_time n = 0"),
        ("measure", "lost_time n = 1"),
        ("measure", "lost_time nothing lost"),
        ("measure", "lost_time long losses, interval cut at 12 h"),
        ("measure_trend", "lost_time identical waves"),
        ("measure_trend", "lost_time new question"),
    ] {
        assert!(names(kind).iter().any(|n| n == name), "{kind}: {name}");
    }
    let identical = &cases(&reference, "scale_trend")[2]["expected"];
    assert_eq!(identical["mean"]["p_value"], 1.0);
    assert_eq!(identical["favorable"]["p_value"], 1.0);
    assert!(cases(&reference, "drivers")[0]["expected"].is_null());
}
