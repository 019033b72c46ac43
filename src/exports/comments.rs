//! The comments of a wave for the command line's reports (the rules: `reports::comments`),
//! and the wording of its questions.

use super::{find_wave, ExportError, ExportQuery};
use crate::db::Conn;
use crate::reports;
use crate::reports::org::Org;
use crate::reports::wave::Comment;

/// The shown comments of a wave for the whole audience or a department subtree; `None`
/// when the group's comments are withheld.
pub fn wave_comments(
    conn: &mut Conn,
    query: &ExportQuery,
) -> Result<Option<Vec<Comment>>, ExportError> {
    let (waves, index) = find_wave(conn, query.survey, query.wave)?;
    let wave_row = &waves[index];
    let org = Org::load(conn)?;
    let scope = match query.department {
        None => None,
        Some(name) => Some(
            org.by_name(name)
                .ok_or_else(|| reports::ReportError::UnknownDepartment {
                    name: name.to_string(),
                    known: org.known_names(),
                })?
                .id,
        ),
    };
    Ok(reports::comments::shown(conn, wave_row.id, &org, scope)?)
}

/// Each question's wording in the wave's definition, and its comment threshold.
pub fn question_texts(
    conn: &mut Conn,
    survey: &str,
    wave_label: &str,
) -> Result<(std::collections::BTreeMap<String, String>, u64), ExportError> {
    let (waves, index) = find_wave(conn, survey, wave_label)?;
    let definition = reports::wave_definition(conn, waves[index].version_id)?;
    let texts = definition
        .questions()
        .map(|(_, q)| (q.id.value.clone(), q.text.default.clone()))
        .collect();
    Ok((texts, u64::from(definition.min_comment_group_size)))
}
