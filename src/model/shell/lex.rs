//! The lexer of the shell reader: the RUN text as words (with their parts), redirections and
//! operators, each with its byte span. The parser ([`super::parse`]) builds the tree from these.
//!
//! Where a word ends follows POSIX quoting: `'…'`, `"…"`, `\x`, `$( )`, `$(( ))`, `${ }` and
//! backticks are skipped as a whole, so an operator inside them does not end the word.

use super::{Op, Part, PartKind, Span, Unsupported};

/// One token of the RUN text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A word: its span and its parts (`parts` indexes [`Lexed::parts`]).
    Word {
        span: Span,
        parts: (u32, u32),
    },
    /// A redirection operator with its file-descriptor number and, when written glued to it
    /// (`2>&1`, `>/dev/null`), its target. `wants_target`: the target is the next word.
    Redirect {
        span: Span,
        wants_target: bool,
    },
    Op {
        op: Op,
        span: Span,
    },
}

/// The tokens of a text and the parts of its words.
pub(crate) struct Lexed {
    pub toks: Vec<Tok>,
    /// Shared with the tree built from these tokens ([`super::Reading::tree`]) instead of copied.
    pub parts: std::rc::Rc<Vec<Part>>,
    /// In a tolerant reading ([`lex_tolerant`]), the first construct the strict reading refuses
    /// (a comment, a here-document, a `(` glued to a word); `None` in a strict one.
    pub refused: Option<Unsupported>,
    /// In a tolerant reading, each comment: from its `#` to the end of its line.
    pub comments: Vec<Span>,
    /// In a tolerant reading, where each `<<` starts (read as two bytes of a word).
    pub here_documents: Vec<usize>,
}

impl Lexed {
    /// The parts of a word token (its `parts` range).
    pub fn word_parts(&self, range: (u32, u32)) -> &[Part] {
        parts_in(&self.parts, range)
    }
}

/// The parts a word's `parts` range names in `all` (a lexing's or a tree's parts).
pub(super) fn parts_in(all: &[Part], range: (u32, u32)) -> &[Part] {
    all.get(range.0 as usize..range.1 as usize).unwrap_or(&[])
}

/// Bytes with a meaning of their own inside a word (see `lex`'s match).
const WORD_SPECIAL: [bool; 256] = byte_set(b" \t\n\r\\'\"`$()<>&|;");

/// Splits `text` into tokens. Refuses what the reader does not model: unbalanced quotes or
/// brackets, a comment (it would swallow text appended to the RUN), a here-document or
/// here-string, and a `(` glued to a word other than `name()` (arrays such as `a=(x y)`).
pub(super) fn lex(text: &str) -> Result<Lexed, Unsupported> {
    let lexed = lex_tolerant(text)?;
    match lexed.refused {
        Some(refused) => Err(refused),
        None => Ok(lexed),
    }
}

/// Like [`lex`], but reads on past what the strict reading refuses, recording it: a comment (as
/// a [`Lexed::comments`] span, no token), `<<` (two bytes of a word, in
/// [`Lexed::here_documents`]), a `(` glued to a word (an array `a=(x y)` as one part of the
/// word, any other `(` as one byte of it). Up to the first of these the tokens are the strict
/// reading's; with none, they are exactly the strict reading. Unbalanced quotes and brackets are
/// still an error, reported as the first refusal when one came before.
pub(crate) fn lex_tolerant(text: &str) -> Result<Lexed, Unsupported> {
    let mut refused: Option<Unsupported> = None;
    let mut comments = Vec::new();
    let mut here_documents = Vec::new();
    match lex_reading(text, &mut refused, &mut comments, &mut here_documents) {
        Ok((toks, parts)) => Ok(Lexed {
            toks,
            parts: std::rc::Rc::new(parts),
            refused,
            comments,
            here_documents,
        }),
        Err(hard) => Err(refused.unwrap_or(hard)),
    }
}

fn lex_reading(
    text: &str,
    refused: &mut Option<Unsupported>,
    comments: &mut Vec<Span>,
    here_documents: &mut Vec<usize>,
) -> Result<(Vec<Tok>, Vec<Part>), Unsupported> {
    let b = text.as_bytes();
    // About one token per six bytes of a typical RUN script: one allocation instead of a dozen.
    let mut toks = Vec::with_capacity(text.len() / 6 + 4);
    let mut parts: Vec<Part> = Vec::with_capacity(text.len() / 5 + 4);
    let mut i = 0usize;
    let mut word_start: Option<usize> = None;
    // Index in `parts` of the current word's first part.
    let mut first_part = 0usize;
    let unbalanced = |at: usize| Unsupported::Unbalanced { at };
    let end_word = |toks: &mut Vec<Tok>, parts: &[Part], ws: &mut Option<usize>, fp: usize, end| {
        if let Some(s) = ws.take() {
            toks.push(Tok::Word {
                span: Span::new(s, end),
                parts: (fp as u32, parts.len() as u32),
            });
        }
    };
    macro_rules! start_word {
        () => {
            if word_start.is_none() {
                word_start = Some(i);
                first_part = parts.len();
            }
        };
    }
    let push_part = |parts: &mut Vec<Part>, kind: PartKind, start: usize, end: usize| {
        parts.push(Part {
            kind,
            span: Span::new(start, end),
        });
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => {
                end_word(&mut toks, &parts, &mut word_start, first_part, i);
                i += 1;
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
            }
            b'\n' | b'\r' => {
                end_word(&mut toks, &parts, &mut word_start, first_part, i);
                toks.push(Tok::Op {
                    op: Op::Newline,
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            b'#' if word_start.is_none() => {
                refused.get_or_insert(Unsupported::Comment { at: i });
                let end = b[i..]
                    .iter()
                    .position(|&x| x == b'\n' || x == b'\r')
                    .map_or(b.len(), |p| p + i);
                comments.push(Span::new(i, end));
                i = end;
            }
            b'\\' => {
                start_word!();
                let end = char_end(text, (i + 2).min(b.len()));
                push_part(&mut parts, PartKind::Escaped, i, end);
                i = end;
            }
            b'\'' => {
                start_word!();
                let end = skip_single_quoted(b, i + 1).ok_or(unbalanced(i))?;
                push_part(&mut parts, PartKind::SingleQuoted, i, end);
                i = end;
            }
            b'"' => {
                start_word!();
                let end = skip_double_quoted(b, i + 1).ok_or(unbalanced(i))?;
                push_part(&mut parts, PartKind::DoubleQuoted, i, end);
                i = end;
            }
            b'`' => {
                start_word!();
                let end = skip_backticks(b, i + 1).ok_or(unbalanced(i))?;
                push_part(&mut parts, PartKind::Backticks, i, end);
                i = end;
            }
            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => {
                start_word!();
                let end = skip_dollar(b, i).ok_or(unbalanced(i))?;
                let kind = match (b.get(i + 1), b.get(i + 2)) {
                    (Some(b'('), Some(b'(')) => PartKind::Arithmetic,
                    (Some(b'('), _) => PartKind::CommandSubstitution,
                    _ => PartKind::Braced {
                        assigns: braced_assigns(b, i),
                    },
                };
                push_part(&mut parts, kind, i, end);
                i = end;
            }
            b'(' if word_start.is_none() => {
                toks.push(Tok::Op {
                    op: Op::OpenParen,
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            b'(' => {
                // `name()`: a function definition (its body is a group or subshell that follows).
                // Anything else glued to a word, such as the array in `a=(x y)`, is not modelled.
                let name = word_start.and_then(|s| text.get(s..i)).unwrap_or("");
                let is_name = name
                    .bytes()
                    .next()
                    .is_some_and(|c| c == b'_' || c.is_ascii_alphabetic())
                    && name
                        .bytes()
                        .all(|c| c == b'_' || c == b'-' || c.is_ascii_alphanumeric());
                if !is_name || b.get(i + 1) != Some(&b')') {
                    refused.get_or_insert(Unsupported::GluedParen { at: i });
                    // Read on as the top-level reading always has: an array `a=(x y)` is one
                    // opaque part of the word, any other `(` one byte of it.
                    let end = if name.ends_with('=') {
                        skip_parens(b, i + 1).ok_or(unbalanced(i))?
                    } else {
                        i + 1
                    };
                    push_part(&mut parts, PartKind::Literal, i, end);
                    i = end;
                    continue;
                }
                push_part(&mut parts, PartKind::Literal, i, i + 2);
                i += 2;
                end_word(&mut toks, &parts, &mut word_start, first_part, i);
            }
            b')' => {
                end_word(&mut toks, &parts, &mut word_start, first_part, i);
                toks.push(Tok::Op {
                    op: Op::CloseParen,
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            b'<' | b'>' => {
                if b.get(i + 1) == Some(&b'<') && c == b'<' {
                    refused.get_or_insert(Unsupported::HereDocument { at: i });
                    // Read on with `<<` as two bytes of a word (its body is not modelled).
                    here_documents.push(i);
                    start_word!();
                    push_part(&mut parts, PartKind::Literal, i, i + 2);
                    i += 2;
                    continue;
                }
                // A file-descriptor number right before the operator belongs to it.
                let fd_only = word_start
                    .and_then(|s| text.get(s..i))
                    .map(|w| !w.is_empty() && w.bytes().all(|x| x.is_ascii_digit()))
                    .unwrap_or(false);
                let start = if fd_only {
                    parts.truncate(first_part);
                    word_start.take().unwrap_or(i)
                } else {
                    end_word(&mut toks, &parts, &mut word_start, first_part, i);
                    i
                };
                i += 1;
                while matches!(b.get(i), Some(b'>') | Some(b'<') | Some(b'&') | Some(b'|')) {
                    i += 1;
                }
                // `2>&1`, `>/dev/null`: the target is glued to the operator.
                let glued = i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r');
                if glued {
                    while i < b.len()
                        && !matches!(
                            b[i],
                            b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b')' | b'('
                        )
                    {
                        match b[i] {
                            b'\'' => i = skip_single_quoted(b, i + 1).ok_or(unbalanced(i))?,
                            b'"' => i = skip_double_quoted(b, i + 1).ok_or(unbalanced(i))?,
                            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => {
                                i = skip_dollar(b, i).ok_or(unbalanced(i))?
                            }
                            b'\\' => i += 2,
                            _ => i += 1,
                        }
                    }
                }
                toks.push(Tok::Redirect {
                    span: Span::new(start, i.min(b.len())),
                    wants_target: !glued,
                });
            }
            b'&' if b.get(i + 1) == Some(&b'>') => {
                end_word(&mut toks, &parts, &mut word_start, first_part, i);
                let start = i;
                i += 2;
                let glued = i < b.len() && !matches!(b[i], b' ' | b'\t');
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b';' | b'&' | b'|' | b')') {
                    i += 1;
                }
                toks.push(Tok::Redirect {
                    span: Span::new(start, i),
                    wants_target: !glued,
                });
            }
            b'&' | b'|' | b';' => {
                end_word(&mut toks, &parts, &mut word_start, first_part, i);
                let two = b.get(i + 1).copied();
                let (len, op) = match (c, two) {
                    (b'&', Some(b'&')) => (2, Op::And),
                    (b'|', Some(b'|')) => (2, Op::Or),
                    // `case` branch terminators (the parser refuses them anywhere else).
                    (b';', Some(b';')) if b.get(i + 2) == Some(&b'&') => (3, Op::CaseContinue),
                    (b';', Some(b';')) => (2, Op::CaseBreak),
                    (b';', Some(b'&')) => (2, Op::CaseFallThrough),
                    (b'|', Some(b'&')) => (2, Op::PipeAll),
                    (b'&', _) => (1, Op::Background),
                    (b'|', _) => (1, Op::Pipe),
                    _ => (1, Op::Semicolon),
                };
                toks.push(Tok::Op {
                    op,
                    span: Span::new(i, i + len),
                });
                i += len;
            }
            b'$' => {
                // `$NAME` or a special parameter; a lone `$` is literal.
                start_word!();
                let start = i;
                i += 1;
                match b.get(i) {
                    Some(&x) if x == b'_' || x.is_ascii_alphabetic() => {
                        while b
                            .get(i)
                            .is_some_and(|&x| x == b'_' || x.is_ascii_alphanumeric())
                        {
                            i += 1;
                        }
                        push_part(&mut parts, PartKind::Parameter, start, i);
                    }
                    Some(b'0'..=b'9' | b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => {
                        i += 1;
                        push_part(&mut parts, PartKind::Parameter, start, i);
                    }
                    _ => push_part(&mut parts, PartKind::Literal, start, i),
                }
            }
            _ => {
                // Inside a word, only the bytes above end it or start a quote, expansion or
                // operator: skip the rest in one go (they are never UTF-8 continuation bytes, so
                // `i` stays on a character boundary).
                start_word!();
                let start = i;
                i += 1;
                while b.get(i).is_some_and(|&x| !WORD_SPECIAL[x as usize]) {
                    i += 1;
                }
                push_part(&mut parts, PartKind::Literal, start, i);
            }
        }
    }
    end_word(
        &mut toks,
        &parts,
        &mut word_start,
        first_part,
        b.len().min(i),
    );
    Ok((toks, parts))
}

/// The first character boundary of `text` at or after `i`.
fn char_end(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// `${NAME:=…}` or `${NAME=…}` (`i` at the `$`): the expansion assigns the variable.
fn braced_assigns(b: &[u8], i: usize) -> bool {
    let name_start = i + 2;
    let name_end = b
        .get(name_start..)
        .and_then(|r| {
            r.iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        })
        .map(|p| p + name_start);
    match name_end {
        Some(e) => b[e] == b'=' || (b[e] == b':' && b.get(e + 1) == Some(&b'=')),
        None => false,
    }
}

/// `i` is just after an opening `'`; returns the index after the closing one.
pub(crate) fn skip_single_quoted(b: &[u8], i: usize) -> Option<usize> {
    Some(b.get(i..)?.iter().position(|&x| x == b'\'')? + i + 1)
}

/// `i` is just after an opening `"`; returns the index after the closing one.
pub(crate) fn skip_double_quoted(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            b'`' => i = skip_backticks(b, i + 1)?,
            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => i = skip_dollar(b, i)?,
            _ => i += 1,
        }
    }
    None
}

/// `i` points at `$`; returns the index after the matching `)` or `}`.
pub(crate) fn skip_dollar(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i + 1) {
        Some(b'(') => skip_parens(b, i + 2),
        Some(b'{') => {
            let mut j = i + 2;
            let mut depth = 1;
            while j < b.len() {
                match b[j] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    b'\\' => j += 1,
                    b'\'' => j = b.get(j + 1..)?.iter().position(|&x| x == b'\'')? + j + 1,
                    b'"' => j = skip_double_quoted(b, j + 1)? - 1,
                    // `${A:-`cmd`}`: a `}` inside the backticks does not close the expansion.
                    b'`' => j = skip_backticks(b, j + 1)? - 1,
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => Some(i + 1),
    }
}

/// `i` is just after an opening `(`; returns the index after the matching `)`. A `#` after a
/// blank (a comment, which may hide the closing `)`) and `case` patterns inside (`a)`) make it
/// give up, which is conservative.
pub(crate) fn skip_parens(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 1;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'\\' => i += 1,
            b'\'' => i = b.get(i + 1..)?.iter().position(|&x| x == b'\'')? + i + 1,
            b'"' => i = skip_double_quoted(b, i + 1)? - 1,
            b'`' => i = skip_backticks(b, i + 1)? - 1,
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t') => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// `i` is just after an opening backtick; returns the index after the closing one.
pub(crate) fn skip_backticks(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b'`' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// A lookup table that is true for the given bytes (the lexers' byte classes).
pub(crate) const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
}
