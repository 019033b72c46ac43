//! Worked examples of the anonymity rules.

use crate::stats::{
    check_filter, plan, Disclosure, FilterRefused, Group, OrgUnit, StatsError,
    SuppressionReason::{self, Differencing, GroupSuppressed, TooFew},
    Threshold,
};

fn threshold(min: u64) -> Threshold {
    Threshold::new(min, 10).unwrap()
}

fn unit(id: &str, parent: Option<&str>, respondents: u64) -> OrgUnit<String> {
    OrgUnit::new(id.to_owned(), parent.map(str::to_owned), respondents)
}

fn dept(id: &str) -> Group<String> {
    Group::Department(id.to_owned())
}

fn reason(plan: &Disclosure<String>, id: &str) -> Option<SuppressionReason> {
    plan.group(&dept(id), ()).suppression()
}

#[test]
fn a_small_group_is_hidden_and_not_recoverable_from_the_audience() {
    // Audience = Sales 20 + IT 12 + Legal 3: showing IT would give Legal = 35 - 20 - 12.
    let units = [
        unit("Sales", None, 20),
        unit("IT", None, 12),
        unit("Legal", None, 3),
    ];
    let plan = plan(&units, threshold(5)).unwrap();
    assert_eq!(reason(&plan, "Legal"), Some(TooFew { threshold: 5 }));
    assert_eq!(reason(&plan, "IT"), Some(Differencing));
    assert_eq!(reason(&plan, "Sales"), None);
    assert!(plan.group(&Group::Audience, ()).is_shown());
    let shown: Vec<_> = plan.shown_groups().collect();
    assert_eq!(shown, vec![Group::Audience, dept("Sales")]);
}

#[test]
fn nothing_is_hidden_when_the_remainder_is_zero_or_large_enough() {
    let units = [
        unit("Sales", None, 20),
        unit("IT", None, 12),
        unit("Legal", None, 0),
        unit("Ops", Some("Sales"), 6),
        unit("Field", Some("Sales"), 9),
    ];
    let plan = plan(&units, threshold(5)).unwrap();
    // Legal has no respondents: hidden, but the audience's remainder is 0.
    assert_eq!(reason(&plan, "Legal"), Some(TooFew { threshold: 5 }));
    for shown in ["Sales", "IT", "Ops", "Field"] {
        assert_eq!(reason(&plan, shown), None, "{shown}");
    }
    assert_eq!(plan.respondents(&dept("Sales")), 35);
    assert_eq!(plan.respondents(&Group::Audience), 47);
}

#[test]
fn a_hidden_child_takes_its_smallest_shown_sibling_along_with_its_subtree() {
    // P holds A (3, hidden), C (10 = 5 + 5 below it) and D (6); P has no direct members.
    // Hiding D (the smallest) leaves P's remainder at 9.
    let units = [
        unit("P", None, 0),
        unit("A", Some("P"), 3),
        unit("C", Some("P"), 0),
        unit("C1", Some("C"), 5),
        unit("C2", Some("C"), 5),
        unit("D", Some("P"), 6),
        unit("Q", None, 30),
    ];
    let plan = plan(&units, threshold(5)).unwrap();
    assert_eq!(reason(&plan, "A"), Some(TooFew { threshold: 5 }));
    assert_eq!(reason(&plan, "D"), Some(Differencing));
    for shown in ["P", "C", "C1", "C2", "Q"] {
        assert_eq!(reason(&plan, shown), None, "{shown}");
    }
}

#[test]
fn hiding_a_group_hides_its_whole_subtree() {
    // Top: Big 40, Mid 7 (2 direct, Sub 5), Tiny 2. The audience's remainder is Tiny's 2:
    // Mid (the smallest shown top group) goes, and with it Sub, which would otherwise let
    // Mid's 2 direct members be computed.
    let units = [
        unit("Big", None, 40),
        unit("Mid", None, 2),
        unit("Sub", Some("Mid"), 5),
        unit("Tiny", None, 2),
    ];
    let plan = plan(&units, threshold(5)).unwrap();
    assert_eq!(reason(&plan, "Mid"), Some(Differencing));
    assert_eq!(reason(&plan, "Sub"), Some(Differencing));
    assert_eq!(reason(&plan, "Big"), None);
}

#[test]
fn ties_hide_the_smallest_id_first() {
    let units = [unit("B", None, 8), unit("A", None, 8), unit("C", None, 2)];
    let plan = plan(&units, threshold(5)).unwrap();
    assert_eq!(reason(&plan, "A"), Some(Differencing));
    assert_eq!(reason(&plan, "B"), None);
}

#[test]
fn items_follow_the_same_rules_within_shown_groups() {
    let units = [
        unit("Sales", None, 20)
            .with_answers("q", 18)
            .with_answers("optional", 4),
        unit("IT", None, 12)
            .with_answers("q", 12)
            .with_answers("optional", 9),
        unit("Ops", Some("Sales"), 10).with_answers("q", 7),
        unit("Field", Some("Sales"), 6).with_answers("q", 5),
        unit("Legal", None, 3).with_answers("q", 3),
        unit("HR", None, 3).with_answers("q", 3),
    ];
    let plan = plan(&units, threshold(5)).unwrap();
    let item = |g: &Group<String>, q: &str| plan.item(g, q, ()).suppression();
    // Legal and HR are hidden, together 6: every other group is shown.
    assert_eq!(plan.shown_groups().count(), 5);
    // "optional": Sales' 4 answers are hidden; the audience's 13 minus IT's 9 would give them.
    assert_eq!(
        item(&dept("Sales"), "optional"),
        Some(TooFew { threshold: 5 })
    );
    assert_eq!(item(&dept("IT"), "optional"), Some(Differencing));
    assert_eq!(item(&Group::Audience, "optional"), None);
    // "q" in Sales: 18 + 7 + 5 answers, Ops' 7 and Field's 5 shown, a remainder of 18.
    assert_eq!(item(&dept("Ops"), "q"), None);
    assert_eq!(item(&dept("Field"), "q"), None);
    // A hidden group's items are hidden, whatever their count.
    assert_eq!(item(&dept("Legal"), "q"), Some(GroupSuppressed));
    // An item nobody in the group answered.
    assert_eq!(
        item(&dept("IT"), "never-asked"),
        Some(TooFew { threshold: 5 })
    );
}

#[test]
fn comments_need_the_comment_threshold_and_name_only_large_departments() {
    let units = [
        unit("Sales", None, 12),
        unit("Ops", Some("Sales"), 0),
        unit("Team", Some("Ops"), 11),
        unit("Desk", Some("Sales"), 7),
        unit("IT", None, 15),
    ];
    let plan = plan(&units, threshold(5)).unwrap();
    for shown in ["Sales", "Ops", "Team", "IT"] {
        assert!(plan.comments(&dept(shown), ()).is_shown(), "{shown}");
    }
    assert!(plan.comments(&Group::Audience, ()).is_shown());
    assert!(plan.group(&dept("Desk"), ()).is_shown());
    assert_eq!(
        plan.comments(&dept("Desk"), ()).suppression(),
        Some(TooFew { threshold: 10 })
    );
    let named = |id: &str| plan.comment_department_shown(&id.to_owned());
    assert!(named("Sales") && named("Team") && named("IT"));
    assert!(!named("Ops")); // no direct members
    assert!(!named("Desk"));
    assert!(!named("Nowhere"));
}

#[test]
fn the_comment_threshold_is_never_below_the_group_threshold() {
    let threshold = Threshold::new(6, 3).unwrap();
    assert_eq!(threshold.min_comment_group_size(), 6);
    assert_eq!(Threshold::new(0, 10), Err(StatsError::ThresholdZero));
}

#[test]
fn unknown_groups_show_nothing() {
    let plan = plan(&[unit("Sales", None, 20)], threshold(5)).unwrap();
    let nowhere = dept("Nowhere");
    assert!(!plan.group(&nowhere, ()).is_shown());
    assert!(!plan.item(&nowhere, "q", ()).is_shown());
    assert!(!plan.comments(&nowhere, ()).is_shown());
    assert!(plan.group_report(&nowhere, None, || ()).content().is_none());
    assert_eq!(plan.respondents(&nowhere), 0);
}

#[test]
fn broken_trees_are_refused() {
    let duplicate = [unit("A", None, 1), unit("A", None, 2)];
    assert!(matches!(
        plan(&duplicate, threshold(5)),
        Err(StatsError::DuplicateDepartment(_))
    ));
    let orphan = [unit("A", Some("Z"), 1)];
    assert!(matches!(
        plan(&orphan, threshold(5)),
        Err(StatsError::UnknownParent { .. })
    ));
    let cycle = [
        unit("A", Some("B"), 1),
        unit("B", Some("A"), 1),
        unit("C", None, 9),
    ];
    assert!(matches!(
        plan(&cycle, threshold(5)),
        Err(StatsError::ParentCycle(_))
    ));
    let overanswered = [unit("A", None, 3).with_answers("q", 4)];
    assert!(matches!(
        plan(&overanswered, threshold(5)),
        Err(StatsError::AnswersExceedRespondents { .. })
    ));
}

#[test]
fn an_empty_tree_hides_the_audience() {
    let plan = plan::<String>(&[], threshold(5)).unwrap();
    assert!(!plan.group(&Group::Audience, ()).is_shown());
    assert_eq!(plan.shown_groups().count(), 0);
}

#[test]
fn filters_that_leave_or_leave_out_too_few_are_refused() {
    assert_eq!(check_filter(40, 12, 5), Ok(()));
    assert_eq!(check_filter(40, 40, 5), Ok(())); // keeps everyone
    assert_eq!(check_filter(40, 35, 5), Ok(()));
    assert_eq!(
        check_filter(40, 4, 5),
        Err(FilterRefused::TooFew {
            filtered: 4,
            threshold: 5
        })
    );
    assert_eq!(
        check_filter(40, 37, 5),
        Err(FilterRefused::ComplementTooFew {
            complement: 3,
            threshold: 5
        })
    );
    assert_eq!(
        check_filter(40, 0, 5),
        Err(FilterRefused::TooFew {
            filtered: 0,
            threshold: 5
        })
    );
    assert!(matches!(
        check_filter(10, 11, 5),
        Err(FilterRefused::MoreThanGroup { .. })
    ));
}
