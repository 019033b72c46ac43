//! Every text in the employee's language: the roster's `language` picks the invitation's
//! and reminder's words and the form the link opens; the browser's `Accept-Language` and
//! the form's switch pick it otherwise; Arabic is laid out right to left.

use diesel::prelude::*;

use crate::common::{Server, TestDb};
use crate::eml;
use icsat::db::schema::mail_outbox;
use icsat::i18n::words;

pub const MULTILINGUAL: &str = r#"
id = "services"
title = { en = "Internal services check", de = "Interne Dienste", fr = "Services internes", es = "Servicios internos", ar = "الخدمات الداخلية" }
language = "en"
languages = ["en", "de", "fr", "es", "ar"]
anonymity = "anonymous"
min_group_size = 3

[audience]
departments = ["*"]

[scales.agree5]
labels = { en = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"], de = ["Stimme gar nicht zu", "Stimme nicht zu", "Weder noch", "Stimme zu", "Stimme voll zu"], fr = ["Pas du tout d’accord", "Pas d’accord", "Neutre", "D’accord", "Tout à fait d’accord"], es = ["Muy en desacuerdo", "En desacuerdo", "Neutral", "De acuerdo", "Muy de acuerdo"], ar = ["أرفض بشدة", "أرفض", "محايد", "أوافق", "أوافق بشدة"] }

[[sections]]
id = "it"
title = { en = "IT", de = "IT", fr = "Informatique", es = "Informática", ar = "تقنية المعلومات" }
about = "IT"

  [[sections.questions]]
  id = "it-fast"
  type = "likert"
  scale = "agree5"
  text = { en = "IT solves my problems quickly.", de = "Die IT löst meine Probleme schnell.", fr = "L’informatique résout mes problèmes rapidement.", es = "Informática resuelve mis problemas rápidamente.", ar = "يحل قسم تقنية المعلومات مشكلاتي بسرعة." }

  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = { en = "Would you recommend this company as a place to work?", de = "Würden Sie dieses Unternehmen als Arbeitgeber empfehlen?", fr = "Recommanderiez-vous cette entreprise comme employeur ?", es = "¿Recomendaría esta empresa como lugar de trabajo?", ar = "هل توصي بهذه الشركة كمكان للعمل؟" }
"#;

/// Who is asked, with the roster's `language` cell: none, the survey's languages (one
/// with a region), one the survey does not have (Italian), and Arabic.
pub const PEOPLE: [(&str, &str); 6] = [
    ("en@x.io", ""),
    ("de@x.io", "de"),
    ("fr@x.io", "fr-FR"),
    ("es@x.io", "es"),
    ("ar@x.io", "ar"),
    ("it@x.io", "it"),
];

/// The survey language each person of [`PEOPLE`] gets.
pub fn expected_language(email: &str) -> &'static str {
    match email {
        "de@x.io" => "de",
        "fr@x.io" => "fr",
        "es@x.io" => "es",
        "ar@x.io" => "ar",
        _ => "en",
    }
}

pub fn title_in(lang: &str) -> &'static str {
    match lang {
        "de" => "Interne Dienste",
        "fr" => "Services internes",
        "es" => "Servicios internos",
        "ar" => "الخدمات الداخلية",
        _ => "Internal services check",
    }
}

/// The definition and the roster of [`PEOPLE`], all in IT.
pub fn load(db: &TestDb) -> String {
    let defs = db.path("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("services.toml"), MULTILINGUAL).unwrap();
    let mut roster = String::from("email,name,department,language\n");
    for (i, (email, lang)) in PEOPLE.iter().enumerate() {
        roster.push_str(&format!("{email},Person {i},IT,{lang}\n"));
    }
    let roster = db.write("roster.csv", roster);
    db.icsat(&["roster", "import", roster.to_str().unwrap()])
        .assert_ok();
    defs.display().to_string()
}

/// The stored messages of `kind` (decoded) by recipient.
fn messages(db: &TestDb, kind: &str) -> Vec<(String, eml::Eml)> {
    let handle = db.db();
    let mut conn = handle.get().unwrap();
    let rows: Vec<(String, String)> = icsat::with_conn!(conn, c => mail_outbox::table
        .filter(mail_outbox::kind.eq(kind))
        .select((mail_outbox::recipient, mail_outbox::message))
        .order(mail_outbox::id)
        .load(c))
    .unwrap();
    rows.into_iter()
        .map(|(to, message)| (to, eml::parse(&message)))
        .collect()
}

/// The path (`/s/TOKEN` with any `?lang=`) of the survey link in a message text.
pub fn link_path(text: &str) -> String {
    let at = text.find("/s/").expect("a survey link");
    text[at..]
        .split_whitespace()
        .next()
        .expect("the link")
        .to_string()
}

fn invitations_and_reminders_speak_the_roster_language(db: TestDb) {
    let defs = load(&db);
    db.icsat_with_definitions(&defs, &["wave", "open", "services", "--label", "w1"])
        .assert_ok();
    let invitations = messages(&db, "invitation");
    assert_eq!(invitations.len(), PEOPLE.len());
    for (to, mail) in &invitations {
        let lang = expected_language(to);
        let w = words(lang);
        let title = title_in(lang);
        assert_eq!(
            mail.subject,
            w.fill("email.invitation_subject", &[("title", &title)]),
            "{to}"
        );
        let i = PEOPLE.iter().position(|(e, _)| e == to).unwrap();
        let hello = w.fill("email.hello", &[("name", &format!("Person {i}"))]);
        assert!(mail.text.starts_with(&hello), "{to}: {}", mail.text);
        assert!(
            mail.text.contains(w.get("email.personal_link")),
            "{to}: {}",
            mail.text
        );
        assert!(mail.text.contains(w.get("email.automatic")), "{to}");
        assert!(
            mail.text
                .contains(&w.fill("email.invited", &[("title", &title)])),
            "{to}: {}",
            mail.text
        );
        // The deadline is written in the language too: one of its weekday names.
        assert!(
            (1..=7).any(|d| mail.text.contains(w.get(&format!("date.weekday_{d}")))),
            "{to}: {}",
            mail.text
        );
        assert!(mail.html.contains(&format!("lang=\"{lang}\"")), "{to}");
        let rtl = if lang == "ar" { "rtl" } else { "ltr" };
        assert!(mail.html.contains(&format!("dir=\"{rtl}\"")), "{to}");
        let link = link_path(&mail.text);
        if lang == "en" {
            assert!(!link.contains('?'), "{to}: {link}");
        } else {
            assert!(link.ends_with(&format!("?lang={lang}")), "{to}: {link}");
        }
    }
    db.icsat_with_definitions(&defs, &["wave", "remind", "services/w1"])
        .assert_ok();
    let reminders = messages(&db, "reminder");
    assert_eq!(reminders.len(), PEOPLE.len());
    for (to, mail) in &reminders {
        let lang = expected_language(to);
        let w = words(lang);
        let prefix = w.get("email.reminder_subject_open");
        let prefix = &prefix[..prefix.find("{title}").unwrap()];
        assert!(
            mail.subject.starts_with(prefix) && mail.subject.contains(title_in(lang)),
            "{to}: {}",
            mail.subject
        );
        assert!(mail.text.contains(w.get("email.reminder_yours")), "{to}");
    }
}

fn the_form_speaks_the_readers_language(db: TestDb) {
    let defs = load(&db);
    let server = Server::start_with(&db, &[("ICSAT_DEFINITIONS", &defs)]);
    db.icsat_with_definitions(&defs, &["wave", "open", "services", "--label", "w1"])
        .assert_ok();
    let links: Vec<(String, String)> = messages(&db, "invitation")
        .into_iter()
        .map(|(to, mail)| (to, link_path(&mail.text)))
        .collect();
    let link = |email: &str| {
        links
            .iter()
            .find(|(to, _)| to == email)
            .map(|(_, l)| l.clone())
            .unwrap()
    };

    // The German employee's link opens the form in German, from the product's words to
    // the date.
    let (status, page, _) = server.get(&link("de@x.io"));
    assert_eq!(status, 200);
    for expected in [
        "<html lang=\"de\" dir=\"ltr\">",
        "<h1>Interne Dienste</h1>",
        "Die IT löst meine Probleme schnell.",
        "Ihre Antworten sind anonym.",
        "Geöffnet bis ",
        " Uhr ",
        "Antworten senden</button>",
        "überhaupt nicht wahrscheinlich",
        "Direkt zur Umfrage",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from the German form"
        );
    }
    assert!(!page.contains("Send my answers"));

    // Without `?lang`, the browser's languages choose among the survey's.
    let en_path = link("en@x.io");
    let french = server.get_with_header(&en_path, "Accept-Language", "it, fr-CH;q=0.9, en;q=0.5");
    assert!(french.body.contains("<html lang=\"fr\""), "{}", french.body);
    assert!(french.body.contains("Envoyer mes réponses"));
    let plain = server.get_with_header(&en_path, "Accept-Language", "it, pt;q=0.9");
    assert!(plain.body.contains("<html lang=\"en\""));

    // Arabic: the definition's words, the product's English ones, right to left.
    let (_, arabic, _) = server.get(&link("ar@x.io"));
    assert!(arabic.contains("<html lang=\"ar\" dir=\"rtl\">"));
    assert!(arabic.contains("يحل قسم تقنية المعلومات مشكلاتي بسرعة."));
    assert!(arabic.contains("Send my answers"));

    // Problems come back in the language the form was sent in.
    let es_path = link("es@x.io");
    let (_, spanish, _) = server.get(&es_path);
    let csrf = crate::answering::csrf_of(&spanish);
    let (status, errors) = server.post_form(&es_path, &[("csrf", &csrf), ("lang", "es")]);
    assert_eq!(status, 422);
    assert!(errors.contains("Revise 2 respuestas"), "{errors}");
    assert!(errors.contains("Responda a esta pregunta."), "{errors}");
    assert!(errors.contains("<html lang=\"es\""));

    // Thanks, and "already answered", in German.
    let de_path = link("de@x.io");
    let fields = [
        ("csrf", csrf_for(&server, &de_path)),
        ("lang", "de".to_string()),
        ("q.it-fast", "4".to_string()),
        ("q.enps", "9".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, thanks) = server.post_form(&de_path, &fields);
    assert_eq!(status, 200, "{thanks}");
    assert!(
        thanks.contains("Danke: Ihre Antworten sind gespeichert"),
        "{thanks}"
    );
    let (status, again) = server.post_form(&de_path, &fields);
    assert_eq!(status, 409);
    assert!(again.contains("Sie haben bereits geantwortet"), "{again}");

    // A link that does not exist is explained in the browser's language.
    let missing = server.get_with_header("/s/no-such-link", "Accept-Language", "de-DE,de;q=0.9");
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Dieser Umfragelink ist nicht gültig"),
        "{}",
        missing.body
    );
}

fn csrf_for(server: &Server, path: &str) -> String {
    let (_, page, _) = server.get(path);
    crate::answering::csrf_of(&page)
}

crate::on_both_backends!(
    invitations_and_reminders_speak_the_roster_language,
    the_form_speaks_the_readers_language,
);
