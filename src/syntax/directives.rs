//! Parser directives (`# escape=`, `# syntax=`, `# check=`), after BuildKit's
//! `frontend/dockerfile/parser/directives.go`: they are only recognised in the comment lines at the
//! top of the file, before the first instruction, blank line or other comment.

use super::{Directive, ParseError, Span};

/// BuildKit's `DirectiveParser`: the escape character in force and the directives seen so far.
pub(super) struct DirectiveParser {
    /// The escape / line-continuation character (`\` or `` ` ``).
    pub(super) escape: char,
    /// Set once a line that cannot be a directive has been seen.
    done: bool,
    pub(super) seen: Vec<Directive>,
}

impl DirectiveParser {
    pub(super) fn new() -> Self {
        DirectiveParser {
            escape: '\\',
            done: false,
            seen: Vec::new(),
        }
    }

    /// BuildKit's `possibleParserDirective`. The parser asks for every line; only the lines at
    /// the top of the file can be directives, so the answer for the others is inlined.
    #[inline]
    pub(super) fn possible_directive(
        &mut self,
        token: &str,
        line_no: usize,
        token_start: usize,
    ) -> Result<(), ParseError> {
        if self.done {
            return Ok(());
        }
        self.read_directive(token, line_no, token_start)
    }

    /// [`Self::possible_directive`] for a line while directives may still come.
    fn read_directive(
        &mut self,
        token: &str,
        line_no: usize,
        token_start: usize,
    ) -> Result<(), ParseError> {
        match parse_directive_line(token) {
            Some((name, value)) => {
                let lname = name.to_ascii_lowercase();
                if !matches!(lname.as_str(), "escape" | "syntax" | "check") {
                    self.done = true;
                    return Ok(());
                }
                if self.seen.iter().any(|d| d.name == lname) {
                    return Err(ParseError::at(
                        line_no,
                        1,
                        format!("only one {lname} parser directive can be used"),
                    ));
                }
                if lname == "escape" {
                    match value {
                        "`" => self.escape = '`',
                        "\\" => self.escape = '\\',
                        _ => {
                            return Err(ParseError::at(
                                line_no,
                                1,
                                format!("invalid escape token '{value}' does not match ` or \\"),
                            ))
                        }
                    }
                }
                self.seen.push(Directive {
                    name: lname,
                    value: value.to_string(),
                    span: Span::new(token_start, token_start + token.len()),
                    line: line_no,
                });
                Ok(())
            }
            None => {
                self.done = true;
                Ok(())
            }
        }
    }
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (Go's `\s` is ASCII whitespace).
fn parse_directive_line(token: &str) -> Option<(&str, &str)> {
    let is_s = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r');
    let rest = token.strip_prefix('#')?.trim_start_matches(is_s);
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = &rest[..name_len];
    let after = rest[name_len..].trim_start_matches(is_s);
    let value = after
        .strip_prefix('=')?
        .trim_start_matches(is_s)
        .trim_end_matches(is_s);
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}
