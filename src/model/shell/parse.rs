//! The parser of the shell reader: tokens to [`Tree`], by recursive descent over the POSIX
//! grammar (lists, and-or lists, pipelines, simple and compound commands, function definitions).
//!
//! Reserved words are recognised only where a command starts. A `;;`, `;&` or `;;&` outside a
//! `case` branch, a closing word that closes nothing and a separator with no command before it
//! are syntax errors. The list and pipeline operators outside every compound command are
//! recorded in order (chain-runs and the rules ask for them).

use super::lex::Tok;
use super::{
    AndOr, CaseArm, Command, Compound, List, Op, Part, Pipeline, Redirect, Simple, Span, Tree,
    Unsupported, WordNode,
};

/// Words that end the list before them when they start a command.
const CLOSERS: &[&str] = &["then", "else", "elif", "fi", "do", "done", "}", "esac"];

/// Words with a meaning of their own where a command starts.
fn is_reserved(w: &str) -> bool {
    matches!(
        w,
        "if" | "then"
            | "else"
            | "elif"
            | "fi"
            | "do"
            | "done"
            | "while"
            | "until"
            | "for"
            | "case"
            | "esac"
            | "select"
            | "function"
            | "{"
            | "}"
            | "!"
            | "time"
    ) || w.ends_with("()")
}

/// The tree of `text` from its tokens and their words' parts (which the tree keeps).
pub(super) fn parse(
    text: &str,
    toks: &[Tok],
    parts: std::rc::Rc<Vec<Part>>,
) -> Result<Tree, Unsupported> {
    let mut p = Parser {
        text,
        toks,
        pos: 0,
        depth: 0,
        top_ops: Vec::new(),
    };
    let body = p.list()?;
    if let Some(t) = p.peek() {
        return Err(Unsupported::Syntax {
            at: tok_span(t).start,
        });
    }
    Ok(Tree {
        body,
        top_ops: p.top_ops,
        parts,
    })
}

struct Parser<'a> {
    text: &'a str,
    toks: &'a [Tok],
    pos: usize,
    /// How many compound commands enclose the current token.
    depth: usize,
    top_ops: Vec<Op>,
}

fn tok_span(t: Tok) -> Span {
    match t {
        Tok::Word { span, .. } | Tok::Redirect { span, .. } | Tok::Op { span, .. } => span,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<Tok> {
        self.toks.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<Tok> {
        self.toks.get(self.pos + k).copied()
    }

    fn error(&self) -> Unsupported {
        let at = self.peek().map_or(self.text.len(), |t| tok_span(t).start);
        Unsupported::Syntax { at }
    }

    /// The next token's operator, if it is one.
    fn peek_op(&self) -> Option<Op> {
        match self.peek() {
            Some(Tok::Op { op, .. }) => Some(op),
            _ => None,
        }
    }

    /// The next token's text, if it is a word.
    fn peek_word(&self) -> Option<(&str, WordNode)> {
        match self.peek() {
            Some(Tok::Word { span, parts }) => Some((span.of(self.text), WordNode { span, parts })),
            _ => None,
        }
    }

    /// Consumes an operator token, recording it when it is outside every compound command.
    fn take_op(&mut self, op: Op) {
        self.pos += 1;
        let listed = !matches!(
            op,
            Op::OpenParen | Op::CloseParen | Op::CaseBreak | Op::CaseFallThrough | Op::CaseContinue
        );
        if self.depth == 0 && listed {
            self.top_ops.push(op);
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek_op() == Some(Op::Newline) {
            self.take_op(Op::Newline);
        }
    }

    /// Consumes the reserved word `w` where a command would start, or fails.
    fn expect_word(&mut self, w: &str) -> Result<(), Unsupported> {
        match self.peek_word() {
            Some((t, _)) if t == w => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.error()),
        }
    }

    /// And-or lists up to a closing word, `)`, a `case` terminator or the end.
    fn list(&mut self) -> Result<List, Unsupported> {
        // Sized for the usual one or two and-or lists: one allocation, not a growth from empty.
        let mut list = List {
            items: Vec::with_capacity(2),
        };
        loop {
            self.skip_newlines();
            match self.peek() {
                None => break,
                Some(Tok::Op {
                    op: Op::CloseParen | Op::CaseBreak | Op::CaseFallThrough | Op::CaseContinue,
                    ..
                }) => break,
                Some(Tok::Word { span, .. }) if CLOSERS.contains(&span.of(self.text)) => break,
                _ => {}
            }
            let and_or = self.and_or()?;
            match self.peek_op() {
                Some(op @ (Op::Semicolon | Op::Background | Op::Newline)) => {
                    self.take_op(op);
                    list.items.push((and_or, Some(op)));
                }
                _ => {
                    list.items.push((and_or, None));
                    break;
                }
            }
        }
        Ok(list)
    }

    fn and_or(&mut self) -> Result<AndOr, Unsupported> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        while let Some(op @ (Op::And | Op::Or)) = self.peek_op() {
            if rest.is_empty() {
                // RUNs chain many commands with `&&`: one allocation for the usual chain instead
                // of growing from four to eight to sixteen.
                rest.reserve_exact(8);
            }
            self.take_op(op);
            self.skip_newlines();
            rest.push((op, self.pipeline()?));
        }
        Ok(AndOr { first, rest })
    }

    fn pipeline(&mut self) -> Result<Pipeline, Unsupported> {
        let mut commands = vec![self.command()?];
        let mut pipes = Vec::new();
        while let Some(op @ (Op::Pipe | Op::PipeAll)) = self.peek_op() {
            self.take_op(op);
            self.skip_newlines();
            pipes.push(op);
            commands.push(self.command()?);
        }
        Ok(Pipeline { commands, pipes })
    }

    fn command(&mut self) -> Result<Command, Unsupported> {
        // `!` and `time` before the command: reserved words of the pipeline.
        let mut prefix = Vec::new();
        while let Some((t, w)) = self.peek_word() {
            if t != "!" && t != "time" {
                break;
            }
            prefix.push(w);
            self.pos += 1;
        }
        let compound = match self.peek() {
            Some(Tok::Op {
                op: Op::OpenParen, ..
            }) => {
                self.take_op(Op::OpenParen);
                self.depth += 1;
                let l = self.list()?;
                if self.peek_op() != Some(Op::CloseParen) {
                    return Err(self.error());
                }
                self.take_op(Op::CloseParen);
                self.depth -= 1;
                Compound::Subshell(l)
            }
            Some(Tok::Word { span, parts }) => {
                let word = WordNode { span, parts };
                match span.of(self.text) {
                    "{" => self.enclosed(|p| {
                        let l = p.list()?;
                        p.expect_word("}")?;
                        Ok(Compound::Brace(l))
                    })?,
                    "if" => self.enclosed(Self::if_clause)?,
                    "while" => self.enclosed(|p| p.loop_clause(false))?,
                    "until" => self.enclosed(|p| p.loop_clause(true))?,
                    "for" => self.enclosed(Self::for_clause)?,
                    "case" => self.enclosed(Self::case_clause)?,
                    "select" | "function" => return Err(Unsupported::Construct { at: span.start }),
                    t if CLOSERS.contains(&t) => return Err(self.error()),
                    t if t.ends_with("()") => {
                        self.pos += 1;
                        self.skip_newlines();
                        let body = self.command()?;
                        return Ok(Command::Function {
                            name: word,
                            spaced_head: None,
                            body: Box::new(body),
                        });
                    }
                    _ => return self.simple(prefix),
                }
            }
            Some(Tok::Redirect { .. }) => return self.simple(prefix),
            Some(Tok::Op { .. }) | None if !prefix.is_empty() => return self.simple(prefix),
            _ => return Err(self.error()),
        };
        let redirects = self.redirects();
        Ok(Command::Compound {
            prefix,
            body: Box::new(compound),
            redirects,
        })
    }

    /// A compound command opened by the reserved word at the cursor: one level deeper inside.
    fn enclosed(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<Compound, Unsupported>,
    ) -> Result<Compound, Unsupported> {
        self.pos += 1;
        self.depth += 1;
        let c = inner(self)?;
        self.depth -= 1;
        Ok(c)
    }

    fn if_clause(&mut self) -> Result<Compound, Unsupported> {
        let mut branches = Vec::new();
        loop {
            let condition = self.list()?;
            self.expect_word("then")?;
            let body = self.list()?;
            branches.push((condition, body));
            match self.peek_word().map(|(t, _)| t) {
                Some("elif") => self.pos += 1,
                Some("else") => {
                    self.pos += 1;
                    let otherwise = Some(self.list()?);
                    self.expect_word("fi")?;
                    return Ok(Compound::If {
                        branches,
                        otherwise,
                    });
                }
                Some("fi") => {
                    self.pos += 1;
                    return Ok(Compound::If {
                        branches,
                        otherwise: None,
                    });
                }
                _ => return Err(self.error()),
            }
        }
    }

    fn loop_clause(&mut self, until: bool) -> Result<Compound, Unsupported> {
        let condition = self.list()?;
        self.expect_word("do")?;
        let body = self.list()?;
        self.expect_word("done")?;
        Ok(Compound::Loop {
            until,
            condition,
            body,
        })
    }

    /// `for NAME [in WORD…] (; | newline) do LIST done`.
    fn for_clause(&mut self) -> Result<Compound, Unsupported> {
        let mut header = Vec::new();
        while let Some((_, w)) = self.peek_word() {
            header.push(w);
            self.pos += 1;
        }
        match self.peek_op() {
            Some(op @ (Op::Semicolon | Op::Newline)) if !header.is_empty() => self.take_op(op),
            // `for ((i = 0; …))` and anything else.
            _ => {
                return Err(Unsupported::Construct {
                    at: self.error_at(),
                })
            }
        }
        self.skip_newlines();
        self.expect_word("do")?;
        let body = self.list()?;
        self.expect_word("done")?;
        Ok(Compound::For { header, body })
    }

    fn error_at(&self) -> usize {
        match self.error() {
            Unsupported::Syntax { at } => at,
            _ => self.text.len(),
        }
    }

    /// `case WORD in [(]PATTERN[|PATTERN…]) LIST ;; … esac`.
    fn case_clause(&mut self) -> Result<Compound, Unsupported> {
        let Some((_, subject)) = self.peek_word() else {
            return Err(self.error());
        };
        self.pos += 1;
        self.skip_newlines();
        self.expect_word("in")?;
        let mut arms = Vec::new();
        loop {
            self.skip_newlines();
            // The patterns, up to `)`: words, `(` and `|` in any order; `esac` ends the `case`.
            let mut patterns = Vec::new();
            loop {
                match self.peek() {
                    Some(Tok::Word { span, parts }) => {
                        if span.of(self.text) == "esac" {
                            self.pos += 1;
                            return Ok(Compound::Case { subject, arms });
                        }
                        patterns.push(WordNode { span, parts });
                        self.pos += 1;
                    }
                    Some(Tok::Op {
                        op: Op::OpenParen | Op::Pipe,
                        ..
                    }) => self.pos += 1,
                    Some(Tok::Op {
                        op: Op::CloseParen, ..
                    }) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error()),
                }
            }
            let body = self.list()?;
            match self.peek() {
                Some(Tok::Op {
                    op: op @ (Op::CaseBreak | Op::CaseFallThrough | Op::CaseContinue),
                    ..
                }) => {
                    self.take_op(op);
                    arms.push(CaseArm {
                        patterns,
                        body,
                        terminator: Some(op),
                    });
                }
                Some(Tok::Word { span, .. }) if span.of(self.text) == "esac" => {
                    self.pos += 1;
                    arms.push(CaseArm {
                        patterns,
                        body,
                        terminator: None,
                    });
                    return Ok(Compound::Case { subject, arms });
                }
                _ => return Err(self.error()),
            }
        }
    }

    /// Redirections after a compound command.
    fn redirects(&mut self) -> Vec<Redirect> {
        let mut out = Vec::new();
        while let Some(Tok::Redirect { span, wants_target }) = self.peek() {
            self.pos += 1;
            out.push(self.redirect_target(span, wants_target));
        }
        out
    }

    /// The redirection just consumed, with its target word when that is the next token.
    fn redirect_target(&mut self, span: Span, wants_target: bool) -> Redirect {
        let mut target = None;
        if wants_target {
            if let Some((_, w)) = self.peek_word() {
                self.pos += 1;
                target = Some(w);
            }
        }
        Redirect { span, target }
    }

    /// A simple command: words and redirections up to an operator. `words` holds the reserved
    /// words read before it (`!`, `time`).
    fn simple(&mut self, prefix: Vec<WordNode>) -> Result<Command, Unsupported> {
        // Most commands have a few words: one allocation instead of growing from empty.
        let mut words = Vec::with_capacity(prefix.len() + 8);
        words.extend(prefix);
        let start = self.peek().map_or(self.text.len(), |t| tok_span(t).start);
        let start = words.first().map_or(start, |w| w.span.start);
        let mut end = start;
        let mut redirects = Vec::new();
        let mut process_substitutions = Vec::new();
        let reserved_before = words.len();
        loop {
            match self.peek() {
                Some(Tok::Word { span, parts }) => {
                    // After redirections only (`>f if …`) or a process substitution, a reserved
                    // word is ambiguous: refused.
                    let after_substitution = process_substitutions
                        .last()
                        .is_some_and(|(at, _)| *at == words.len());
                    if ((words.len() == reserved_before && !redirects.is_empty())
                        || after_substitution)
                        && is_reserved(span.of(self.text))
                    {
                        return Err(self.error());
                    }
                    words.push(WordNode { span, parts });
                    end = span.end;
                    self.pos += 1;
                }
                Some(Tok::Redirect { span, .. })
                    if self.peek_at(1).is_some_and(|t| {
                        matches!(t, Tok::Op { op: Op::OpenParen, span: open } if open.start == span.end)
                    }) && matches!(span.of(self.text).as_bytes().last(), Some(b'<' | b'>')) =>
                {
                    // `<(list)` / `>(list)`: a process substitution.
                    self.pos += 1;
                    redirects.push(Redirect { span, target: None });
                    self.take_op(Op::OpenParen);
                    self.depth += 1;
                    let list = self.list()?;
                    let Some(Tok::Op {
                        op: Op::CloseParen,
                        span: close,
                    }) = self.peek()
                    else {
                        return Err(self.error());
                    };
                    self.take_op(Op::CloseParen);
                    self.depth -= 1;
                    end = close.end;
                    process_substitutions.push((words.len(), list));
                }
                Some(Tok::Redirect { span, wants_target }) => {
                    self.pos += 1;
                    let r = self.redirect_target(span, wants_target);
                    end = r.target.map_or(span.end, |t| t.span.end);
                    redirects.push(r);
                }
                Some(Tok::Op {
                    op: Op::OpenParen, ..
                }) if !words.is_empty()
                    && matches!(
                        self.peek_at(1),
                        Some(Tok::Op {
                            op: Op::CloseParen,
                            ..
                        })
                    ) =>
                {
                    // `name () body`: a function definition written with a blank before `()`.
                    self.pos += 2;
                    self.skip_newlines();
                    let name = words.last().copied().ok_or_else(|| self.error())?;
                    let body = self.command()?;
                    return Ok(Command::Function {
                        name,
                        spaced_head: Some(Simple {
                            words,
                            redirects,
                            process_substitutions,
                            span: Span::new(start, end),
                        }),
                        body: Box::new(body),
                    });
                }
                Some(Tok::Op {
                    op: Op::OpenParen, ..
                }) => return Err(self.error()),
                _ => break,
            }
        }
        Ok(Command::Simple(Simple {
            words,
            redirects,
            process_substitutions,
            span: Span::new(start, end),
        }))
    }
}
