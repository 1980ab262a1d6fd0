//! Renderers: the only code that turns a report into text for people or other tools.

pub mod init_chain;
pub mod summary;
