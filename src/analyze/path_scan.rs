//! Hotspot analysis `path_scan` (not built yet).

use crate::model::Report;

pub fn analyze(_report: &Report) -> Option<serde_json::Value> {
    None
}
