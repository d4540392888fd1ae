//! Just enough POSIX shell analysis to decide how a RUN command behaves once joined with others.
//!
//! It does not execute or fully parse shell: it walks the tokens of the model's shell reader
//! ([`super::shell`], read tolerantly so that a comment or a here-document does not stop it) and
//! looks at the top level, where state can leak from one command into the next. Anything it does
//! not understand makes the verdict more conservative, never less. (The character scanner it
//! replaced is kept as a test oracle in `tests/support/legacy_readers/top_level.rs`.)

use super::script::is_assignment;
use super::shell::{lex_tolerant, Lexed, Op, Span, Tok};

/// What matters about one RUN command when it is placed in an `&&` chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellFacts {
    /// The tokenizer reached the end with balanced quotes and brackets.
    pub parsed: bool,
    /// An unquoted `#` starts a comment: everything after it, including a joined `&& next`, would be
    /// commented out.
    pub has_comment: bool,
    /// A `&` that sends a job to the background.
    pub has_background: bool,
    /// Top-level `;` or `||` (or a newline): the command must be grouped before `&&` is put in front
    /// of it.
    pub has_list_operators: bool,
    /// A top-level command changes state that would reach the next command: `cd`, `export`, `set`,
    /// an assignment, `umask`, `trap`, a function definition, `exec`, `exit`, `source`, …
    pub changes_state: bool,
    /// It turns on errexit (`set -e`, `set -o errexit`): grouping it in front of `&&` disables it.
    pub enables_errexit: bool,
    /// A top-level compound command (`if`, `for`, `while`, `case`, `{ }`) or anything else we treat
    /// as opaque.
    pub compound: bool,
    /// Ends with a `;` (must not be followed by `&&` as it stands).
    pub trailing_separator: bool,
    /// The first word of each top-level simple command (after assignments), for passes that look
    /// for package managers.
    pub commands: Vec<String>,
}

/// Builtins whose effect outlives the command in the shell that runs them.
pub const STATE_BUILTINS: &[&str] = &[
    "cd",
    "pushd",
    "popd",
    "export",
    "unset",
    "set",
    "shopt",
    "umask",
    "trap",
    "alias",
    "unalias",
    "source",
    ".",
    "eval",
    "exec",
    "exit",
    "return",
    "shift",
    "readonly",
    "declare",
    "typeset",
    "local",
    "read",
    "getopts",
    "hash",
    "ulimit",
    "enable",
    "builtin",
    "command",
    "let",
    "mapfile",
    "readarray",
    "function",
    "setopt",
    "emulate",
];

const COMPOUND_WORDS: &[&str] = &[
    "if", "for", "while", "until", "case", "{", "select", "[[", "function", "time", "coproc",
];

/// One top-level simple command: its words, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand<'a> {
    pub words: Vec<&'a str>,
    /// Byte range in the analysed text.
    pub start: usize,
    pub end: usize,
}

/// Analyses the text `/bin/sh -c` would receive, with the default list of state builtins.
pub fn analyse(cmd: &str) -> ShellFacts {
    analyse_with(cmd, |w| STATE_BUILTINS.contains(&w))
}

/// Analyses `cmd`; `is_state_builtin` names the builtins whose effect outlives the command.
pub fn analyse_with(cmd: &str, is_state_builtin: impl Fn(&str) -> bool) -> ShellFacts {
    analyse_tokens(cmd, lex_tolerant(cmd).as_ref().ok(), is_state_builtin)
}

/// [`analyse_with`] over the tokens of `cmd` already read (`None`: they do not balance).
pub(crate) fn analyse_tokens(
    cmd: &str,
    lexed: Option<&Lexed>,
    is_state_builtin: impl Fn(&str) -> bool,
) -> ShellFacts {
    // errexit may be switched on anywhere (inside `if`, a function…): look at the text, not the tree.
    let mut facts = ShellFacts {
        enables_errexit: mentions_errexit(cmd),
        ..Default::default()
    };
    let Some(commands) = lexed.and_then(|lexed| split_tokens(cmd, lexed, &mut facts)) else {
        facts.parsed = false;
        return facts;
    };
    facts.parsed = true;
    for c in &commands {
        let mut words = c.words.iter().copied().peekable();
        // Leading assignments: alone they set shell variables; before a command they do not persist.
        let mut assignments = 0;
        while let Some(w) = words.peek() {
            if is_assignment(w) {
                assignments += 1;
                words.next();
            } else {
                break;
            }
        }
        let Some(first) = words.next() else {
            if assignments > 0 {
                facts.changes_state = true;
            }
            continue;
        };
        let first_l = first.trim_start_matches('\\');
        facts.commands.push(first_l.to_string());
        if first_l.starts_with('(') {
            continue; // a subshell: nothing leaks out of it
        }
        if COMPOUND_WORDS.contains(&first_l) || first_l.ends_with("()") || c.words.contains(&"()") {
            facts.compound = true;
            facts.changes_state = true;
            continue;
        }
        if first_l == "!" {
            // `! cmd`: look at the command itself
            if let Some(next) = words.next() {
                if is_state_builtin(next) {
                    facts.changes_state = true;
                }
            }
            continue;
        }
        if is_state_builtin(first_l) {
            facts.changes_state = true;
        }
    }
    facts
}

/// `set -e`, `set -eux`, `set -o errexit`, `bash -e` style options anywhere in the text.
fn mentions_errexit(cmd: &str) -> bool {
    if cmd.contains("errexit") {
        return true;
    }
    if !cmd.contains("set") {
        return false; // the word split below only looks for `set -e…`
    }
    let mut after_set = false;
    cmd.split(|c: char| c.is_whitespace() || c == ';' || c == '(' || c == '{')
        .any(|w| {
            let hit = after_set && is_short_option_with_e(w);
            after_set = w == "set";
            hit
        })
}

/// A short-option word that includes `e` (`-e`, `-eux`): with `set`, it turns errexit on.
pub(crate) fn is_short_option_with_e(w: &str) -> bool {
    w.starts_with('-') && !w.starts_with("--") && w.contains('e')
}

/// Splits `cmd` into top-level simple commands, recording operators into `facts`. Returns `None`
/// where quoting or brackets do not balance.
///
/// Every word is a slice of `cmd` (quotes and escapes kept as written), except the marker word
/// `()` put before a parenthesised word that follows others (`name ()`, `cmd (x)`).
///
/// A walk over the tokens of the model's shell reader ([`super::shell`]), read tolerantly (a
/// comment, a here-document or an array does not stop it), that keeps chain-runs' long-standing
/// reading: words are the text between blanks and operators (a glued redirection such as `a>b`
/// is one word with its neighbours), a `( … )` that starts a word is one opaque word, compound
/// commands are not nested but split at their operators (`if a; then b; fi` is `if a`, `then b`,
/// `fi`), the first comment ends the reading, and a `)` that closes no `(` of its word (a `case`
/// pattern) is not read at all. Where the tokens could be read two ways that reading would tell
/// apart (a redirection target that runs over a line end, `<<` inside a redirection, a `#` glued
/// to a parenthesised word), it gives up: `None`, which every caller reads as "unknown".
pub fn split_top_level<'a>(cmd: &'a str, facts: &mut ShellFacts) -> Option<Vec<SimpleCommand<'a>>> {
    split_tokens(cmd, &lex_tolerant(cmd).ok()?, facts)
}

/// [`split_top_level`] over the tokens of `cmd` already read.
pub(crate) fn split_tokens<'a>(
    cmd: &'a str,
    lexed: &Lexed,
    facts: &mut ShellFacts,
) -> Option<Vec<SimpleCommand<'a>>> {
    let mut walk = TopLevel {
        text: cmd,
        facts,
        out: Vec::new(),
        words: Vec::new(),
        word: None,
        cmd_start: 0,
        last_op: None,
    };
    walk.read(lexed)?;
    Some(walk.out)
}

/// Whether this reading takes a redirection token of the shell reader as (part of) one word, as
/// the reader does. It does not where the target runs over a line end (`&>f` then a newline),
/// holds `<<`, or where the operator bytes hold an `&` or `|` that is no part of a redirection
/// here (`>&&`: `>&`, then the operator `&`). Stage facts ask the same of a redirection.
pub(crate) fn redirect_is_one_word(t: &str) -> bool {
    let b = t.as_bytes();
    let operator = b
        .iter()
        .take_while(|c| matches!(c, b'<' | b'>' | b'&' | b'|'))
        .count();
    let split = (1..operator).any(|k| match b[k] {
        b'&' => !matches!(b[k - 1], b'<' | b'>'),
        b'|' => b[k - 1] != b'>',
        _ => false,
    });
    let here_document = b.windows(2).any(|w| w == b"<<");
    !split && !here_document && !b.iter().any(|&c| c == b'\n' || c == b'\r')
}

/// The state of [`split_top_level`]'s walk.
struct TopLevel<'a, 'f> {
    text: &'a str,
    facts: &'f mut ShellFacts,
    out: Vec<SimpleCommand<'a>>,
    /// The words of the command being read.
    words: Vec<&'a str>,
    /// The word being read (it goes on while the next token is glued to it).
    word: Option<Span>,
    cmd_start: usize,
    last_op: Option<&'static str>,
}

impl<'a> TopLevel<'a, '_> {
    fn read(&mut self, lexed: &Lexed) -> Option<()> {
        let b = self.text.as_bytes();
        // Bytes before `pos` are read, or skipped inside a parenthesised word.
        let mut pos = 0usize;
        let mut comments = lexed.comments.iter().peekable();
        let mut here_documents = lexed.here_documents.iter().peekable();
        let mut comment = false;
        for tok in &lexed.toks {
            let span = match *tok {
                Tok::Word { span, .. } | Tok::Redirect { span, .. } | Tok::Op { span, .. } => span,
            };
            if span.start < pos {
                if span.end > pos {
                    return None; // a token runs out of a parenthesised word
                }
                continue;
            }
            // (Most texts have no comment: test the next one's start before the walk over them.)
            if comments.peek().is_some_and(|c| c.start < span.start)
                && self.comment_before(span.start, pos, &mut comments)?
            {
                comment = true;
                break;
            }
            match *tok {
                Tok::Word { .. } | Tok::Redirect { .. } => {
                    if matches!(tok, Tok::Redirect { .. })
                        && !redirect_is_one_word(span.of(self.text))
                    {
                        return None;
                    }
                    while let Some(&&at) = here_documents.peek().filter(|&&&at| at < span.end) {
                        here_documents.next();
                        if at >= span.start {
                            // A here-document inside shell-form RUN text: opaque to us.
                            self.facts.compound = true;
                        }
                    }
                    self.glue(span);
                }
                Tok::Op { op, .. } => {
                    if let Some(end) = self.op(op, span)? {
                        pos = end;
                        continue;
                    }
                }
            }
            pos = span.end;
        }
        if !comment && self.comment_before(usize::MAX, pos, &mut comments)? {
            comment = true;
        }
        if comment {
            self.facts.has_comment = true;
        }
        self.flush();
        if !self.words.is_empty() {
            self.out.push(SimpleCommand {
                words: std::mem::take(&mut self.words),
                start: self.cmd_start,
                end: b.len(),
            });
        } else if matches!(self.last_op, Some(";") | Some("&")) && !self.facts.has_comment {
            self.facts.trailing_separator = true;
        }
        Some(())
    }

    /// Whether a comment starts at or after `pos` and before `before` (where the reading ends).
    /// `None` where a comment cannot be placed in the reading: one that runs out of a
    /// parenthesised word, or a `#` glued to the word before it (a word byte to this reading).
    fn comment_before<'c>(
        &self,
        before: usize,
        pos: usize,
        comments: &mut std::iter::Peekable<impl Iterator<Item = &'c Span>>,
    ) -> Option<bool> {
        while let Some(&&c) = comments.peek() {
            if c.start >= before {
                break;
            }
            comments.next();
            if c.start < pos {
                if c.end > pos {
                    return None;
                }
                continue;
            }
            return if self.glued_to(c.start).is_some() {
                None
            } else {
                Some(true)
            };
        }
        Some(false)
    }

    /// The word being read, if it ends right at `at` (nothing between it and `at`).
    fn glued_to(&self, at: usize) -> Option<Span> {
        self.word.filter(|w| w.end == at)
    }

    /// Adds `span` to the word being read if glued to it, else starts a new word.
    fn glue(&mut self, span: Span) {
        match self.glued_to(span.start) {
            Some(w) => self.word = Some(Span::new(w.start, span.end)),
            None => {
                self.flush();
                self.word = Some(span);
            }
        }
    }

    fn flush(&mut self) {
        if let Some(w) = self.word.take() {
            self.words.push(self.text.get(w.start..w.end).unwrap_or(""));
        }
    }

    /// Reads an operator token. `Some(Some(end))` when it opened a parenthesised word read up to
    /// `end`; `None` when the reading gives up.
    fn op(&mut self, op: Op, span: Span) -> Option<Option<usize>> {
        let glued = self.glued_to(span.start).map(|w| w.of(self.text));
        let at = span.start;
        match op {
            Op::Newline => {
                self.flush();
                if !self.words.is_empty() {
                    // A newline ends the command like `;` (`make\ncd /x` runs `cd` at the top
                    // level); after an operator (`a &&\nb`) it is only a blank.
                    self.facts.has_list_operators = true;
                    self.out.push(SimpleCommand {
                        words: std::mem::take(&mut self.words),
                        start: self.cmd_start,
                        end: at,
                    });
                    self.cmd_start = at + 1;
                    self.last_op = Some("\n");
                }
            }
            Op::OpenParen => match glued {
                Some(w) if !w.ends_with('=') => {
                    // `name(`: one byte of the word.
                    self.glue(span);
                }
                _ => {
                    // A subshell (or an array assignment); balanced as one opaque word.
                    let end = super::shell::skip_parens(self.text.as_bytes(), at + 1)?;
                    if glued.is_none() {
                        self.flush();
                        if !self.words.is_empty() {
                            // `name ()` function definition or `cmd (x)`: opaque
                            self.words.push("()");
                        }
                    }
                    self.glue(Span::new(at, end));
                    return Some(Some(end));
                }
            },
            Op::CloseParen => match glued {
                Some(w) if w.ends_with('(') => self.glue(span),
                _ => return None, // unbalanced, or a `case` pattern: give up
            },
            Op::And | Op::Background | Op::Or | Op::Pipe | Op::PipeAll => {
                // After a word ending in `>` (or `<`, for `&`) this reading takes the operator
                // byte as part of the word (a redirection such as `>&2`); the shell reader's
                // redirections take those bytes themselves, so such a token is out of step.
                let starts_with_amp = matches!(op, Op::And | Op::Background);
                if glued.is_some_and(|w| w.ends_with('>') || (starts_with_amp && w.ends_with('<')))
                {
                    return None;
                }
                let kind = match op {
                    Op::And => "&&",
                    Op::Background => "&",
                    Op::Or => "||",
                    Op::Pipe => "|",
                    _ => "|&",
                };
                self.separator(kind, at, span.end - at);
            }
            Op::Semicolon => self.separator(";", at, 1),
            Op::CaseBreak => self.separator(";;", at, 2),
            // `;&` and `;;&`: this reading has no such operators; it reads the run of operator
            // bytes from here its own way (`;&&&` is `;`, `&&`, `&`), up to a word.
            Op::CaseFallThrough | Op::CaseContinue => return Some(Some(self.operator_run(at))),
        }
        Some(None)
    }

    /// Reads the operators in the bytes from `at` on (`&&`, `||`, `;;`, `|&`, `&`, `|`, `;`, in
    /// that order of preference) up to the first other byte or an `&>`, which starts a word;
    /// returns where the reading goes on.
    fn operator_run(&mut self, mut at: usize) -> usize {
        let b = self.text.as_bytes();
        while let Some(&c) = b.get(at) {
            let two = b.get(at + 1).copied();
            let (len, kind) = match (c, two) {
                (b'&', Some(b'>')) => {
                    self.glue(Span::new(at, at + 1));
                    return at + 1;
                }
                (b'&', Some(b'&')) => (2, "&&"),
                (b'|', Some(b'|')) => (2, "||"),
                (b';', Some(b';')) => (2, ";;"),
                (b'|', Some(b'&')) => (2, "|&"),
                (b'&', _) => (1, "&"),
                (b'|', _) => (1, "|"),
                (b';', _) => (1, ";"),
                _ => break,
            };
            self.separator(kind, at, len);
            at += len;
        }
        at
    }

    /// Ends the command at a list or pipeline operator of `len` bytes at `at`.
    fn separator(&mut self, kind: &'static str, at: usize, len: usize) {
        self.flush();
        match kind.as_bytes() {
            [b'&'] => self.facts.has_background = true,
            [b'|', b'|'] | [b';'] => self.facts.has_list_operators = true,
            [b';', b';'] => self.facts.compound = true,
            _ => {}
        }
        self.out.push(SimpleCommand {
            words: std::mem::take(&mut self.words),
            start: self.cmd_start,
            end: at,
        });
        self.cmd_start = at + len;
        self.last_op = Some(kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chain() {
        let f = analyse("apt-get update && apt-get install -y curl | tee x 2>&1");
        assert!(f.parsed && !f.changes_state && !f.has_list_operators && !f.has_background);
        assert_eq!(f.commands, ["apt-get", "apt-get", "tee"]);
    }

    #[test]
    fn state_changes() {
        for c in [
            "cd /x && make",
            "export A=1",
            "A=1",
            "set -x; make",
            "umask 022",
            "f() { :; }",
            "exec nginx",
            "exit 0",
        ] {
            assert!(analyse(c).changes_state, "{c}");
        }
        for c in [
            "A=1 make",
            "(cd /x && make)",
            "echo $(cd /x; pwd)",
            "make CC=gcc",
        ] {
            assert!(!analyse(c).changes_state, "{c}");
        }
    }

    #[test]
    fn errexit_and_operators() {
        let f = analyse("set -eux; apt-get update; rm -rf /var/lib/apt/lists/*");
        assert!(f.enables_errexit && f.has_list_operators);
        assert!(analyse("a || b").has_list_operators);
        assert!(analyse("a;").trailing_separator);
        assert!(analyse("sleep 1 &").has_background);
        assert!(!analyse("a &> /dev/null").has_background);
        assert!(analyse("make # build it").has_comment);
        assert!(!analyse("echo a#b '#c'").has_comment);
        assert!(!analyse("echo \"unterminated").parsed);
    }
}
