//! The file's own style, for rules that write continuation lines: the continuation indent, where
//! `&&` goes (start or end of a line), the newline and the escape character. One reader, so that
//! text chain-runs writes and text the RUN-editing rules write look alike.

use crate::config::{OperatorPosition, Settings};
use crate::syntax::{Dockerfile, Instruction, Keyword, LineKind, Span};

/// Indentation of continuation lines when neither the settings nor the file give one.
pub const DEFAULT_INDENT: &str = "    ";

/// How continuation lines are written in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stylist {
    /// `\n` or `\r\n`, as the file writes its lines.
    pub newline: &'static str,
    /// The escape character (`\`, or `` ` `` after an `# escape=` directive).
    pub escape: char,
    /// `&&` goes at the end of a continued line rather than at the start of the next one.
    pub trailing_operator: bool,
    /// The indent the settings ask for, which wins over the file's.
    configured_indent: Option<String>,
}

impl Stylist {
    /// Reads the style of `doc`, with the settings' choices taking precedence.
    pub fn detect(doc: &Dockerfile, settings: &Settings) -> Stylist {
        let trailing_operator = match settings.operator_position {
            OperatorPosition::Leading => false,
            OperatorPosition::Trailing => true,
            OperatorPosition::Auto => prefers_trailing_operator(doc),
        };
        Stylist {
            newline: doc.newline(),
            escape: doc.escape,
            trailing_operator,
            configured_indent: settings.indent.clone(),
        }
    }

    /// The indent for commands joined after `first`: the settings', else that of `&&` lines in
    /// `first`, else in any RUN of the file, else of `first`'s continuation lines, else of any
    /// RUN's, else `default`.
    pub fn join_indent(&self, doc: &Dockerfile, first: &Instruction, default: &str) -> String {
        if let Some(i) = &self.configured_indent {
            return i.clone();
        }
        let indent = |ins: &Instruction, want_operator: bool| {
            ins.lines.iter().skip(1).find_map(|l| match l.kind {
                LineKind::Code { .. } => {
                    let t = doc.text(l.span);
                    let rest = t.trim_start();
                    let ws = &t[..t.len() - rest.len()];
                    (!ws.is_empty() && (!want_operator || rest.starts_with("&&")))
                        .then(|| ws.to_string())
                }
                _ => None,
            })
        };
        let runs = || doc.instructions.iter().filter(|i| i.kind() == Keyword::Run);
        indent(first, true)
            .or_else(|| runs().find_map(|i| indent(i, true)))
            .or_else(|| indent(first, false))
            .or_else(|| runs().find_map(|i| indent(i, false)))
            .unwrap_or_else(|| default.to_string())
    }

    /// The indent for commands appended to a RUN whose code lines are `code_lines`: the settings',
    /// else that of its last indented continuation line, else [`DEFAULT_INDENT`].
    pub fn append_indent(&self, doc: &Dockerfile, code_lines: &[Span]) -> String {
        if let Some(i) = &self.configured_indent {
            return i.clone();
        }
        code_lines
            .iter()
            .skip(1)
            .rev()
            .find_map(|span| {
                let t = doc.text(*span);
                let ws = &t[..t.len() - t.trim_start().len()];
                (!ws.is_empty()).then(|| ws.to_string())
            })
            .unwrap_or_else(|| DEFAULT_INDENT.to_string())
    }
}

/// True when the file's multi-line RUNs put `&&` at the end of lines more often than at the start.
pub fn prefers_trailing_operator(doc: &Dockerfile) -> bool {
    let (mut leading, mut trailing) = (0, 0);
    for ins in doc.instructions.iter().filter(|i| i.kind() == Keyword::Run) {
        for l in &ins.lines {
            if let LineKind::Code { content, continued } = l.kind {
                let t = doc.text(content).trim();
                if t.starts_with("&&") {
                    leading += 1;
                }
                if continued && t.ends_with("&&") {
                    trailing += 1;
                }
            }
        }
    }
    trailing > leading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_operator_position_and_indent() {
        let doc = Dockerfile::parse("FROM a\nRUN a &&\\\n  b &&\\\n  c\nRUN d\n").unwrap();
        let s = Stylist::detect(&doc, &Settings::default());
        assert!(s.trailing_operator);
        assert_eq!(s.newline, "\n");
        let last = doc.instructions.last().unwrap();
        assert_eq!(s.join_indent(&doc, last, DEFAULT_INDENT), "  ");
    }
}
