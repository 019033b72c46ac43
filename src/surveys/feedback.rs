//! The survey each catalogue service with a `feedback` plan asks after a request,
//! generated from the plan: `feedback-{id}`, one section rating the service, its 1 to 3
//! questions in the product's words (`feedback.*` of the message catalogues) in every
//! language of the catalogue. Loaded and stored like the folder's own surveys.

use crate::definitions::{Catalogue, FeedbackPlan, Service};

/// Feedback surveys are named `feedback-{service id}`.
pub const SURVEY_PREFIX: &str = "feedback-";

pub fn survey_slug(service: &str) -> String {
    format!("{SURVEY_PREFIX}{service}")
}

/// The generated definition (TOML) of a service's feedback survey, in the catalogue's
/// languages, in the product's words (`feedback.*` of the message catalogues).
pub fn definition_source(catalogue: &Catalogue, service: &Service, plan: &FeedbackPlan) -> String {
    let languages = &catalogue.languages;
    let text = |key: &str| -> String {
        let mut parts = Vec::new();
        for lang in languages {
            let words = crate::i18n::words(lang);
            let name = service.name.get(lang);
            let said = words.fill(&format!("feedback.{key}"), &[("service", &name)]);
            parts.push(format!("{} = {}", toml_key(lang), toml_string(&said)));
        }
        format!("{{ {} }}", parts.join(", "))
    };
    let mut out = String::new();
    out.push_str(&format!(
        "# Generated from services.toml: the feedback asked after a request to {}.\n",
        service.id.value
    ));
    out.push_str(&format!(
        "id = {}\n",
        toml_string(&survey_slug(&service.id))
    ));
    out.push_str(&format!(
        "language = {}\n",
        toml_string(&catalogue.language)
    ));
    out.push_str(&format!(
        "timezone = {}\n",
        toml_string(catalogue.timezone.name())
    ));
    let quoted: Vec<String> = languages.iter().map(|l| toml_string(l)).collect();
    out.push_str(&format!("languages = [{}]\n", quoted.join(", ")));
    out.push_str(&format!("title = {}\n", text("title")));
    out.push_str(&format!("intro = {}\n", text("intro")));
    out.push_str("\n[audience]\ndepartments = [\"*\"]\n\n[[sections]]\nid = \"feedback\"\n");
    out.push_str(&format!("title = {}\n", text("title")));
    out.push_str(&format!("service = {}\n", toml_string(&service.id)));
    for question in &plan.questions {
        let (kind, required) = match question.as_str() {
            "comment" => ("text", false),
            other => (other, true),
        };
        out.push_str("\n[[sections.questions]]\n");
        out.push_str(&format!(
            "id = {}\n",
            toml_string(&format!(
                "{}-{}",
                service.id.value,
                question.replace('_', "-")
            ))
        ));
        out.push_str(&format!("type = \"{kind}\"\n"));
        out.push_str(&format!("text = {}\n", text(question)));
        if !required {
            out.push_str("required = false\n");
        }
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_key(lang: &str) -> String {
    if lang
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        lang.to_string()
    } else {
        toml_string(lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::{parse_catalogue, parse_definition};

    #[test]
    fn a_feedback_plan_becomes_a_valid_survey_in_every_language_of_the_catalogue() {
        let catalogue = parse_catalogue(
            "languages = [\"en\", \"de\"]\n[[service]]\nid = \"it-desk\"\nname = { en = \"IT \\\"desk\\\"\", de = \"IT-Service\" }\nprovider = \"IT\"\nfeedback = { questions = [\"csat\", \"lost_time\", \"comment\"] }\n",
        )
        .unwrap();
        let service = &catalogue.services[0];
        let source = definition_source(&catalogue, service, service.feedback.as_ref().unwrap());
        let definition = match parse_definition(&source) {
            Ok(d) => d,
            Err(e) => panic!("{source}\n{e:?}"),
        };
        assert_eq!(definition.id.value, "feedback-it-desk");
        let types: Vec<&str> = definition.questions().map(|(_, q)| q.type_name()).collect();
        assert_eq!(types, ["csat", "lost_time", "text"]);
        let (section, csat) = definition.question_with_section("it-desk-csat").unwrap();
        assert_eq!(section.service.as_ref().unwrap().value, "it-desk");
        assert_eq!(
            csat.text.get("en"),
            "How satisfied are you with how IT \"desk\" handled your request?"
        );
        assert!(csat.text.get("de").contains("IT-Service"));
    }
}
