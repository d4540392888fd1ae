//! The one error type for a problem at a place in a file, shown the way compilers show theirs
//! (`path:line:col: error: message`), so that editors and CI annotations can jump to it.

use std::fmt;
use std::path::PathBuf;

/// A problem located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user names it (relative to the current folder; `-` for standard input).
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        path: impl Into<PathBuf>,
        line: usize,
        col: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.into(),
            line,
            col,
            message: message.into(),
        }
    }

    /// A problem with the file as a whole (unreadable, already exists, ...), located at its start.
    pub fn whole_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic::new(path, 1, 1, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_like_a_compiler_error() {
        assert_eq!(
            Diagnostic::new("a/Dockerfile", 3, 7, "bad").to_string(),
            "a/Dockerfile:3:7: error: bad"
        );
        assert_eq!(
            Diagnostic::whole_file("-", "cannot read standard input: x").to_string(),
            "-:1:1: error: cannot read standard input: x"
        );
    }
}
