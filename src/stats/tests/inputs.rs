//! Inputs that can't be counted, and the key-driver rule.

use crate::stats::trend::{proportion_change, Proportion};
use crate::stats::{
    choice_summary, key_drivers, response_rate, scale_summary, ChoiceCounts, Confidence,
    Correlation, DriverCandidate, Scale, StatsError, ValueCounts,
};

#[test]
fn values_outside_the_range_are_refused() {
    let mut counts = ValueCounts::new(1, 5).unwrap();
    assert_eq!(
        counts.add(6),
        Err(StatsError::ValueOutOfRange {
            value: 6,
            min: 1,
            max: 5
        })
    );
    assert!(counts.add(0).is_err());
    assert_eq!(counts.n(), 0);
    assert!(ValueCounts::new(5, 1).is_err());
    assert!(counts.merge(&ValueCounts::zero_to_ten()).is_err());
    let rating = Scale::rating(4).unwrap();
    assert!(scale_summary(&counts, &rating, Confidence::default()).is_err());
}

#[test]
fn scales_are_checked() {
    assert_eq!(Scale::likert(1, None), Err(StatsError::ScalePoints(1)));
    assert_eq!(Scale::likert(12, None), Err(StatsError::ScalePoints(12)));
    assert_eq!(Scale::rating(11), Err(StatsError::ScalePoints(11)));
    assert!(Scale::likert(5, Some(&[6])).is_err());
    assert_eq!(Scale::likert(7, None).unwrap().favorable(), &[6, 7]);
    assert_eq!(
        Scale::likert(5, Some(&[5, 4, 5])).unwrap().favorable(),
        &[4, 5]
    );
    assert!(Confidence::new(1.0).is_err());
    assert!((Confidence::new(0.9).unwrap().z() - 1.6448536269514722).abs() < 1e-12);
}

#[test]
fn choices_are_checked() {
    let mut single = ChoiceCounts::new(3, false).unwrap();
    assert_eq!(single.add(&[0, 2]), Err(StatsError::SeveralChoices(2)));
    assert_eq!(
        single.add(&[3]),
        Err(StatsError::OptionOutOfRange {
            option: 3,
            options: 3
        })
    );
    single.add(&[1, 1]).unwrap(); // the same option twice is one choice
    single.add(&[]).unwrap(); // a blank is no answer
    assert_eq!((single.respondents(), single.counts()), (1, &[0, 1, 0][..]));
    assert!(choice_summary(&single, &["a", "b"]).is_err());
    assert!(ChoiceCounts::new(0, true).is_err());
    assert!(single.merge(&ChoiceCounts::new(3, true).unwrap()).is_err());
    assert!(ChoiceCounts::from_tallies(true, 3, vec![1, 1, 0]).is_err());
    assert!(ChoiceCounts::from_tallies(true, 3, vec![3, 1, 2]).is_ok());
}

#[test]
fn response_rates_need_invitations() {
    assert!(response_rate(3, 4).is_err());
    assert_eq!(response_rate(0, 0).unwrap().rate, None);
    assert_eq!(response_rate(8, 2).unwrap().rate, Some(0.25));
}

#[test]
fn a_change_next_to_a_hidden_wave_is_withheld() {
    let a = Proportion {
        successes: 2,
        n: 20,
    };
    let b = Proportion {
        successes: 18,
        n: 20,
    };
    let shown = proportion_change(a, b, true);
    assert!(shown.significant && shown.delta == Some(0.8));
    let hidden = proportion_change(a, b, false);
    assert_eq!(
        (hidden.delta, hidden.p_value, hidden.significant),
        (None, None, false)
    );
}

#[test]
fn key_drivers_rank_strong_links_with_room_to_improve() {
    let c = |r: f64, p: f64| Correlation {
        n: 50,
        r: Some(r),
        p_value: Some(p),
    };
    let (strong_low, strong_high, weak_low) = (c(0.6, 1e-5), c(0.6, 1e-5), c(0.2, 0.2));
    let (negative, moderate_low, undefined) = (
        c(-0.7, 1e-6),
        c(0.45, 0.001),
        Correlation {
            n: 50,
            r: None,
            p_value: None,
        },
    );
    let candidates = [
        DriverCandidate {
            question: "strong-high",
            correlation: &strong_high,
            favorable: 0.9,
        },
        DriverCandidate {
            question: "strong-low",
            correlation: &strong_low,
            favorable: 0.3,
        },
        DriverCandidate {
            question: "weak-low",
            correlation: &weak_low,
            favorable: 0.1,
        },
        DriverCandidate {
            question: "negative",
            correlation: &negative,
            favorable: 0.2,
        },
        DriverCandidate {
            question: "moderate-low",
            correlation: &moderate_low,
            favorable: 0.2,
        },
        DriverCandidate {
            question: "undefined",
            correlation: &undefined,
            favorable: 0.2,
        },
    ];
    let ranked: Vec<String> = key_drivers(&candidates)
        .into_iter()
        .map(|d| d.question)
        .collect();
    // 0.6·0.7 = 0.42 > 0.45·0.8 = 0.36 > 0.6·0.1 = 0.06; weak (p = 0.2), negative and
    // undefined correlations are no key drivers.
    assert_eq!(ranked, ["strong-low", "moderate-low", "strong-high"]);
}

#[test]
fn mean_intervals_stay_on_the_scale_and_mean_something() {
    let scale = Scale::likert(5, None).unwrap();
    let summary = |values: &[u8]| {
        let mut counts = ValueCounts::new(1, 5).unwrap();
        for v in values {
            counts.add(*v).unwrap();
        }
        scale_summary(&counts, &scale, Confidence::default()).unwrap()
    };
    // All alike: no interval rather than [5.00, 5.00].
    let alike = summary(&[5, 5, 5, 5]);
    assert_eq!((alike.mean, alike.mean_ci), (Some(5.0), None));
    assert!(!alike.mean_ci_clipped());
    // 4.67 ± 1.43 reaches past 5: cut there, and said so.
    let high = summary(&[5, 5, 4]);
    let ci = high.mean_ci.unwrap();
    assert_eq!(ci.hi, 5.0);
    assert!((ci.lo - 3.2324).abs() < 1e-3, "{ci:?}");
    assert!(high.mean_ci_clipped());
    assert_eq!(
        crate::reports::render::mean_interval(&high),
        "[3.23, 5.00] (clipped)"
    );
    assert_eq!(
        crate::reports::render::mean_interval(&alike),
        "(no interval)"
    );
    let inside = summary(&[2, 3, 4, 3, 3, 4, 2, 3]);
    assert!(!inside.mean_ci_clipped());
}
