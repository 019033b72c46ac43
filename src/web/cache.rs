//! Parsed definition versions, kept per process: a version never changes once stored,
//! so it is parsed once rather than on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::Conn;
use crate::definitions::Definition;
use crate::reports::ReportError;

#[derive(Default)]
pub struct DefinitionCache {
    versions: Mutex<HashMap<i64, Arc<Definition>>>,
}

impl DefinitionCache {
    pub fn get(&self, conn: &mut Conn, version_id: i64) -> Result<Arc<Definition>, ReportError> {
        if let Some(found) = self
            .versions
            .lock()
            .ok()
            .and_then(|v| v.get(&version_id).cloned())
        {
            return Ok(found);
        }
        let definition = Arc::new(crate::reports::wave_definition(conn, version_id)?);
        if let Ok(mut versions) = self.versions.lock() {
            versions.insert(version_id, definition.clone());
        }
        Ok(definition)
    }
}
