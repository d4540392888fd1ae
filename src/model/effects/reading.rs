//! One RUN's text as the effects model reads it: a walk over the model's shell tree
//! ([`crate::model::shell`]) that collects every simple command's words, at any depth, including
//! the commands inside `$( )`, backticks and quoted strings holding blanks (which `sh -c`, `su -c`
//! or `eval` may run), each read as a tree of its own.
//!
//! What the tree cannot read gives no reading at all (`None`): the effects model then answers
//! conservatively ("ends the chain", "changes state", "errexit on").

use crate::model::shell::{
    skip_backticks, skip_dollar, Command, Compound, List, Op, PartKind, Simple, Span, Tree,
    Unsupported, WordNode,
};

/// How many times a quoted string or substitution inside another is read again as shell.
const MAX_DEPTH: usize = 4;

/// Programs that run a string as shell when given `-c` (`sh -c '…'`).
fn is_shell(program: &str) -> bool {
    matches!(
        program,
        "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "mksh" | "busybox"
    )
}

/// What the effects model needs from one RUN's text.
#[derive(Debug, Default)]
pub(super) struct Reading {
    /// Every simple command's words, quotes removed (an empty quoted word reads `""`), in text
    /// order; the commands read from a word's quoted strings and substitutions come before the
    /// command holding the word.
    pub segments: Vec<Vec<String>>,
    /// An expansion or arithmetic command that assigns: `${T:=x}`, `${T=x}`, `$((N=4))`,
    /// `$((N++))`, `((N=1))`.
    pub assigns_in_expansion: bool,
    /// A command substitution whose commands form more than one simple command (a list, an
    /// and-or list, a pipeline or a compound command).
    pub substitution_holds_list: bool,
    /// The top level is one and-or list of simple commands and pipelines, on one line, with no
    /// separator after it.
    pub single_and_or: bool,
    /// The reserved words that open the compound commands and lists being entered (`if`, `then`,
    /// `do`, …), glued in front of the next simple command's words. The text scanners this
    /// reading replaced took such a word for the command (so `do rm -f x` was no `rm`, and `if`,
    /// `for`, `while` and `case` counted as programs that may create executables); the reading
    /// keeps that so the move onto the tree changes no verdict (pinned by
    /// `effects_keeps_reserved_words_as_commands` in tests/shell_tree_equivalence.rs).
    pending: Vec<String>,
}

/// Reads `text` through its tree (`Tree::parse(text)`, as the RUN memo keeps it); `None` when the
/// tree (of the text, or of a substitution in it, or of the string a shell runs with `-c`) has no
/// answer.
pub(super) fn read(text: &str, tree: &Result<Tree, Unsupported>) -> Option<Reading> {
    let tree = tree.as_ref().ok()?;
    let mut reading = Reading {
        // A line break after `&&` counts too: the old reader ended a command there, and the
        // verdict stays the conservative one.
        single_and_or: single_and_or(&tree.body) && !tree.top_ops.contains(&Op::Newline),
        ..Reading::default()
    };
    reading.list(tree, text, &tree.body, 0)?;
    Some(reading)
}

/// One and-or list of simple commands (no function definition, no process substitution).
fn single_and_or(body: &List) -> bool {
    let [(and_or, None)] = body.items.as_slice() else {
        return false;
    };
    std::iter::once(&and_or.first)
        .chain(and_or.rest.iter().map(|(_, p)| p))
        .flat_map(|p| &p.commands)
        .all(|c| matches!(c, Command::Simple(s) if s.process_substitutions.is_empty()))
}

/// More than one simple command, or a compound one.
fn holds_list(body: &List) -> bool {
    let [(and_or, _)] = body.items.as_slice() else {
        return !body.items.is_empty();
    };
    !and_or.rest.is_empty()
        || and_or.first.commands.len() > 1
        || and_or
            .first
            .commands
            .iter()
            .any(|c| !matches!(c, Command::Simple(s) if s.process_substitutions.is_empty()))
}

/// Whether the body of an arithmetic expansion or command assigns (`=` that is no comparison,
/// `++`, `--`).
fn arithmetic_assigns(body: &str) -> bool {
    body.contains("++")
        || body.contains("--")
        || body.char_indices().any(|(k, c)| {
            c == '='
                && !matches!(body[..k].chars().last(), Some('=' | '!' | '<' | '>'))
                && !body[k + 1..].starts_with('=')
        })
}

/// A string inside a word that is read again as shell.
enum Nested {
    /// A `$( )` or backquoted substitution: it runs, so it must be readable.
    Substitution(Span),
    /// A quoted string holding blanks: read if it is shell; required to be when the command is a
    /// shell given `-c`.
    Quoted(Span),
}

impl Reading {
    fn list(&mut self, tree: &Tree, text: &str, list: &List, depth: usize) -> Option<()> {
        for (and_or, _) in &list.items {
            for p in std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p)) {
                for c in &p.commands {
                    self.command(tree, text, c, depth)?;
                }
            }
        }
        Some(())
    }

    /// `list` with the reserved word that opens it glued in front of its first command.
    fn list_after(
        &mut self,
        reserved: &str,
        tree: &Tree,
        text: &str,
        list: &List,
        depth: usize,
    ) -> Option<()> {
        self.pending.push(reserved.to_string());
        self.list(tree, text, list, depth)
    }

    /// A segment of the pending reserved words and `words`.
    fn push_segment(&mut self, words: Vec<String>) {
        let mut segment = std::mem::take(&mut self.pending);
        segment.extend(words);
        if !segment.is_empty() {
            self.segments.push(segment);
        }
    }

    fn command(&mut self, tree: &Tree, text: &str, c: &Command, depth: usize) -> Option<()> {
        match c {
            Command::Simple(simple) => self.simple(tree, text, simple, depth),
            Command::Function {
                name,
                body,
                spaced_head,
            } => {
                match spaced_head {
                    Some(simple) => self.simple(tree, text, simple, depth)?,
                    None => {
                        let written = name.span.of(text);
                        let name = written.strip_suffix("()").unwrap_or(written);
                        self.push_segment(vec![name.to_string()]);
                    }
                }
                self.command(tree, text, body, depth)
            }
            Command::Compound {
                prefix,
                body,
                redirects,
            } => {
                let mut nested = Vec::new();
                for w in prefix {
                    let word = self.word(tree, text, w, &mut nested);
                    self.pending.push(word);
                }
                for t in redirects.iter().filter_map(|r| r.target.as_ref()) {
                    self.word(tree, text, t, &mut nested);
                }
                match body.as_ref() {
                    Compound::Subshell(l) | Compound::Brace(l) => {
                        if matches!(body.as_ref(), Compound::Subshell(_)) {
                            if let Some(inner) = arithmetic_command(text, l) {
                                self.assigns_in_expansion |= arithmetic_assigns(inner);
                            }
                        }
                        // `(` and `{` ended the words before them.
                        self.push_segment(Vec::new());
                        self.list(tree, text, l, depth)?;
                    }
                    Compound::If {
                        branches,
                        otherwise,
                    } => {
                        for (k, (cond, then)) in branches.iter().enumerate() {
                            let opening = if k == 0 { "if" } else { "elif" };
                            self.list_after(opening, tree, text, cond, depth)?;
                            self.list_after("then", tree, text, then, depth)?;
                        }
                        if let Some(l) = otherwise {
                            self.list_after("else", tree, text, l, depth)?;
                        }
                    }
                    Compound::Loop {
                        until,
                        condition,
                        body,
                    } => {
                        let opening = if *until { "until" } else { "while" };
                        self.list_after(opening, tree, text, condition, depth)?;
                        self.list_after("do", tree, text, body, depth)?;
                    }
                    Compound::For { header, body } => {
                        let mut segment = vec!["for".to_string()];
                        for w in header {
                            segment.push(self.word(tree, text, w, &mut nested));
                        }
                        self.push_segment(segment);
                        self.list_after("do", tree, text, body, depth)?;
                    }
                    Compound::Case { subject, arms } => {
                        let subject = self.word(tree, text, subject, &mut nested);
                        self.push_segment(vec!["case".to_string(), subject, "in".to_string()]);
                        for a in arms {
                            for w in &a.patterns {
                                self.word(tree, text, w, &mut nested);
                            }
                            self.list(tree, text, &a.body, depth)?;
                        }
                    }
                }
                self.nested(text, &nested, false, depth)
            }
        }
    }

    /// A simple command's words as one segment (or one per stretch between process
    /// substitutions, which read as commands of their own, as [`Tree::walk`] reads them).
    fn simple(&mut self, tree: &Tree, text: &str, simple: &Simple, depth: usize) -> Option<()> {
        let mut nested = Vec::new();
        for t in simple.redirects.iter().filter_map(|r| r.target.as_ref()) {
            self.word(tree, text, t, &mut nested);
        }
        let mut from = 0;
        let mut stretches: Vec<Vec<String>> = Vec::new();
        let mut first: Vec<String> = std::mem::take(&mut self.pending);
        for (at, list) in &simple.process_substitutions {
            let words = simple.words.get(from..*at).unwrap_or(&[]);
            first.extend(words.iter().map(|w| self.word(tree, text, w, &mut nested)));
            stretches.push(std::mem::take(&mut first));
            self.list(tree, text, list, depth)?;
            from = *at;
        }
        let words = simple.words.get(from..).unwrap_or(&[]);
        first.extend(words.iter().map(|w| self.word(tree, text, w, &mut nested)));
        stretches.push(first);
        let runs_shell_string = stretches.iter().any(|s| runs_shell_string(s));
        self.nested(text, &nested, runs_shell_string, depth)?;
        self.segments
            .extend(stretches.into_iter().filter(|s| !s.is_empty()));
        Some(())
    }

    /// Reads the strings `nested` found in words: a substitution must be readable, a quoted
    /// string only when `required` (the command is a shell given `-c`).
    fn nested(
        &mut self,
        text: &str,
        nested: &[Nested],
        required: bool,
        depth: usize,
    ) -> Option<()> {
        for n in nested {
            let (span, must) = match n {
                Nested::Substitution(span) => (*span, true),
                Nested::Quoted(span) => (*span, required),
            };
            if depth + 1 > MAX_DEPTH {
                if must {
                    return None;
                }
                continue;
            }
            let inner = span.of(text);
            let Ok(tree) = Tree::parse(inner) else {
                if must {
                    return None;
                }
                // A quoted string that is no shell: data, not commands, and nothing it holds
                // runs (a `$( )` in it is not split out by the reader, so look for one).
                self.expansions_in(text, span, depth)?;
                continue;
            };
            if matches!(n, Nested::Substitution(_)) && holds_list(&tree.body) {
                self.substitution_holds_list = true;
            }
            self.list(&tree, inner, &tree.body, depth + 1)?;
        }
        Some(())
    }

    /// The word's text with quotes removed; notes what in it is read again.
    fn word(&mut self, tree: &Tree, text: &str, w: &WordNode, nested: &mut Vec<Nested>) -> String {
        // The word read is never longer than the word written (quotes and escapes only go).
        let mut out = String::with_capacity(w.span.end.saturating_sub(w.span.start));
        let mut quoted = false;
        for part in tree.parts(w) {
            let s = part.span;
            let written = s.of(text);
            match part.kind {
                PartKind::Literal | PartKind::Parameter => out.push_str(written),
                PartKind::Escaped => out.push_str(written.get(1..).unwrap_or("")),
                PartKind::SingleQuoted | PartKind::DoubleQuoted => {
                    quoted = true;
                    let inner = Span::new(s.start + 1, s.end.saturating_sub(1).max(s.start + 1));
                    let inner_text = inner.of(text);
                    out.push_str(inner_text);
                    if inner_text.contains(char::is_whitespace) {
                        nested.push(Nested::Quoted(inner));
                    } else if part.kind == PartKind::DoubleQuoted {
                        self.scan_expansions(text, inner, nested);
                    }
                }
                PartKind::Braced { assigns } => {
                    out.push_str(written);
                    self.assigns_in_expansion |= assigns;
                    let inner = Span::new(s.start + 2, s.end.saturating_sub(1).max(s.start + 2));
                    self.scan_expansions(text, inner, nested);
                }
                PartKind::CommandSubstitution => {
                    out.push_str(written);
                    let inner = Span::new(s.start + 2, s.end.saturating_sub(1).max(s.start + 2));
                    nested.push(Nested::Substitution(inner));
                }
                PartKind::Backticks => {
                    out.push_str(written);
                    let inner = Span::new(s.start + 1, s.end.saturating_sub(1).max(s.start + 1));
                    nested.push(Nested::Substitution(inner));
                }
                PartKind::Arithmetic => {
                    out.push_str(written);
                    let inner = Span::new(s.start + 3, s.end.saturating_sub(2).max(s.start + 3));
                    self.assigns_in_expansion |= arithmetic_assigns(inner.of(text));
                }
            }
        }
        if out.is_empty() && quoted {
            // An empty quoted word is still a word (an empty target).
            out.push_str("\"\"");
        }
        out
    }

    /// The expansions inside a double-quoted string or a `${ }` (the tree does not split them
    /// out): substitutions to read, assigning `${X:=…}` and arithmetic.
    fn scan_expansions(&mut self, text: &str, span: Span, nested: &mut Vec<Nested>) {
        let b = text.as_bytes();
        let end = span.end.min(b.len());
        let mut i = span.start;
        while i < end {
            match b[i] {
                b'\\' => i += 2,
                b'`' => {
                    let Some(close) = skip_backticks(b, i + 1).filter(|&c| c <= end) else {
                        // Unreadable: a substitution that cannot be read (conservative).
                        nested.push(Nested::Substitution(Span::new(i, end)));
                        return;
                    };
                    nested.push(Nested::Substitution(Span::new(i + 1, close - 1)));
                    i = close;
                }
                b'$' if matches!(b.get(i + 1), Some(b'(' | b'{')) => {
                    let Some(close) = skip_dollar(b, i).filter(|&c| c <= end) else {
                        nested.push(Nested::Substitution(Span::new(i, end)));
                        return;
                    };
                    match (b.get(i + 1), b.get(i + 2)) {
                        (Some(b'('), Some(b'(')) => {
                            let body = Span::new(i + 3, close.saturating_sub(2).max(i + 3));
                            self.assigns_in_expansion |= arithmetic_assigns(body.of(text));
                        }
                        (Some(b'('), _) => {
                            nested.push(Nested::Substitution(Span::new(i + 2, close - 1)));
                        }
                        _ => {
                            let inner = Span::new(i + 2, close - 1);
                            self.assigns_in_expansion |= braced_assigns(inner.of(text));
                            self.scan_expansions(text, inner, nested);
                        }
                    }
                    i = close;
                }
                _ => i += 1,
            }
        }
    }

    /// The expansions of a quoted string that is not read as shell.
    fn expansions_in(&mut self, text: &str, span: Span, depth: usize) -> Option<()> {
        let mut nested = Vec::new();
        self.scan_expansions(text, span, &mut nested);
        let substitutions: Vec<Nested> = nested
            .into_iter()
            .filter(|n| matches!(n, Nested::Substitution(_)))
            .collect();
        self.nested(text, &substitutions, false, depth)
    }
}

/// `NAME:=…` or `NAME=…` (the inside of `${ }`): the expansion assigns.
fn braced_assigns(inner: &str) -> bool {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let rest = &inner[name_end..];
    name_end > 0 && (rest.starts_with(":=") || rest.starts_with('='))
}

/// The text inside bash's arithmetic command `(( … ))`, which the tree reads as a subshell
/// holding only a subshell of one simple command.
fn arithmetic_command<'t>(text: &'t str, outer: &List) -> Option<&'t str> {
    let [(and_or, _)] = outer.items.as_slice() else {
        return None;
    };
    let [Command::Compound { body, .. }] = and_or.first.commands.as_slice() else {
        return None;
    };
    let Compound::Subshell(inner) = body.as_ref() else {
        return None;
    };
    let [(inner_and_or, _)] = inner.items.as_slice() else {
        return None;
    };
    let [Command::Simple(simple)] = inner_and_or.first.commands.as_slice() else {
        return None;
    };
    let (first, last) = (simple.words.first()?, simple.words.last()?);
    // `( (x) )` is two subshells; only the glued `((` opens an arithmetic command.
    let before = text.get(..first.span.start)?.trim_end();
    if !before.ends_with("((") {
        return None;
    }
    text.get(first.span.start..last.span.end)
}

/// A shell given a `-c` option (`sh -c`, `bash -ec`, `busybox sh -c`): it runs a string.
fn runs_shell_string(words: &[String]) -> bool {
    let mut seen_shell = false;
    for w in words {
        let base = crate::model::script::basename(w);
        if is_shell(base) {
            seen_shell = true;
        } else if seen_shell && w.starts_with('-') && !w.starts_with("--") && w.contains('c') {
            return true;
        }
    }
    false
}
