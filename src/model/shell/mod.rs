//! The model's one shell reader: a RUN's text as a syntax tree with byte spans into the text.
//!
//! One lexer ([`lex`]) and one recursive-descent parser ([`parse`]) read lists (`;`, `&`,
//! newline), and-or lists (`&&`, `||`), pipelines (`|`, `|&`, `!`, `time`), simple commands
//! (assignments, words with their parts — literal text, quotes, `$X`, `${X…}` including the
//! assigning `${X:=…}` / `${X=…}`, `$( )`, backticks, `$(( ))` — and redirections), compound
//! commands (`( )`, `{ }`, `if`, `while`, `until`, `for`, `case`) and function definitions.
//!
//! It does not execute shell. What it does not model is a parse failure ([`Unsupported`]) that
//! says what and where, never a guess: a comment (it would swallow text appended to the RUN), a
//! here-document or here-string, arrays, `select`, bash's `function` keyword, unbalanced quotes or
//! brackets, and text that is no valid shell. Callers read a failure as "unknown, so unsafe".
//! The commands inside `$( )` and backticks are not parsed: they are parts of a word.

mod lex;
mod parse;
mod words;

pub(crate) use lex::{lex_tolerant, skip_backticks, skip_dollar, skip_parens, Lexed, Tok};
pub use words::{argv, command_line, LineFeatures};

/// A byte range in the RUN text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    /// The text this span covers ("" if it does not fall on character boundaries).
    pub fn of(self, text: &str) -> &str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// A redirection as written (`2>&1`, `>>/var/log/x`, `&>out`), split into its file-descriptor
/// number, its operator and the target glued to it (empty when the target is the next word).
pub fn split_redirect(written: &str) -> (&str, &str, &str) {
    let fd = written.len()
        - written
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let op_len = written[fd..]
        .find(|c: char| !matches!(c, '<' | '>' | '&' | '|'))
        .unwrap_or(written.len() - fd);
    let (op, glued) = written[fd..].split_at(op_len);
    (&written[..fd], op, glued)
}

/// Why a text has no tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// A quote, `$( )`, `${ }` or backtick that does not close.
    Unbalanced { at: usize },
    /// An unquoted `#` that starts a comment.
    Comment { at: usize },
    /// `<<` or `<<<`.
    HereDocument { at: usize },
    /// A `(` glued to a word other than a function name (`a=(x y)`, `f(x)`).
    GluedParen { at: usize },
    /// A construct the reader does not model (`select`, `function`, `for ((…))`).
    Construct { at: usize },
    /// Not valid shell: a separator or reserved word where it cannot be.
    Syntax { at: usize },
}

/// List, pipeline and `case` operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    And,
    Or,
    Semicolon,
    Background,
    Newline,
    Pipe,
    /// `|&`: a pipe of stdout and stderr.
    PipeAll,
    OpenParen,
    CloseParen,
    /// `;;`
    CaseBreak,
    /// `;&`
    CaseFallThrough,
    /// `;;&`
    CaseContinue,
}

impl Op {
    /// How the operator is written (`|&` as `|`, a newline as `\n`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::And => "&&",
            Op::Or => "||",
            Op::Semicolon => ";",
            Op::Background => "&",
            Op::Newline => "\n",
            Op::Pipe | Op::PipeAll => "|",
            Op::OpenParen => "(",
            Op::CloseParen => ")",
            Op::CaseBreak => ";;",
            Op::CaseFallThrough => ";&",
            Op::CaseContinue => ";;&",
        }
    }
}

/// What a part of a word is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// Unquoted text (including a `$` that starts no expansion).
    Literal,
    /// `\x`.
    Escaped,
    /// `'…'`.
    SingleQuoted,
    /// `"…"` (its expansions are not split out).
    DoubleQuoted,
    /// `$NAME`, `$1`, `$@`, …
    Parameter,
    /// `${…}`; `assigns` for `${NAME:=…}` and `${NAME=…}`, which set the variable.
    Braced { assigns: bool },
    /// `$( … )`.
    CommandSubstitution,
    /// `` `…` ``.
    Backticks,
    /// `$(( … ))`.
    Arithmetic,
}

/// A part of a word, with its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    pub span: Span,
}

/// A word: its span and the range of its parts in [`Tree::parts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordNode {
    pub span: Span,
    parts: (u32, u32),
}

/// A redirection: operator, fd number and a glued target in `span`; a spaced target in `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirect {
    pub span: Span,
    pub target: Option<WordNode>,
}

/// A simple command: its words in order (leading assignments and reserved words that introduced
/// it, such as `!` or `then`, included; redirections and their targets left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    pub words: Vec<WordNode>,
    pub redirects: Vec<Redirect>,
    /// Process substitutions (`<( … )`, `>( … )`), each with the number of words before it.
    /// The rules' reader has always read one as a subshell that splits the command in two
    /// (`bash <(curl …) x`: `bash`, then `curl …` one level deeper, then `x`); the walk keeps
    /// that reading.
    pub process_substitutions: Vec<(usize, List)>,
    pub span: Span,
}

/// A `case` branch: its patterns and commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseArm {
    pub patterns: Vec<WordNode>,
    pub body: List,
    /// `;;`, `;&`, `;;&`, or `None` for the last branch before `esac`.
    pub terminator: Option<Op>,
}

/// A compound command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compound {
    Subshell(List),
    Brace(List),
    If {
        /// `if`/`elif` conditions with their `then` bodies.
        branches: Vec<(List, List)>,
        otherwise: Option<List>,
    },
    /// `while` (or `until`, `until: true`).
    Loop {
        until: bool,
        condition: List,
        body: List,
    },
    For {
        /// The header words after `for` (`x in a b`).
        header: Vec<WordNode>,
        body: List,
    },
    Case {
        subject: WordNode,
        arms: Vec<CaseArm>,
    },
}

/// A command of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Simple(Simple),
    Compound {
        /// `!` and `time` written before it.
        prefix: Vec<WordNode>,
        /// Boxed: a compound is much larger than a simple command, and most commands are simple.
        body: Box<Compound>,
        redirects: Vec<Redirect>,
    },
    /// `name() body`, or `name () body`: then `spaced_head` holds the words before `()`, which
    /// the rules' reader has always read as a simple command of their own.
    Function {
        name: WordNode,
        spaced_head: Option<Simple>,
        body: Box<Command>,
    },
}

/// Commands joined by `|` (`|&`); a `!` or `time` before one is in its words or prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub commands: Vec<Command>,
    /// The operator after each command but the last.
    pub pipes: Vec<Op>,
}

/// Pipelines joined by `&&` and `||`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Op, Pipeline)>,
}

/// And-or lists, each with the separator after it (`;`, `&`, newline), if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List {
    pub items: Vec<(AndOr, Option<Op>)>,
}

/// A RUN text read as shell.
#[derive(Debug, Clone)]
pub struct Tree {
    pub body: List,
    /// The list and pipeline operators outside every compound command, newlines included (also
    /// those that are mere line breaks after `&&`), in order.
    pub top_ops: Vec<Op>,
    /// The parts of every word, shared with the tokens the tree was built from.
    parts: std::rc::Rc<Vec<Part>>,
}

impl Tree {
    /// Reads `text`; the tree's spans index it.
    pub fn parse(text: &str) -> Result<Tree, Unsupported> {
        let lexed = lex::lex(text)?;
        parse::parse(text, &lexed.toks, lexed.parts)
    }

    /// The parts of `word`.
    pub fn parts(&self, word: &WordNode) -> &[Part] {
        lex::parts_in(&self.parts, word.parts)
    }
}

/// A text read once by the lexer, tolerantly ([`lex_tolerant`]): its tokens serve chain-runs'
/// top-level reading ([`super::top_level`]) as they are, and the strict [`Tree`] is built from
/// them when first asked for (the same tree as [`Tree::parse`]'s).
pub(crate) struct Reading {
    tokens: Result<Lexed, Unsupported>,
    tree: std::cell::OnceCell<std::rc::Rc<Result<Tree, Unsupported>>>,
}

impl Reading {
    pub(crate) fn new(text: &str) -> Reading {
        Reading {
            tokens: lex_tolerant(text),
            tree: std::cell::OnceCell::new(),
        }
    }

    /// The tolerant tokens.
    pub(crate) fn tokens(&self) -> Result<&Lexed, Unsupported> {
        self.tokens.as_ref().map_err(|e| *e)
    }

    /// The strict tree; `text` is the text this reading was made of.
    pub(crate) fn tree(&self, text: &str) -> std::rc::Rc<Result<Tree, Unsupported>> {
        self.tree
            .get_or_init(|| {
                let tree = match &self.tokens {
                    Err(e) => Err(*e),
                    Ok(Lexed {
                        refused: Some(refused),
                        ..
                    }) => Err(*refused),
                    Ok(lexed) => parse::parse(text, &lexed.toks, std::rc::Rc::clone(&lexed.parts)),
                };
                std::rc::Rc::new(tree)
            })
            .clone()
    }
}

/// One simple command reached by [`Tree::walk`] (its words, or those between two process
/// substitutions), with how many compound commands enclose it.
pub struct Visit<'t> {
    pub words: &'t [WordNode],
    pub depth: usize,
}

impl Tree {
    /// Every simple command in text order, at any depth (not inside `$( )` or backticks); the
    /// name of a `name () body` definition counts as a simple command of its own (see
    /// [`Command::Function`]), as the rules' reader has always read it.
    pub fn walk<'t>(&'t self, mut visit: impl FnMut(Visit<'t>)) {
        walk_list(&self.body, 0, &mut visit);
    }
}

fn walk_list<'t>(list: &'t List, depth: usize, visit: &mut impl FnMut(Visit<'t>)) {
    for (and_or, _) in &list.items {
        for p in std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p)) {
            for c in &p.commands {
                walk_command(c, depth, visit);
            }
        }
    }
}

fn walk_simple<'t>(simple: &'t Simple, depth: usize, visit: &mut impl FnMut(Visit<'t>)) {
    let mut from = 0;
    for (at, list) in &simple.process_substitutions {
        let words = simple.words.get(from..*at).unwrap_or(&[]);
        visit(Visit { words, depth });
        walk_list(list, depth + 1, visit);
        from = *at;
    }
    let words = simple.words.get(from..).unwrap_or(&[]);
    visit(Visit { words, depth });
}

fn walk_command<'t>(c: &'t Command, depth: usize, visit: &mut impl FnMut(Visit<'t>)) {
    match c {
        Command::Simple(simple) => walk_simple(simple, depth, visit),
        Command::Function {
            body, spaced_head, ..
        } => {
            if let Some(simple) = spaced_head {
                walk_simple(simple, depth, visit);
            }
            walk_command(body, depth, visit)
        }
        Command::Compound { body, .. } => {
            let inner = depth + 1;
            match body.as_ref() {
                Compound::Subshell(l) | Compound::Brace(l) => walk_list(l, inner, visit),
                Compound::If {
                    branches,
                    otherwise,
                } => {
                    for (cond, then) in branches {
                        walk_list(cond, inner, visit);
                        walk_list(then, inner, visit);
                    }
                    if let Some(l) = otherwise {
                        walk_list(l, inner, visit);
                    }
                }
                Compound::Loop {
                    condition, body, ..
                } => {
                    walk_list(condition, inner, visit);
                    walk_list(body, inner, visit);
                }
                Compound::For { body, .. } => walk_list(body, inner, visit),
                Compound::Case { arms, .. } => {
                    for a in arms {
                        walk_list(&a.body, inner, visit);
                    }
                }
            }
        }
    }
}

impl Tree {
    /// Every redirection in text order, at any depth: of simple commands, of compound commands
    /// and inside process substitutions (not inside `$( )` or backticks). A process
    /// substitution's own `<(` / `>(` is among them, with no target.
    pub fn redirects(&self) -> Vec<Redirect> {
        let mut out = Vec::new();
        redirects_of_list(&self.body, &mut out);
        out.sort_by_key(|r| r.span.start);
        out
    }
}

fn redirects_of_list(list: &List, out: &mut Vec<Redirect>) {
    for (and_or, _) in &list.items {
        for p in std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p)) {
            for c in &p.commands {
                redirects_of_command(c, out);
            }
        }
    }
}

fn redirects_of_simple(simple: &Simple, out: &mut Vec<Redirect>) {
    out.extend(simple.redirects.iter().copied());
    for (_, list) in &simple.process_substitutions {
        redirects_of_list(list, out);
    }
}

fn redirects_of_command(c: &Command, out: &mut Vec<Redirect>) {
    match c {
        Command::Simple(simple) => redirects_of_simple(simple, out),
        Command::Function {
            body, spaced_head, ..
        } => {
            if let Some(simple) = spaced_head {
                redirects_of_simple(simple, out);
            }
            redirects_of_command(body, out)
        }
        Command::Compound {
            body, redirects, ..
        } => {
            out.extend(redirects.iter().copied());
            match body.as_ref() {
                Compound::Subshell(l) | Compound::Brace(l) => redirects_of_list(l, out),
                Compound::If {
                    branches,
                    otherwise,
                } => {
                    for (cond, then) in branches {
                        redirects_of_list(cond, out);
                        redirects_of_list(then, out);
                    }
                    if let Some(l) = otherwise {
                        redirects_of_list(l, out);
                    }
                }
                Compound::Loop {
                    condition, body, ..
                } => {
                    redirects_of_list(condition, out);
                    redirects_of_list(body, out);
                }
                Compound::For { body, .. } => redirects_of_list(body, out),
                Compound::Case { arms, .. } => {
                    for a in arms {
                        redirects_of_list(&a.body, out);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo's tree, built from the tolerant tokens, is the strict reading's.
    #[test]
    fn reading_builds_the_strict_tree() {
        for text in [
            "apt-get update && apt-get install -y x > /dev/null 2>&1",
            "if a; then b; fi; case $x in y) z;; esac",
            "f() { a | b; }; f",
            "echo hi # c",
            "cat <<EOF",
            "a=(x y) b",
            "echo 'unbalanced",
            "a && && b",
        ] {
            let memo = format!("{:?}", Reading::new(text).tree(text));
            let strict = format!("{:?}", Tree::parse(text).map(std::rc::Rc::new));
            assert_eq!(memo, strict, "{text}");
        }
    }
}
