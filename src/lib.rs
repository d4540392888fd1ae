//! dfopt: a codemod that rewrites Dockerfiles into smaller, safer images.
//!
//! Data flows one way: [`syntax`] parses a file losslessly, [`analysis`] finds its stages and
//! runtimes, [`passes`] return [`edit::Finding`]s with byte-range edits, [`engine`] applies them to a
//! fixed point and re-parses the result, and the CLI renders a diff, writes files or reports.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod diff;
pub mod discover;
pub mod edit;
pub mod engine;
pub mod model;
pub mod passes;
pub mod report;
pub mod server;
pub mod shell;
pub mod suppress;
pub mod syntax;
pub mod verify;
pub mod write;

pub use edit::{Edit, Finding, Fix, Safety};
pub use engine::{check_source, fix_source, FileOutcome};
pub use syntax::{Dockerfile, ParseError};
