//! A RUN's commands as the stage facts read them, walked off the model's shell tree
//! ([`crate::model::shell`]): every simple command in text order, at any depth, with its words as
//! written (quotes kept, redirections included).
//!
//! The reading is the one the facts have always had, which rules downstream depend on (the corpus
//! output does not change): the reserved word that opens a list (`if`, `then`, `do`, `{`, …) is
//! the first word of the command after it, a closing one (`fi`, `done`, `}`) is a command of its
//! own, and a subshell is one opaque word (`(cd x && make)`) whose commands are not read. A `case`
//! or a process substitution makes the text opaque (`None`), as a text the tree cannot read does;
//! a comment ends the text (the commands before it are read).

use crate::model::shell::{
    skip_parens, Command, Compound, List, Redirect, Simple, Span, Tree, Unsupported,
};

/// The commands of `text`, each as its words, read off its `tree` (`Tree::parse(text)`); `None`
/// when the text is opaque.
pub(super) fn commands<'a>(
    text: &'a str,
    tree: &Result<Tree, Unsupported>,
) -> Option<Vec<Vec<&'a str>>> {
    let before_comment;
    let (tree, text) = match tree {
        Ok(tree) => (tree, text),
        // Everything after an unquoted `#` is a comment: the commands before it are the text.
        Err(Unsupported::Comment { at }) => {
            // An operator left hanging before the comment joined nothing to it.
            let mut before = text.get(..*at)?.trim_end();
            while let Some(rest) = ["&&", "||", ";", "|", "&"]
                .iter()
                .find_map(|op| before.strip_suffix(op))
            {
                before = rest.trim_end();
            }
            before_comment = Tree::parse(before).ok()?;
            (&before_comment, before)
        }
        Err(_) => return None,
    };
    let mut walk = Walk {
        text,
        out: Vec::new(),
        pending: Vec::new(),
    };
    walk.list(&tree.body)?;
    Some(walk.out)
}

struct Walk<'a> {
    text: &'a str,
    out: Vec<Vec<&'a str>>,
    /// Words that open the command being entered (reserved words, a function's name, `!`).
    pending: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn list(&mut self, list: &List) -> Option<()> {
        for (and_or, _) in &list.items {
            for p in std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p)) {
                for c in &p.commands {
                    self.command(c)?;
                }
            }
        }
        Some(())
    }

    fn list_after(&mut self, reserved: &'static str, list: &List) -> Option<()> {
        self.pending.push(reserved);
        self.break_at_line_end(first_of(self.text, list)?)?;
        self.list(list)
    }

    /// A line break between the pending words and the command starting at `start` ends them as
    /// a command of their own.
    fn break_at_line_end(&mut self, start: usize) -> Option<()> {
        let before = self.text.get(..start)?;
        let blank = &before[before.trim_end().len()..];
        if blank.contains(['\n', '\r']) {
            self.push(Vec::new());
        }
        Some(())
    }

    fn push(&mut self, words: Vec<&'a str>) {
        let command = if self.pending.is_empty() {
            // Most commands: the words as they are, with no copy.
            words
        } else {
            let mut command = std::mem::take(&mut self.pending);
            command.extend(words);
            command
        };
        if !command.is_empty() {
            self.out.push(command);
        }
    }

    fn command(&mut self, c: &Command) -> Option<()> {
        match c {
            Command::Simple(simple) => {
                let words = self.simple_words(simple)?;
                self.push(words);
            }
            Command::Function {
                name,
                spaced_head,
                body,
            } => {
                if matches!(body.as_ref(), Command::Simple(_)) {
                    // No valid shell: a function's body is a compound command.
                    return None;
                }
                let head_end = match spaced_head {
                    // `f () body`: `f`, then the `()` read as an empty subshell after a word.
                    Some(simple) => {
                        let words = self.simple_words(simple)?;
                        self.pending.extend(words);
                        self.pending.extend(["()", "()"]);
                        simple.span.end
                    }
                    None => {
                        self.pending.push(name.span.of(self.text));
                        name.span.end
                    }
                };
                let body_start = opening(self.text, body)?;
                if body_start == head_end {
                    // `f(){ …}`: the old reading glued the body's first word to the name.
                    return None;
                }
                // A line break before the body ends the head's command.
                if self.text.get(head_end..body_start)?.contains(['\n', '\r']) {
                    self.push(Vec::new());
                }
                self.command(body)?;
            }
            Command::Compound {
                prefix,
                body,
                redirects,
            } => {
                self.pending
                    .extend(prefix.iter().map(|w| w.span.of(self.text)));
                let redirect_spans = redirect_spans(self.text, redirects)?;
                let redirect_words = redirect_spans.iter().map(|s| s.of(self.text));
                let (closer, last_list) = match body.as_ref() {
                    Compound::Subshell(l) => {
                        if holds_case(l) {
                            // The old reading's bracket matching stopped at a pattern's `)`.
                            return None;
                        }
                        let b = self.text.as_bytes();
                        let open = opening(self.text, c)?;
                        let end = skip_parens(b, open + 1)?;
                        if !self.pending.is_empty() {
                            // A parenthesised word after others (`then (…)`).
                            self.pending.push("()");
                        }
                        let mut spans = vec![Span::new(open, end)];
                        spans.extend(redirect_spans.iter().copied());
                        let words = glue(spans).into_iter().map(|s| s.of(self.text)).collect();
                        self.push(words);
                        return Some(());
                    }
                    Compound::Brace(l) => {
                        self.list_after("{", l)?;
                        ("}", l)
                    }
                    Compound::If {
                        branches,
                        otherwise,
                    } => {
                        for (k, (cond, then)) in branches.iter().enumerate() {
                            self.list_after(if k == 0 { "if" } else { "elif" }, cond)?;
                            self.list_after("then", then)?;
                        }
                        if let Some(l) = otherwise {
                            self.list_after("else", l)?;
                        }
                        let last = otherwise.as_ref().or(branches.last().map(|(_, t)| t));
                        ("fi", last?)
                    }
                    Compound::Loop {
                        until,
                        condition,
                        body,
                    } => {
                        self.list_after(if *until { "until" } else { "while" }, condition)?;
                        self.list_after("do", body)?;
                        ("done", body)
                    }
                    Compound::For { header, body } => {
                        let mut words = vec!["for"];
                        words.extend(header.iter().map(|w| w.span.of(self.text)));
                        self.push(words);
                        self.list_after("do", body)?;
                        ("done", body)
                    }
                    // The old reading gave up on a `case` pattern's `)`.
                    Compound::Case { .. } => return None,
                };
                let mut words = vec![closer];
                words.extend(redirect_words);
                // With no separator before it (after a `)`), the closing word continued the
                // last command.
                let glued = last_list.items.last().is_some_and(|(_, sep)| sep.is_none());
                match self.out.last_mut() {
                    Some(last) if glued && self.pending.is_empty() => last.extend(words),
                    _ => self.push(words),
                }
            }
        }
        Some(())
    }

    /// A simple command's words and redirections in text order, as written.
    fn simple_words(&self, simple: &Simple) -> Option<Vec<&'a str>> {
        if !simple.process_substitutions.is_empty() {
            // The old reading gave up on the `)` of `<( … )`.
            return None;
        }
        let mut spans: Vec<_> = simple.words.iter().map(|w| w.span).collect();
        if !simple.redirects.is_empty() {
            spans.extend(redirect_spans(self.text, &simple.redirects)?);
            spans.sort_by_key(|s| s.start);
        }
        Some(glue(spans).into_iter().map(|s| s.of(self.text)).collect())
    }
}

/// Where the command starts in `text`: its first word, or the bracket or reserved word that
/// opens it.
fn opening(text: &str, c: &Command) -> Option<usize> {
    match c {
        Command::Simple(s) => Some(s.span.start),
        Command::Function {
            name, spaced_head, ..
        } => Some(
            spaced_head
                .as_ref()
                .map_or(name.span.start, |s| s.span.start),
        ),
        Command::Compound { prefix, body, .. } => {
            if let Some(w) = prefix.first() {
                return Some(w.span.start);
            }
            let (opener, inner) = match body.as_ref() {
                Compound::Subshell(l) => ("(", first_of(text, l)?),
                Compound::Brace(l) => ("{", first_of(text, l)?),
                Compound::If { branches, .. } => ("if", first_of(text, &branches.first()?.0)?),
                Compound::Loop {
                    until, condition, ..
                } => (
                    if *until { "until" } else { "while" },
                    first_of(text, condition)?,
                ),
                Compound::For { header, .. } => ("for", header.first()?.span.start),
                Compound::Case { subject, .. } => ("case", subject.span.start),
            };
            let before = text.get(..inner)?.trim_end();
            before
                .ends_with(opener)
                .then(|| before.len() - opener.len())
        }
    }
}

fn first_of(text: &str, list: &List) -> Option<usize> {
    let (and_or, _) = list.items.first()?;
    opening(text, and_or.first.commands.first()?)
}

/// Whether a `case` command is anywhere in `list`.
fn holds_case(list: &List) -> bool {
    list.items.iter().any(|(and_or, _)| {
        std::iter::once(&and_or.first)
            .chain(and_or.rest.iter().map(|(_, p)| p))
            .flat_map(|p| &p.commands)
            .any(command_holds_case)
    })
}

fn command_holds_case(c: &Command) -> bool {
    match c {
        Command::Simple(s) => s.process_substitutions.iter().any(|(_, l)| holds_case(l)),
        Command::Function { body, .. } => command_holds_case(body),
        Command::Compound { body, .. } => match body.as_ref() {
            Compound::Case { .. } => true,
            Compound::Subshell(l) | Compound::Brace(l) => holds_case(l),
            Compound::If {
                branches,
                otherwise,
            } => {
                branches.iter().any(|(c, t)| holds_case(c) || holds_case(t))
                    || otherwise.as_ref().is_some_and(holds_case)
            }
            Compound::Loop {
                condition, body, ..
            } => holds_case(condition) || holds_case(body),
            Compound::For { body, .. } => holds_case(body),
        },
    }
}

/// The spans of redirections and their targets; `None` for one the old reading split otherwise
/// (an operator with no target, `>&&`).
fn redirect_spans(text: &str, redirects: &[Redirect]) -> Option<Vec<Span>> {
    let mut spans = Vec::with_capacity(redirects.len() * 2);
    for r in redirects {
        let written = r.span.of(text);
        let no_target = r.target.is_none() && written.ends_with(['<', '>', '&', '|']);
        // The old reading took a redirection's operator as one word where the top-level reading
        // does (the same test).
        if no_target || !crate::model::top_level::redirect_is_one_word(written) {
            return None;
        }
        spans.push(r.span);
        spans.extend(r.target.map(|t| t.span));
    }
    Some(spans)
}

/// Spans in text order with those that touch joined: a redirection glued to a word
/// (`make>log`) is one word, as only a blank separates words.
fn glue(mut spans: Vec<Span>) -> Vec<Span> {
    // In place: the glued spans are never more than the spans.
    spans.dedup_by(|next, last| {
        let touches = last.end == next.start;
        if touches {
            last.end = next.end;
        }
        touches
    });
    spans
}
