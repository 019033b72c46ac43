//! How the demo's employees answer: a latent score per answer from the service rated (with
//! its trend over the years), the department's mood and the person's own temper, plus
//! noise, turned into each question type's values. IT improves visibly year on year,
//! Facilities declines; the rest drift little.

use rand::rngs::StdRng;
use rand::Rng;

use crate::definitions::{Definition, Question, QuestionKind, Section};
use crate::responses::AnswerValue;

/// A service's level (added to 3.5 on a 1..5 scale), change per year, and the share of
/// people who had no contact with it (and skip its section).
struct ServiceModel {
    name: &'static str,
    base: f64,
    per_year: f64,
    skip: f64,
}

const SERVICES: [ServiceModel; 6] = [
    ServiceModel {
        name: "HR",
        base: 0.0,
        per_year: 0.08,
        skip: 0.35,
    },
    ServiceModel {
        name: "IT",
        base: -0.55,
        per_year: 0.42,
        skip: 0.12,
    },
    ServiceModel {
        name: "Finance",
        base: 0.05,
        per_year: -0.04,
        skip: 0.55,
    },
    ServiceModel {
        name: "Payroll",
        base: 0.45,
        per_year: 0.0,
        skip: 0.4,
    },
    ServiceModel {
        name: "Facilities",
        base: 0.35,
        per_year: -0.38,
        skip: 0.2,
    },
    ServiceModel {
        name: "Procurement",
        base: -0.35,
        per_year: 0.02,
        skip: 0.7,
    },
];

/// Working here (eNPS and the like): a slight dip over the years.
const ENGAGEMENT: ServiceModel = ServiceModel {
    name: "",
    base: 0.05,
    per_year: -0.06,
    skip: 0.0,
};

const PRAISE: [&str; 8] = [
    "Quick, friendly and competent — thank you!",
    "They really listen and follow up without being chased.",
    "Much better than last year; keep it up.",
    "Clear answers the first time I asked.",
    "The new self-service pages save me a lot of time.",
    "Always someone to talk to when it matters.",
    "Great support during the reorganisation.",
    "Nothing to add: it just works.",
];

const CRITICISM: [&str; 10] = [
    "It takes far too long to get an answer.",
    "I never know who is responsible for what.",
    "Please reduce the number of forms and approvals.",
    "Requests get lost between teams; I have to ask twice.",
    "Opening hours do not fit shift work.",
    "Communication about changes comes too late.",
    "The portal is confusing and often down.",
    "Too many tickets are closed without a solution.",
    "More people on site would help a lot.",
    "Decisions take weeks; we need a faster process.",
];

const WISHES: [&str; 8] = [
    "More recognition from management for the team's work.",
    "Fewer meetings, more time for real work.",
    "A clearer picture of where the company is heading.",
    "Better tools and equipment for our daily work.",
    "More flexibility for remote work.",
    "Training opportunities that fit my role.",
    "Fixing the coffee machine would already make my month.",
    "More time for the people who are new in the team.",
];

/// Normal noise with mean 0 and standard deviation `sd` (Box–Muller).
pub fn normal(rng: &mut StdRng, sd: f64) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A small, fixed offset per question, so questions about one service differ.
fn question_offset(id: &str) -> f64 {
    let h = id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (f64::from(h % 9) - 4.0) * 0.07
}

/// The providing department of the demo catalogue's services a section may name
/// without `about` (the feedback surveys).
const PROVIDERS: &[(&str, &str)] = &[("it-desk", "IT"), ("laptops", "IT"), ("payroll", "Payroll")];

fn model(section: &Section) -> &'static ServiceModel {
    let provider = match (&section.about, &section.service) {
        (Some(about), _) => Some(about.value.as_str()),
        (None, Some(service)) => PROVIDERS
            .iter()
            .find(|(id, _)| *id == service.value)
            .map(|(_, provider)| *provider),
        (None, None) => None,
    };
    provider
        .and_then(|p| SERVICES.iter().find(|m| m.name == p))
        .unwrap_or(&ENGAGEMENT)
}

/// One respondent as the model sees them.
pub struct Respondent {
    /// Department mood plus the person's own temper (scale units).
    pub offset: f64,
    /// Years since the demo's first wave.
    pub years: f64,
}

fn scale_value(latent: f64, points: u32, rng: &mut StdRng) -> i32 {
    let points = f64::from(points.max(2));
    let value = 1.0 + (latent - 1.0) * (points - 1.0) / 4.0 + normal(rng, 0.8);
    value.round().clamp(1.0, points) as i32
}

fn zero_to_ten(latent: f64, rng: &mut StdRng) -> i32 {
    ((latent - 0.3) * 2.3 + normal(rng, 1.5))
        .round()
        .clamp(0.0, 10.0) as i32
}

fn one(question: &Question, value: Option<i32>, text: Option<String>) -> AnswerValue {
    AnswerValue {
        question_id: question.id.value.clone(),
        ordinal: 0,
        value,
        text,
    }
}

fn comment(model: &ServiceModel, latent: f64, rng: &mut StdRng) -> String {
    if model.name.is_empty() {
        return WISHES[rng.random_range(0..WISHES.len())].to_string();
    }
    if latent > 3.7 {
        PRAISE[rng.random_range(0..PRAISE.len())].to_string()
    } else {
        CRITICISM[rng.random_range(0..CRITICISM.len())].to_string()
    }
}

/// One person's answers to a whole definition.
pub fn answers(definition: &Definition, who: &Respondent, rng: &mut StdRng) -> Vec<AnswerValue> {
    let mut out = Vec::new();
    for section in &definition.sections {
        let model = model(section);
        if section.service_key().is_some() && rng.random_bool(model.skip) {
            continue;
        }
        let level = 3.5 + model.base + model.per_year * who.years + who.offset;
        for question in &section.questions {
            let latent = level + question_offset(&question.id.value);
            match &question.kind {
                QuestionKind::Likert { labels, .. } => {
                    let points = labels.len() as u32;
                    let mut value = scale_value(latent, points, rng);
                    if !question.higher_is_better() {
                        // lost_time: the happier the person, the less time lost.
                        value = points as i32 + 1 - value;
                    }
                    out.push(one(question, Some(value), None));
                }
                QuestionKind::Rating { max } => {
                    out.push(one(question, Some(scale_value(latent, *max, rng)), None));
                }
                QuestionKind::Enps | QuestionKind::Nps => {
                    out.push(one(question, Some(zero_to_ten(latent, rng)), None));
                }
                QuestionKind::Choice { options, multiple } => {
                    if !question.required && rng.random_bool(0.1) {
                        continue;
                    }
                    // Earlier options are the common ones.
                    let count = options.default.len();
                    let weights: Vec<f64> = (0..count).map(|i| 1.0 / (1.0 + i as f64)).collect();
                    let total: f64 = weights.iter().sum();
                    let mut roll = rng.random::<f64>() * total;
                    let mut chosen = count - 1;
                    for (i, w) in weights.iter().enumerate() {
                        if roll < *w {
                            chosen = i;
                            break;
                        }
                        roll -= w;
                    }
                    let mut picks = vec![chosen];
                    if *multiple && count > 1 && rng.random_bool(0.3) {
                        let other = (chosen + 1 + rng.random_range(0..count - 1)) % count;
                        picks.push(other);
                        picks.sort_unstable();
                    }
                    for (ordinal, pick) in picks.into_iter().enumerate() {
                        out.push(AnswerValue {
                            question_id: question.id.value.clone(),
                            ordinal: ordinal as i32,
                            value: Some(pick as i32),
                            text: None,
                        });
                    }
                }
                QuestionKind::Text { max_length } => {
                    if rng.random_bool(0.14) {
                        let mut text = comment(model, latent, rng);
                        text.truncate(*max_length as usize);
                        out.push(one(question, None, Some(text)));
                    }
                }
            }
        }
    }
    out
}
