//! dfopt's own lossless Dockerfile syntax layer.
//!
//! The parser follows BuildKit's `frontend/dockerfile/parser` step by step (directives, line
//! continuations with comment and blank lines inside them, heredocs, builder flags, JSON vs shell
//! form) so that it accepts and splits exactly what `docker build` does. Unlike BuildKit it keeps
//! the source text and gives every node its byte span, so an edit can replace one instruction and
//! leave every other byte (BOM, CRLF, tabs, trailing blanks, comments) as it was.
//!
//! The files mirror BuildKit's package: this one holds the syntax tree; `parser` joins lines and
//! splits instructions (`parser.go`), `directives` reads `# escape=` and friends (`directives.go`),
//! `line_parsers` decides each instruction's argument form (`line_parsers.go`), `json` decodes exec
//! form like Go's `encoding/json`, `instructions` makes the checks BuildKit's build adds after parsing
//! (`instructions/parse.go`), and `lex` holds the word, flag and heredoc lexers they share.

mod directives;
mod instructions;
mod json;
pub mod lex;
mod line_parsers;
mod parser;

use std::fmt;

/// A half-open byte range into [`Dockerfile::source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a file cannot be parsed, with the 1-based line and column where BuildKit would complain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// An error at `line:col`, both clamped to 1 (BuildKit never reports line or column 0).
    fn at(line: usize, col: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line: line.max(1),
            col: col.max(1),
            message: message.into(),
        }
    }
}

/// The instruction keywords BuildKit dispatches on; anything else is `Unknown` (BuildKit's parser
/// accepts it and the build fails later, so [`Dockerfile::parse`] refuses it except as an ONBUILD
/// trigger, which BuildKit does not check until the image is used as a base).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    From,
    Run,
    Cmd,
    Label,
    Maintainer,
    Expose,
    Env,
    Add,
    Copy,
    Entrypoint,
    Volume,
    User,
    Workdir,
    Arg,
    Onbuild,
    Stopsignal,
    Healthcheck,
    Shell,
    Unknown,
}

impl Keyword {
    pub fn from_word(word: &str) -> Keyword {
        // Lower-cased into a buffer on the stack and matched as bytes, without a copy on the heap
        // or a case-blind comparison with each keyword in turn (both showed up in profiles). The
        // longest keyword has 11 bytes; non-ASCII bytes stay as they are and match no keyword.
        let bytes = word.as_bytes();
        let mut lower = [0u8; 11];
        let Some(buf) = lower.get_mut(..bytes.len()) else {
            return Keyword::Unknown;
        };
        for (l, b) in buf.iter_mut().zip(bytes) {
            *l = b.to_ascii_lowercase();
        }
        match &*buf {
            b"from" => Keyword::From,
            b"run" => Keyword::Run,
            b"cmd" => Keyword::Cmd,
            b"label" => Keyword::Label,
            b"maintainer" => Keyword::Maintainer,
            b"expose" => Keyword::Expose,
            b"env" => Keyword::Env,
            b"add" => Keyword::Add,
            b"copy" => Keyword::Copy,
            b"entrypoint" => Keyword::Entrypoint,
            b"volume" => Keyword::Volume,
            b"user" => Keyword::User,
            b"workdir" => Keyword::Workdir,
            b"arg" => Keyword::Arg,
            b"onbuild" => Keyword::Onbuild,
            b"stopsignal" => Keyword::Stopsignal,
            b"healthcheck" => Keyword::Healthcheck,
            b"shell" => Keyword::Shell,
            _ => Keyword::Unknown,
        }
    }

    fn can_contain_heredoc(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

/// Shell form (`RUN echo hi`) or exec form (`RUN ["echo", "hi"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// No arguments at all.
    Empty,
    Shell,
    Exec(Vec<String>),
}

/// A builder flag such as `--mount=type=cache,target=/root/.npm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// As BuildKit reports it (quotes removed), e.g. `--chown=app:app`.
    pub text: String,
    /// Source bytes of the flag as written.
    pub span: Span,
}

impl Flag {
    /// `mount` for `--mount=...`.
    pub fn name(&self) -> &str {
        let t = self.text.trim_start_matches('-');
        t.split('=').next().unwrap_or(t)
    }
    /// `type=cache,target=/x` for `--mount=type=cache,target=/x`; `None` for `--link`.
    pub fn value(&self) -> Option<&str> {
        self.text.split_once('=').map(|(_, v)| v)
    }
}

/// A heredoc attached to RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
    /// False when the delimiter was quoted (`<<'EOF'`): no variable expansion in the body.
    pub expand: bool,
    pub fd: Option<u32>,
    /// The body, from the start of the line after the instruction to the end of the line before the
    /// terminator (newline included).
    pub body: Span,
    /// The terminator line, without its newline.
    pub terminator: Span,
}

/// One physical line of an instruction's logical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Code; `content` excludes a trailing line-continuation character and the blanks after it.
    Code { content: Span, continued: bool },
    /// A comment line inside a continuation (BuildKit skips it).
    Comment,
    /// A blank line inside a continuation (BuildKit skips it with a warning).
    Blank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysicalLine {
    /// The whole line without its line ending.
    pub span: Span,
    pub kind: LineKind,
}

/// The command part of an instruction: for `ONBUILD RUN x` there are two, the ONBUILD and its
/// trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The keyword as written (`run`, `Run`, `RUN`).
    pub keyword: String,
    pub kind: Keyword,
    pub keyword_span: Span,
    pub flags: Vec<Flag>,
    /// BuildKit's argument string: continuations joined, comment lines dropped, flags removed,
    /// surrounding whitespace trimmed. This is what `/bin/sh -c` receives for a shell-form RUN.
    pub args: String,
    /// Source bytes from the first to the last argument byte (may span continuation lines).
    pub args_span: Span,
    pub form: Form,
}

impl Command {
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// One instruction with its position in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub command: Command,
    /// For ONBUILD, the trigger instruction.
    pub trigger: Option<Box<Command>>,
    pub heredocs: Vec<Heredoc>,
    /// From the first byte of the keyword to the end of the last line (or heredoc terminator),
    /// line ending excluded.
    pub span: Span,
    /// Start of the first physical line (indentation included).
    pub line_start: usize,
    /// End of the instruction including its line ending (start of the next line).
    pub full_end: usize,
    /// 1-based first and last line, as BuildKit counts them.
    pub start_line: usize,
    pub end_line: usize,
    /// The physical lines of the logical line (heredoc bodies not included).
    pub lines: Vec<PhysicalLine>,
}

impl Instruction {
    pub fn kind(&self) -> Keyword {
        self.command.kind
    }
    /// The command that actually runs: the trigger for ONBUILD, otherwise the instruction itself.
    pub fn effective(&self) -> &Command {
        self.trigger.as_deref().unwrap_or(&self.command)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub span: Span,
    pub line: usize,
}

/// A parsed Dockerfile: the exact source plus the instructions found in it.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub source: String,
    pub has_bom: bool,
    /// The escape / line-continuation character (`\` or `` ` ``).
    pub escape: char,
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
    /// Byte offset of the start of each physical line.
    line_starts: Vec<usize>,
}

impl Dockerfile {
    /// Parses `source`. Fails where BuildKit's parser fails, where the build then fails on an
    /// instruction BuildKit's parser let through (`RUNN x`, a bare `ENV`, `FROM x AS`; see
    /// `instructions.rs`), and on input BuildKit cannot take (NUL bytes), with the position BuildKit
    /// reports.
    pub fn parse(source: &str) -> Result<Dockerfile, ParseError> {
        let doc = Dockerfile::parse_without_build_checks(source)?;
        instructions::check_instructions(&doc.instructions, doc.escape)?;
        Ok(doc)
    }

    /// What BuildKit's parser alone accepts: [`Dockerfile::parse`] without the checks the build
    /// adds after parsing. For tests and tools that compare with BuildKit's parser; a file this
    /// accepts and `parse` refuses cannot be built, so it is not one to rewrite.
    pub fn parse_without_build_checks(source: &str) -> Result<Dockerfile, ParseError> {
        parser::Parser::new(source).run()
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = self
            .source
            .get(start..offset.min(self.source.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line + 1, col + 1)
    }

    /// The line ending the file mostly uses (`\r\n` if its first line ending is one).
    pub fn newline(&self) -> &'static str {
        match self.source.find('\n') {
            Some(i) if i > 0 && self.source.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// The number of RUN instructions (the image's RUN layers).
    pub fn run_count(&self) -> usize {
        self.instructions
            .iter()
            .filter(|i| i.kind() == Keyword::Run)
            .count()
    }

    pub fn text(&self, span: Span) -> &str {
        self.source.get(span.start..span.end).unwrap_or("")
    }
}

/// 1-based line and column (in characters) of byte offset `pos` in `src`.
pub fn line_col_of(src: &str, pos: usize) -> (usize, usize) {
    let before = src.get(..pos.min(src.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::Keyword;

    /// The keywords compared with each word, ignoring ASCII case, one after the other: the oracle
    /// of [`Keyword::from_word`]'s match on a lower-cased copy.
    fn keyword_by_comparison(word: &str) -> Keyword {
        const KEYWORDS: [(&str, Keyword); 18] = [
            ("from", Keyword::From),
            ("run", Keyword::Run),
            ("cmd", Keyword::Cmd),
            ("label", Keyword::Label),
            ("maintainer", Keyword::Maintainer),
            ("expose", Keyword::Expose),
            ("env", Keyword::Env),
            ("add", Keyword::Add),
            ("copy", Keyword::Copy),
            ("entrypoint", Keyword::Entrypoint),
            ("volume", Keyword::Volume),
            ("user", Keyword::User),
            ("workdir", Keyword::Workdir),
            ("arg", Keyword::Arg),
            ("onbuild", Keyword::Onbuild),
            ("stopsignal", Keyword::Stopsignal),
            ("healthcheck", Keyword::Healthcheck),
            ("shell", Keyword::Shell),
        ];
        KEYWORDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map_or(Keyword::Unknown, |&(_, k)| k)
    }

    #[test]
    fn keywords_match_as_the_case_blind_comparison() {
        for word in [
            "FROM",
            "from",
            "From",
            "RUN",
            "rUn",
            "HEALTHCHECK",
            "healthchecks",
            "MAINTAINER",
            "EntryPoint",
            "STOPSIGNAL",
            "",
            "R",
            "RUNN",
            "\u{212a}",
            "ENV\u{e9}",
            "shell",
            "SHELL ",
        ] {
            assert_eq!(
                Keyword::from_word(word),
                keyword_by_comparison(word),
                "{word:?}"
            );
        }
        for name in [
            "from",
            "run",
            "cmd",
            "label",
            "maintainer",
            "expose",
            "env",
            "add",
            "copy",
            "entrypoint",
            "volume",
            "user",
            "workdir",
            "arg",
            "onbuild",
            "stopsignal",
            "healthcheck",
            "shell",
        ] {
            for word in [name.to_string(), name.to_ascii_uppercase()] {
                assert_ne!(Keyword::from_word(&word), Keyword::Unknown, "{word}");
                assert_eq!(Keyword::from_word(&word), keyword_by_comparison(&word));
            }
        }
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&"[a-zA-Z\u{212a}\u{130}é]{0,12}", |w| {
                proptest::prop_assert_eq!(Keyword::from_word(&w), keyword_by_comparison(&w));
                Ok(())
            })
            .expect("same keywords");
    }
}
