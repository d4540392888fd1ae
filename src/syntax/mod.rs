//! dfopt's own lossless Dockerfile syntax layer.
//!
//! The parser follows BuildKit's `frontend/dockerfile/parser` step by step (directives, line
//! continuations with comment and blank lines inside them, heredocs, builder flags, JSON vs shell
//! form) so that it accepts and splits exactly what `docker build` does. Unlike BuildKit it keeps
//! the source text and gives every node its byte span, so an edit can replace one instruction and
//! leave every other byte (BOM, CRLF, tabs, trailing blanks, comments) as it was.

pub mod lex;

use lex::{
    extract_builder_flags, is_go_space, parse_words, split_first_word, split_token_ws,
    trim_go_space,
};
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

/// The instruction keywords BuildKit dispatches on; anything else is `Unknown` (BuildKit's parser
/// accepts it and the build fails later).
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
        // Compared in place (a lowercase copy per instruction showed up in profiles).
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
    /// Parses `source`. Fails where BuildKit's parser fails (and on input BuildKit cannot take:
    /// NUL bytes), with the position BuildKit reports.
    pub fn parse(source: &str) -> Result<Dockerfile, ParseError> {
        Parser::new(source).run()
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

struct Line {
    start: usize,
    /// End of content (line ending trimmed: every trailing `\r` and `\n`).
    content_end: usize,
    /// Start of the next line.
    end: usize,
}

struct Parser<'a> {
    src: &'a str,
    lines: Vec<Line>,
    escape: char,
    directives_done: bool,
    directives: Vec<Directive>,
}

/// Maps offsets in a logical line (continuations joined) back to the source.
struct Segments {
    /// (logical start, source start, length)
    parts: Vec<(usize, usize, usize)>,
}

impl Segments {
    fn start(&self, logical: usize) -> usize {
        for &(l, s, n) in &self.parts {
            if logical < l + n {
                return s + logical.saturating_sub(l);
            }
        }
        self.parts.last().map(|&(_, s, n)| s + n).unwrap_or(0)
    }
    /// The source span of the logical range `start..end`; empty ranges map to an empty span (a
    /// range can straddle the lines it was joined from, and an empty one must not come out reversed).
    fn span(&self, start: usize, end: usize) -> Span {
        let e = self.end(end);
        if end <= start {
            return Span::new(e, e);
        }
        Span::new(self.start(start).min(e), e)
    }
    fn end(&self, logical: usize) -> usize {
        for &(l, s, n) in &self.parts {
            if logical <= l + n && logical >= l {
                return s + (logical - l);
            }
        }
        self.parts.last().map(|&(_, s, n)| s + n).unwrap_or(0)
    }
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let bytes = src.as_bytes();
        let mut lines = Vec::new();
        let mut start = if src.starts_with('\u{feff}') { 3 } else { 0 };
        while start < bytes.len() {
            let end = match memchr::memchr(b'\n', bytes.get(start..).unwrap_or_default()) {
                Some(i) => start + i + 1,
                None => bytes.len(),
            };
            let mut content_end = end;
            while content_end > start && matches!(bytes[content_end - 1], b'\n' | b'\r') {
                content_end -= 1;
            }
            lines.push(Line {
                start,
                content_end,
                end,
            });
            start = end;
        }
        Parser {
            src,
            lines,
            escape: '\\',
            directives_done: false,
            directives: Vec::new(),
        }
    }

    fn content(&self, i: usize) -> &'a str {
        let l = &self.lines[i];
        self.src.get(l.start..l.content_end).unwrap_or("")
    }

    fn err(&self, line: usize, col: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line: line.max(1),
            col: col.max(1),
            message: message.into(),
        }
    }

    /// BuildKit's `possibleParserDirective`.
    fn directive(
        &mut self,
        token: &str,
        line_no: usize,
        token_start: usize,
    ) -> Result<(), ParseError> {
        if self.directives_done {
            return Ok(());
        }
        match parse_directive_line(token) {
            Some((name, value)) => {
                let lname = name.to_ascii_lowercase();
                if !matches!(lname.as_str(), "escape" | "syntax" | "check") {
                    self.directives_done = true;
                    return Ok(());
                }
                if self.directives.iter().any(|d| d.name == lname) {
                    return Err(self.err(
                        line_no,
                        1,
                        format!("only one {lname} parser directive can be used"),
                    ));
                }
                if lname == "escape" {
                    match value {
                        "`" => self.escape = '`',
                        "\\" => self.escape = '\\',
                        _ => {
                            return Err(self.err(
                                line_no,
                                1,
                                format!("invalid escape token '{value}' does not match ` or \\"),
                            ))
                        }
                    }
                }
                self.directives.push(Directive {
                    name: lname,
                    value: value.to_string(),
                    span: Span::new(token_start, token_start + token.len()),
                    line: line_no,
                });
                Ok(())
            }
            None => {
                self.directives_done = true;
                Ok(())
            }
        }
    }

    /// BuildKit's `trimContinuationCharacter`: returns the content without the continuation
    /// character (and blanks after it) and whether the line continues.
    fn trim_continuation<'s>(&self, line: &'s str) -> (&'s str, bool) {
        let trimmed = line.trim_end_matches([' ', '\t']);
        if let Some(before) = trimmed.strip_suffix(self.escape) {
            match before.chars().last() {
                None => return ("", true),
                Some(c) if c != self.escape => return (before, true),
                _ => {}
            }
        }
        (line, false)
    }

    fn run(mut self) -> Result<Dockerfile, ParseError> {
        if let Some(pos) = self.src.find('\0') {
            let (line, col) = line_col_of(self.src, pos);
            return Err(self.err(line, col, "NUL byte in file (binary file?)"));
        }
        // BuildKit reads lines with a `bufio.Scanner` whose buffer holds at most 64 KiB: a longer
        // line (its line feed included) stops the scan and fails the build.
        // (The lines are measured from the start of the file: BuildKit counts a BOM in line 1.)
        for (idx, line) in self.lines.iter().enumerate() {
            let start = if idx == 0 { 0 } else { line.start };
            let limit = if self.src.as_bytes().get(line.end.wrapping_sub(1)) == Some(&b'\n') {
                MAX_LINE_BYTES + 1
            } else {
                MAX_LINE_BYTES
            };
            if line.end - start > limit {
                return Err(self.err(
                    idx + 1,
                    1,
                    format!("dockerfile line greater than max allowed size of {MAX_LINE_BYTES}"),
                ));
            }
        }
        let mut instructions = Vec::new();
        let mut logical = String::new();
        let mut segments = Segments { parts: Vec::new() };
        let mut phys: Vec<PhysicalLine> = Vec::new();
        let mut i = 0usize;
        let n = self.lines.len();
        while i < n {
            let line_no = i + 1;
            let raw = self.content(i);
            let token = raw.trim_start_matches(is_go_space);
            let token_start = self.lines[i].content_end - token.len();
            self.directive(token, line_no, token_start)?;
            let is_comment = token.starts_with('#');
            let token = if is_comment { "" } else { token };
            i += 1;
            let start_line = i;
            let (first, continued) = self.trim_continuation(token);
            if !continued && first.is_empty() {
                continue;
            }
            // The joined line and its map are scratch space, kept across instructions; the
            // physical lines are collected here and copied out once, at their final size.
            logical.clear();
            logical.push_str(first);
            segments.parts.clear();
            segments.parts.push((0, token_start, first.len()));
            phys.clear();
            phys.push(PhysicalLine {
                span: Span::new(
                    self.lines[start_line - 1].start,
                    self.lines[start_line - 1].content_end,
                ),
                kind: LineKind::Code {
                    content: Span::new(token_start, token_start + first.len()),
                    continued,
                },
            });
            let mut eol = !continued;
            while !eol && i < n {
                let raw = self.content(i);
                self.directive(raw, i + 1, self.lines[i].start)?;
                let span = Span::new(self.lines[i].start, self.lines[i].content_end);
                i += 1;
                let lead = raw.trim_start_matches(is_go_space);
                if lead.starts_with('#') {
                    phys.push(PhysicalLine {
                        span,
                        kind: LineKind::Comment,
                    });
                    continue;
                }
                if lead.is_empty() {
                    phys.push(PhysicalLine {
                        span,
                        kind: LineKind::Blank,
                    });
                    continue;
                }
                let (cont, more) = self.trim_continuation(raw);
                eol = !more;
                segments.parts.push((logical.len(), span.start, cont.len()));
                logical.push_str(cont);
                phys.push(PhysicalLine {
                    span,
                    kind: LineKind::Code {
                        content: Span::new(span.start, span.start + cont.len()),
                        continued: more,
                    },
                });
            }
            let end_line_logical = i;
            let command = self
                .command_from_line(&logical, &segments)
                .map_err(|m| self.err(start_line, 1, m))?;
            let mut trigger = None;
            if command.kind == Keyword::Onbuild && !command.args.is_empty() {
                // BuildKit parses the rest of the line again as an instruction of its own.
                let args_logical_start = find_logical_offset(&segments, command.args_span.start);
                let sub_segments = Segments {
                    parts: segments
                        .parts
                        .iter()
                        .filter_map(|&(l, s, len)| {
                            let l_end = l + len;
                            if l_end <= args_logical_start {
                                None
                            } else if l >= args_logical_start {
                                Some((l - args_logical_start, s, len))
                            } else {
                                let skip = args_logical_start - l;
                                Some((0, s + skip, len - skip))
                            }
                        })
                        .collect(),
                };
                let sub_text = logical.get(args_logical_start..).unwrap_or("");
                trigger = Some(Box::new(
                    self.command_from_line(sub_text, &sub_segments)
                        .map_err(|m| self.err(start_line, 1, m))?,
                ));
            }
            // `ONBUILD ONBUILD ...`: BuildKit parses every level (and fails on any), without
            // recursion here so that a long chain cannot exhaust the stack.
            if let Some(t) = trigger.as_deref().filter(|t| t.kind == Keyword::Onbuild) {
                let no_segments = Segments { parts: Vec::new() };
                let mut rest = t.args.clone();
                while !rest.is_empty() {
                    let sub = self
                        .command_from_line(&rest, &no_segments)
                        .map_err(|m| self.err(start_line, 1, m))?;
                    if sub.kind != Keyword::Onbuild {
                        break;
                    }
                    rest = sub.args;
                }
            }
            let heredoc_cmd = trigger.as_deref().unwrap_or(&command);
            let mut heredocs = Vec::new();
            if heredoc_cmd.kind.can_contain_heredoc() && !matches!(heredoc_cmd.form, Form::Exec(_))
            {
                let found =
                    lex::heredocs_from_line(&logical).map_err(|m| self.err(start_line, 1, m))?;
                for lex::HeredocWord {
                    name,
                    chomp,
                    expand,
                    fd,
                } in found
                {
                    let body_start = self.lines.get(i).map(|l| l.start).unwrap_or(self.src.len());
                    let mut terminated = None;
                    while i < n {
                        let content = self.content(i);
                        let candidate = if chomp {
                            content.trim_start_matches('\t')
                        } else {
                            content
                        };
                        let span = Span::new(self.lines[i].start, self.lines[i].content_end);
                        i += 1;
                        if candidate == name {
                            terminated = Some(span);
                            break;
                        }
                    }
                    let Some(terminator) = terminated else {
                        return Err(self.err(
                            start_line,
                            1,
                            format!("unterminated heredoc <<{name}"),
                        ));
                    };
                    heredocs.push(Heredoc {
                        name,
                        chomp,
                        expand,
                        fd,
                        body: Span::new(body_start, terminator.start),
                        terminator,
                    });
                }
            }
            let last_line = i.max(end_line_logical);
            let span_end = match heredocs.last() {
                Some(h) => h.terminator.end,
                None => phys.last().map(|p| p.span.end).unwrap_or(token_start),
            };
            let full_end = self
                .lines
                .get(last_line - 1)
                .map(|l| l.end)
                .unwrap_or(self.src.len());
            instructions.push(Instruction {
                command,
                trigger,
                heredocs,
                span: Span::new(token_start, span_end),
                line_start: self.lines[start_line - 1].start,
                full_end,
                start_line,
                end_line: last_line,
                lines: phys.clone(),
            });
        }
        if instructions.is_empty() {
            return Err(self.err(n.max(1), 1, "file with no instructions"));
        }
        let mut line_starts: Vec<usize> = vec![0];
        line_starts.extend(self.lines.iter().skip(1).map(|l| l.start));
        Ok(Dockerfile {
            source: self.src.to_string(),
            has_bom: self.src.starts_with('\u{feff}'),
            escape: self.escape,
            directives: self.directives,
            instructions,
            line_starts,
        })
    }

    /// BuildKit's `newNodeFromLine` minus the node tree: keyword, flags, arguments and form, with
    /// the same errors.
    fn command_from_line(&self, line: &str, segs: &Segments) -> Result<Command, String> {
        let lead = line.len() - line.trim_start_matches(is_go_space).len();
        let trimmed = trim_go_space(line);
        let (word, rest) = split_first_word(trimmed);
        let kind = Keyword::from_word(word);
        let keyword_span = segs.span(lead, lead + word.len());
        let mut flags = Vec::new();
        let mut args = "";
        let mut args_logical = lead + trimmed.len();
        if let Some(rest) = rest {
            let rest_off = lead + (trimmed.len() - rest.len());
            let (raw_flags, args_at) = extract_builder_flags(rest);
            for f in raw_flags {
                flags.push(Flag {
                    text: f.text,
                    span: segs.span(rest_off + f.start, rest_off + f.end),
                });
            }
            let a = rest.get(args_at..).unwrap_or("");
            let a_lead = a.len() - a.trim_start_matches(is_go_space).len();
            args = trim_go_space(a);
            args_logical = rest_off + args_at + a_lead;
        }
        let args_span = segs.span(args_logical, args_logical + args.len());
        let form = match kind {
            Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell => {
                parse_maybe_json(args)?
            }
            Keyword::Add | Keyword::Copy | Keyword::Volume => match parse_json(args) {
                JsonResult::Array(v) => Form::Exec(v),
                JsonResult::NotStrings => return Err(NOT_STRING_ARRAY.into()),
                JsonResult::NotJson => {
                    if args.is_empty() {
                        Form::Empty
                    } else {
                        Form::Shell
                    }
                }
            },
            Keyword::Healthcheck => {
                let b = args.as_bytes();
                let sep = b
                    .iter()
                    .position(|&c| is_go_space(c as char))
                    .unwrap_or(b.len());
                let mut next = sep;
                while next < b.len() && is_go_space(b[next] as char) {
                    next += 1;
                }
                if sep == 0 {
                    Form::Empty
                } else {
                    parse_maybe_json(args.get(next..).unwrap_or(""))?
                }
            }
            Keyword::Env | Keyword::Label => {
                parse_name_val(
                    args,
                    if kind == Keyword::Env { "ENV" } else { "LABEL" },
                    self.escape,
                )?;
                if args.is_empty() {
                    Form::Empty
                } else {
                    Form::Shell
                }
            }
            _ => {
                if args.is_empty() {
                    Form::Empty
                } else {
                    Form::Shell
                }
            }
        };
        Ok(Command {
            keyword: word.to_string(),
            kind,
            keyword_span,
            flags,
            args: args.to_string(),
            args_span,
            form,
        })
    }
}

/// `bufio.MaxScanTokenSize - 1`: the longest line BuildKit can read.
const MAX_LINE_BYTES: usize = 64 * 1024 - 1;

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

fn find_logical_offset(segs: &Segments, src: usize) -> usize {
    for &(l, s, n) in &segs.parts {
        if src >= s && src <= s + n {
            return l + (src - s);
        }
    }
    0
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

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (Go's `\s` is ASCII whitespace).
fn parse_directive_line(token: &str) -> Option<(&str, &str)> {
    let is_s = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r');
    let rest = token.strip_prefix('#')?.trim_start_matches(is_s);
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = &rest[..name_len];
    let after = rest[name_len..].trim_start_matches(is_s);
    let value = after
        .strip_prefix('=')?
        .trim_start_matches(is_s)
        .trim_end_matches(is_s);
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}

enum JsonResult {
    Array(Vec<String>),
    NotStrings,
    NotJson,
}

/// BuildKit's `parseJSON`: a JSON array of strings at the start of the arguments, decoded the way
/// Go's `json.Decoder` does it (anything after the first value is ignored; nesting up to 10,000
/// levels; a lone UTF-16 surrogate escape becomes U+FFFD; a number too large for a float64 makes the
/// whole decode fail).
fn parse_json(rest: &str) -> JsonResult {
    let rest = rest.trim_start_matches(is_go_space);
    if !rest.starts_with('[') {
        return JsonResult::NotJson;
    }
    match go_json_array(rest.as_bytes()) {
        Some(JsonArray {
            items,
            overflow: false,
        }) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match it {
                    Some(s) => out.push(s),
                    None => return JsonResult::NotStrings,
                }
            }
            JsonResult::Array(out)
        }
        _ => JsonResult::NotJson,
    }
}

/// Go's `encoding/json` maximum nesting depth.
const JSON_MAX_DEPTH: usize = 10_000;

struct JsonArray {
    /// The top-level elements: `Some` for a string, `None` for anything else.
    items: Vec<Option<String>>,
    /// A number somewhere did not fit a float64 (Go reports an error after decoding).
    overflow: bool,
}

/// Scans the first JSON value of `b` (which starts with `[`) without recursion. `None` on a syntax
/// error or an unfinished value.
fn go_json_array(b: &[u8]) -> Option<JsonArray> {
    #[derive(PartialEq)]
    enum Ctx {
        Arr,
        Obj,
    }
    let skip_ws = |mut i: usize| {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    };
    let mut stack: Vec<Ctx> = Vec::new();
    let mut out = JsonArray {
        items: Vec::new(),
        overflow: false,
    };
    let mut i = 0usize;
    'value: loop {
        i = skip_ws(i);
        // One value; `item` is what a top-level element records.
        let item: Option<String> = match *b.get(i)? {
            b'[' | b'{' => {
                let ctx = if b[i] == b'[' { Ctx::Arr } else { Ctx::Obj };
                if stack.len() >= JSON_MAX_DEPTH {
                    return None;
                }
                i = skip_ws(i + 1);
                let close = if ctx == Ctx::Arr { b']' } else { b'}' };
                if b.get(i) == Some(&close) {
                    i += 1;
                    if stack.is_empty() {
                        return Some(out);
                    }
                    None
                } else {
                    if ctx == Ctx::Obj {
                        i = json_object_key(b, i)?;
                    }
                    stack.push(ctx);
                    continue 'value;
                }
            }
            b'"' => {
                let (s, next) = json_string(b, i)?;
                i = next;
                Some(s)
            }
            b't' | b'f' | b'n' => {
                let lit: &[u8] = match b[i] {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if b.get(i..i + lit.len())? != lit {
                    return None;
                }
                i += lit.len();
                None
            }
            b'-' | b'0'..=b'9' => {
                let end = json_number(b, i)?;
                let text = std::str::from_utf8(b.get(i..end)?).ok()?;
                if text.parse::<f64>().map(f64::is_infinite).unwrap_or(true) {
                    out.overflow = true;
                }
                i = end;
                None
            }
            _ => return None,
        };
        // A value ended at the current depth: record it, then close containers as far as we can.
        let mut item = Some(item);
        loop {
            if let Some(it) = item.take() {
                if stack.len() == 1 {
                    out.items.push(it);
                }
            }
            i = skip_ws(i);
            let ctx = stack.last()?;
            match (ctx, *b.get(i)?) {
                (_, b',') => {
                    i += 1;
                    if *ctx == Ctx::Obj {
                        i = json_object_key(b, skip_ws(i))?;
                    }
                    continue 'value;
                }
                (Ctx::Arr, b']') | (Ctx::Obj, b'}') => {
                    i += 1;
                    stack.pop();
                    if stack.is_empty() {
                        return Some(out);
                    }
                    item = Some(None);
                }
                _ => return None,
            }
        }
    }
}

/// An object key and its colon, starting at `i`; returns the offset after the colon.
fn json_object_key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let (_, mut j) = json_string(b, i)?;
    while matches!(b.get(j), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        j += 1;
    }
    (b.get(j) == Some(&b':')).then_some(j + 1)
}

/// A JSON string starting at the quote at `i`, decoded like Go's `unquote`; returns it and the offset
/// after the closing quote.
fn json_string(b: &[u8], i: usize) -> Option<(String, usize)> {
    let hex4 = |at: usize| -> Option<u32> {
        let h = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    };
    let mut out: Vec<u8> = Vec::new();
    let mut j = i + 1;
    loop {
        let c = *b.get(j)?;
        match c {
            b'"' => {
                return Some((String::from_utf8_lossy(&out).into_owned(), j + 1));
            }
            0..=0x1f => return None,
            b'\\' => {
                let e = *b.get(j + 1)?;
                j += 2;
                let ch = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let r = hex4(j)?;
                        j += 4;
                        if (0xd800..0xe000).contains(&r) {
                            // A valid pair is consumed whole; anything else is U+FFFD.
                            let low = if b.get(j..j + 2) == Some(b"\\u") {
                                hex4(j + 2)
                            } else {
                                None
                            };
                            match low {
                                Some(lo)
                                    if (0xd800..0xdc00).contains(&r)
                                        && (0xdc00..0xe000).contains(&lo) =>
                                {
                                    j += 6;
                                    char::from_u32(0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00))
                                        .unwrap_or('\u{fffd}')
                                }
                                _ => '\u{fffd}',
                            }
                        } else {
                            char::from_u32(r).unwrap_or('\u{fffd}')
                        }
                    }
                    _ => return None,
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => {
                out.push(c);
                j += 1;
            }
        }
    }
}

/// The end of a JSON number starting at `i` (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`).
fn json_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut k: usize| {
        let s = k;
        while b.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        (k > s).then_some(k)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i)?,
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
    }
    Some(i)
}

fn parse_maybe_json(rest: &str) -> Result<Form, String> {
    if rest.is_empty() {
        return Ok(Form::Empty);
    }
    match parse_json(rest) {
        JsonResult::Array(v) => Ok(Form::Exec(v)),
        JsonResult::NotStrings => Err(NOT_STRING_ARRAY.into()),
        JsonResult::NotJson => Ok(Form::Shell),
    }
}

/// BuildKit's `parseNameVal`, for its errors only: `ENV a` and `ENV a=1 b` are rejected.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<(), String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(());
    };
    if !first.contains('=') {
        if split_token_ws(rest).len() < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(());
    }
    for w in &words {
        if !w.contains('=') {
            return Err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Dockerfile {
        Dockerfile::parse(s).unwrap()
    }

    #[test]
    fn continuation_with_comments_and_blank_lines() {
        let d = p("FROM a\nRUN echo a \\\n  # c\n\n  && echo b\nCMD x\n");
        assert_eq!(d.instructions.len(), 3);
        let run = &d.instructions[1];
        assert_eq!(run.command.args, "echo a   && echo b");
        assert_eq!((run.start_line, run.end_line), (2, 5));
        assert_eq!(run.lines.len(), 4);
        assert_eq!(
            d.text(run.command.args_span),
            "echo a \\\n  # c\n\n  && echo b"
        );
    }

    #[test]
    fn heredocs_and_flags() {
        let d = p("FROM a\nCOPY --link <<EOF1 <<-\"EOF2\" /dst\nhello\nEOF1\n\tx\n\tEOF2\nRUN x\n");
        let c = &d.instructions[1];
        assert_eq!(c.heredocs.len(), 2);
        assert_eq!(c.heredocs[0].name, "EOF1");
        assert!(c.heredocs[1].chomp && !c.heredocs[1].expand);
        assert_eq!(d.text(c.heredocs[0].body), "hello\n");
        assert_eq!((c.start_line, c.end_line), (2, 6));
        assert_eq!(c.command.flags[0].text, "--link");
    }

    #[test]
    fn escape_directive_and_backtick_continuation() {
        let d = p("# escape=`\nFROM a\nRUN dir `\n  c:\\\n");
        assert_eq!(d.escape, '`');
        assert_eq!(d.instructions[1].command.args, "dir   c:\\");
    }

    #[test]
    fn exec_form_and_invalid_json() {
        let d = p("FROM a\nRUN [\"a\", \"b\"]\nRUN [\"a\", \"b\"\nCMD [\"x\"] trailing\n");
        assert_eq!(
            d.instructions[1].command.form,
            Form::Exec(vec!["a".into(), "b".into()])
        );
        assert_eq!(d.instructions[2].command.form, Form::Shell);
        assert!(matches!(d.instructions[3].command.form, Form::Exec(_)));
        assert!(Dockerfile::parse("FROM a\nRUN [1]\n").is_err());
    }

    #[test]
    fn errors_like_buildkit() {
        assert!(Dockerfile::parse("# only a comment\n").is_err());
        assert!(Dockerfile::parse("FROM a\nENV x\n").is_err());
        assert!(Dockerfile::parse("FROM a\nRUN <<EOF\nno end\n").is_err());
        assert!(Dockerfile::parse("# escape=x\nFROM a\n").is_err());
        assert!(Dockerfile::parse("FROM a\0\n").is_err());
    }

    #[test]
    fn bom_crlf_and_no_final_newline() {
        let d = p("\u{feff}FROM a\r\nRUN x \\\r\n  y");
        assert!(d.has_bom);
        assert_eq!(d.instructions[1].command.args, "x   y");
        assert_eq!(d.newline(), "\r\n");
    }

    #[test]
    fn json_like_go() {
        let form = |args: &str| match parse_json(args) {
            JsonResult::Array(v) => Ok(v),
            JsonResult::NotStrings => Err("not strings"),
            JsonResult::NotJson => Err("not json"),
        };
        assert_eq!(
            form(r#"["\ud800", "\ud83d\ude00"]"#),
            Ok(vec!["\u{fffd}".into(), "\u{1f600}".into()])
        );
        assert_eq!(form(r#"["a"] trailing"#), Ok(vec!["a".into()]));
        assert_eq!(form("[]"), Ok(vec![]));
        assert_eq!(form(r#"["a", 1]"#), Err("not strings"));
        assert_eq!(form(r#"["a", {"k": [1]}]"#), Err("not strings"));
        assert_eq!(form(r#"["a", 1e999]"#), Err("not json"));
        assert_eq!(form(r#"["a",]"#), Err("not json"));
        assert_eq!(form("[\"a\",\u{b}\"b\"]"), Err("not json"));
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(form(&deep), Err("not strings"));
        let too_deep = format!("{}{}", "[".repeat(10_001), "]".repeat(10_001));
        assert_eq!(form(&too_deep), Err("not json"));
    }

    #[test]
    fn nested_onbuild_and_long_lines() {
        assert!(Dockerfile::parse("FROM a\nONBUILD ONBUILD CMD [1]\n").is_err());
        assert!(Dockerfile::parse("FROM a\nONBUILD ONBUILD CMD [\"x\"]\n").is_ok());
        let ok = format!("FROM a\nRUN {}\n", "x".repeat(65535 - 4));
        assert!(Dockerfile::parse(&ok).is_ok());
        let long = format!("FROM a\nRUN {}\n", "x".repeat(65536 - 4));
        let e = Dockerfile::parse(&long).unwrap_err();
        assert_eq!((e.line, e.col), (2, 1));
    }

    #[test]
    fn onbuild_trigger() {
        let d = p("FROM a\nONBUILD RUN --mount=type=cache,target=/x echo hi\n");
        let t = d.instructions[1].trigger.as_ref().unwrap();
        assert_eq!(t.kind, Keyword::Run);
        assert_eq!(t.flags[0].name(), "mount");
        assert_eq!(d.text(t.args_span), "echo hi");
    }
}
