//! What an import would change, worked out in memory from the files and the current
//! rows, so `--dry-run` and the real import report the same figures.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::csv_input::{DepartmentRow, RosterEmployee, RowError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDepartment {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub head_email: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEmployee {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub department_id: i64,
    pub manager_email: Option<String>,
    pub location: Option<String>,
    pub hire_date: Option<NaiveDate>,
    pub attributes: String,
    pub active: bool,
}

/// The state a department should be left in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentState {
    pub name: String,
    pub parent: Option<String>,
    pub head_email: Option<String>,
    pub active: bool,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Departments to create (names), before anything refers to them.
    pub new_departments: Vec<String>,
    /// Departments whose parent, head or active flag must change (new ones included).
    pub department_changes: Vec<DepartmentState>,
    pub added: Vec<RosterEmployee>,
    pub updated: Vec<(i64, RosterEmployee)>,
    pub unchanged: usize,
    /// Ids of employees absent from the new roster: marked as left, never deleted.
    pub left: Vec<i64>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.new_departments.is_empty()
            && self.department_changes.is_empty()
            && self.added.is_empty()
            && self.updated.is_empty()
            && self.left.is_empty()
    }
}

/// Canonical JSON of an employee's attributes: sorted keys, so equal maps compare equal.
pub fn attributes_json(attributes: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "{}".to_string())
}

pub fn plan(
    roster_file: &str,
    employees: &[RosterEmployee],
    departments_file: Option<&[DepartmentRow]>,
    stored_departments: &[StoredDepartment],
    stored_employees: &[StoredEmployee],
) -> Result<Plan, Vec<RowError>> {
    let mut plan = Plan::default();
    let name_of: HashMap<i64, &str> = stored_departments
        .iter()
        .map(|d| (d.id, d.name.as_str()))
        .collect();
    let stored_by_name: HashMap<&str, &StoredDepartment> = stored_departments
        .iter()
        .map(|d| (d.name.as_str(), d))
        .collect();

    let desired: Vec<DepartmentState> = match departments_file {
        Some(rows) => {
            let listed: HashSet<&str> = rows.iter().map(|d| d.name.as_str()).collect();
            let mut states: Vec<DepartmentState> = rows
                .iter()
                .map(|d| DepartmentState {
                    name: d.name.clone(),
                    parent: d.parent.clone(),
                    head_email: d.head_email.clone(),
                    active: true,
                })
                .collect();
            // Departments gone from the file stay for past reports, but inactive.
            states.extend(
                stored_departments
                    .iter()
                    .filter(|d| d.active && !listed.contains(d.name.as_str()))
                    .map(|d| DepartmentState {
                        name: d.name.clone(),
                        parent: d
                            .parent_id
                            .and_then(|p| name_of.get(&p))
                            .map(|s| s.to_string()),
                        head_email: d.head_email.clone(),
                        active: false,
                    }),
            );
            states
        }
        None => {
            // Without a departments file the organisation is flat: new names become
            // top-level departments, unless a tree was loaded before, where a new flat
            // department would silently sit outside it.
            let has_tree = stored_departments.iter().any(|d| d.parent_id.is_some());
            let mut seen = HashSet::new();
            let mut states = Vec::new();
            let mut errors = Vec::new();
            for e in employees {
                if stored_by_name.contains_key(e.department.as_str())
                    || !seen.insert(e.department.as_str())
                {
                    continue;
                }
                if has_tree {
                    errors.push(RowError {
                        file: roster_file.to_string(),
                        row: Some(e.row),
                        message: format!(
                            "the department \"{}\" is not known; add it to the departments file and import with --departments",
                            e.department
                        ),
                    });
                } else {
                    states.push(DepartmentState {
                        name: e.department.clone(),
                        parent: None,
                        head_email: None,
                        active: true,
                    });
                }
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            states
        }
    };
    for state in desired {
        match stored_by_name.get(state.name.as_str()) {
            None => {
                plan.new_departments.push(state.name.clone());
                if state.parent.is_some() || state.head_email.is_some() || !state.active {
                    plan.department_changes.push(state);
                }
            }
            Some(stored) => {
                let stored_parent = stored.parent_id.and_then(|p| name_of.get(&p)).copied();
                if stored_parent != state.parent.as_deref()
                    || stored.head_email != state.head_email
                    || stored.active != state.active
                {
                    plan.department_changes.push(state);
                }
            }
        }
    }

    let stored_by_email: HashMap<&str, &StoredEmployee> = stored_employees
        .iter()
        .map(|e| (e.email.as_str(), e))
        .collect();
    let mut present = HashSet::with_capacity(employees.len());
    for e in employees {
        present.insert(e.email.as_str());
        match stored_by_email.get(e.email.as_str()) {
            None => plan.added.push(e.clone()),
            Some(stored) => {
                let same = stored.active
                    && stored.name == e.name
                    && name_of.get(&stored.department_id).copied() == Some(e.department.as_str())
                    && stored.manager_email == e.manager_email
                    && stored.location == e.location
                    && stored.hire_date == e.hire_date
                    && stored.attributes == attributes_json(&e.attributes);
                if same {
                    plan.unchanged += 1;
                } else {
                    plan.updated.push((stored.id, e.clone()));
                }
            }
        }
    }
    plan.left = stored_employees
        .iter()
        .filter(|e| e.active && !present.contains(e.email.as_str()))
        .map(|e| e.id)
        .collect();
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn employee(email: &str, department: &str) -> RosterEmployee {
        RosterEmployee {
            row: 2,
            email: email.into(),
            name: email.into(),
            department: department.into(),
            manager_email: None,
            location: None,
            hire_date: None,
            attributes: BTreeMap::new(),
        }
    }

    fn stored_employee(id: i64, email: &str, department_id: i64, active: bool) -> StoredEmployee {
        StoredEmployee {
            id,
            email: email.into(),
            name: email.into(),
            department_id,
            manager_email: None,
            location: None,
            hire_date: None,
            attributes: "{}".into(),
            active,
        }
    }

    fn department(id: i64, name: &str, parent_id: Option<i64>) -> StoredDepartment {
        StoredDepartment {
            id,
            name: name.into(),
            parent_id,
            head_email: None,
            active: true,
        }
    }

    #[test]
    fn sorts_employees_into_added_updated_unchanged_and_left() {
        let stored_departments = vec![department(1, "IT", None), department(2, "HR", None)];
        let stored = vec![
            stored_employee(10, "same@x.io", 1, true),
            stored_employee(11, "moved@x.io", 1, true),
            stored_employee(12, "gone@x.io", 1, true),
            stored_employee(13, "back@x.io", 1, false),
            stored_employee(14, "long-gone@x.io", 1, false),
        ];
        let roster = vec![
            employee("same@x.io", "IT"),
            employee("moved@x.io", "HR"),
            employee("back@x.io", "IT"),
            employee("new@x.io", "Finance"),
        ];
        let plan = plan("r.csv", &roster, None, &stored_departments, &stored).unwrap();
        assert_eq!(plan.new_departments, vec!["Finance"]);
        assert_eq!(plan.added.len(), 1);
        assert_eq!(
            plan.updated.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![11, 13]
        );
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.left, vec![12]);
    }

    #[test]
    fn a_loaded_tree_refuses_unknown_flat_departments() {
        let stored_departments = vec![department(1, "Company", None), department(2, "IT", Some(1))];
        let errors = plan(
            "r.csv",
            &[employee("a@x.io", "Sales")],
            None,
            &stored_departments,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "r.csv:2: the department \"Sales\" is not known; add it to the departments file and import with --departments"
        );
    }

    #[test]
    fn departments_missing_from_the_file_become_inactive() {
        let stored_departments = vec![
            department(1, "Company", None),
            department(2, "Old", Some(1)),
        ];
        let rows = vec![DepartmentRow {
            row: 2,
            name: "Company".into(),
            parent: None,
            head_email: None,
        }];
        let plan = plan(
            "r.csv",
            &[employee("a@x.io", "Company")],
            Some(&rows),
            &stored_departments,
            &[],
        )
        .unwrap();
        assert_eq!(
            plan.department_changes,
            vec![DepartmentState {
                name: "Old".into(),
                parent: Some("Company".into()),
                head_email: None,
                active: false
            }]
        );
    }
}
