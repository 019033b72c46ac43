//! The comments of a wave as views show them: those of its latest release, for a group
//! whose comments it shows (`min_comment_group_size`, with the same differencing rule as
//! figures), naming the writer's department only where that department alone reaches
//! the threshold, in an order that says nothing about when they were written. Every output
//! of comments (pages, JSON, exports) reads them here.

use super::org::Org;
use super::wave::Comment;
use super::ReportError;
use crate::db::Conn;

/// The shown comments of a wave for the whole audience (`scope` None) or a department
/// subtree, each with its question's id; `None` when the group's comments are withheld
/// (or the wave has no release yet).
pub fn shown(
    conn: &mut Conn,
    wave_id: i64,
    org: &Org,
    scope: Option<i64>,
) -> Result<Option<Vec<Comment>>, ReportError> {
    match super::release::latest(conn, wave_id)? {
        Some(released) => super::release::comments(conn, &released, org, scope),
        None => Ok(None),
    }
}
