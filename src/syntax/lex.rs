//! Small lexers that reproduce BuildKit's word splitting rules byte for byte.
//!
//! BuildKit uses several slightly different tokenisers depending on the instruction; the agreement
//! check (`scripts/buildkit-agreement.py`) compares our results with the real thing, so each one
//! here mirrors a named function of `moby/buildkit/frontend/dockerfile/parser`.

/// Go's `unicode.IsSpace`, which is Unicode's `White_Space` property (the same set as Rust's).
pub fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `strings.TrimSpace`.
pub fn trim_go_space(s: &str) -> &str {
    trim_end_go_space(trim_start_go_space(s))
}

/// An ASCII byte [`is_go_space`] accepts (the non-ASCII spaces are multi-byte characters).
#[inline]
fn is_ascii_go_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `s` without leading [`is_go_space`] characters. Instruction lines are ASCII nearly always: the
/// bytes are looked at first, and characters are decoded only from the first non-ASCII byte on
/// (a profile showed the decoding of every line's first character).
#[inline]
pub fn trim_start_go_space(s: &str) -> &str {
    let lead = s.bytes().take_while(|&b| is_ascii_go_space(b)).count();
    let rest = s.get(lead..).unwrap_or_default();
    if rest.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
        return rest.trim_start_matches(is_go_space);
    }
    rest
}

/// `s` without trailing [`is_go_space`] characters (ASCII bytes first, as in
/// [`trim_start_go_space`]).
#[inline]
pub fn trim_end_go_space(s: &str) -> &str {
    let trail = s
        .bytes()
        .rev()
        .take_while(|&b| is_ascii_go_space(b))
        .count();
    let rest = s.get(..s.len() - trail).unwrap_or_default();
    if rest.as_bytes().last().is_some_and(|b| !b.is_ascii()) {
        return rest.trim_end_matches(is_go_space);
    }
    rest
}

/// BuildKit's `reWhitespace` = `[\t\v\f\r ]+`.
pub fn is_token_ws(b: u8) -> bool {
    matches!(b, b'\t' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `reWhitespace.Split(s, 2)`: the first word and the rest (the rest starts after the run of blanks).
pub fn split_first_word(s: &str) -> (&str, Option<&str>) {
    let bytes = s.as_bytes();
    match bytes.iter().position(|&b| is_token_ws(b)) {
        None => (s, None),
        Some(i) => {
            let mut j = i;
            while j < bytes.len() && is_token_ws(bytes[j]) {
                j += 1;
            }
            (&s[..i], Some(&s[j..]))
        }
    }
}

/// `reWhitespace.Split(s, -1)`.
pub fn split_token_ws(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if is_token_ws(bytes[i]) {
            out.push(&s[start..i]);
            while i < bytes.len() && is_token_ws(bytes[i]) {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// A builder flag (`--name=value`) as BuildKit reports it, with its byte range in the text it was
/// extracted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFlag {
    /// The flag as BuildKit reports it: quotes and escapes removed (`--mount=type=cache,target=/x`).
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// BuildKit's `extractBuilderFlags` (the variant shipped with the `dockerfile` 3.4.0 wheel: a flag's
/// value must be joined with `=`). Returns the flags and the byte offset where the arguments start.
/// Note that BuildKit walks bytes and widens each byte to a rune, so non-ASCII bytes inside a flag are
/// re-encoded one by one; we do the same so that flags compare equal.
pub fn extract_builder_flags(line: &str) -> (Vec<RawFlag>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let b = line.as_bytes();
    let mut words: Vec<RawFlag> = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_start = 0usize;
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0usize;
    while pos <= b.len() {
        let ch = if pos < b.len() { b[pos] } else { 0 };
        if phase == Phase::Spaces {
            if pos == b.len() {
                break;
            }
            if is_go_space(ch as char) {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == b.len() || b[pos + 1] != b'-' {
                return (words, ceil_char_boundary(line, pos));
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if (phase == Phase::Word || phase == Phase::Quote) && pos == b.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(RawFlag {
                    text: std::mem::take(&mut word),
                    start: word_start,
                    end: ceil_char_boundary(line, pos),
                });
            }
            break;
        }
        if phase == Phase::Word {
            if is_go_space(ch as char) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (words, ceil_char_boundary(line, pos));
                }
                if blank_ok || !word.is_empty() {
                    words.push(RawFlag {
                        text: std::mem::take(&mut word),
                        start: word_start,
                        end: ceil_char_boundary(line, pos),
                    });
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch.is_ascii() && ch != b'\\' {
                // A run of ASCII bytes with no meaning here is copied whole (non-ASCII bytes are
                // widened one by one below).
                let end = ascii_run_end(b, pos, |x| {
                    !is_ascii_go_space(x) && x != b'\'' && x != b'"' && x != b'\\'
                });
                word.push_str(line.get(pos..end).unwrap_or_default());
                pos = end;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == b.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = b[pos];
            }
            word.push(c as char);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch.is_ascii() && ch != b'\\' {
            let end = ascii_run_end(b, pos, |x| x != quote && x != b'\\');
            word.push_str(line.get(pos..end).unwrap_or_default());
            pos = end;
            continue;
        }
        let mut c = ch;
        if c == b'\\' {
            if pos + 1 == b.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = b[pos];
        }
        word.push(c as char);
        pos += 1;
    }
    (words, b.len())
}

/// The end of the run of ASCII bytes of `b` from `from` on that `ordinary` accepts (at least one
/// byte: the one at `from` is known to be one).
fn ascii_run_end(b: &[u8], from: usize, ordinary: impl Fn(u8) -> bool) -> usize {
    b.get(from + 1..)
        .and_then(|rest| rest.iter().position(|&x| !(x.is_ascii() && ordinary(x))))
        .map_or(b.len(), |k| from + 1 + k)
}

/// The first char boundary of `s` at or after `i`. BuildKit's flag scanner looks at single bytes, and
/// takes the bytes 0x85 and 0xA0 for blanks even inside a multi-byte character; we keep such a
/// character whole in the flag it ends (BuildKit would hand the rest of it to the arguments as stray
/// continuation bytes).
pub fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

/// BuildKit's `parseWords` (used by ENV, LABEL and ARG): words split on whitespace, quotes and
/// escapes kept.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
    if !has_quote_or_escape(rest, escape) {
        // Without quotes or escapes the words are the runs of non-blanks (the loop below gives the
        // same, a character at a time).
        return blank_separated(rest).map(str::to_string).collect();
    }
    parse_word_spans(rest, escape)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Whether `s` holds a quote or the escape character: without them `parse_words` gives the runs
/// of non-blanks ([`blank_separated`]).
pub fn has_quote_or_escape(s: &str, escape: char) -> bool {
    if escape.is_ascii() {
        memchr::memchr3(b'\'', b'"', escape as u8, s.as_bytes()).is_some()
    } else {
        s.contains(['\'', '"', escape])
    }
}

/// The runs of characters other than [`is_go_space`] in `s`: `s.split(is_go_space)` without the
/// empty pieces, with ASCII bytes looked at as bytes (a profile showed the decoding of each
/// character of every ENV and LABEL).
pub fn blank_separated(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let word = trim_start_go_space(rest);
        let bytes = word.as_bytes();
        let mut end = 0;
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii() {
                if is_ascii_go_space(b) {
                    break;
                }
                end += 1;
                continue;
            }
            let Some(c) = word.get(end..).and_then(|t| t.chars().next()) else {
                break;
            };
            if is_go_space(c) {
                break;
            }
            end += c.len_utf8();
        }
        let (found, after) = word.split_at(end.min(word.len()));
        rest = after;
        (!found.is_empty()).then_some(found)
    })
}

/// BuildKit's `parseWords` loop, giving each word as the slice of `rest` it is: the loop keeps every
/// character of a word (quotes and escapes too) except an escape at the very end of `rest`, so a
/// word is always one piece of the text and needs no copy. Each run of characters with no meaning of
/// their own (in a word: not blank, not a quote, not the escape; in quotes: not the closing quote or
/// the escape) is taken in one go. [`parse_words_by_char`], its character-at-a-time transcription,
/// is the test oracle.
pub fn parse_word_spans<'a>(rest: &'a str, escape: char) -> Vec<&'a str> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    // The word being read is `rest[start..end]`: `end` moves past each character the loop keeps.
    let mut start = 0usize;
    let mut end = 0usize;
    let mut quote = '\0';
    let mut i = 0usize;
    // The end of the run of ordinary characters starting at `from`.
    let push = |words: &mut Vec<&'a str>, start: usize, end: usize| {
        // BuildKit keeps a word that is not empty (a quoted empty word holds its quotes).
        if end > start {
            words.push(rest.get(start..end).unwrap_or(""));
        }
    };
    loop {
        let ch = rest.get(i..).and_then(|t| t.chars().next());
        if phase == Phase::Spaces {
            match ch {
                None => break,
                Some(c) if is_go_space(c) => {
                    i += c.len_utf8();
                    continue;
                }
                Some(_) => {
                    phase = Phase::Word;
                    start = i;
                    end = i;
                }
            }
        }
        let Some(c) = ch else {
            push(&mut words, start, end);
            break;
        };
        i += c.len_utf8();
        if phase == Phase::Word {
            if is_go_space(c) {
                phase = Phase::Spaces;
                push(&mut words, start, end);
                continue;
            }
            if c == '\'' || c == '"' {
                quote = c;
                phase = Phase::Quote;
            }
            if c == escape {
                let Some(next) = rest.get(i..).and_then(|t| t.chars().next()) else {
                    continue; // a trailing escape is dropped
                };
                i += next.len_utf8();
                end = i;
                continue;
            }
            end = i;
            if phase == Phase::Word {
                i = char_run_end(rest, i, |x| {
                    !is_go_space(x) && x != '\'' && x != '"' && x != escape
                });
                end = i;
            }
            continue;
        }
        // Phase::Quote
        if c == quote {
            phase = Phase::Word;
        }
        if c == escape && quote != '\'' {
            let Some(next) = rest.get(i..).and_then(|t| t.chars().next()) else {
                phase = Phase::Word;
                continue;
            };
            i += next.len_utf8();
            end = i;
            continue;
        }
        end = i;
        if phase == Phase::Quote {
            i = char_run_end(rest, i, |x| x != quote && (x != escape || quote == '\''));
            end = i;
        }
    }
    words
}

/// The end of the run of characters of `s` from `from` on that `ordinary` accepts. ASCII bytes are
/// looked at as they are; a character is decoded only from a non-ASCII byte on.
fn char_run_end(s: &str, from: usize, ordinary: impl Fn(char) -> bool) -> usize {
    let bytes = s.as_bytes();
    let mut k = from;
    while let Some(&b) = bytes.get(k) {
        if b.is_ascii() {
            if !ordinary(b as char) {
                return k;
            }
            k += 1;
            continue;
        }
        match s.get(k..).and_then(|t| t.chars().next()) {
            Some(c) if ordinary(c) => k += c.len_utf8(),
            _ => return k,
        }
    }
    bytes.len()
}

/// BuildKit's `parseWords` loop, a character at a time.
#[cfg(test)]
fn parse_words_by_char(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0usize;
    let n = chars.len();
    while pos <= n {
        let mut ch = if pos < n { chars[pos] } else { '\0' };
        if phase == Phase::Spaces {
            if pos == n {
                break;
            }
            if is_go_space(ch) {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if (phase == Phase::Word || phase == Phase::Quote) && pos == n {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            break;
        }
        if phase == Phase::Word {
            if is_go_space(ch) {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == n {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == n {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// An approximation of [`shell_words`] that also gives byte ranges (kept for callers that need
/// them; the parser itself uses [`heredocs_from_line`]).
///
/// Words of a line as BuildKit's shell lexer sees them when it looks for heredocs
/// (`ProcessWords` with `RawQuotes`, `RawEscapes` and `SkipUnsetEnv`): split on unquoted
/// whitespace, quotes and escapes kept. Returns `None` where the lexer fails (an unterminated quote
/// or `${`), in which case BuildKit finds no heredoc at all. Each word comes with its byte range.
pub fn raw_shell_words(line: &str) -> Option<Vec<(usize, usize, String)>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\r' || b[i] == b'\n') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && !(b[i] == b' ' || b[i] == b'\t' || b[i] == b'\r' || b[i] == b'\n') {
            match b[i] {
                b'\\' => {
                    i = (i + 2).min(b.len());
                }
                b'\'' => {
                    i += 1;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    if i >= b.len() {
                        return None;
                    }
                    i += 1;
                }
                b'"' => {
                    i += 1;
                    loop {
                        if i >= b.len() {
                            return None;
                        }
                        match b[i] {
                            b'"' => break,
                            b'\\' => i += 2,
                            b'$' if b.get(i + 1) == Some(&b'{') => {
                                i = skip_braces(b, i + 2)?;
                            }
                            _ => i += 1,
                        }
                    }
                    i += 1;
                }
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    i = skip_braces(b, i + 2)?;
                }
                _ => i += 1,
            }
        }
        let end = i.min(b.len());
        out.push((start, end, line.get(start..end)?.to_string()));
    }
    Some(out)
}

fn skip_braces(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() {
        if b[i] == b'}' {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// An approximation kept for API stability; the parser uses [`heredocs_from_line`].
///
/// Removes shell quoting from a heredoc delimiter word (`'EOF'`, `"EOF"`, `E"O"F`, `\EOF`).
/// Returns the name and whether any quoting was present (quoted delimiters disable expansion).
pub fn unquote_heredoc_word(word: &str) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = word.chars().peekable();
    let mut words = 0;
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = true;
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => out.push(x),
                        None => return None,
                    }
                }
            }
            '"' => {
                quoted = true;
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x) => out.push(x),
                            None => return None,
                        },
                        Some(x) => out.push(x),
                        None => return None,
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    out.push(x);
                }
            }
            c if c == ' ' || c == '\t' => {
                if in_word {
                    words += 1;
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                out.push(c);
            }
        }
    }
    if in_word {
        words += 1;
    }
    if words != 1 {
        return None;
    }
    Some((out, quoted))
}

/// How BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`, as vendored in the BuildKit the
/// oracle embeds) is configured for one call.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShellLexMode {
    /// Keep quote characters in the words (`RawQuotes`).
    pub raw_quotes: bool,
    /// Keep escape characters in the words (`RawEscapes`).
    pub raw_escapes: bool,
}

/// Deepest `${...}` nesting followed; deeper input is treated as a lexing failure (Go grows its stack
/// without limit, we do not want to overflow ours).
const MAX_SHELL_DEPTH: usize = 256;

/// BuildKit's `Lex.ProcessWords(word, [])` with `SkipUnsetEnv` and the `\` escape token, as used by
/// the parser to find heredocs: every variable is unset, so `$x`/`${x...}` stay as written, and the
/// text is split into words on unquoted, unescaped Unicode whitespace (including whitespace that comes
/// out of an expansion). `None` where BuildKit's lexer returns an error (unterminated quote, bad
/// substitution, ...).
pub fn shell_words(input: &str, mode: ShellLexMode) -> Option<Vec<String>> {
    let mut lx = ShellLex {
        chars: input.chars().collect(),
        pos: 0,
        mode,
        depth: 0,
    };
    lx.process_stop_on(None).map(|(_, words)| words)
}

struct ShellLex {
    chars: Vec<char>,
    pos: usize,
    mode: ShellLexMode,
    depth: usize,
}

#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if is_go_space(ch) {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
        }
        self.words
    }
}

const SHELL_ESCAPE: char = '\\';

impl ShellLex {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// `processStopOn`: the processed text and its words, up to `stop` (consumed) or the end.
    fn process_stop_on(&mut self, stop: Option<char>) -> Option<(String, Vec<String>)> {
        self.depth += 1;
        if self.depth > MAX_SHELL_DEPTH {
            return None;
        }
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                self.depth -= 1;
                return Some((result, words.finish()));
            }
            match ch {
                '$' => {
                    let tmp = self.dollar()?;
                    result.push_str(&tmp);
                    words.add_string(&tmp);
                }
                '\'' => {
                    let tmp = self.single_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '"' => {
                    let tmp = self.double_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                _ => {
                    self.pos += 1;
                    let mut c = ch;
                    if c == SHELL_ESCAPE {
                        if self.mode.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        match self.next() {
                            None => break,
                            Some(n) => c = n,
                        }
                        words.add_raw_char(c);
                    } else {
                        words.add_char(c);
                    }
                    result.push(c);
                }
            }
        }
        if stop.is_some() {
            return None;
        }
        self.depth -= 1;
        Some((result, words.finish()))
    }

    fn single_quote(&mut self) -> Option<String> {
        let mut result = String::new();
        let open = self.next()?;
        if self.mode.raw_quotes {
            result.push(open);
        }
        loop {
            match self.next()? {
                '\'' => {
                    if self.mode.raw_quotes {
                        result.push('\'');
                    }
                    return Some(result);
                }
                c => result.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Option<String> {
        let mut result = String::new();
        let open = self.next()?;
        if self.mode.raw_quotes {
            result.push(open);
        }
        loop {
            match self.peek()? {
                '"' => {
                    self.pos += 1;
                    if self.mode.raw_quotes {
                        result.push('"');
                    }
                    return Some(result);
                }
                '$' => {
                    let v = self.dollar()?;
                    result.push_str(&v);
                }
                _ => {
                    let mut c = self.next()?;
                    if c == SHELL_ESCAPE {
                        if self.mode.raw_escapes {
                            result.push(c);
                        }
                        match self.peek() {
                            None => continue,
                            Some('"' | '$' | SHELL_ESCAPE) => {
                                self.pos += 1;
                                c = self.chars[self.pos - 1];
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(c);
                }
            }
        }
    }

    /// `processDollar` with every variable unset and `SkipUnsetEnv`: the expansion as written, or
    /// `None` for BuildKit's errors (`${}`, missing `}`, unsupported modifier).
    fn dollar(&mut self) -> Option<String> {
        self.pos += 1; // '$'
        if self.peek() != Some('{') {
            let name = self.name();
            return Some(format!("${name}"));
        }
        self.pos += 1; // '{'
        match self.peek() {
            None | Some('{' | '}' | ':') => return None,
            Some(_) => {}
        }
        let name = self.name();
        let ch = self.next()?;
        let mut chs = String::from(ch);
        match ch {
            '}' => Some(format!("${{{name}}}")),
            ':' | '+' | '-' | '?' => {
                if ch == ':' {
                    chs.push(self.next()?);
                }
                let (word, _) = self.process_stop_on(Some('}'))?;
                Some(format!("${{{name}{chs}{word}}}"))
            }
            _ => None,
        }
    }

    /// `processName`: digits, one special parameter, or letters/digits/underscores.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_go_digit(ch) {
                while let Some(d) = self.peek().filter(|&d| is_go_digit(d)) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return ch.to_string();
            }
            if !(ch.is_alphabetic() || is_go_digit(ch) || ch == '_') {
                break;
            }
            name.push(ch);
            self.pos += 1;
        }
        name
    }
}

/// Go's `unicode.IsDigit` (general category Nd). Rust has no category table in `std`: ASCII digits are
/// exact, other numeric characters are taken as digits except the common non-decimal ones.
fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit()
        || (!c.is_ascii()
            && c.is_numeric()
            && !matches!(c, '\u{00b2}' | '\u{00b3}' | '\u{00b9}' | '\u{00bc}'..='\u{00be}'
                | '\u{2070}'..='\u{209f}' | '\u{2150}'..='\u{218f}' | '\u{2460}'..='\u{24ff}'))
}

/// A heredoc found on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeredocWord {
    pub name: String,
    pub chomp: bool,
    pub expand: bool,
    pub fd: Option<u32>,
}

/// BuildKit's `heredocsFromLine` + `ParseHeredoc`: each word of the line (raw quotes and escapes)
/// that matches `^(\d*)<<(-?)([^<]*)$` names a heredoc. `Err` where BuildKit fails the whole parse
/// (its lexer rejects the delimiter word on its own).
pub fn heredocs_from_line(line: &str) -> Result<Vec<HeredocWord>, String> {
    // Every heredoc word contains `<<`: most lines need no lexing at all. (A search for the byte
    // `<`, which most lines do not hold, costs less than a substring search.)
    let bytes = line.as_bytes();
    if !memchr::memchr_iter(b'<', bytes).any(|i| bytes.get(i + 1) == Some(&b'<')) {
        return Ok(Vec::new());
    }
    let raw = ShellLexMode {
        raw_quotes: true,
        raw_escapes: true,
    };
    let Some(words) = shell_words(line, raw) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for w in words {
        let digits = w.bytes().take_while(|b| b.is_ascii_digit()).count();
        let Some(after) = w.get(digits..).and_then(|a| a.strip_prefix("<<")) else {
            continue;
        };
        let (chomp, rest) = match after.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, after),
        };
        if rest.contains('<') || rest.is_empty() {
            continue;
        }
        let err = || format!("failed to process {rest:?}");
        let cooked = shell_words(rest, ShellLexMode::default()).ok_or_else(err)?;
        if cooked.len() != 1 {
            continue;
        }
        let quoted_mode = ShellLexMode {
            raw_quotes: true,
            raw_escapes: false,
        };
        let raw_words = shell_words(rest, quoted_mode).ok_or_else(err)?;
        if raw_words.len() != cooked.len() {
            return Err(format!(
                "internal lexing of heredoc produced inconsistent results: {rest}"
            ));
        }
        let quotes = |s: &str| s.matches(['\'', '"']).count();
        let name = cooked.into_iter().next().unwrap_or_default();
        let expand = quotes(&name) == raw_words.first().map(|r| quotes(r)).unwrap_or(0);
        let fd = if digits > 0 {
            w.get(..digits).and_then(|d| d.parse().ok())
        } else {
            None
        };
        out.push(HeredocWord {
            name,
            chomp,
            expand,
            fd,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_separated_words_are_the_split_ones() {
        for s in [
            "",
            " ",
            "a",
            " a  b\tc ",
            "a\u{a0}b\u{85}c",
            "\u{e9}t\u{e9} \u{3000}x",
            "x\u{2028}",
            "\u{1680}",
            "a=1 b=\u{e9}",
        ] {
            let split: Vec<&str> = s.split(is_go_space).filter(|w| !w.is_empty()).collect();
            assert_eq!(blank_separated(s).collect::<Vec<_>>(), split, "{s:?}");
        }
        assert!(has_quote_or_escape("a'b", '\\') && has_quote_or_escape("a`b", '`'));
        assert!(!has_quote_or_escape("a b", '\\') && has_quote_or_escape("x\u{e9}", '\u{e9}'));
    }

    /// BuildKit's `extractBuilderFlags` a byte at a time: the oracle of the version that copies
    /// runs of ASCII bytes whole.
    fn extract_builder_flags_by_byte(line: &str) -> (Vec<RawFlag>, usize) {
        #[derive(PartialEq)]
        enum Phase {
            Spaces,
            Word,
            Quote,
        }
        let b = line.as_bytes();
        let mut words: Vec<RawFlag> = Vec::new();
        let mut phase = Phase::Spaces;
        let mut word = String::new();
        let mut word_start = 0usize;
        let mut quote = 0u8;
        let mut blank_ok = false;
        let mut pos = 0usize;
        while pos <= b.len() {
            let ch = if pos < b.len() { b[pos] } else { 0 };
            if phase == Phase::Spaces {
                if pos == b.len() {
                    break;
                }
                if is_go_space(ch as char) {
                    pos += 1;
                    continue;
                }
                if ch != b'-' || pos + 1 == b.len() || b[pos + 1] != b'-' {
                    return (words, ceil_char_boundary(line, pos));
                }
                phase = Phase::Word;
                word_start = pos;
            }
            if (phase == Phase::Word || phase == Phase::Quote) && pos == b.len() {
                if word != "--" && (blank_ok || !word.is_empty()) {
                    words.push(RawFlag {
                        text: std::mem::take(&mut word),
                        start: word_start,
                        end: ceil_char_boundary(line, pos),
                    });
                }
                break;
            }
            if phase == Phase::Word {
                if is_go_space(ch as char) {
                    phase = Phase::Spaces;
                    if word == "--" {
                        return (words, ceil_char_boundary(line, pos));
                    }
                    if blank_ok || !word.is_empty() {
                        words.push(RawFlag {
                            text: std::mem::take(&mut word),
                            start: word_start,
                            end: ceil_char_boundary(line, pos),
                        });
                    }
                    word.clear();
                    blank_ok = false;
                    pos += 1;
                    continue;
                }
                if ch == b'\'' || ch == b'"' {
                    quote = ch;
                    blank_ok = true;
                    phase = Phase::Quote;
                    pos += 1;
                    continue;
                }
                let mut c = ch;
                if c == b'\\' {
                    if pos + 1 == b.len() {
                        pos += 1;
                        continue;
                    }
                    pos += 1;
                    c = b[pos];
                }
                word.push(c as char);
                pos += 1;
                continue;
            }
            // Phase::Quote
            if ch == quote {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == b.len() {
                    phase = Phase::Word;
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = b[pos];
            }
            word.push(c as char);
            pos += 1;
        }
        (words, b.len())
    }

    #[test]
    fn flags_taken_in_runs_are_the_ones_taken_byte_by_byte() {
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 20_000,
            ..Default::default()
        });
        runner
            .run(&"(--|[-a= \t'\"\\\\x\u{a0}\u{85}é]){0,20}", |t| {
                proptest::prop_assert_eq!(
                    extract_builder_flags(&t),
                    extract_builder_flags_by_byte(&t)
                );
                Ok(())
            })
            .expect("same flags");
    }

    #[test]
    fn go_space_trims_match_the_char_by_char_ones() {
        for s in [
            "",
            " ",
            "\t\x0b\x0c\r\n x \t",
            "\u{a0}\u{85} x\u{3000}",
            " \u{a0} \u{e9}x\u{e9} \u{2028}",
            "x",
            "\u{e9}",
            " \u{1680}\t",
            "a b",
        ] {
            assert_eq!(
                trim_start_go_space(s),
                s.trim_start_matches(is_go_space),
                "{s:?}"
            );
            assert_eq!(
                trim_end_go_space(s),
                s.trim_end_matches(is_go_space),
                "{s:?}"
            );
            assert_eq!(trim_go_space(s), s.trim_matches(is_go_space), "{s:?}");
        }
    }

    #[test]
    fn flags_are_extracted_like_buildkit() {
        let (flags, rest) =
            extract_builder_flags("--mount=type=cache,target=\"/x y\" --link echo hi");
        let texts: Vec<_> = flags.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["--mount=type=cache,target=/x y", "--link"]);
        assert_eq!(
            &"--mount=type=cache,target=\"/x y\" --link echo hi"[rest..],
            "echo hi"
        );
    }

    #[test]
    fn flag_spans_stay_on_char_boundaries() {
        // U+08E0 is E0 A3 A0: BuildKit sees the A0 byte as a blank.
        let line = "--mount=x\u{8e0}echo";
        let (flags, rest) = extract_builder_flags(line);
        assert!(line.is_char_boundary(flags[0].end) && line.is_char_boundary(rest));
        assert_eq!(&line[rest..], "echo");
    }

    #[test]
    fn double_dash_ends_flags() {
        let (flags, rest) = extract_builder_flags("--a -- --b x");
        assert_eq!(flags.len(), 1);
        assert_eq!(&"--a -- --b x"[rest..], " --b x");
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(parse_words("A=\"x y\" B=1", '\\'), ["A=\"x y\"", "B=1"]);
        assert_eq!(parse_words("A= B=2", '\\'), ["A=", "B=2"]);
        // The loop that takes runs of characters gives what the character loop gives.
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 30_000,
            ..Default::default()
        });
        runner
            .run(&"[a= \t\u{a0}'\"\\\\`é]{0,18}", |t| {
                for escape in ['\\', '`'] {
                    proptest::prop_assert_eq!(
                        parse_word_spans(&t, escape),
                        parse_words_by_char(&t, escape)
                    );
                }
                Ok(())
            })
            .expect("same words");
        // The shortcut for text without quotes or escapes gives what the loop gives.
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&"[a= \t\u{a0}\u{2003}é]{0,20}", |t| {
                proptest::prop_assert_eq!(parse_words(&t, '\\'), parse_words_by_char(&t, '\\'));
                Ok(())
            })
            .expect("same words");
    }

    #[test]
    fn heredoc_words() {
        let w = raw_shell_words("cat <<'EOF' >x").unwrap();
        assert_eq!(w[1].2, "<<'EOF'");
        assert_eq!(unquote_heredoc_word("'EOF'"), Some(("EOF".into(), true)));
        assert_eq!(unquote_heredoc_word("EOF"), Some(("EOF".into(), false)));
        assert!(raw_shell_words("echo \"unterminated").is_none());
    }

    fn names(line: &str) -> Vec<String> {
        heredocs_from_line(line)
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect()
    }

    #[test]
    fn heredoc_words_follow_buildkit_lexer() {
        assert_eq!(
            names("RUN cat <<EOF <<-'E2' 3<<\"E 3\""),
            ["EOF", "E2", "E 3"]
        );
        // Unicode whitespace splits words; an escaped blank does not.
        assert_eq!(names("RUN x\u{85}<<A\u{a0}<<B"), ["A", "B"]);
        assert!(names("RUN x\\ <<A").is_empty());
        // A lexing error anywhere on the line hides every heredoc.
        assert!(names("RUN ${A B} <<EOF").is_empty());
        assert!(names("RUN ${A=x} <<EOF").is_empty());
        assert_eq!(names("RUN ${A:-x} ${A-x} ${A?x} $ <<EOF"), ["EOF"]);
        // Words that come out of an expansion are split too.
        assert_eq!(names("RUN ${A:- <<EOF}"), ["EOF}"]);
        assert!(names("RUN <<\\").is_empty());
        let h = heredocs_from_line("RUN <<E\"O\"F <<EOF").unwrap();
        assert!(!h[0].expand && h[1].expand);
    }

    #[test]
    fn deep_expansions_do_not_overflow() {
        let line = format!("RUN {}x{} <<EOF", "${A:-".repeat(5000), "}".repeat(5000));
        assert!(heredocs_from_line(&line).unwrap().is_empty());
    }
}
