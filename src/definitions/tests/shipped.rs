//! The definitions shipped in `survey-definitions/` must load.

use super::super::{check_departments, ScheduleKind};
use super::*;

const INTERNAL_SERVICES: &str = include_str!("../../../survey-definitions/internal-services.toml");
const ENPS_PULSE: &str = include_str!("../../../survey-definitions/enps-pulse.toml");
const IT_PULSE: &str = include_str!("../../../survey-definitions/it-pulse.toml");

/// The departments the shipped definitions name (sections' `about`).
const SERVICES: [&str; 6] = [
    "HR",
    "IT",
    "Finance",
    "Payroll",
    "Facilities",
    "Procurement",
];

#[test]
fn internal_services_parses() {
    let def = parsed(INTERNAL_SERVICES);
    assert_eq!(def.id.value, "internal-services");
    assert_eq!(def.services(), SERVICES);
    let schedule = def.schedule.as_ref().expect("scheduled");
    assert_eq!(schedule.kind, ScheduleKind::Annual);
    assert_eq!(schedule.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(schedule.reminders.len(), 2);
    for section in def.sections.iter().filter(|s| s.about.is_some()) {
        assert!(section.skip_label.is_some(), "{}", section.id.value);
        let kinds: Vec<&str> = section
            .questions
            .iter()
            .map(|q| q.kind.type_name())
            .collect();
        let likert = kinds.iter().filter(|k| **k == "likert").count();
        assert!((3..=5).contains(&likert), "{}: {kinds:?}", section.id.value);
        assert!(
            kinds.contains(&"nps") && kinds.contains(&"text"),
            "{kinds:?}"
        );
    }
    assert!(def.question("enps").is_some());
    assert!(check_departments(&def, &|name| SERVICES.contains(&name)).is_empty());
}

#[test]
fn enps_pulse_parses() {
    let def = parsed(ENPS_PULSE);
    let schedule = def.schedule.as_ref().expect("scheduled");
    assert!(matches!(
        schedule.kind,
        ScheduleKind::Pulse { sample: Some(s), .. } if (s - 0.25).abs() < f64::EPSILON
    ));
    assert_eq!(schedule.reminders.len(), 1);
    assert!(def.question("enps").is_some());
}

#[test]
fn it_pulse_parses() {
    let def = parsed(IT_PULSE);
    assert_eq!(def.services(), ["IT"]);
    let schedule = def.schedule.as_ref().expect("scheduled");
    assert_eq!(schedule.period(), Some(super::super::Period::Months(3)));
    assert!(def.question("itp-channel").is_some_and(|q| !q.is_numeric()));
}

/// Every shipped survey keeps location, contract and tenure bands, all of which the
/// demo's roster has.
#[test]
fn shipped_dimensions_are_in_the_demo_roster() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let (roster, _, _) = crate::demo::company::files(20, &mut rng);
    let headers = crate::roster::csv_input::roster_columns("demo.csv", roster.as_bytes())
        .expect("the demo roster reads");
    let columns = crate::surveys::roster_column_slugs(headers.iter().map(String::as_str));
    for source in [INTERNAL_SERVICES, ENPS_PULSE, IT_PULSE] {
        let def = parsed(source);
        let names: Vec<&str> = def.report_by.names().collect();
        assert_eq!(
            names,
            ["location", "contract", "tenure"],
            "{}",
            def.id.value
        );
        assert_eq!(
            def.report_by.tenure_labels(),
            ["<1y", "1y-3y", "3y-5y", "5y+"]
        );
        assert!(
            super::super::check_report_by(&def, &columns).is_empty(),
            "{}",
            def.id.value
        );
    }
}
