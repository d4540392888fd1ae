//! dfopt: a codemod that rewrites Dockerfiles into smaller, safer images.
//!
//! Data flows one way: [`syntax`] parses a file losslessly, [`model`] says what it does (stages,
//! shells, runtimes, start commands), [`passes`] return [`edit::Finding`]s with byte-range edits,
//! [`engine`] applies them to a fixed point and re-parses the result, and the CLI renders a diff,
//! writes files or reports.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod discover;
pub mod display_path;
pub mod edit;
pub mod engine;
pub mod exit;
pub mod model;
pub mod passes;
pub mod report;
pub mod rule_args;
pub mod rule_data;
pub mod rule_ids;
pub mod server;
pub mod suppress;
pub mod syntax;
pub mod verify;
pub mod write;

/// The old home of the top-level shell reading, kept as a path for the modules that still import
/// it from here (runtime, multi-stage).
pub use model::top_level as shell;

pub use edit::{Edit, Finding, Fix, Safety};
pub use engine::{check_source, fix_source, FileOutcome};
pub use syntax::{Dockerfile, ParseError};
