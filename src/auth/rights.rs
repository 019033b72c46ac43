//! What each role may read, decided on the server for every page, JSON route and CSV.
//!
//! - An admin (HR) sees everything.
//! - A head sees the groups of their department's subtree, the whole audience (the
//!   company-wide figures, to compare with), and, for each service their subtree provides
//!   (a section's `about` naming one of its departments), how every department rates it.
//!   Nothing else: no other department's questions, comments, drivers or response rates.
//!
//! Rights only ever remove groups or figures from reports the anonymity plan already
//! built; they never add one.

use serde::Serialize;

use crate::reports::org::Org;
use crate::reports::wave::{GroupFigures, WaveReport};
use crate::stats::{GroupReport, ServiceSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rights {
    Admin,
    Head { department_id: i64 },
}

/// Why a view is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this needs an HR account")]
    AdminOnly,
    #[error("that department is outside what your account may see")]
    Department,
}

impl Rights {
    pub fn is_admin(self) -> bool {
        matches!(self, Rights::Admin)
    }

    pub fn require_admin(self) -> Result<(), Refused> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Refused::AdminOnly)
        }
    }

    /// The department (id) a view of `requested` shows: a named department the account
    /// may see; without a name, an admin's whole company (`None`) or a head's department.
    /// Unknown names are refused for heads like foreign ones (nothing to learn by probing).
    pub fn department_view(
        self,
        org: &Org,
        requested: Option<&str>,
    ) -> Result<Option<i64>, DepartmentViewError> {
        match (self, requested) {
            (Rights::Admin, None) => Ok(None),
            (Rights::Admin, Some(name)) => org
                .by_name(name)
                .map(|d| Some(d.id))
                .ok_or_else(|| DepartmentViewError::Unknown(org.known_names())),
            (Rights::Head { department_id }, None) => {
                if org.name(department_id).is_some() {
                    Ok(Some(department_id))
                } else {
                    Err(DepartmentViewError::Refused(Refused::Department))
                }
            }
            (Rights::Head { department_id }, Some(name)) => match org.by_name(name) {
                Some(d) if org.subtree(department_id).contains(&d.id) => Ok(Some(d.id)),
                _ => Err(DepartmentViewError::Refused(Refused::Department)),
            },
        }
    }

    /// The services whose ratings by every department the account may read.
    pub fn services<'a>(self, org: &Org, services: &[&'a str]) -> Vec<&'a str> {
        match self {
            Rights::Admin => services.to_vec(),
            Rights::Head { department_id } => {
                let mine = org.subtree(department_id);
                services
                    .iter()
                    .copied()
                    .filter(|s| org.by_name(s).is_some_and(|d| mine.contains(&d.id)))
                    .collect()
            }
        }
    }

    /// Departments whose comments and response rates the account may read.
    pub fn may_see(self, org: &Org, department_id: i64) -> bool {
        match self {
            Rights::Admin => true,
            Rights::Head {
                department_id: root,
            } => org.subtree(root).contains(&department_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepartmentViewError {
    Refused(Refused),
    /// An admin named a department that does not exist; the names that do.
    Unknown(String),
}

/// A wave report cut to what an account may read.
#[derive(Debug, Clone, Serialize)]
pub struct ScopedReport {
    pub survey: String,
    pub wave: String,
    pub min_group_size: u64,
    /// The release the figures come from; `null` before the wave's first.
    pub release: Option<crate::reports::release::ReleaseInfo>,
    /// The department viewed; `null`: the whole company.
    pub department: Option<String>,
    /// Each question's `type` by id (see `WaveReport::question_types`).
    pub question_types: std::collections::BTreeMap<String, &'static str>,
    /// The whole audience first (for comparison), then the viewed subtree in tree order.
    pub groups: Vec<GroupReport<GroupFigures>>,
    /// How each department rates the services the account may read about.
    pub service_ratings: Vec<ServiceRatings>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceRatings {
    pub service: String,
    pub by_department: Vec<ServiceRating>,
}

/// One group's rating of one service; `figures` is `null` when withheld.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRating {
    /// `null`: the whole audience.
    pub department: Option<String>,
    pub suppressed: bool,
    #[serde(flatten)]
    pub figures: Option<ServiceSummary>,
}

impl ScopedReport {
    /// The report as the CSV renderer takes it: the groups only.
    pub fn as_wave_report(&self) -> WaveReport {
        WaveReport {
            survey: self.survey.clone(),
            wave: self.wave.clone(),
            min_group_size: self.min_group_size,
            release: self.release,
            filters: Vec::new(),
            question_types: self.question_types.clone(),
            groups: self.groups.clone(),
        }
    }
}

/// Cuts `full` (the report of every group, as the anonymity plan built it) to the view
/// of `department` (None: the company) and the services `services`.
pub fn scope_report(
    full: &WaveReport,
    org: &Org,
    department: Option<i64>,
    services: &[&str],
) -> ScopedReport {
    let members: Option<Vec<i64>> = department.map(|d| org.subtree(d));
    let wanted = |name: Option<&str>| -> bool {
        match (name, &members) {
            (None, _) => true,
            (Some(_), None) => true,
            (Some(name), Some(members)) => {
                org.by_name(name).is_some_and(|d| members.contains(&d.id))
            }
        }
    };
    let groups = full
        .groups
        .iter()
        .filter(|g| wanted(g.department()))
        .cloned()
        .collect();
    let service_ratings = services
        .iter()
        .map(|service| ServiceRatings {
            service: service.to_string(),
            by_department: full
                .groups
                .iter()
                .map(|g| {
                    let figures = g
                        .content()
                        .and_then(|f| f.services.get(*service))
                        .and_then(|s| s.shown())
                        .copied();
                    ServiceRating {
                        department: g.department().map(str::to_string),
                        suppressed: figures.is_none(),
                        figures,
                    }
                })
                .collect(),
        })
        .collect();
    ScopedReport {
        survey: full.survey.clone(),
        wave: full.wave.clone(),
        min_group_size: full.min_group_size,
        release: full.release,
        department: department.and_then(|d| org.name(d)).map(str::to_string),
        question_types: full.question_types.clone(),
        groups,
        service_ratings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        Org::from_rows(vec![
            (1, "Company".into(), None),
            (2, "Sales".into(), Some(1)),
            (3, "IT".into(), Some(1)),
            (4, "Sales North".into(), Some(2)),
        ])
    }

    #[test]
    fn heads_see_their_subtree_only() {
        let org = org();
        let head = Rights::Head { department_id: 2 };
        assert_eq!(head.department_view(&org, None), Ok(Some(2)));
        assert_eq!(head.department_view(&org, Some("Sales North")), Ok(Some(4)));
        for other in ["IT", "Company", "Nowhere"] {
            assert_eq!(
                head.department_view(&org, Some(other)),
                Err(DepartmentViewError::Refused(Refused::Department))
            );
        }
        assert!(head.may_see(&org, 4) && !head.may_see(&org, 3));
        assert_eq!(Rights::Admin.department_view(&org, Some("IT")), Ok(Some(3)));
        assert!(matches!(
            Rights::Admin.department_view(&org, Some("Nowhere")),
            Err(DepartmentViewError::Unknown(_))
        ));
        assert_eq!(Rights::Admin.department_view(&org, None), Ok(None));
    }

    #[test]
    fn services_follow_the_providing_department() {
        let org = org();
        let all = ["IT", "HR"];
        assert_eq!(
            Rights::Head { department_id: 3 }.services(&org, &all),
            vec!["IT"]
        );
        assert!(Rights::Head { department_id: 2 }
            .services(&org, &all)
            .is_empty());
        assert_eq!(
            Rights::Head { department_id: 1 }.services(&org, &all),
            vec!["IT"]
        );
        assert_eq!(Rights::Admin.services(&org, &all), vec!["IT", "HR"]);
        assert!(Rights::Admin.require_admin().is_ok());
        assert!(Rights::Head { department_id: 1 }.require_admin().is_err());
    }
}
