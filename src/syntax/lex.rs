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
    s.trim_matches(is_go_space)
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
                return (words, pos);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if (phase == Phase::Word || phase == Phase::Quote) && pos == b.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(RawFlag {
                    text: std::mem::take(&mut word),
                    start: word_start,
                    end: pos,
                });
            }
            break;
        }
        if phase == Phase::Word {
            if is_go_space(ch as char) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (words, pos);
                }
                if blank_ok || !word.is_empty() {
                    words.push(RawFlag {
                        text: std::mem::take(&mut word),
                        start: word_start,
                        end: pos,
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

/// BuildKit's `parseWords` (used by ENV, LABEL and ARG): words split on whitespace, quotes and
/// escapes kept.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn double_dash_ends_flags() {
        let (flags, rest) = extract_builder_flags("--a -- --b x");
        assert_eq!(flags.len(), 1);
        assert_eq!(&"--a -- --b x"[rest..], " --b x");
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(parse_words("A=\"x y\" B=1", '\\'), ["A=\"x y\"", "B=1"]);
        assert_eq!(parse_words("A= B=2", '\\'), ["A=", "B=2"]);
    }

    #[test]
    fn heredoc_words() {
        let w = raw_shell_words("cat <<'EOF' >x").unwrap();
        assert_eq!(w[1].2, "<<'EOF'");
        assert_eq!(unquote_heredoc_word("'EOF'"), Some(("EOF".into(), true)));
        assert_eq!(unquote_heredoc_word("EOF"), Some(("EOF".into(), false)));
        assert!(raw_shell_words("echo \"unterminated").is_none());
    }
}
