//! Logical lines and instructions, after BuildKit's `frontend/dockerfile/parser/parser.go`: physical
//! lines are joined at line-continuation characters (comment and blank lines inside a continuation
//! are skipped), each logical line becomes one instruction (`newNodeFromLine`), ONBUILD triggers are
//! parsed again as instructions of their own, and heredoc bodies are read after the line that opens
//! them. Unlike BuildKit every piece keeps its source span.

use super::directives::DirectiveParser;
use super::lex::{
    self, extract_builder_flags, split_first_word, trim_end_go_space, trim_start_go_space,
};
use super::line_parsers::parse_args_form;
use super::{
    line_col_of, Command, Dockerfile, Flag, Form, Heredoc, Instruction, Keyword, LineKind,
    ParseError, PhysicalLine, Span,
};

pub(super) struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the start of each physical line, the first one 0 (before a BOM): built once
    /// here and handed to the [`Dockerfile`] as it is. Holds one entry when there are no lines.
    line_starts: Vec<usize>,
    /// The number of physical lines (0 for an empty file or a lone BOM).
    line_count: usize,
    /// 3 when the file starts with a BOM (line 1's content starts after it), else 0.
    bom_len: usize,
    /// The first (0-based) line longer than BuildKit can read, found while the lines are split.
    too_long: Option<usize>,
    /// BuildKit's `DirectiveParser`: the escape character and the directives seen so far.
    directives: DirectiveParser,
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
    pub(super) fn new(src: &'a str) -> Self {
        let bytes = src.as_bytes();
        let bom_len = if src.starts_with('\u{feff}') { 3 } else { 0 };
        // One pass over the file for every line feed (a search per line, or a count first to size
        // the table, cost more); the table is sized from the length (lines of 16 bytes or more
        // need no growing) and BuildKit's line length limit is checked on the way.
        let mut line_starts = Vec::with_capacity(bytes.len() / 16 + 2);
        line_starts.push(0);
        let mut too_long = None;
        // The lines are measured from the start of the file: BuildKit counts a BOM in line 1.
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', bytes.get(bom_len..).unwrap_or_default()) {
            let end = bom_len + i + 1;
            // BuildKit reads lines with a `bufio.Scanner` whose buffer holds at most 64 KiB: a
            // longer line (its line feed included) stops the scan and fails the build.
            if end - start > MAX_LINE_BYTES + 1 && too_long.is_none() {
                too_long = Some(line_starts.len() - 1);
            }
            line_starts.push(end);
            start = end;
        }
        let newlines = line_starts.len() - 1;
        let line_count = if bytes.len() > start.max(bom_len) {
            // A last line without a line feed.
            if bytes.len() - start > MAX_LINE_BYTES && too_long.is_none() {
                too_long = Some(newlines);
            }
            newlines + 1
        } else {
            // The file ends with a line feed (or has no lines): no line starts after it.
            if newlines > 0 {
                line_starts.pop();
            }
            newlines
        };
        Parser {
            src,
            line_starts,
            line_count,
            bom_len,
            too_long,
            directives: DirectiveParser::new(),
        }
    }

    /// Where line `i` (0-based) starts: after the BOM for the first line.
    #[inline]
    fn line_start(&self, i: usize) -> usize {
        if i == 0 {
            self.bom_len
        } else {
            self.line_starts.get(i).copied().unwrap_or(self.src.len())
        }
    }

    /// Where line `i` ends, its line ending included (the start of the next line).
    #[inline]
    fn line_end(&self, i: usize) -> usize {
        self.line_starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.src.len())
    }

    /// Line `i` without its line ending (every trailing `\r` and `\n`), and its span.
    #[inline]
    fn content(&self, i: usize) -> (&'a str, Span) {
        let start = self.line_start(i);
        let bytes = self.src.as_bytes();
        let mut end = self.line_end(i);
        while end > start && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        (
            self.src.get(start..end).unwrap_or(""),
            Span::new(start, end),
        )
    }

    fn err(&self, line: usize, col: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(line, col, message)
    }

    /// BuildKit's `trimContinuationCharacter`: returns the content without the continuation
    /// character (and blanks after it) and whether the line continues.
    // Called for every line: inlined, the call cost as much as the work.
    #[inline(always)]
    fn trim_continuation<'s>(&self, line: &'s str) -> (&'s str, bool) {
        let bytes = line.as_bytes();
        let mut end = bytes.len();
        while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        let escape = self.directives.escape;
        if escape.is_ascii() {
            // By bytes: the escape (`\` or `` ` ``) is ASCII, so the character before it is another
            // character exactly when its last byte is another byte.
            if end == 0 || bytes[end - 1] != escape as u8 {
                return (line, false);
            }
            let before = line.get(..end - 1).unwrap_or_default();
            return match before.as_bytes().last() {
                None => ("", true),
                Some(&b) if b != escape as u8 => (before, true),
                _ => (line, false),
            };
        }
        let trimmed = line.get(..end).unwrap_or_default();
        if let Some(before) = trimmed.strip_suffix(escape) {
            match before.chars().last() {
                None => return ("", true),
                Some(c) if c != escape => return (before, true),
                _ => {}
            }
        }
        (line, false)
    }

    pub(super) fn run(mut self) -> Result<Dockerfile, ParseError> {
        if let Some(pos) = memchr::memchr(0, self.src.as_bytes()) {
            let (line, col) = line_col_of(self.src, pos);
            return Err(self.err(line, col, "NUL byte in file (binary file?)"));
        }
        if let Some(idx) = self.too_long {
            return Err(self.err(
                idx + 1,
                1,
                format!("dockerfile line greater than max allowed size of {MAX_LINE_BYTES}"),
            ));
        }
        let n = self.line_count;
        let mut instructions = Vec::with_capacity(n.min(64));
        // Scratch space kept across instructions: the joined text of a logical line that spans
        // several physical lines (one that does not is read in place), its map back to the
        // source, and its physical lines (copied out once, at their final size).
        // (Sized for a long RUN up front: growing them step by step showed up in profiles.)
        let mut logical = String::with_capacity(1024);
        let mut segments = Segments {
            parts: Vec::with_capacity(32),
        };
        let mut phys: Vec<PhysicalLine> = Vec::with_capacity(32);
        let mut i = 0usize;
        while i < n {
            let line_no = i + 1;
            let (raw, first_span) = self.content(i);
            let token = trim_start_go_space(raw);
            let token_start = first_span.end - token.len();
            self.directives
                .possible_directive(token, line_no, token_start)?;
            let is_comment = token.starts_with('#');
            let token = if is_comment { "" } else { token };
            i += 1;
            let start_line = i;
            let (first, continued) = self.trim_continuation(token);
            if !continued && first.is_empty() {
                continue;
            }
            segments.parts.clear();
            segments.parts.push((0, token_start, first.len()));
            phys.clear();
            phys.push(PhysicalLine {
                span: first_span,
                kind: LineKind::Code {
                    content: Span::new(token_start, token_start + first.len()),
                    continued,
                },
            });
            let mut joined = false;
            let mut eol = !continued;
            while !eol && i < n {
                let (raw, span) = self.content(i);
                self.directives.possible_directive(raw, i + 1, span.start)?;
                i += 1;
                let lead = trim_start_go_space(raw);
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
                if !joined {
                    logical.clear();
                    logical.push_str(first);
                    joined = true;
                }
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
            let text: &str = if joined { &logical } else { first };
            let end_line_logical = i;
            let command = self
                .command_from_line(text, &segments)
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
                let sub_text = text.get(args_logical_start..).unwrap_or("");
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
                    lex::heredocs_from_line(text).map_err(|m| self.err(start_line, 1, m))?;
                for lex::HeredocWord {
                    name,
                    chomp,
                    expand,
                    fd,
                } in found
                {
                    let body_start = if i < n {
                        self.line_start(i)
                    } else {
                        self.src.len()
                    };
                    let mut terminated = None;
                    while i < n {
                        let (content, span) = self.content(i);
                        let candidate = if chomp {
                            content.trim_start_matches('\t')
                        } else {
                            content
                        };
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
            let full_end = if last_line >= 1 && last_line <= n {
                self.line_end(last_line - 1)
            } else {
                self.src.len()
            };
            instructions.push(Instruction {
                command,
                trigger,
                heredocs,
                span: Span::new(token_start, span_end),
                line_start: first_span.start,
                full_end,
                start_line,
                end_line: last_line,
                lines: phys.clone(),
            });
        }
        if instructions.is_empty() {
            return Err(self.err(n.max(1), 1, "file with no instructions"));
        }
        Ok(Dockerfile {
            source: self.src.to_string(),
            has_bom: self.bom_len > 0,
            escape: self.directives.escape,
            directives: self.directives.seen,
            instructions,
            line_starts: self.line_starts,
        })
    }

    /// BuildKit's `newNodeFromLine` minus the node tree: keyword, flags, arguments and form, with
    /// the same errors.
    fn command_from_line(&self, line: &str, segs: &Segments) -> Result<Command, String> {
        let from_word = trim_start_go_space(line);
        let lead = line.len() - from_word.len();
        let trimmed = trim_end_go_space(from_word);
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
            let a_start = trim_start_go_space(a);
            let a_lead = a.len() - a_start.len();
            args = trim_end_go_space(a_start);
            args_logical = rest_off + args_at + a_lead;
        }
        let args_span = segs.span(args_logical, args_logical + args.len());
        let form = parse_args_form(kind, args, self.directives.escape)?;
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

fn find_logical_offset(segs: &Segments, src: usize) -> usize {
    for &(l, s, n) in &segs.parts {
        if src >= s && src <= s + n {
            return l + (src - s);
        }
    }
    0
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
