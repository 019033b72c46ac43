//! The service catalogue, `services.toml` in the definitions folder: each internal
//! service, who provides and owns it, what it promises (targets and service levels),
//! and how it asks for feedback after a request. Read like a survey definition: every
//! broken rule at its line and column, no I/O.
//!
//! ```toml
//! timezone = "Europe/Berlin"         # where feedback months begin (default UTC)
//!
//! [[service]]
//! id = "it-desk"
//! name = "IT service desk"
//! provider = "IT"                    # the providing department; its head owns it
//! owners = ["ines@example.com"]      # more owners, by roster email (optional)
//! description = "Help with accounts, software and hardware."
//! levels = ["First answer within one working day"]
//! targets = { satisfaction = 75, favorable = 80, nps = 20, effort = 5.5, lost_hours = 1 }
//! feedback = { questions = ["csat", "ces", "comment"], sampling = 0.5, cooldown_days = 30 }
//! ```

use serde::Serialize;

use super::diagnostic::{Diagnostic, Located};
use super::model::{Definition, Section};
use super::reader::{check_slug, closest, parse_root, Reader, Table};
use super::text::{Text, TextList};
use super::translations::Languages;

/// The catalogue's file name in the definitions folder; no survey may use it.
pub const CATALOGUE_FILE: &str = "services.toml";

/// Feedback questions a service may ask after a request, in the order asked.
pub const FEEDBACK_QUESTIONS: &[&str] = &["csat", "ces", "lost_time", "comment"];
/// At most this many feedback questions: feedback after a request takes seconds.
pub const MAX_FEEDBACK_QUESTIONS: usize = 3;
/// Days between two requests to the same person about the same service, unless told.
pub const DEFAULT_COOLDOWN_DAYS: u32 = 30;

const TOP_KEYS: &[&str] = &["language", "languages", "timezone", "service"];
const SERVICE_KEYS: &[&str] = &[
    "id",
    "name",
    "provider",
    "owners",
    "description",
    "levels",
    "targets",
    "feedback",
];
const TARGET_KEYS: &[&str] = &["satisfaction", "favorable", "nps", "effort", "lost_hours"];
const FEEDBACK_KEYS: &[&str] = &["questions", "sampling", "cooldown_days"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalogue {
    /// The zone feedback months begin and end in (`timezone`, default UTC).
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: chrono_tz::Tz,
    pub language: String,
    pub languages: Vec<String>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Slug, stable: survey sections and feedback requests name the service by it.
    pub id: Located<String>,
    pub name: Text,
    /// The providing department; its head owns the service.
    pub provider: Located<String>,
    /// More owners, by email (the roster's).
    pub owners: Vec<Located<String>>,
    pub description: Option<Text>,
    /// Service levels in words ("first answer within one working day").
    pub levels: TextList,
    pub targets: Targets,
    pub feedback: Option<FeedbackPlan>,
}

/// What the service commits to; each optional. `favorable` is a percentage, like the
/// reports show it; `lost_hours` is the most work time a request may cost on average
/// (lower is better, unlike the others).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Targets {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satisfaction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favorable: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_hours: Option<f64>,
}

/// Continuous feedback after a request: what is asked, of what share of the requests,
/// and how often one person may be asked about the service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackPlan {
    pub questions: Vec<String>,
    /// Share of closed requests asked, 0 < sampling <= 1.
    pub sampling: f64,
    pub cooldown_days: u32,
}

impl Catalogue {
    pub fn get(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id.value == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.services.iter().map(|s| s.id.value.as_str()).collect()
    }

    /// The catalogue entry a survey section rates: the one its `service` names, else
    /// the one whose id (in any case) or name is its `about` (`about = "IT"` keeps working).
    pub fn for_section(&self, section: &Section) -> Option<&Service> {
        if let Some(id) = &section.service {
            return self.get(id);
        }
        let about = section.about.as_ref()?;
        // Ids are lower-case slugs, departments are named as people write them.
        self.services.iter().find(|s| {
            s.id.value.eq_ignore_ascii_case(&about.value) || s.name.default == about.value
        })
    }
}

/// Parses and checks `services.toml`; every broken rule at once, in file order.
pub fn parse_catalogue(source: &str) -> Result<Catalogue, Vec<Diagnostic>> {
    let mut r = Reader::new(source);
    let root = parse_root(source)?;
    let top = Table::top(&root);
    r.check_keys(&top, TOP_KEYS, |key| {
        (key == "services")
            .then(|| "unknown key \"services\"; each service is a [[service]] table".to_owned())
    });
    let langs = super::parse::read_languages(&mut r, &top);
    let timezone = match top.get("timezone") {
        None => Some(chrono_tz::Tz::UTC),
        Some(v) => super::parse_schedule::read_timezone(&mut r, v, "\"timezone\""),
    };
    let mut services = Vec::new();
    match top.get("service") {
        None => r.error(
            &(0..0),
            "no services: add one [[service]] table per internal service (id, name, provider)",
        ),
        Some(v) => {
            if let Some(items) = r.array(v, "\"service\"") {
                for (i, item) in items.iter().enumerate() {
                    if let Some(table) =
                        r.table(item, "each [[service]]", format!("service #{}", i + 1))
                    {
                        services.push(read_service(&mut r, &table, &langs));
                    }
                }
            }
        }
    }
    let mut seen: Vec<&Located<String>> = Vec::new();
    for id in services.iter().flatten().map(|s| &s.id) {
        if let Some(first) = seen.iter().find(|s| s.value == id.value) {
            r.error_at(
                id.pos,
                format!(
                    "service id \"{}\" is already used at line {}; ids must be unique",
                    id.value, first.pos.line
                ),
            );
        }
        seen.push(id);
    }
    if r.has_errors() {
        return Err(r.into_diagnostics());
    }
    Ok(Catalogue {
        timezone: timezone.unwrap_or(chrono_tz::Tz::UTC),
        language: langs.default.clone(),
        languages: langs.all.clone(),
        services: services.into_iter().flatten().collect(),
    })
}

fn read_service(r: &mut Reader<'_>, table: &Table<'_, '_>, langs: &Languages) -> Option<Service> {
    r.check_keys(table, SERVICE_KEYS, |key| match key {
        "about" | "department" => Some(format!(
            "unknown key \"{key}\" in {}; the providing department is \"provider\"",
            table.name
        )),
        _ => None,
    });
    let id = r.required(table, "id").and_then(|v| {
        let id = r.located_string(v, &table.describe("id"))?;
        match check_slug(&id, 2) {
            Ok(()) => Some(id),
            Err(e) => {
                r.error(&v.span(), format!("service id {e}, e.g. \"it-desk\""));
                None
            }
        }
    });
    let name = r
        .required(table, "name")
        .and_then(|v| r.text(v, &table.describe("name"), langs));
    let provider = r
        .required(table, "provider")
        .and_then(|v| r.located_string(v, &table.describe("provider")));
    let owners = match table.get("owners") {
        None => Some(Vec::new()),
        Some(v) => r.string_list(v, &table.describe("owners")).and_then(|owners| {
            let mut ok = true;
            for owner in &owners {
                if !looks_like_email(owner) {
                    r.error_at(
                        owner.pos,
                        format!(
                            "owner \"{}\" is not an email address; name owners by their roster email",
                            owner.value
                        ),
                    );
                    ok = false;
                }
            }
            ok.then_some(owners)
        }),
    };
    let description = table
        .get("description")
        .map(|v| r.text(v, &table.describe("description"), langs));
    let levels = match table.get("levels") {
        None => Some(TextList::default()),
        Some(v) => r.text_list(v, &table.describe("levels"), langs, true),
    };
    let targets = match table.get("targets") {
        None => Some(Targets::default()),
        Some(v) => r
            .table(
                v,
                &table.describe("targets"),
                format!("targets of {}", table.name),
            )
            .and_then(|t| read_targets(r, &t)),
    };
    let feedback = match table.get("feedback") {
        None => Some(None),
        Some(v) => r
            .table(
                v,
                &table.describe("feedback"),
                format!("feedback of {}", table.name),
            )
            .and_then(|t| read_feedback(r, &t))
            .map(Some),
    };
    if let (Some(id), Some(Some(_))) = (&id, &feedback) {
        if id.value.chars().count() + "feedback-".len() > 64 {
            r.error_at(
                id.pos,
                format!(
                    "service id \"{}\" is too long for a service that asks for feedback (its survey is feedback-{}): use at most 55 characters",
                    id.value, id.value
                ),
            );
            return None;
        }
    }
    Some(Service {
        id: id?,
        name: name?,
        provider: provider?,
        owners: owners?,
        description: match description {
            None => None,
            Some(d) => Some(d?),
        },
        levels: levels?,
        targets: targets?,
        feedback: feedback?,
    })
}

fn read_targets(r: &mut Reader<'_>, table: &Table<'_, '_>) -> Option<Targets> {
    r.check_keys(table, TARGET_KEYS, |key| match key {
        "index" | "csat" => Some(format!(
            "unknown key \"{key}\" in {}; the satisfaction index (0 to 100) is \"satisfaction\"",
            table.name
        )),
        "ces" => Some(format!(
            "unknown key \"{key}\" in {}; the customer effort target (1 to 7) is \"effort\"",
            table.name
        )),
        _ => None,
    });
    let mut ok = true;
    let mut read = |key: &str, low: f64, high: f64, hint: &str| -> Option<f64> {
        let v = table.get(key)?;
        let x = r.number(v, &table.describe(key));
        match x {
            Some(x) if x.is_finite() && (low..=high).contains(&x) => Some(x),
            Some(x) => {
                r.error(&v.span(), format!("{} is {x}; {hint}", table.describe(key)));
                ok = false;
                None
            }
            None => {
                ok = false;
                None
            }
        }
    };
    let satisfaction = read(
        "satisfaction",
        0.0,
        100.0,
        "the satisfaction index runs from 0 to 100",
    );
    let favorable = read(
        "favorable",
        0.0,
        100.0,
        "write the favourable share as a percentage, 0 to 100",
    );
    let nps = read("nps", -100.0, 100.0, "NPS runs from -100 to 100");
    let effort = read("effort", 1.0, 7.0, "customer effort is a mean on 1 to 7");
    let lost_hours = read(
        "lost_hours",
        0.0,
        12.0,
        "lost time is a mean of 0 to 12 hours per request",
    );
    // A share written as a fraction (0.8 for 80%) would read as under one percent.
    if let (Some(x), Some(v)) = (favorable, table.get("favorable")) {
        if x > 0.0 && x < 1.0 {
            r.error(
                &v.span(),
                format!(
                    "{} is {x}; write the favourable share as a percentage ({} for {}%)",
                    table.describe("favorable"),
                    x * 100.0,
                    x * 100.0
                ),
            );
            ok = false;
        }
    }
    let targets = Targets {
        satisfaction,
        favorable,
        nps,
        effort,
        lost_hours,
    };
    ok.then_some(targets)
}

fn read_feedback(r: &mut Reader<'_>, table: &Table<'_, '_>) -> Option<FeedbackPlan> {
    r.check_keys(table, FEEDBACK_KEYS, |_| None);
    let questions = r.required(table, "questions").and_then(|v| {
        let list = r.string_list(v, &table.describe("questions"))?;
        let mut ok = true;
        if list.is_empty() || list.len() > MAX_FEEDBACK_QUESTIONS {
            r.error(
                &v.span(),
                format!(
                    "{} lists {} questions; ask 1 to {MAX_FEEDBACK_QUESTIONS} (of {})",
                    table.describe("questions"),
                    list.len(),
                    FEEDBACK_QUESTIONS.join(", ")
                ),
            );
            ok = false;
        }
        let mut seen: Vec<&str> = Vec::new();
        for q in &list {
            if !FEEDBACK_QUESTIONS.contains(&q.as_str()) {
                let mut message = format!(
                    "\"{}\" is not a feedback question; use {}",
                    q.value,
                    FEEDBACK_QUESTIONS.join(", ")
                );
                if let Some(close) = closest(q, FEEDBACK_QUESTIONS.iter().copied()) {
                    message.push_str(&format!(" (did you mean \"{close}\"?)"));
                }
                r.error_at(q.pos, message);
                ok = false;
            } else if seen.contains(&q.as_str()) {
                r.error_at(q.pos, format!("\"{}\" is asked twice", q.value));
                ok = false;
            }
            seen.push(q);
        }
        ok.then(|| list.into_iter().map(|q| q.value).collect::<Vec<_>>())
    });
    let sampling = match table.get("sampling") {
        None => Some(1.0),
        Some(v) => match r.number(v, &table.describe("sampling")) {
            Some(x) if x > 0.0 && x <= 1.0 => Some(x),
            Some(x) => {
                r.error(
                    &v.span(),
                    format!(
                        "{} is {x}; write the share of requests to ask, above 0 and at most 1 (0.25 asks one in four)",
                        table.describe("sampling")
                    ),
                );
                None
            }
            None => None,
        },
    };
    let cooldown_days = match table.get("cooldown_days") {
        None => Some(DEFAULT_COOLDOWN_DAYS),
        Some(v) => r.integer_in(
            v,
            &table.describe("cooldown_days"),
            0..3661,
            "write 0 to 3660 days (0: ask after every request)",
        ),
    };
    Some(FeedbackPlan {
        questions: questions?,
        sampling: sampling?,
        cooldown_days: cooldown_days?,
    })
}

fn serialize_tz<S: serde::Serializer>(
    tz: &chrono_tz::Tz,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(tz.name())
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    matches!(s.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace))
}

/// Reports every provider department that `known` says is not in the roster, and every
/// owner whose email is not (`known_email`).
pub fn check_catalogue_roster(
    catalogue: &Catalogue,
    known: &dyn Fn(&str) -> bool,
    known_email: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for service in &catalogue.services {
        if !known(&service.provider) {
            out.push(Diagnostic::new(
                service.provider.pos,
                format!(
                    "department \"{}\" (provider of service \"{}\") is not in the roster; check the spelling against the roster's department names",
                    service.provider.value, service.id.value
                ),
            ));
        }
        for owner in &service.owners {
            if !known_email(&owner.value) {
                out.push(Diagnostic::new(
                    owner.pos,
                    format!(
                        "owner \"{}\" of service \"{}\" is not in the roster",
                        owner.value, service.id.value
                    ),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Reports every section `service` that the catalogue lacks (or all of them when there
/// is no catalogue), at its line and column.
pub fn check_services(definition: &Definition, catalogue: Option<&Catalogue>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for section in &definition.sections {
        let Some(id) = &section.service else {
            continue;
        };
        match catalogue {
            None => out.push(Diagnostic::new(
                id.pos,
                format!(
                    "section \"{}\" rates service \"{}\", but there is no {CATALOGUE_FILE} in the definitions folder to define it",
                    section.id.value, id.value
                ),
            )),
            Some(catalogue) if catalogue.get(id).is_none() => {
                let ids = catalogue.ids();
                let mut message = format!(
                    "service \"{}\" (section \"{}\") is not in {CATALOGUE_FILE}; known services: {}",
                    id.value,
                    section.id.value,
                    ids.join(", ")
                );
                if let Some(close) = closest(id, ids.iter().copied()) {
                    message.push_str(&format!(" (did you mean \"{close}\"?)"));
                }
                out.push(Diagnostic::new(id.pos, message));
            }
            Some(_) => {}
        }
    }
    out
}
