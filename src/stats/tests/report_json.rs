//! The report JSON of `docs/spec/interfaces.md`, as these types serialise it.

use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

use crate::stats::{
    nps_summary, plan, scale_summary, service_summary, ChoiceCounts, Confidence, Gated, Group,
    OrgUnit, PairSums, QuestionSummary, Scale, ScaleAnswers, ServiceSummary, Threshold,
    ValueCounts,
};

#[derive(Serialize)]
struct GroupFigures {
    questions: BTreeMap<&'static str, Gated<QuestionSummary>>,
    services: BTreeMap<&'static str, Gated<ServiceSummary>>,
}

fn counts(scale: &Scale, distribution: &[u64]) -> ValueCounts {
    let mut counts = scale.empty_counts();
    for (value, n) in (1..).zip(distribution) {
        counts.add_count(value, *n).unwrap();
    }
    counts
}

#[test]
fn a_report_has_the_documented_shape() {
    let units = [
        OrgUnit::new("Sales", None, 42)
            .with_answers("it-responsive", 40)
            .with_answers("enps", 41)
            .with_answers("service:IT", 40),
        OrgUnit::new("Legal", None, 3),
        OrgUnit::new("HR", None, 6),
    ];
    let disclosure = plan(&units, Threshold::new(5, 10).unwrap()).unwrap();
    let agree5 = Scale::likert(5, Some(&[4, 5])).unwrap();
    let responsive = counts(&agree5, &[1, 3, 8, 18, 10]);
    let mut enps = ValueCounts::zero_to_ten();
    for (value, n) in [(10, 14), (8, 18), (3, 9)] {
        enps.add_count(value, n).unwrap();
    }
    let confidence = Confidence::default();

    let report = |group: Group<&'static str>, name: Option<&str>| {
        disclosure.group_report(&group, name.map(str::to_owned), || {
            let gated = disclosure.item(
                &group,
                "it-responsive",
                ScaleAnswers {
                    counts: &responsive,
                    scale: &agree5,
                },
            );
            let enps_gated = disclosure.item(&group, "enps", &enps);
            let question = gated
                .clone()
                .try_map(|q| scale_summary(q.counts, q.scale, confidence))
                .unwrap()
                .map(QuestionSummary::Scale);
            let enps_figures = enps_gated
                .clone()
                .try_map(|c| nps_summary(c, confidence))
                .unwrap()
                .map(QuestionSummary::Nps);
            let service = disclosure
                .item(&group, "service:IT", ())
                .try_map(|()| service_summary(&[gated], Some(&enps_gated), 40))
                .unwrap();
            GroupFigures {
                questions: BTreeMap::from([("it-responsive", question), ("enps", enps_figures)]),
                services: BTreeMap::from([("IT", service)]),
            }
        })
    };

    let sales = serde_json::to_value(report(Group::Department("Sales"), Some("Sales"))).unwrap();
    let keys: Vec<&str> = sales
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "department",
            "questions",
            "respondents",
            "services",
            "suppressed"
        ]
    );
    assert_eq!(sales["department"], "Sales");
    assert_eq!(sales["respondents"], 42);
    assert_eq!(sales["suppressed"], false);
    let question = &sales["questions"]["it-responsive"];
    assert_eq!(question["n"], 40);
    assert_eq!(question["mean"], 3.825);
    assert_eq!(question["favorable"], 0.7);
    assert_eq!(question["mean_ci"].as_array().unwrap().len(), 2);
    assert_eq!(question["favorable_ci"].as_array().unwrap().len(), 2);
    assert_eq!(
        question["distribution"],
        json!({"1": 1, "2": 3, "3": 8, "4": 18, "5": 10})
    );
    let mut fields: Vec<&String> = question.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "distribution",
            "favorable",
            "favorable_ci",
            "index",
            "mean",
            "mean_ci",
            "n",
            "sd"
        ]
    );
    let enps = &sales["questions"]["enps"];
    assert_eq!(
        (
            &enps["n"],
            &enps["promoters"],
            &enps["passives"],
            &enps["detractors"]
        ),
        (&json!(41), &json!(14), &json!(18), &json!(9))
    );
    assert!(enps["enps_ci"].is_array());
    let it = &sales["services"]["IT"];
    assert_eq!(it["n"], 40);
    assert_eq!(it["favorable"], 0.7);
    assert_eq!(it["satisfaction"], 70.625);
    assert!((it["nps"].as_f64().unwrap() - 100.0 * 5.0 / 41.0).abs() < 1e-12);

    // Legal (3) is hidden, and HR (6) with it: the audience minus Sales would give Legal.
    for hidden in ["Legal", "HR"] {
        let json = serde_json::to_value(report(Group::Department(hidden), Some(hidden))).unwrap();
        assert_eq!(json, json!({"department": hidden, "suppressed": true}));
    }
    let audience = serde_json::to_value(report(Group::Audience, None)).unwrap();
    assert_eq!(audience["department"], serde_json::Value::Null);
    assert_eq!(audience["respondents"], 51);
    // The audience's own question counts are Sales' alone: shown.
    assert_eq!(audience["questions"]["it-responsive"]["n"], 40);
}

#[test]
fn a_hidden_question_is_only_marked_suppressed() {
    let units = [OrgUnit::new(1u32, None, 20).with_answers("optional", 3)];
    let disclosure = plan(&units, Threshold::new(5, 10).unwrap()).unwrap();
    let gated = disclosure.item(&Group::Department(1), "optional", 3.5);
    assert_eq!(
        serde_json::to_value(&gated).unwrap(),
        json!({"suppressed": true})
    );
    let shown = disclosure.group(&Group::Department(1), 3.5);
    assert_eq!(serde_json::to_value(&shown).unwrap(), json!(3.5));
}

#[test]
fn undefined_figures_are_null_and_tallies_round_trip() {
    let scale = Scale::rating(4).unwrap();
    let mut one = scale.empty_counts();
    one.add(4).unwrap();
    let summary = scale_summary(&one, &scale, Confidence::default()).unwrap();
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["sd"], serde_json::Value::Null);
    assert_eq!(json["mean_ci"], serde_json::Value::Null);
    assert_eq!(json["index"], 100.0);

    let back: ValueCounts = serde_json::from_value(serde_json::to_value(&one).unwrap()).unwrap();
    assert_eq!(back, one);
    assert!(serde_json::from_value::<ValueCounts>(json!({"min": 1, "counts": []})).is_err());

    let mut choices = ChoiceCounts::new(3, false).unwrap();
    choices.add(&[2]).unwrap();
    let back: ChoiceCounts =
        serde_json::from_value(serde_json::to_value(&choices).unwrap()).unwrap();
    assert_eq!(back, choices);
    let broken = json!({"multiple": false, "respondents": 2, "counts": [1, 0, 0]});
    assert!(serde_json::from_value::<ChoiceCounts>(broken).is_err());

    let mut pairs = PairSums::default();
    pairs.add(3, 9);
    let json = serde_json::to_value(pairs).unwrap();
    assert_eq!(
        json,
        json!({"n": 1, "sx": 3, "sy": 9, "sxx": 9, "syy": 81, "sxy": 27})
    );
}
