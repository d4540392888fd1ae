//! exec-form-start's own word splitter and feature scan (`split_posix`), before it became a
//! reading of the model's shell lexer (`model::shell::command_line`), kept verbatim as the oracle of
//! `tests/shell_tree_equivalence.rs`.

/// What a shell-form command uses of its shell, as far as conversion goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// `$`, backquotes, `~`: expansions done by the shell.
    pub expansion: bool,
    /// `*`, `?`, `[`, `{`: pathname or brace expansion.
    pub glob: bool,
    /// `<`, `>`.
    pub redirection: bool,
    /// `;`, `&`, `|`, `(`, `)`, a comment, a newline: more than one simple command.
    pub compound: bool,
}

impl Features {
    pub fn any(self) -> bool {
        self.expansion || self.glob || self.redirection || self.compound
    }
    pub fn describe(self) -> String {
        let mut what = Vec::new();
        if self.compound {
            what.push("command lists, pipes or subshells");
        }
        if self.expansion {
            what.push("variables or substitutions");
        }
        if self.glob {
            what.push("globs");
        }
        if self.redirection {
            what.push("redirections");
        }
        what.join(", ")
    }
}

/// Splits a POSIX shell command into the words the shell would pass to `exec`, removing quotes
/// and backslashes as it does, and notes the shell features it uses. Words are exact only when no
/// feature is used.
pub fn split_posix(text: &str) -> (Vec<String>, Features) {
    let mut words = Vec::new();
    let mut features = Features::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\n' | ';' | '&' | '|' | '(' | ')' => features.compound = true,
            '#' if !in_word => {
                features.compound = true;
                break;
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    word.push(n);
                    in_word = true;
                }
                None => features.compound = true,
            },
            '\'' => {
                in_word = true;
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '\'' {
                        closed = true;
                        break;
                    }
                    word.push(q);
                }
                features.compound |= !closed;
            }
            '"' => {
                in_word = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.peek() {
                            Some(&n @ ('$' | '`' | '"' | '\\')) => {
                                word.push(n);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        '$' | '`' => {
                            features.expansion = true;
                            word.push(q);
                        }
                        _ => word.push(q),
                    }
                }
                features.compound |= !closed;
            }
            '$' | '`' => {
                features.expansion = true;
                word.push(c);
                in_word = true;
            }
            '~' if !in_word => {
                features.expansion = true;
                word.push(c);
                in_word = true;
            }
            '*' | '?' | '[' | '{' | '}' => {
                features.glob = true;
                word.push(c);
                in_word = true;
            }
            '<' | '>' => features.redirection = true,
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    (words, features)
}
