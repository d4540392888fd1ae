//! Just enough POSIX shell analysis to decide how a RUN command behaves once joined with others.
//!
//! It does not execute or fully parse shell: it tokenises the command (quotes, `$( )`, backticks,
//! `${ }`, subshells) and looks at the top level, where state can leak from one command into the
//! next. Anything it does not understand makes the verdict more conservative, never less.

use super::legacy_script::{
    byte_set, is_assignment, skip_backticks, skip_dollar, skip_double_quoted, skip_parens,
};

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
    // errexit may be switched on anywhere (inside `if`, a function…): look at the text, not the tree.
    let mut facts = ShellFacts {
        enables_errexit: mentions_errexit(cmd),
        ..Default::default()
    };
    let Some(commands) = split_top_level(cmd, &mut facts) else {
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
pub fn split_top_level<'a>(cmd: &'a str, facts: &mut ShellFacts) -> Option<Vec<SimpleCommand<'a>>> {
    let b = cmd.as_bytes();
    let mut out = Vec::new();
    let mut words: Vec<&'a str> = Vec::new();
    // The word being read is `cmd[start..i]`; `None` between words.
    let mut word_start: Option<usize> = None;
    let mut cmd_start = 0usize;
    let mut i = 0usize;
    let mut last_op: Option<&str> = None;
    // The current word so far (empty between words).
    let word_of = |start: Option<usize>, i: usize| -> &'a str {
        start.and_then(|s| cmd.get(s..i)).unwrap_or("")
    };
    let flush_word = |start: &mut Option<usize>, i: usize, words: &mut Vec<&'a str>| {
        if start.is_some() {
            words.push(word_of(start.take(), i));
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => {
                flush_word(&mut word_start, i, &mut words);
                i += 1;
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
            }
            b'\n' | b'\r' => {
                flush_word(&mut word_start, i, &mut words);
                if !words.is_empty() {
                    // A newline ends the command like `;` (`make\ncd /x` runs `cd` at the top
                    // level); after an operator (`a &&\nb`) it is only a blank.
                    facts.has_list_operators = true;
                    out.push(SimpleCommand {
                        words: std::mem::take(&mut words),
                        start: cmd_start,
                        end: i,
                    });
                    cmd_start = i + 1;
                    last_op = Some("\n");
                }
                i += 1;
            }
            b'#' if word_start.is_none() => {
                facts.has_comment = true;
                break;
            }
            b'\\' => {
                let end = (i + 2).min(b.len());
                cmd.get(i..end)?;
                word_start.get_or_insert(i);
                i = end;
            }
            b'\'' => {
                let close = b[i + 1..].iter().position(|&x| x == b'\'')? + i + 1;
                cmd.get(i..=close)?;
                word_start.get_or_insert(i);
                i = close + 1;
            }
            b'"' => {
                let close = skip_double_quoted(b, i + 1)?;
                cmd.get(i..close)?;
                word_start.get_or_insert(i);
                i = close;
            }
            b'`' => {
                let close = skip_backticks(b, i + 1)?;
                cmd.get(i..close)?;
                word_start.get_or_insert(i);
                i = close;
            }
            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => {
                let close = skip_dollar(b, i)?;
                cmd.get(i..close)?;
                word_start.get_or_insert(i);
                i = close;
            }
            b'(' if word_start.is_none() || word_of(word_start, i).ends_with('=') => {
                // A subshell (or an array assignment); balanced as one opaque word.
                let close = skip_parens(b, i + 1)?;
                cmd.get(i..close)?;
                if word_start.is_none() {
                    if !words.is_empty() {
                        // `name ()` function definition or `cmd (x)`: opaque
                        words.push("()");
                    }
                    word_start = Some(i);
                }
                i = close;
            }
            b'(' => {
                // `name()` function definition
                i += 1;
            }
            b')' => {
                if word_of(word_start, i).ends_with('(') {
                    i += 1;
                } else {
                    return None; // unbalanced, or a `case` pattern: give up
                }
            }
            b'&' | b'|' | b';' => {
                let two = b.get(i + 1).copied();
                let word = word_of(word_start, i);
                // Redirections such as `2>&1`, `>&2`, `&>file`, `>|file` are part of a word.
                if c == b'&' && (word.ends_with('>') || word.ends_with('<')) {
                    i += 1;
                    continue;
                }
                if c == b'&' && two == Some(b'>') {
                    word_start.get_or_insert(i);
                    i += 2;
                    continue;
                }
                if c == b'|' && word.ends_with('>') {
                    i += 1;
                    continue;
                }
                flush_word(&mut word_start, i, &mut words);
                let (op_len, kind) = match (c, two) {
                    (b'&', Some(b'&')) => (2, "&&"),
                    (b'|', Some(b'|')) => (2, "||"),
                    (b';', Some(b';')) => (2, ";;"),
                    (b'|', Some(b'&')) => (2, "|&"),
                    (b'&', _) => (1, "&"),
                    (b'|', _) => (1, "|"),
                    _ => (1, ";"),
                };
                match kind {
                    "&" => facts.has_background = true,
                    "||" | ";" => facts.has_list_operators = true,
                    ";;" => facts.compound = true,
                    _ => {}
                }
                out.push(SimpleCommand {
                    words: std::mem::take(&mut words),
                    start: cmd_start,
                    end: i,
                });
                i += op_len;
                cmd_start = i;
                last_op = Some(kind);
            }
            b'<' if b.get(i + 1) == Some(&b'<') => {
                // A here-document inside shell-form RUN text: opaque to us.
                facts.compound = true;
                word_start.get_or_insert(i);
                i += 2;
            }
            _ => {
                let ch_len = if c.is_ascii() {
                    1
                } else {
                    let n = utf8_len(c);
                    cmd.get(i..(i + n).min(b.len()))?;
                    n
                };
                word_start.get_or_insert(i);
                i += ch_len;
                // The rest of a run of ordinary bytes at once: each would land here again (they
                // are ASCII or whole characters, so `i` ends on a character boundary).
                while b.get(i).is_some_and(|&x| !WORD_SPECIAL[x as usize]) {
                    i += 1;
                }
            }
        }
    }
    flush_word(&mut word_start, i, &mut words);
    if !words.is_empty() {
        out.push(SimpleCommand {
            words,
            start: cmd_start,
            end: b.len(),
        });
    } else if matches!(last_op, Some(";") | Some("&")) && !facts.has_comment {
        facts.trailing_separator = true;
    }
    Some(out)
}

/// Bytes `split_top_level` treats specially inside a word (`#` only starts a comment between
/// words, and `<` only matters as `<<`, but stopping on them is harmless).
const WORD_SPECIAL: [bool; 256] = byte_set(b" \t\n\r\\'\"`$()&|;<");

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
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
