//! Email texts, rendered with tera from `templates/email/<name>/{subject.txt, body.txt,
//! body.html}`. The templates are compiled into the binary, so `icsat` needs no files
//! beside it; tera escapes only templates named `*.html`, so the HTML bodies are
//! autoescaped and the text ones are not.

use std::collections::BTreeMap;

use serde::Serialize;
use tera::{Context, Tera};

use crate::i18n;

use super::MailError;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "invitation/subject.txt",
        include_str!("../../templates/email/invitation/subject.txt"),
    ),
    (
        "invitation/body.txt",
        include_str!("../../templates/email/invitation/body.txt"),
    ),
    (
        "invitation/body.html",
        include_str!("../../templates/email/invitation/body.html"),
    ),
    (
        "reminder/subject.txt",
        include_str!("../../templates/email/reminder/subject.txt"),
    ),
    (
        "reminder/body.txt",
        include_str!("../../templates/email/reminder/body.txt"),
    ),
    (
        "reminder/body.html",
        include_str!("../../templates/email/reminder/body.html"),
    ),
    (
        "heard/subject.txt",
        include_str!("../../templates/email/heard/subject.txt"),
    ),
    (
        "heard/body.txt",
        include_str!("../../templates/email/heard/body.txt"),
    ),
    (
        "heard/body.html",
        include_str!("../../templates/email/heard/body.html"),
    ),
    (
        "sign_in/subject.txt",
        include_str!("../../templates/email/sign_in/subject.txt"),
    ),
    (
        "sign_in/body.txt",
        include_str!("../../templates/email/sign_in/body.txt"),
    ),
    (
        "sign_in/body.html",
        include_str!("../../templates/email/sign_in/body.html"),
    ),
];

/// What an invitation or a reminder says about one survey to one person.
#[derive(Debug, Clone)]
pub struct SurveyMailContext {
    /// The language the product's words are in (the survey texts above already are).
    pub lang: String,
    pub name: String,
    pub survey_title: String,
    pub intro: Option<String>,
    /// `{ICSAT_BASE_URL}/s/{token}`: the only place the plaintext token ever goes.
    pub link: String,
    /// Already formatted in the recipient's language and the survey's timezone, e.g.
    /// "Friday 14 March 2027, 18:00 CET".
    pub deadline: String,
    pub days_left: Option<i64>,
    /// Who to ask for help, e.g. `ICSAT_HELP_CONTACT`.
    pub help_contact: String,
    /// true: anonymous; false: confidential.
    pub anonymous: bool,
    /// What a response keeps besides the answers (`i18n::Words::kept`).
    pub kept: String,
    /// The smallest group results are shown for.
    pub min_group_size: u32,
}

/// "What we heard": a link to a wave's published results.
#[derive(Debug, Clone)]
pub struct HeardMailContext {
    pub lang: String,
    pub name: String,
    pub survey_title: String,
    /// `{ICSAT_BASE_URL}/heard/{token}`.
    pub link: String,
    /// When the link stops working, in the recipient's language.
    pub until: String,
    pub help_contact: String,
}

#[derive(Serialize)]
struct HeardView<'a> {
    lang: &'a str,
    dir: &'static str,
    survey_title: &'a str,
    link: &'a str,
    t: BTreeMap<String, String>,
}

/// A one-time sign-in link for HR and department heads.
#[derive(Debug, Clone)]
pub struct SignInContext {
    pub link: String,
    pub minutes_valid: i64,
    pub help_contact: String,
}

#[derive(Serialize)]
struct SurveyView<'a> {
    lang: &'a str,
    dir: &'static str,
    survey_title: &'a str,
    intro_paragraphs: Vec<String>,
    link: &'a str,
    days_left: Option<i64>,
    /// The catalogue's `email` texts, filled in.
    t: BTreeMap<String, String>,
    promise: String,
}

#[derive(Serialize)]
struct SignInView<'a> {
    link: &'a str,
    minutes_valid: i64,
    help_contact: &'a str,
}

/// The compiled templates; build once at start and share.
pub struct Templates {
    tera: Tera,
}

impl Templates {
    pub fn new() -> Result<Templates, MailError> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| template_error("templates/email", &e))?;
        Ok(Templates { tera })
    }

    /// (subject, text, html) of an invitation.
    pub fn invitation(
        &self,
        ctx: &SurveyMailContext,
    ) -> Result<(String, String, String), MailError> {
        self.render("invitation", &survey_view(ctx))
    }

    /// (subject, text, html) of a reminder: says how many days are left.
    pub fn reminder(&self, ctx: &SurveyMailContext) -> Result<(String, String, String), MailError> {
        self.render("reminder", &survey_view(ctx))
    }

    /// (subject, text, html) of "What we heard".
    pub fn heard(&self, ctx: &HeardMailContext) -> Result<(String, String, String), MailError> {
        let name = crate::roster::csv_input::one_line_name(&ctx.name);
        let title = ctx.survey_title.trim();
        let t = i18n::words(&ctx.lang).section(
            "email",
            &[
                ("name", &name),
                ("title", &title),
                ("until", &ctx.until),
                ("help", &ctx.help_contact.trim()),
            ],
        );
        self.render(
            "heard",
            &HeardView {
                lang: &ctx.lang,
                dir: i18n::direction(&ctx.lang),
                survey_title: title,
                link: &ctx.link,
                t,
            },
        )
    }

    /// (subject, text, html) of a sign-in link.
    pub fn sign_in(&self, ctx: &SignInContext) -> Result<(String, String, String), MailError> {
        self.render(
            "sign_in",
            &SignInView {
                link: &ctx.link,
                minutes_valid: ctx.minutes_valid,
                help_contact: &ctx.help_contact,
            },
        )
    }

    fn render(
        &self,
        name: &str,
        view: &impl Serialize,
    ) -> Result<(String, String, String), MailError> {
        let context = Context::from_serialize(view).map_err(|e| template_error(name, &e))?;
        let render = |part: &str| {
            let template = format!("{name}/{part}");
            self.tera
                .render(&template, &context)
                .map_err(|e| template_error(&template, &e))
        };
        let subject = render("subject.txt")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Ok((subject, tidy(&render("body.txt")?), render("body.html")?))
    }
}

fn survey_view(ctx: &SurveyMailContext) -> SurveyView<'_> {
    let words = i18n::words(&ctx.lang);
    // Stored names may predate the roster's own collapsing: never a second line.
    let name = crate::roster::csv_input::one_line_name(&ctx.name);
    let title = ctx.survey_title.trim();
    let days = ctx.days_left.unwrap_or(0);
    let t = words.section(
        "email",
        &[
            ("name", &name),
            ("title", &title),
            ("deadline", &ctx.deadline),
            ("days", &days),
            ("help", &ctx.help_contact.trim()),
            ("kept", &ctx.kept),
            ("min", &ctx.min_group_size),
        ],
    );
    let promise_key = if ctx.anonymous {
        "promise_anonymous"
    } else {
        "promise_confidential"
    };
    SurveyView {
        lang: &ctx.lang,
        dir: i18n::direction(&ctx.lang),
        survey_title: title,
        intro_paragraphs: paragraphs(ctx.intro.as_deref().unwrap_or("")),
        link: &ctx.link,
        days_left: ctx.days_left,
        promise: t.get(promise_key).cloned().unwrap_or_default(),
        t,
    }
}

/// A definition's intro as paragraphs: blank lines separate them, single line breaks
/// inside one are just spaces (TOML multi-line strings wrap where the author typed).
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(line.trim());
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// Text bodies: no trailing spaces, at most one blank line in a row, one final newline
/// (template tags leave stray blank lines behind).
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = true;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn template_error(name: &str, error: &tera::Error) -> MailError {
    // tera's top-level message is short ("Failed to render ..."); the cause is below it.
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    MailError::Template {
        name: name.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> SurveyMailContext {
        SurveyMailContext {
            lang: "en".into(),
            name: "Ada <script>alert(1)</script>".into(),
            survey_title: "Internal services survey".into(),
            intro: Some("Your answers help HR & IT\nserve you better.\n\nThank you.".into()),
            link: "https://surveys.example.com/s/abc123".into(),
            deadline: "Friday 14 March 2027, 18:00 CET".into(),
            days_left: Some(3),
            help_contact: "people@example.com".into(),
            anonymous: true,
            kept: "your department".into(),
            min_group_size: 5,
        }
    }

    #[test]
    fn every_template_renders() {
        let templates = Templates::new().unwrap();
        let (s, t, h) = templates.invitation(&context()).unwrap();
        assert!(!s.is_empty() && !t.is_empty() && !h.is_empty());
        let (s, t, _) = templates.reminder(&context()).unwrap();
        assert!(s.contains("3 days"), "{s}");
        assert!(t.contains("3 days"), "{t}");
        let (s, t, h) = templates
            .sign_in(&SignInContext {
                link: "https://x/login/t0k".into(),
                minutes_valid: 15,
                help_contact: "it@example.com".into(),
            })
            .unwrap();
        assert!(!s.is_empty());
        assert!(
            t.contains("https://x/login/t0k") && t.contains("15 minutes"),
            "{t}"
        );
        assert!(h.contains("15 minutes"), "{h}");
    }

    #[test]
    fn reminders_count_the_days() {
        let templates = Templates::new().unwrap();
        let subject = |days| {
            templates
                .reminder(&SurveyMailContext {
                    days_left: Some(days),
                    ..context()
                })
                .unwrap()
                .0
        };
        assert!(subject(0).contains("today"), "{}", subject(0));
        assert!(subject(1).contains("tomorrow"), "{}", subject(1));
        assert!(subject(5).contains("5 days"), "{}", subject(5));
    }

    #[test]
    fn names_are_escaped_in_html_only() {
        let (_, text, html) = Templates::new().unwrap().invitation(&context()).unwrap();
        assert!(
            text.contains("Hello Ada <script>alert(1)</script>,"),
            "{text}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("Ada &lt;script&gt;"), "{html}");
    }

    #[test]
    fn invitations_and_reminders_speak_the_employee_s_language() {
        let templates = Templates::new().unwrap();
        let german = SurveyMailContext {
            lang: "de".into(),
            survey_title: "Interne Dienste".into(),
            deadline: "Freitag, 14. März 2027, 18:00 Uhr CET".into(),
            kept: "Ihrer Abteilung".into(),
            ..context()
        };
        let (subject, text, html) = templates.invitation(&german).unwrap();
        assert_eq!(subject, "Ihre Einladung: Interne Dienste");
        assert!(
            text.contains("Sie sind eingeladen, an „Interne Dienste“ teilzunehmen."),
            "{text}"
        );
        assert!(
            text.contains("Bitte antworten Sie bis Freitag, 14. März 2027"),
            "{text}"
        );
        assert!(
            text.contains("Ihre Antworten sind anonym. Sie werden mit Ihrer Abteilung gespeichert"),
            "{text}"
        );
        assert!(html.contains(">Zur Umfrage</a>"), "{html}");
        assert!(html.contains("<html lang=\"de\" dir=\"ltr\">"), "{html}");
        let (subject, text, _) = templates.reminder(&german).unwrap();
        assert_eq!(subject, "Erinnerung: Interne Dienste schließt in 3 Tagen");
        assert!(text.contains("Es bleiben 3 Tage"), "{text}");
        for lang in ["fr", "es"] {
            let (subject, text, _) = templates
                .reminder(&SurveyMailContext {
                    lang: lang.into(),
                    ..context()
                })
                .unwrap();
            let words = i18n::words(lang);
            assert!(
                subject.starts_with(
                    words
                        .get("email.reminder_subject_days")
                        .split(':')
                        .next()
                        .unwrap()
                ),
                "{subject}"
            );
            assert!(text.contains(words.get("email.automatic")), "{text}");
            assert!(!text.contains("Hello"), "{text}");
        }
        let arabic = SurveyMailContext {
            lang: "ar".into(),
            ..context()
        };
        let (_, _, html) = templates.invitation(&arabic).unwrap();
        assert!(html.contains("dir=\"rtl\""), "{html}");
    }

    #[test]
    fn intros_become_paragraphs() {
        assert_eq!(
            paragraphs("one\ntwo\n\n\nthree\n"),
            vec!["one two".to_string(), "three".to_string()]
        );
        assert!(paragraphs("  \n").is_empty());
    }

    #[test]
    fn text_is_tidied() {
        assert_eq!(tidy("\n\na  \n\n\n\nb\n\n"), "a\n\nb\n");
    }
}
