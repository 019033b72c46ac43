//! `action_seen`: "Since the last survey, have you seen changes...?", tied to a service or
//! to questions, answered yes / somewhat / no / don't know.

use super::{assert_error, errors, parsed};
use crate::definitions::{QuestionKind, SeenAbout};

const HEAD: &str = r#"id = "seen"
title = "Seen"
language = "en"
languages = ["en", "de"]
[audience]
departments = ["*"]
[scales.agree5]
labels = ["1", "2", "3", "4", "5"]
[[sections]]
id = "it"
title = "IT"
about = "IT"
  [[sections.questions]]
  id = "it-fast"
  type = "likert"
  scale = "agree5"
  text = "IT is fast."
"#;

#[test]
fn it_is_a_choice_of_four_answers_in_every_language_about_its_section() {
    let source = format!(
        "{HEAD}  [[sections.questions]]\n  id = \"it-seen\"\n  type = \"action_seen\"\n  text = {{ en = \"Seen changes in IT?\", de = \"Veränderungen bei der IT bemerkt?\" }}\n"
    );
    let d = parsed(&source);
    let q = d.question("it-seen").unwrap();
    assert_eq!(q.type_name(), "action_seen");
    assert_eq!(q.seen, Some(SeenAbout::Service("IT".into())));
    let QuestionKind::Choice { options, multiple } = &q.kind else {
        panic!("{:?}", q.kind)
    };
    assert!(!multiple);
    assert_eq!(options.get("en"), ["Yes", "Somewhat", "No", "Don't know"]);
    assert_eq!(options.get("de"), ["Ja", "Teilweise", "Nein", "Weiß nicht"]);
    assert!(q.required);
}

#[test]
fn it_may_name_a_service_or_questions_elsewhere() {
    let source = format!(
        "{HEAD}[[sections]]\nid = \"you\"\ntitle = \"You\"\n  [[sections.questions]]\n  id = \"a\"\n  type = \"action_seen\"\n  service = \"IT\"\n  text = {{ en = \"a\", de = \"a\" }}\n  [[sections.questions]]\n  id = \"b\"\n  type = \"action_seen\"\n  questions = [\"it-fast\"]\n  text = {{ en = \"b\", de = \"b\" }}\n"
    );
    let d = parsed(&source);
    assert_eq!(
        d.question("a").unwrap().seen,
        Some(SeenAbout::Service("IT".into()))
    );
    assert_eq!(
        d.question("b").unwrap().seen,
        Some(SeenAbout::Questions(vec!["it-fast".into()]))
    );
}

#[test]
fn what_it_asks_about_must_exist() {
    let you = "[[sections]]\nid = \"you\"\ntitle = \"You\"\n  [[sections.questions]]\n  id = \"a\"\n  type = \"action_seen\"\n  text = { en = \"a\", de = \"a\" }\n";
    assert_error(
        &format!("{HEAD}{you}  service = \"Facilities\"\n"),
        25,
        13,
        "no section is about \"Facilities\"",
    );
    assert_error(
        &format!("{HEAD}{you}  questions = [\"it-slow\"]\n"),
        25,
        15,
        "\"it-slow\" is not a likert, rating, enps, nps or choice question",
    );
    let nothing = errors(&format!("{HEAD}{you}"));
    assert!(
        nothing[0]
            .to_string()
            .contains("asks whether changes were seen, but about what?"),
        "{nothing:?}"
    );
    let both = errors(&format!(
        "{HEAD}{you}  service = \"IT\"\n  questions = [\"it-fast\"]\n"
    ));
    assert!(
        both[0]
            .to_string()
            .contains("names a service and questions"),
        "{both:?}"
    );
}
