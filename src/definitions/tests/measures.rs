//! `csat`, `ces` and `lost_time`: likert scales whose labels and favourable values are
//! the product's, reported under their own type.

use super::{assert_error, errors, parsed};
use crate::definitions::{Measure, QuestionKind, LOST_TIME_HOURS};

const HEAD: &str = r#"id = "measures"
title = "Measures"
language = "en"
languages = ["en", "fr"]
[audience]
departments = ["*"]
[[sections]]
id = "it"
title = "IT"
about = "IT"
"#;

fn question(id: &str, kind: &str, extra: &str) -> String {
    format!(
        "  [[sections.questions]]\n  id = \"{id}\"\n  type = \"{kind}\"\n  text = {{ en = \"{id}?\", fr = \"{id} ?\" }}\n{extra}"
    )
}

#[test]
fn each_is_a_likert_scale_of_the_products_words_in_every_language() {
    let source = format!(
        "{HEAD}{}{}{}",
        question("it-csat", "csat", ""),
        question("it-ces", "ces", "  label = \"Effort\"\n"),
        question("it-lost", "lost_time", "  required = false\n"),
    );
    let d = parsed(&source);
    let expect = [
        ("it-csat", "csat", Measure::Csat, 5, vec![4, 5]),
        ("it-ces", "ces", Measure::Ces, 7, vec![5, 6, 7]),
        ("it-lost", "lost_time", Measure::LostTime, 6, vec![1, 2]),
    ];
    for (id, type_name, measure, points, favorable) in expect {
        let q = d.question(id).unwrap();
        assert_eq!(q.type_name(), type_name);
        assert_eq!(q.measure, Some(measure));
        let QuestionKind::Likert {
            scale,
            labels,
            favorable: fav,
        } = &q.kind
        else {
            panic!("{:?}", q.kind)
        };
        assert_eq!(*scale, None);
        assert_eq!(labels.get("en").len(), points, "{id}");
        assert_eq!(labels.get("fr").len(), points, "{id}");
        assert_eq!(*fav, favorable, "{id}");
        assert_eq!(q.value_range(), Some(1..=points as u32));
    }
    let csat = d.question("it-csat").unwrap();
    let QuestionKind::Likert { labels, .. } = &csat.kind else {
        unreachable!()
    };
    assert_eq!(labels.get("en")[0], "Very dissatisfied");
    assert_eq!(labels.get("fr")[4], "Très satisfait");
    assert_eq!(
        d.question("it-ces").unwrap().label.as_deref(),
        Some("Effort")
    );
    let lost = d.question("it-lost").unwrap();
    assert!(!lost.required);
    assert!(!lost.higher_is_better());
    assert!(csat.higher_is_better());
    assert_eq!(lost.hours(), Some(&LOST_TIME_HOURS[..]));
    assert_eq!(csat.hours(), None);
    let QuestionKind::Likert { labels, .. } = &lost.kind else {
        unreachable!()
    };
    assert_eq!(
        labels.get("en"),
        [
            "None",
            "Less than 30 minutes",
            "30 minutes to 2 hours",
            "2 to 4 hours",
            "Half a day to a day",
            "More than a day"
        ]
    );
}

#[test]
fn the_midpoints_are_the_documented_ones() {
    assert_eq!(LOST_TIME_HOURS, [0.0, 0.25, 1.25, 3.0, 6.0, 12.0]);
    for measure in [Measure::Csat, Measure::Ces, Measure::LostTime] {
        assert_eq!(Measure::of_type(measure.type_name()), Some(measure));
        let words = crate::i18n::words("en");
        for key in measure.label_keys() {
            assert!(!words.get(&format!("form.{key}")).is_empty(), "{key}");
        }
    }
    assert_eq!(Measure::of_type("likert"), None);
}

#[test]
fn an_action_seen_question_may_name_them() {
    let source = format!(
        "{HEAD}{}  [[sections.questions]]\n  id = \"seen\"\n  type = \"action_seen\"\n  questions = [\"it-csat\"]\n  text = {{ en = \"s\", fr = \"s\" }}\n",
        question("it-csat", "csat", ""),
    );
    parsed(&source);
}

#[test]
fn their_scale_is_fixed() {
    // the question starts on line 11; its extra key is on line 15
    let cases = [
        ("csat", "  scale = \"agree5\"\n", "\"scale\" does not apply to a csat question: its scale is fixed (1 very dissatisfied to 5 very satisfied"),
        ("ces", "  scale_labels = [\"a\", \"b\"]\n", "\"scale_labels\" does not apply to a ces question: its scale is fixed (1 strongly disagree to 7 strongly agree"),
        ("lost_time", "  max = 5\n", "\"max\" does not apply to a lost_time question: its scale is fixed (six bands"),
        ("csat", "  favorable = [5]\n", "remove \"favorable\", or use type = \"likert\""),
    ];
    for (kind, extra, message) in cases {
        assert_error(
            &format!("{HEAD}{}", question("q", kind, extra)),
            15,
            3,
            message,
        );
    }
    // keys of no question type are unknown, as for any type
    assert_error(
        &format!("{HEAD}{}", question("q", "ces", "  bands = 3\n")),
        15,
        3,
        "unknown key \"bands\" in question \"q\"; expected one of: id, type, text, label, required",
    );
    // `options` belongs to choice: named as such
    assert_error(
        &format!(
            "{HEAD}{}",
            question("q", "lost_time", "  options = [\"a\", \"b\"]\n")
        ),
        15,
        3,
        "\"options\" does not apply to a lost_time question (only to choice)",
    );
}

#[test]
fn they_keep_the_rules_of_every_question() {
    let missing_text = format!("{HEAD}  [[sections.questions]]\n  id = \"q\"\n  type = \"csat\"\n");
    let listing: Vec<String> = errors(&missing_text)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        listing.iter().any(|e| e.contains("\"text\"")),
        "{listing:?}"
    );
    assert_error(
        &format!(
            "{HEAD}{}",
            question("q", "lost_time", "  required = \"no\"\n")
        ),
        15,
        14,
        "required",
    );
    assert_error(
        &format!(
            "{HEAD}{}",
            question(
                "q",
                "csat",
                "  label = \"A label far longer than twenty-four\"\n"
            )
        ),
        15,
        11,
        "one line of 1 to 24 characters",
    );
}
