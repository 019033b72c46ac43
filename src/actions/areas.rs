//! Areas of a wave's results that call for an action: where a department is below the
//! company, or where a service is rated below the company by a consumer department;
//! and the actions that answer a wave. Pure: reports and actions in, areas out.

use chrono::NaiveDateTime;

use super::Action;
use crate::reports::wave::WaveReport;
use crate::stats::QuestionSummary;

/// Questions (likert and rating) on which a department's favourable share is below the
/// company's, both shown in the release.
pub fn below_company(report: &WaveReport, department: &str) -> Vec<String> {
    let favorable = |name: Option<&str>, id: &str| -> Option<f64> {
        let group = report.groups.iter().find(|g| g.department() == name)?;
        match group.content()?.questions.get(id)?.shown()? {
            QuestionSummary::Scale(s) => s.favorable,
            _ => None,
        }
    };
    let Some(company) = report.groups.first().and_then(|g| g.content()) else {
        return Vec::new();
    };
    company
        .questions
        .keys()
        .filter(|id| {
            matches!(
                (favorable(None, id), favorable(Some(department), id)),
                (Some(c), Some(d)) if d < c
            )
        })
        .cloned()
        .collect()
}

/// Services a department's rating of falls below the company's.
pub fn services_below(report: &WaveReport, service: &str, consumers: &[&str]) -> Vec<String> {
    let rating = |name: Option<&str>| -> Option<f64> {
        let group = report.groups.iter().find(|g| g.department() == name)?;
        group.content()?.services.get(service)?.shown()?.favorable
    };
    let Some(company) = rating(None) else {
        return Vec::new();
    };
    consumers
        .iter()
        .filter(|d| rating(Some(d)).is_some_and(|r| r < company))
        .map(|d| d.to_string())
        .collect()
}

/// Actions that answer a wave's results: recorded against it, or made after it closed.
pub fn answering<'a>(
    all: &'a [Action],
    label: &str,
    closed: Option<NaiveDateTime>,
) -> Vec<&'a Action> {
    all.iter()
        .filter(|a| match &a.wave {
            Some(w) => w == label,
            None => closed.is_some_and(|c| a.created_at >= c),
        })
        .collect()
}
