//! The department tree as reports walk it.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use crate::db::schema::departments;
use crate::db::{Conn, DbError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDepartment {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub depth: usize,
}

/// Every department (inactive ones too: past waves may hold their answers), in tree
/// order: parents before children, siblings by name.
#[derive(Debug, Clone, Default)]
pub struct Org {
    pub departments: Vec<OrgDepartment>,
    children: HashMap<Option<i64>, Vec<i64>>,
}

impl Org {
    pub fn load(conn: &mut Conn) -> Result<Org, DbError> {
        let rows: Vec<(i64, String, Option<i64>)> = crate::with_conn!(*conn, c => departments::table
            .select((departments::id, departments::name, departments::parent_id))
            .load(c))?;
        Ok(Org::from_rows(rows))
    }

    pub fn from_rows(rows: Vec<(i64, String, Option<i64>)>) -> Org {
        let names: BTreeMap<i64, (String, Option<i64>)> = rows
            .into_iter()
            .map(|(id, name, parent)| (id, (name, parent)))
            .collect();
        let mut children: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
        for (id, (_, parent)) in &names {
            // A parent that is not a department (should not happen) makes a top department.
            let parent = parent.filter(|p| names.contains_key(p));
            children.entry(parent).or_default().push(*id);
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| names[a].0.cmp(&names[b].0));
        }
        let mut departments = Vec::with_capacity(names.len());
        let mut stack: Vec<(i64, usize)> = children
            .get(&None)
            .map(|top| top.iter().rev().map(|id| (*id, 0)).collect())
            .unwrap_or_default();
        while let Some((id, depth)) = stack.pop() {
            let (name, parent) = &names[&id];
            departments.push(OrgDepartment {
                id,
                name: name.clone(),
                parent_id: parent.filter(|p| names.contains_key(p)),
                depth,
            });
            if let Some(kids) = children.get(&Some(id)) {
                stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
            }
        }
        Org {
            departments,
            children,
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&OrgDepartment> {
        self.departments.iter().find(|d| d.name == name)
    }

    pub fn name(&self, id: i64) -> Option<&str> {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.as_str())
    }

    /// `id` and every department below it.
    pub fn subtree(&self, id: i64) -> Vec<i64> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = self.children.get(&Some(out[i])) {
                out.extend(kids);
            }
            i += 1;
        }
        out
    }

    /// The departments a view shows: all, or the subtree of `scope`, in tree order.
    pub fn in_scope(&self, scope: Option<i64>) -> Vec<&OrgDepartment> {
        match scope {
            None => self.departments.iter().collect(),
            Some(root) => {
                let members = self.subtree(root);
                self.departments
                    .iter()
                    .filter(|d| members.contains(&d.id))
                    .collect()
            }
        }
    }

    /// A message listing the department names, for "unknown department" errors.
    pub fn known_names(&self) -> String {
        self.departments
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_order_and_subtrees() {
        let org = Org::from_rows(vec![
            (1, "Company".into(), None),
            (2, "Sales".into(), Some(1)),
            (3, "IT".into(), Some(1)),
            (4, "Sales North".into(), Some(2)),
            (5, "Archive".into(), None),
        ]);
        let order: Vec<(&str, usize)> = org
            .departments
            .iter()
            .map(|d| (d.name.as_str(), d.depth))
            .collect();
        assert_eq!(
            order,
            vec![
                ("Archive", 0),
                ("Company", 0),
                ("IT", 1),
                ("Sales", 1),
                ("Sales North", 2)
            ]
        );
        assert_eq!(org.subtree(2), vec![2, 4]);
        assert_eq!(org.in_scope(Some(2)).len(), 2);
    }
}
