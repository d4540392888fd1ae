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
                let parts = lexed.word_parts(parts);
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
pub(crate) fn unquote(text: &str, parts: &[Part]) -> Result<String, String> {
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

/// What a shell-form start command (`CMD node $APP`) uses of its shell, as far as starting it
/// without one goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineFeatures {
    /// `$`, backquotes, `~`: expansions done by the shell.
    pub expansion: bool,
    /// `*`, `?`, `[`, `{`, `}`: pathname or brace expansion.
    pub glob: bool,
    /// `<`, `>`.
    pub redirection: bool,
    /// `;`, `&`, `|`, `(`, `)`, a comment, a line break, an unclosed quote: more than one simple
    /// command, or text that is none.
    pub compound: bool,
}

impl LineFeatures {
    /// Whether the command needs its shell at all.
    pub fn any(self) -> bool {
        self.expansion || self.glob || self.redirection || self.compound
    }
}

/// A shell-form command line read with the reader's lexer: its words with quotes removed (exact
/// only when no feature is used) and the shell features it uses. Unlike [`argv`] it never fails:
/// what [`argv`] refuses is a feature here, and the words read up to it are still given, so a
/// caller can name the program.
pub fn command_line(text: &str) -> (Vec<String>, LineFeatures) {
    let mut features = LineFeatures::default();
    let lexed = match lex_tolerant(text) {
        Ok(lexed) => lexed,
        Err(e) => {
            // An unclosed quote or bracket: the words before it, and the unclosed rest as one.
            features.compound = true;
            let at = match e {
                Unsupported::Unbalanced { at }
                | Unsupported::Comment { at }
                | Unsupported::HereDocument { at }
                | Unsupported::GluedParen { at }
                | Unsupported::Construct { at }
                | Unsupported::Syntax { at } => at,
            };
            let (mut words, before) = command_line(text.get(..at).unwrap_or(""));
            let rest: String = text
                .get(at..)
                .unwrap_or("")
                .chars()
                .skip(1)
                .filter(|c| !matches!(c, '\'' | '"'))
                .collect();
            if !rest.is_empty() {
                words.push(rest);
            }
            // What the unclosed rest uses: nothing inside `'…`; expansions inside `"…`; a
            // substitution's text is classified character by character.
            let rest_raw = text.get(at..).unwrap_or("");
            match rest_raw.as_bytes().first() {
                Some(b'"') => features.expansion |= rest_raw.contains(['$', '`']),
                Some(b'`' | b'$') => {
                    features.expansion = true;
                    classify_chars(rest_raw, &mut features);
                }
                _ => {}
            }
            features.expansion |= before.expansion;
            features.glob |= before.glob;
            features.redirection |= before.redirection;
            return (words, features);
        }
    };
    if !lexed.comments.is_empty() || matches!(lexed.refused, Some(Unsupported::GluedParen { .. })) {
        features.compound = true;
    }
    if !lexed.here_documents.is_empty() {
        features.redirection = true;
    }
    let mut words = Vec::new();
    for tok in &lexed.toks {
        match *tok {
            Tok::Word { parts, .. } => {
                let parts = lexed.word_parts(parts);
                note_features(text, parts, &mut features);
                match unquote(text, parts) {
                    Ok(w) => words.push(w),
                    Err(_) => {
                        // A trailing backslash.
                        features.compound = true;
                        let w = unquote(text, &parts[..parts.len().saturating_sub(1)])
                            .unwrap_or_default();
                        if !w.is_empty() {
                            words.push(w);
                        }
                    }
                }
            }
            Tok::Op { .. } => features.compound = true,
            Tok::Redirect { span, .. } => {
                features.redirection = true;
                // The operator (`2>&1`, `&>`, `>|` hold a list operator's byte, which the check
                // has always counted as one) and a target glued to it, read as a word.
                let raw = span.of(text);
                let (_, op, glued) = super::split_redirect(raw);
                if op.contains(['&', '|']) {
                    features.compound = true;
                }
                let (_, target) = command_line(glued);
                features.expansion |= target.expansion;
                features.glob |= target.glob;
                features.redirection |= target.redirection;
                features.compound |= target.compound;
            }
        }
    }
    (words, features)
}

/// The features a word's parts use. Inside a substitution or `${ }` the text is classified
/// character by character (a `(` there is a subshell, a `{` a brace), as the start-command check
/// has always read it.
fn note_features(text: &str, parts: &[Part], f: &mut LineFeatures) {
    for (i, p) in parts.iter().enumerate() {
        let raw = p.span.of(text);
        match p.kind {
            PartKind::Literal => {
                if i == 0 && raw.starts_with('~') {
                    f.expansion = true;
                }
                if raw.contains('$') {
                    f.expansion = true;
                }
                if raw.contains(['*', '?', '[', '{', '}']) {
                    f.glob = true;
                }
                if raw.contains('(') {
                    f.compound = true;
                }
            }
            PartKind::Escaped | PartKind::SingleQuoted => {}
            PartKind::DoubleQuoted => {
                let mut chars = raw.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '$' | '`' => f.expansion = true,
                        _ => {}
                    }
                }
            }
            PartKind::Parameter => f.expansion = true,
            PartKind::Braced { .. }
            | PartKind::CommandSubstitution
            | PartKind::Backticks
            | PartKind::Arithmetic => {
                f.expansion = true;
                classify_chars(raw, f);
            }
        }
    }
}

/// The features of a substitution's text, character by character.
fn classify_chars(raw: &str, f: &mut LineFeatures) {
    for c in raw.chars() {
        match c {
            '\n' | ';' | '&' | '|' | '(' | ')' => f.compound = true,
            '*' | '?' | '[' | '{' | '}' => f.glob = true,
            '<' | '>' => f.redirection = true,
            _ => {}
        }
    }
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
