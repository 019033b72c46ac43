//! A self-contained HTML view of a report, for a head to save or email on: inline CSS,
//! no scripts, no external assets, every text escaped. The same data as the text, JSON
//! and CSV views, with the same suppression.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::trend::{TrendChange, TrendReport};
use super::wave::{Comment, WaveReport};
use crate::stats::{Change, Gated, Interval, QuestionSummary, SuppressionReason};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;\
max-width:60rem;margin:0 auto;padding:1rem;line-height:1.4}\
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}\
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.ci{color:#555;font-size:.85em}.hidden{color:#666;font-style:italic}\
.up{color:#0a6b2d}.down{color:#a4161a}.note{color:#555;font-size:.9rem}\
@media print{body{max-width:none}}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.decimals$}"))
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
}

fn ci(i: Option<Interval>, f: impl Fn(f64) -> String) -> String {
    i.map_or_else(String::new, |i| {
        format!(" <span class=\"ci\">[{}, {}]</span>", f(i.lo), f(i.hi))
    })
}

fn hidden_reason(reason: Option<SuppressionReason>, threshold: u64, what: &str) -> String {
    match reason {
        Some(SuppressionReason::Differencing) => {
            crate::stats::suppression::DIFFERENCING_WORDING.to_string()
        }
        Some(SuppressionReason::TooFew { threshold }) => format!("fewer than {threshold} {what}"),
        _ => format!("fewer than {threshold} {what}"),
    }
}

fn question_row(out: &mut String, label: &str, gated: &Gated<QuestionSummary>, threshold: u64) {
    let _ = write!(out, "<tr><th scope=\"row\">{label}</th>");
    match gated.shown() {
        None => {
            let _ = write!(
                out,
                "<td colspan=\"4\" class=\"hidden\">{}</td>",
                escape(&hidden_reason(gated.suppression(), threshold, "answers"))
            );
        }
        Some(QuestionSummary::Scale(s)) => {
            // lost_time: its mean hours in the last column, which scales leave empty.
            let hours = match &s.hours {
                Some(h) => format!(
                    "<td class=\"num\">{} h lost{}</td>",
                    num(h.mean_hours, 2),
                    ci(h.mean_hours_ci, |v| format!("{v:.2}"))
                ),
                None => "<td></td>".to_string(),
            };
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td class=\"num\">{}{}</td><td class=\"num\">{}{}</td>{hours}",
                s.n,
                num(s.mean, 2),
                match crate::reports::render::mean_interval(s) {
                    text if text.is_empty() => text,
                    text => format!(" <span class=\"ci\">{text}</span>"),
                },
                pct(s.favorable),
                ci(s.favorable_ci, |v| format!("{:.0}%", v * 100.0)),
            );
        }
        Some(QuestionSummary::Nps(s)) => {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td></td><td></td><td class=\"num\">{}{}<br>\
                 <span class=\"ci\">{} promoters, {} passives, {} detractors</span></td>",
                s.n,
                num(s.enps, 1),
                ci(s.enps_ci, |v| format!("{v:.1}")),
                s.promoters,
                s.passives,
                s.detractors
            );
        }
        Some(QuestionSummary::Choice(c)) => {
            let shares: Vec<String> = c
                .options
                .iter()
                .map(|o| format!("{} {}", escape(&o.option), pct(o.share)))
                .collect();
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td colspan=\"3\">{}</td>",
                c.n,
                shares.join(", ")
            );
        }
        Some(QuestionSummary::Text(t)) => {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td colspan=\"3\">comments</td>",
                t.n
            );
        }
    }
    out.push_str("</tr>\n");
}

/// What a page shows of a wave's comments.
pub enum Comments<'a> {
    /// The survey asks for none (or they were not asked for).
    Absent,
    /// Fewer writers than the comment threshold.
    Withheld {
        threshold: u64,
    },
    Shown(&'a [Comment]),
}

fn comments_section(out: &mut String, comments: &Comments, texts: &BTreeMap<String, String>) {
    match comments {
        Comments::Absent => {}
        Comments::Withheld { threshold } => {
            let _ = writeln!(
                out,
                "<section>\n<h2>Comments</h2>\n<p class=\"hidden\">Comments are shown only for \
                 groups of at least {threshold} people.</p>\n</section>"
            );
        }
        Comments::Shown(list) => {
            let _ = writeln!(
                out,
                "<section>\n<h2>Comments</h2>\n<p class=\"note\">{} comments, in no particular order.</p>",
                list.len()
            );
            let mut by_question: BTreeMap<&str, Vec<&Comment>> = BTreeMap::new();
            for c in list.iter() {
                by_question.entry(&c.question).or_default().push(c);
            }
            for (question, list) in by_question {
                let _ = writeln!(
                    out,
                    "<h3>{}</h3>\n<ul>",
                    escape(texts.get(question).map_or(question, String::as_str))
                );
                for c in list {
                    match &c.department {
                        Some(d) => {
                            let _ = writeln!(
                                out,
                                "<li>{} <span class=\"ci\">({})</span></li>",
                                escape(&c.text),
                                escape(d)
                            );
                        }
                        None => {
                            let _ = writeln!(out, "<li>{}</li>", escape(&c.text));
                        }
                    }
                }
                out.push_str("</ul>\n");
            }
            out.push_str("</section>\n");
        }
    }
}

/// The report of one wave as a page. `texts` gives each question's wording (an id
/// without one is shown by its id).
pub fn wave_html(
    report: &WaveReport,
    order: &[String],
    texts: &BTreeMap<String, String>,
    comments: &Comments,
) -> String {
    let threshold = report.min_group_size;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{} — wave {}</h1>\n<p class=\"note\">Figures are shown only for groups of at least \
         {threshold} responses; intervals are 95% confidence intervals.</p>",
        escape(&report.survey),
        escape(&report.wave)
    );
    if !report.filters.is_empty() {
        let _ = writeln!(
            body,
            "<p>Filtered: {}</p>",
            escape(&report.filters.join(", "))
        );
    }
    for group in &report.groups {
        let name = group.department().unwrap_or("Whole audience");
        let _ = writeln!(body, "<section>\n<h2>{}</h2>", escape(name));
        let Some(figures) = group.content() else {
            let _ = writeln!(
                body,
                "<p class=\"hidden\">{}</p>\n</section>",
                escape(&hidden_reason(group.suppression(), threshold, "responses"))
            );
            continue;
        };
        let _ = writeln!(
            body,
            "<p>{} respondents</p>\n<table>\n<thead><tr><th scope=\"col\">Question</th>\
             <th scope=\"col\">n</th><th scope=\"col\">Mean [95% CI]</th>\
             <th scope=\"col\">Favourable [95% CI]</th><th scope=\"col\">NPS or hours lost [95% CI]</th></tr></thead>\n<tbody>",
            group.respondents().unwrap_or(0)
        );
        for id in order {
            let Some(gated) = figures.questions.get(id) else {
                continue;
            };
            // The id, and the type where it is a fixed measure (csat, ces, lost_time).
            let tag = match report.question_types.get(id).copied() {
                Some(kind @ ("csat" | "ces" | "lost_time")) => {
                    format!("{} · {kind}", escape(id))
                }
                _ => escape(id),
            };
            let label = match texts.get(id) {
                Some(text) => format!("{}<br><span class=\"ci\">{tag}</span>", escape(text)),
                None => tag,
            };
            question_row(&mut body, &label, gated, threshold);
        }
        body.push_str("</tbody>\n</table>\n");
        if !figures.services.is_empty() {
            body.push_str(
                "<table>\n<thead><tr><th scope=\"col\">Service</th><th scope=\"col\">n</th>\
                 <th scope=\"col\">Satisfaction (0–100)</th><th scope=\"col\">Favourable</th>\
                 <th scope=\"col\">NPS</th></tr></thead>\n<tbody>\n",
            );
            for (service, gated) in &figures.services {
                let _ = write!(body, "<tr><th scope=\"row\">{}</th>", escape(service));
                match gated.shown() {
                    Some(s) => {
                        let _ = write!(
                            body,
                            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                            s.n,
                            num(s.satisfaction, 1),
                            pct(s.favorable),
                            num(s.nps, 1)
                        );
                    }
                    None => {
                        let _ = write!(
                            body,
                            "<td colspan=\"4\" class=\"hidden\">{}</td>",
                            escape(&hidden_reason(gated.suppression(), threshold, "answers"))
                        );
                    }
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</tbody>\n</table>\n");
        }
        if let Some(drivers) = figures.drivers.as_ref().and_then(Gated::shown) {
            if !drivers.is_empty() {
                body.push_str(
                    "<p>Key drivers of eNPS (most linked, most room to improve):</p>\n<ol>\n",
                );
                for d in drivers.iter().take(crate::stats::SHOWN_DRIVERS) {
                    let _ = writeln!(
                        body,
                        "<li>{} (r {:.2}, {} favourable)</li>",
                        escape(texts.get(&d.question).unwrap_or(&d.question)),
                        d.r,
                        pct(Some(d.favorable))
                    );
                }
                body.push_str("</ol>\n");
            }
        }
        body.push_str("</section>\n");
    }
    comments_section(&mut body, comments, texts);
    page(&format!("{} — wave {}", report.survey, report.wave), &body)
}

fn change_cell(change: &Change, unit: impl Fn(f64) -> String) -> String {
    match change.delta {
        None => String::new(),
        Some(d) => {
            let (class, arrow, word) = if d > 0.0 {
                ("up", "↑", "up")
            } else if d < 0.0 {
                ("down", "↓", "down")
            } else {
                ("", "→", "unchanged")
            };
            let significance = if change.significant {
                format!(
                    ", significant (p = {})",
                    change.p_value.map_or("–".into(), |p| format!("{p:.3}"))
                )
            } else {
                String::new()
            };
            let star = if change.significant { "*" } else { "" };
            format!(
                " <span class=\"{class}\" title=\"{word} {}{}\">{arrow}{star} {}</span>",
                escape(&unit(d)),
                escape(&significance),
                escape(&unit(d))
            )
        }
    }
}

/// Every wave of a survey side by side for one group, as a page.
pub fn trend_html(report: &TrendReport) -> String {
    let threshold = report.min_group_size;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{} — trend for {}</h1>\n<p class=\"note\">Likert and rating questions: favourable \
         share; eNPS and NPS: score from −100 to 100. ↑↓ change from the wave before, * \
         significant at p &lt; 0.05. Figures are shown only for groups of at least {threshold} \
         responses.</p>",
        escape(&report.survey),
        escape(report.department.as_deref().unwrap_or("the whole audience"))
    );
    body.push_str("<table>\n<thead><tr><th scope=\"col\">Question</th>");
    for w in &report.waves {
        let _ = write!(body, "<th scope=\"col\">{}</th>", escape(&w.wave));
    }
    body.push_str("</tr></thead>\n<tbody>\n<tr><th scope=\"row\">Respondents</th>");
    for w in &report.waves {
        match w.respondents {
            Some(n) => {
                let _ = write!(body, "<td class=\"num\">{n}</td>");
            }
            None => {
                let _ = write!(
                    body,
                    "<td class=\"hidden\">fewer than {threshold} responses</td>"
                );
            }
        }
    }
    body.push_str("</tr>\n");
    for q in &report.questions {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}<br><span class=\"ci\">{}</span></th>",
            escape(&q.text),
            escape(&q.id)
        );
        for point in &q.waves {
            let cell = match point.figures.as_ref() {
                None => "<td class=\"hidden\">not asked</td>".to_string(),
                Some(gated) => match gated.shown() {
                    None => format!(
                        "<td class=\"hidden\">{}</td>",
                        escape(&hidden_reason(gated.suppression(), threshold, "answers"))
                    ),
                    Some(QuestionSummary::Scale(s)) => {
                        let mark = match &point.change {
                            Some(TrendChange::Scale(c)) => {
                                change_cell(&c.favorable, |d| format!("{:+.0} pts", d * 100.0))
                            }
                            _ => String::new(),
                        };
                        format!(
                            "<td class=\"num\">{}{}<br><span class=\"ci\">n {}</span></td>",
                            pct(s.favorable),
                            mark,
                            s.n
                        )
                    }
                    Some(QuestionSummary::Nps(s)) => {
                        let mark = match &point.change {
                            Some(TrendChange::Net { enps }) => {
                                change_cell(enps, |d| format!("{d:+.1}"))
                            }
                            _ => String::new(),
                        };
                        format!(
                            "<td class=\"num\">{}{}<br><span class=\"ci\">n {}</span></td>",
                            num(s.enps, 1),
                            mark,
                            s.n
                        )
                    }
                    Some(QuestionSummary::Choice(c)) => {
                        format!("<td class=\"num\">n {}</td>", c.n)
                    }
                    Some(QuestionSummary::Text(t)) => {
                        format!("<td class=\"num\">{} comments</td>", t.n)
                    }
                },
            };
            body.push_str(&cell);
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
    page(
        &format!(
            "{} — trend for {}",
            report.survey,
            report.department.as_deref().unwrap_or("the whole audience")
        ),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
