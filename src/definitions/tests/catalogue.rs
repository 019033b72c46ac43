//! The service catalogue (`services.toml`): its own rules, checks against the roster,
//! and survey sections naming its services.

use super::super::{check_catalogue_roster, check_services, parse_catalogue, Catalogue};
use super::parsed;

fn catalogue(source: &str) -> Catalogue {
    match parse_catalogue(source) {
        Ok(c) => c,
        Err(errors) => {
            let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("expected no errors, got:\n{}", listing.join("\n"))
        }
    }
}

fn errors(source: &str) -> Vec<String> {
    match parse_catalogue(source) {
        Ok(c) => panic!("expected errors, but the catalogue parsed: {c:#?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

const TWO: &str = r#"languages = ["en", "de"]

[[service]]
id = "it-desk"
name = "IT service desk"
provider = "IT"
owners = ["ines@example.com"]
levels = ["First answer within one working hour"]
targets = { satisfaction = 72, favorable = 75, nps = 10, effort = 5.5, lost_hours = 1 }
feedback = { questions = ["csat", "ces", "comment"], sampling = 0.5, cooldown_days = 30 }

[[service]]
id = "payroll"
name = { en = "Payroll", de = "Lohnbuchhaltung" }
provider = "Payroll"
"#;

#[test]
fn a_catalogue_reads_with_its_targets_and_feedback() {
    let c = catalogue(TWO);
    assert_eq!(c.ids(), ["it-desk", "payroll"]);
    let it = c.get("it-desk").unwrap();
    assert_eq!(it.provider.value, "IT");
    assert_eq!(it.targets.favorable, Some(75.0));
    assert_eq!(it.targets.effort, Some(5.5));
    let plan = it.feedback.as_ref().unwrap();
    assert_eq!(plan.questions, ["csat", "ces", "comment"]);
    assert_eq!((plan.sampling, plan.cooldown_days), (0.5, 30));
    let payroll = c.get("payroll").unwrap();
    assert_eq!(payroll.name.get("de"), "Lohnbuchhaltung");
    assert!(payroll.feedback.is_none());
    assert_eq!(payroll.targets, Default::default());
}

#[test]
fn a_duplicate_id_is_reported_at_the_second() {
    let source = "[[service]]\nid = \"it\"\nname = \"IT\"\nprovider = \"IT\"\n\n[[service]]\nid = \"it\"\nname = \"IT again\"\nprovider = \"IT\"\n";
    assert_eq!(
        errors(source),
        ["7:6: service id \"it\" is already used at line 2; ids must be unique"]
    );
}

#[test]
fn bad_targets_say_the_range_where_written() {
    let source = r#"[[service]]
id = "it"
name = "IT"
provider = "IT"
targets = { satisfaction = 120, favorable = 0.8, nps = -150, effort = 9, index = 70 }
"#;
    assert_eq!(
        errors(source),
        [
            "5:28: \"satisfaction\" of targets of service #1 is 120; the satisfaction index runs from 0 to 100",
            "5:45: \"favorable\" of targets of service #1 is 0.8; write the favourable share as a percentage (80 for 80%)",
            "5:56: \"nps\" of targets of service #1 is -150; NPS runs from -100 to 100",
            "5:71: \"effort\" of targets of service #1 is 9; customer effort is a mean on 1 to 7",
            "5:74: unknown key \"index\" in targets of service #1; the satisfaction index (0 to 100) is \"satisfaction\"",
        ]
    );
}

#[test]
fn missing_keys_bad_owners_and_feedback_are_each_reported() {
    let source = r#"[[service]]
id = "IT Desk"
provider = "IT"
owners = ["ines"]
feedback = { questions = ["csat", "nsp", "csat", "ces"], sampling = 0 }
"#;
    assert_eq!(
        errors(source),
        [
            "1:1: missing required key \"name\" in service #1",
            "2:6: service id \"IT Desk\" is not a valid id: use 2 to 64 lowercase letters, digits and hyphens, e.g. \"it-desk\"",
            "4:11: owner \"ines\" is not an email address; name owners by their roster email",
            "5:26: \"questions\" of feedback of service #1 lists 4 questions; ask 1 to 3 (of csat, ces, lost_time, comment)",
            "5:35: \"nsp\" is not a feedback question; use csat, ces, lost_time, comment",
            "5:42: \"csat\" is asked twice",
            "5:69: \"sampling\" of feedback of service #1 is 0; write the share of requests to ask, above 0 and at most 1 (0.25 asks one in four)",
        ]
    );
}

#[test]
fn an_empty_catalogue_says_how_to_start() {
    assert_eq!(
        errors("# nothing yet\n"),
        ["1:1: no services: add one [[service]] table per internal service (id, name, provider)"]
    );
}

#[test]
fn providers_and_owners_are_checked_against_the_roster() {
    let c = catalogue(TWO);
    let known = |d: &str| d == "IT";
    let known_email = |e: &str| e == "someone@example.com";
    let got: Vec<String> = check_catalogue_roster(&c, &known, &known_email)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "7:11: owner \"ines@example.com\" of service \"it-desk\" is not in the roster",
            "15:12: department \"Payroll\" (provider of service \"payroll\") is not in the roster; check the spelling against the roster's department names",
        ]
    );
}

const SURVEY: &str = r#"id = "services"
title = "Services"

[audience]
departments = ["*"]

[[sections]]
id = "it"
title = "IT"
about = "IT"
service = "it-dsk"

[[sections.questions]]
id = "it-nps"
type = "nps"
text = "Would you recommend IT?"

[[sections]]
id = "laptops"
title = "Laptops"
service = "laptops"

[[sections.questions]]
id = "laptops-nps"
type = "nps"
text = "Would you recommend the laptop service?"
"#;

#[test]
fn a_section_naming_an_unknown_service_is_reported_with_the_known_ids() {
    let def = parsed(SURVEY);
    let c = catalogue(TWO);
    let got: Vec<String> = check_services(&def, Some(&c))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "11:11: service \"it-dsk\" (section \"it\") is not in services.toml; known services: it-desk, payroll (did you mean \"it-desk\"?)",
            "21:11: service \"laptops\" (section \"laptops\") is not in services.toml; known services: it-desk, payroll",
        ]
    );
    let none: Vec<String> = check_services(&def, None)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(none.len(), 2);
    assert!(none[0].contains("there is no services.toml"), "{none:?}");
}

#[test]
fn sections_map_to_the_catalogue_by_service_or_by_about() {
    let def = parsed(&SURVEY.replace("it-dsk", "it-desk"));
    let c = catalogue(TWO);
    // `service` wins; the section without `about` is keyed by its service id.
    assert_eq!(c.for_section(&def.sections[0]).unwrap().id.value, "it-desk");
    assert_eq!(def.sections[0].service_key(), Some("IT"));
    assert_eq!(def.sections[1].service_key(), Some("laptops"));
    assert_eq!(def.services(), ["IT", "laptops"]);
    // `about = "Payroll"` finds the entry named Payroll.
    let about_only = parsed(
        "id = \"pay\"\ntitle = \"Pay\"\n[audience]\ndepartments = [\"*\"]\n[[sections]]\nid = \"p\"\ntitle = \"Payroll\"\nabout = \"Payroll\"\n[[sections.questions]]\nid = \"p-nps\"\ntype = \"nps\"\ntext = \"Recommend?\"\n",
    );
    assert_eq!(
        c.for_section(&about_only.sections[0]).unwrap().id.value,
        "payroll"
    );
}

#[test]
fn one_section_per_service() {
    let source = SURVEY
        .replace("it-dsk", "laptops")
        .replace("about = \"IT\"\n", "");
    let errors = super::errors(&source);
    let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        listing,
        ["20:11: service \"laptops\" is already rated by section \"it\"; one section per service, so its scores are not split"]
    );
}
