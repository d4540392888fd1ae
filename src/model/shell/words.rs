//! A command line as the argument vector a POSIX shell would run: the words of one simple command
//! with their quotes removed, read with the reader's own lexer ([`super::lex`]). It expands
//! nothing: `$X`, `${X}`, `$( )` and backticks stay as written, one word each, as `docker run`
//! passes them. What only a shell can run (operators, redirections, comments, here-documents) is
//! an error that names it, never a guess at what was meant.

use super::{lex_tolerant, Op, Part, PartKind, Tok, Unsupported};

/// Splits `text` into words with their quotes removed (`a "b c" d\ e` → `a`, `b c`, `d e`).
pub fn argv(text: &str) -> Result<Vec<String>, String> {
    let lexed = lex_tolerant(text).map_err(|e| match e {
        Unsupported::Unbalanced { at } => {
            format!("unterminated quote or bracket at byte {at}")
        }
        other => format!("not a command line: {other:?}"),
    })?;
    if let Some(c) = lexed.comments.first() {
        return Err(format!(
            "`#` at byte {} starts a shell comment: quote it, or run the line with `sh -c '…'`",
            c.start
        ));
    }
    if let Some(at) = lexed.here_documents.first() {
        return Err(format!(
            "`<<` at byte {at} is a here-document, which only a shell runs: use `sh -c '…'`"
        ));
    }
    if let Some(Unsupported::GluedParen { at }) = lexed.refused {
        return Err(format!(
            "`(` at byte {at} is shell syntax: quote it, or run the line with `sh -c '…'`"
        ));
    }
    let mut words = Vec::new();
    for tok in &lexed.toks {
        match *tok {
            Tok::Word { parts, .. } => {
                let parts = lexed
                    .parts
                    .get(parts.0 as usize..parts.1 as usize)
                    .unwrap_or(&[]);
                words.push(unquote(text, parts)?);
            }
            Tok::Op { op, span } => {
                let written = if op == Op::Newline {
                    "a line break"
                } else {
                    span.of(text)
                };
                return Err(format!(
                    "{} at byte {} is shell syntax: quote it, or run the line with `sh -c '…'`",
                    if op == Op::Newline {
                        written.to_string()
                    } else {
                        format!("`{written}`")
                    },
                    span.start
                ));
            }
            Tok::Redirect { span, .. } => {
                return Err(format!(
                    "`{}` at byte {} is a redirection, which only a shell does: use `sh -c '…'`",
                    span.of(text),
                    span.start
                ));
            }
        }
    }
    Ok(words)
}

/// A word's text with its quotes and escapes removed, expansions left as written.
fn unquote(text: &str, parts: &[Part]) -> Result<String, String> {
    let mut out = String::new();
    for p in parts {
        let raw = p.span.of(text);
        match p.kind {
            PartKind::Escaped => match raw.get(1..) {
                // A backslash before a line break joins the lines.
                Some("\n") => {}
                Some("") | None => return Err("trailing backslash".into()),
                Some(ch) => out.push_str(ch),
            },
            PartKind::SingleQuoted => out.push_str(raw.get(1..raw.len() - 1).unwrap_or("")),
            PartKind::DoubleQuoted => {
                // Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and a
                // line break (POSIX 2.2.3); before anything else it is kept.
                let inner = raw.get(1..raw.len() - 1).unwrap_or("");
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    if c != '\\' {
                        out.push(c);
                        continue;
                    }
                    match chars.next() {
                        Some(e @ ('$' | '`' | '"' | '\\')) => out.push(e),
                        Some('\n') => {}
                        Some(e) => {
                            out.push('\\');
                            out.push(e);
                        }
                        None => out.push('\\'),
                    }
                }
            }
            PartKind::Literal
            | PartKind::Parameter
            | PartKind::Braced { .. }
            | PartKind::CommandSubstitution
            | PartKind::Backticks
            | PartKind::Arithmetic => out.push_str(raw),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes_are_removed_expansions_kept() {
        assert_eq!(
            argv(r#"a "b c" d\ e 'f g' "x\"y" '' $HOME "${X} $(id -u)""#).unwrap(),
            [
                "a",
                "b c",
                "d e",
                "f g",
                "x\"y",
                "",
                "$HOME",
                "${X} $(id -u)"
            ]
        );
        assert_eq!(
            argv("node -e 'console.log(1)'").unwrap(),
            ["node", "-e", "console.log(1)"]
        );
        assert_eq!(argv("a\\\nb").unwrap(), ["ab"]);
        assert_eq!(argv("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn what_only_a_shell_runs_is_an_error_that_names_it() {
        for (text, says) in [
            ("'open", "unterminated"),
            ("a \\", "trailing backslash"),
            ("a; b", "`;`"),
            ("a && b", "`&&`"),
            ("a | b", "`|`"),
            ("a > out", "redirection"),
            ("a # note", "comment"),
            ("cat <<EOF", "here-document"),
            ("a\nb", "line break"),
            ("x=(1 2)", "`(`"),
        ] {
            let e = argv(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
