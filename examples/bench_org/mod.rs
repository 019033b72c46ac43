//! The generated organisation, survey and answers shared by `report_bench` and
//! `dashboard_bench`: 60 departments, a 30-question survey, answers drawn from a
//! deterministic generator and stored wave by wave. (A folder module without `main.rs`,
//! so Cargo does not take it for an example of its own.)

use std::fmt::Write as _;

use chrono::NaiveDate;
use icsat::db::{Conn, DbError};
use icsat::reports::org::Org;
use icsat::responses::{AnswerValue, NewResponse};
use icsat::waves::{NewWave, Origin};

pub type BoxError = Box<dyn std::error::Error>;

/// Responses per call of `responses::store::insert`.
pub const CHUNK: usize = 5_000;
pub const SERVICES: [&str; 6] = [
    "HR",
    "IT",
    "Finance",
    "Payroll",
    "Facilities",
    "Procurement",
];

/// A small, fast, deterministic generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (sum of four uniforms, scaled to variance 1).
    fn normal(&mut self) -> f64 {
        let sum: f64 = (0..4).map(|_| self.unit() - 0.5).sum();
        sum * 3f64.sqrt()
    }
}

/// The department tree (60 departments) as `departments.csv`, and the team names.
pub fn department_tree() -> (String, Vec<String>) {
    let mut csv = String::from("department,parent,head_email\nCompany,,\n");
    let mut teams = Vec::new();
    for division in 0..5 {
        let division_name = if division == 0 {
            "Shared Services".to_string()
        } else {
            format!("Division {division}")
        };
        let _ = writeln!(csv, "{division_name},Company,");
        for team in 0..(54 / 5 + usize::from(division < 54 % 5)) {
            let name = match (division, SERVICES.get(team)) {
                (0, Some(service)) => service.to_string(),
                _ => format!("Team {division}-{team}"),
            };
            let _ = writeln!(csv, "{name},{division_name},");
            teams.push(name);
        }
    }
    (csv, teams)
}

/// One question of the generated survey.
pub struct BenchQuestion {
    id: String,
    /// The service rated, or `None` in the "you" section.
    service: Option<usize>,
    nps: bool,
    enps: bool,
    /// Change of the mean per wave, in standard deviations of the latent score.
    drift: f64,
}

/// The survey definition (TOML) and its questions in order.
pub fn survey(slug: &str) -> (String, Vec<BenchQuestion>) {
    let mut toml = format!(
        r#"id = "{slug}"
title = "Internal services benchmark"
anonymity = "anonymous"
min_group_size = 5
min_comment_group_size = 10
language = "en"

[schedule]
kind = "annual"
opens = "2027-03-01T09:00"
timezone = "Europe/Berlin"
open_for = "14d"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
favorable = [4, 5]
"#
    );
    let mut questions = Vec::new();
    let drift = |n: usize| ((n * 7) % 5) as f64 * 0.04 - 0.06;
    for (s, service) in SERVICES.iter().enumerate() {
        let section = service.to_lowercase();
        let _ = write!(
            toml,
            "\n[[sections]]\nid = \"{section}\"\ntitle = \"{service}\"\nabout = \"{service}\"\n\
             skip_label = \"I have not worked with {service} this year\"\n"
        );
        for item in 0..4 {
            let nps = item == 3;
            let id = if nps {
                format!("{section}-recommend")
            } else {
                format!("{section}-q{item}")
            };
            let (kind, text) = if nps {
                (
                    "type = \"nps\"",
                    format!("How likely are you to recommend {service} to a colleague?"),
                )
            } else {
                (
                    "type = \"likert\"\n  scale = \"agree5\"",
                    format!("{service} statement number {item}."),
                )
            };
            let _ = write!(
                toml,
                "\n  [[sections.questions]]\n  id = \"{id}\"\n  {kind}\n  text = \"{text}\"\n"
            );
            questions.push(BenchQuestion {
                id,
                service: Some(s),
                nps,
                enps: false,
                drift: drift(questions.len()),
            });
        }
    }
    toml.push_str("\n[[sections]]\nid = \"you\"\ntitle = \"Working here\"\n");
    for item in 0..6 {
        let enps = item == 0;
        let id = if enps {
            "enps".to_string()
        } else {
            format!("you-q{item}")
        };
        let kind = if enps {
            "type = \"enps\""
        } else {
            "type = \"likert\"\n  scale = \"agree5\""
        };
        let _ = write!(
            toml,
            "\n  [[sections.questions]]\n  id = \"{id}\"\n  {kind}\n  text = \"Working here, statement {item}.\"\n"
        );
        questions.push(BenchQuestion {
            id,
            service: None,
            nps: false,
            enps,
            drift: drift(questions.len()),
        });
    }
    (toml, questions)
}

/// Respondents per department: a few small fixed groups (0 to 4 people, so some groups
/// are suppressed), the rest spread with skewed (Zipf-like) sizes.
pub fn department_sizes(org: &Org, teams: &[String], respondents: usize) -> Vec<(i64, usize)> {
    let id = |name: &str| org.by_name(name).map(|d| d.id).expect("department exists");
    let fixed: Vec<(i64, usize)> = vec![
        (id("Company"), 3),
        (id(&teams[teams.len() - 1]), 0),
        (id(&teams[teams.len() - 2]), 1),
        (id(&teams[teams.len() - 3]), 2),
        (id(&teams[teams.len() - 4]), 4),
    ];
    let rest: Vec<i64> = org
        .departments
        .iter()
        .map(|d| d.id)
        .filter(|d| !fixed.iter().any(|(f, _)| f == d))
        .collect();
    let weights: Vec<f64> = (0..rest.len())
        .map(|rank| 1.0 / ((rank * 17 % rest.len()) as f64 + 1.0).powf(0.8))
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let left = respondents.saturating_sub(fixed.iter().map(|(_, n)| n).sum());
    let mut sizes: Vec<(i64, usize)> = rest
        .iter()
        .zip(&weights)
        .map(|(d, w)| (*d, (left as f64 * w / total_weight).floor() as usize))
        .collect();
    let assigned: usize = sizes.iter().map(|(_, n)| n).sum();
    sizes[0].1 += left - assigned;
    sizes.extend(fixed);
    sizes
}

pub fn clamp_round(x: f64, low: i32, high: i32) -> i32 {
    (x.round() as i32).clamp(low, high)
}

/// Stores one wave's responses; returns the wave id.
#[allow(clippy::too_many_arguments)]
pub fn store_wave(
    conn: &mut Conn,
    survey_id: i64,
    version_id: i64,
    label: &str,
    wave_index: usize,
    questions: &[BenchQuestion],
    sizes: &[(i64, usize)],
    rng: &mut Rng,
) -> Result<i64, BoxError> {
    let opens_at = NaiveDate::from_ymd_opt(2023 + wave_index as i32, 3, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .ok_or("bad date")?;
    let wave_id = icsat::waves::insert(
        conn,
        &NewWave {
            survey_id,
            version_id,
            label,
            origin: Origin::Import,
            status: "closed",
            opens_at,
            closes_at: None,
            closed_at: None,
        },
    )?
    .ok_or_else(|| {
        format!("the wave {label} exists already: run the benchmark on an empty database")
    })?;
    let w = wave_index as f64;
    let mut batch: Vec<NewResponse> = Vec::with_capacity(CHUNK);
    let flush = |conn: &mut Conn, batch: &mut Vec<NewResponse>| -> Result<(), DbError> {
        icsat::responses::store::insert(conn, wave_id, batch)?;
        batch.clear();
        Ok(())
    };
    // One transaction per wave: each page of the random-keyed tables is written once.
    conn.transaction(|conn| -> Result<(), DbError> {
        for (index, &(department_id, n)) in sizes.iter().enumerate() {
            // Departments differ, and some improve faster than others.
            let department_effect = ((index * 37) % 11) as f64 * 0.08 - 0.4;
            let department_drift = ((index * 13) % 5) as f64 * 0.02 - 0.03;
            for _ in 0..n {
                let person = rng.normal();
                let service_mood: Vec<f64> = (0..SERVICES.len())
                    .map(|s| 0.6 * person + 0.5 * rng.normal() + (s as f64 - 2.5) * 0.1)
                    .collect();
                let answers = questions
                    .iter()
                    .map(|q| {
                        let latent = q.service.map_or(person, |s| service_mood[s])
                            + department_effect
                            + w * (q.drift + department_drift);
                        let noise = rng.normal();
                        let value = if q.enps || q.nps {
                            clamp_round(7.0 + 1.6 * latent + 1.0 * noise, 0, 10)
                        } else {
                            clamp_round(3.5 + 0.8 * latent + 0.5 * noise, 1, 5)
                        };
                        AnswerValue {
                            question_id: q.id.clone(),
                            ordinal: 0,
                            value: Some(value),
                            text: None,
                        }
                    })
                    .collect();
                batch.push(NewResponse {
                    department_id: Some(department_id),
                    attributes: "{}".to_string(),
                    employee_id: None,
                    answers,
                });
                if batch.len() == CHUNK {
                    flush(conn, &mut batch)?;
                }
            }
        }
        flush(conn, &mut batch)
    })?;
    Ok(wave_id)
}

/// Settings of the connection that stores the generated answers, for speed only; `false`
/// restores the defaults before anything is counted or measured. On SQLite: a page cache
/// of up to 4 GiB, so the random-keyed B-trees stay in memory while a wave is stored in
/// one transaction (with the default 2 MiB cache every insert reads and rewrites pages
/// through the OS), and statement journals in memory (each 2,000-row INSERT otherwise
/// copies every page it touches to a temporary file first: tens of GB per
/// 100,000-respondent wave). On PostgreSQL: commits that do not wait for the WAL flush.
pub fn bulk_load_settings(conn: &mut Conn, on: bool) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    match conn {
        Conn::Sqlite(c) => c.batch_execute(if on {
            "PRAGMA cache_size = -4194304; PRAGMA temp_store = MEMORY"
        } else {
            "PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT"
        }),
        Conn::Postgres(c) => c.batch_execute(if on {
            "SET synchronous_commit = off"
        } else {
            "RESET synchronous_commit"
        }),
    }?;
    Ok(())
}
