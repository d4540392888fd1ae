//! The process exit codes, shared by every command (`fix`, `check`, `verify`).

/// Success: nothing to report.
pub const EXIT_OK: i32 = 0;
/// Findings (`check`), files that would change (`fix --check`), or images that differ (`verify`).
pub const EXIT_FINDINGS: i32 = 1;
/// An error: bad flags or configuration, an unreadable file, no Docker engine.
pub const EXIT_ERROR: i32 = 2;
