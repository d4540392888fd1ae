//! What dfopt knows about a Dockerfile's RUN scripts, independent of any rule: rules read the
//! model, never each other.

pub mod files;
pub mod packages;
pub mod script;
pub mod top_level;
