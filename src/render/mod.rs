//! Renderers: the only code that turns a report into text for people or other tools.

pub mod summary;
