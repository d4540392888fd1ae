//! The shell reading of a RUN's script that the rules share: every simple command, at any depth
//! (inside `if`, `for`, `while`, `case` branches, `{ }`, `( )` and function bodies; not inside
//! `$( )`, backticks or quoted strings), with its words and their byte spans in the text.
//!
//! It does not execute shell: a script it does not model (unbalanced quotes, a comment, a
//! here-document, `select`, arrays, …) reads as `None`, and rules then leave the RUN alone. The
//! top-level view that decides how RUNs may be joined is [`super::top_level`]; both use the lexing
//! helpers here.

/// A word of the script, with its byte range in the script's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Inline up to 24 bytes: most words are short, and a RUN has many.
    pub text: compact_str::CompactString,
    pub start: usize,
    pub end: usize,
}

/// One simple command found anywhere in the script (inside `if`, subshells and groups too, but
/// not inside `$( )`, backticks or quoted strings).
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The words after assignments and reserved words, redirections removed.
    pub words: Vec<Word>,
    /// Nesting depth: 0 at the top level.
    pub depth: usize,
    /// Index of the program word in `words` after wrappers such as `sudo` and `env`.
    pub prog: usize,
    /// The program runs under `sudo`.
    pub sudo: bool,
    /// Where the program's name starts in its word (after the last `/`), worked out once: every
    /// pass asks for it.
    name_from: usize,
}

impl Cmd {
    /// The program name without its directory (`/usr/bin/pip3` → `pip3`).
    pub fn program(&self) -> &str {
        self.words
            .get(self.prog)
            .and_then(|w| w.text.get(self.name_from..))
            .unwrap_or("")
    }
    /// The words after the program.
    pub fn args(&self) -> &[Word] {
        self.words.get(self.prog + 1..).unwrap_or(&[])
    }
    /// The first argument that is not an option (the subcommand of `apt-get install`).
    pub fn subcommand(&self) -> Option<&Word> {
        self.args().iter().find(|w| !w.text.starts_with('-'))
    }
    /// The first argument equal to one of `names` (`install` in `apt-get -o X=1 install`).
    pub fn find_arg<S: AsRef<str>>(&self, names: &[S]) -> Option<&Word> {
        self.args()
            .iter()
            .find(|w| names.iter().any(|n| n.as_ref() == w.text))
    }
    /// Whether any argument equals `arg`.
    pub fn has_arg(&self, arg: &str) -> bool {
        self.args().iter().any(|w| w.text == arg)
    }
    /// The program and its words up to `last` (`python3 -m pip install`).
    pub fn up_to(&self, last: &Word) -> String {
        let mut s = self.program().to_string();
        for w in self.args().iter().take_while(|w| w.start <= last.start) {
            s.push(' ');
            s.push_str(&w.text);
        }
        s
    }
    /// The program and its arguments, joined by single spaces (for the data's regexes).
    pub fn line(&self) -> String {
        let mut s = self.program().to_string();
        for w in self.args() {
            s.push(' ');
            s.push_str(&w.text);
        }
        s
    }
}

/// What the hygiene passes know of a RUN script.
#[derive(Debug, Clone)]
pub struct Script {
    pub cmds: Vec<Cmd>,
    /// Top-level separators, in order (`&&`, `||`, `;`, `|`, `&`, newline as `\n`).
    pub top_ops: Vec<&'static str>,
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
];
const OPENERS: &[&str] = &["if", "while", "until", "{"];
const CLOSERS: &[&str] = &["fi", "done", "}"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word),
    /// A redirection operator (`>`, `2>&1`, `>/dev/null`); `target` when its file is the next word.
    Redirect {
        wants_target: bool,
    },
    Op(&'static str),
}

/// Where a `case` statement is: `case WORD in (PATTERN) BODY ;; … esac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CasePart {
    /// After `case`: the word tested.
    Subject,
    /// After the word: `in`.
    In,
    /// Before a branch's `)`: patterns, not commands.
    Pattern,
    /// A branch's commands, up to `;;` (or `;&`, `;;&`) or `esac`.
    Body,
}

/// Splits the script into words and commands. `None` for anything we do not model: unbalanced
/// quotes, `select`, `function` (bash's keyword; `name() { …; }` is read), arrays, here-documents
/// inside the text, a comment (it would swallow appended text). The commands of `case` branches
/// and of function bodies are nested commands like those of `if`.
pub fn parse(text: &str) -> Option<Script> {
    let toks = tokenize(text)?;
    let mut cmds = Vec::new();
    let mut top_ops = Vec::new();
    let mut depth: usize = 0;
    let mut cur: Vec<Word> = Vec::new();
    let mut cur_depth = 0usize;
    let mut skip_target = false;
    // Open `case` statements, innermost last, with the depth outside each.
    let mut cases: Vec<(CasePart, usize)> = Vec::new();
    let flush = |cur: &mut Vec<Word>, d: usize, cmds: &mut Vec<Cmd>| {
        if cur.is_empty() {
            return;
        }
        // An exact-size copy for the command; `cur` keeps its buffer for the next one.
        let mut words: Vec<Word> = Vec::with_capacity(cur.len());
        words.append(cur);
        if let Some(c) = make_cmd(words, d) {
            cmds.push(c);
        }
    };
    for t in toks {
        // The header and the patterns of a `case` are not commands.
        if let Some((part, outside)) = cases.last_mut() {
            match (*part, &t) {
                (CasePart::Subject, Tok::Word(_)) => {
                    *part = CasePart::In;
                    continue;
                }
                (CasePart::In, Tok::Word(w)) if w.text == "in" => {
                    *part = CasePart::Pattern;
                    continue;
                }
                (CasePart::In | CasePart::Pattern, Tok::Op("\n")) => continue,
                (CasePart::Pattern, Tok::Word(w)) if w.text == "esac" => {
                    depth = *outside;
                    cur_depth = depth;
                    cases.pop();
                    continue;
                }
                (CasePart::Pattern, Tok::Word(_) | Tok::Op("(" | "|")) => continue,
                (CasePart::Pattern, Tok::Op(")")) => {
                    *part = CasePart::Body;
                    cur_depth = depth;
                    continue;
                }
                (CasePart::Subject | CasePart::In | CasePart::Pattern, _) => return None,
                (CasePart::Body, Tok::Op(";;" | ";&" | ";;&")) => {
                    skip_target = false;
                    flush(&mut cur, cur_depth, &mut cmds);
                    *part = CasePart::Pattern;
                    continue;
                }
                (CasePart::Body, _) => {}
            }
        }
        match t {
            Tok::Word(w) => {
                if skip_target {
                    skip_target = false;
                    continue;
                }
                if cur.is_empty() || cur.iter().all(|x| RESERVED.contains(&x.text.as_str())) {
                    let t = w.text.as_str();
                    if t == "select" || t == "function" {
                        return None;
                    }
                    if t.ends_with("()") {
                        // A function definition: the name is no command; the body that follows
                        // (`{ …; }` or `( … )`) is read as a nested group.
                        continue;
                    }
                    if t == "case" {
                        // Reserved words before it (`then`, `!`) make no command of their own.
                        cur.clear();
                        cases.push((CasePart::Subject, depth));
                        depth += 1;
                        continue;
                    }
                    if t == "esac" {
                        let (part, outside) = cases.pop()?;
                        if part != CasePart::Body {
                            return None;
                        }
                        cur.clear();
                        depth = outside;
                        cur_depth = depth;
                        continue;
                    }
                    if t == "for" {
                        // `for x in a b; do`: the header is not a command; its body is nested.
                        cur_depth = depth;
                        depth += 1;
                        cur.push(w);
                        continue;
                    }
                    if OPENERS.contains(&t) {
                        depth += 1;
                    } else if CLOSERS.contains(&t) {
                        depth = depth.checked_sub(1)?;
                    }
                    // Still in command position (only reserved words so far, as in `then if`):
                    // the command starts at the depth reached now.
                    cur_depth = depth;
                }
                cur.push(w);
            }
            Tok::Redirect { wants_target } => skip_target = wants_target,
            Tok::Op(op) => {
                skip_target = false;
                flush(&mut cur, cur_depth, &mut cmds);
                match op {
                    "(" => depth += 1,
                    ")" => depth = depth.checked_sub(1)?,
                    // A branch terminator outside a `case` branch is a syntax error.
                    ";;" | ";&" | ";;&" => return None,
                    _ if depth == 0 => top_ops.push(op),
                    _ => {}
                }
                cur_depth = depth;
            }
        }
    }
    flush(&mut cur, cur_depth, &mut cmds);
    if depth != 0 || !cases.is_empty() {
        return None;
    }
    Some(Script { cmds, top_ops })
}

fn make_cmd(mut words: Vec<Word>, depth: usize) -> Option<Cmd> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if RESERVED.contains(&w.text.as_str()) || is_assignment(&w.text) {
            i += 1;
        } else {
            break;
        }
    }
    let first = words.get(i)?;
    if first.text == "for" {
        return None;
    }
    words.drain(..i);
    let mut prog = 0;
    let mut sudo = false;
    loop {
        let w = words.get(prog)?;
        match w.text.as_str() {
            "sudo" => {
                sudo = true;
                prog += 1;
                while let Some(o) = words.get(prog) {
                    if !o.text.starts_with('-') {
                        break;
                    }
                    let takes_value = matches!(o.text.as_str(), "-u" | "-g" | "-h" | "-p" | "-C");
                    prog += if takes_value { 2 } else { 1 };
                }
            }
            "env" | "nohup" | "command" | "nice" => {
                prog += 1;
                while let Some(o) = words.get(prog) {
                    if o.text.starts_with('-') || is_assignment(&o.text) {
                        prog += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    let name_from = words
        .get(prog)
        .and_then(|w| w.text.rfind('/'))
        .map_or(0, |i| i + 1);
    Some(Cmd {
        words,
        depth,
        prog,
        sudo,
        name_from,
    })
}

/// Bytes with a meaning of their own inside a word (see `tokenize`'s match).
const WORD_SPECIAL: [bool; 256] = byte_set(b" \t\n\r\\'\"`$()<>&|;");

fn tokenize(text: &str) -> Option<Vec<Tok>> {
    let b = text.as_bytes();
    // About one token per six bytes of a typical RUN script: one allocation instead of a dozen.
    let mut out = Vec::with_capacity(text.len() / 6 + 4);
    let mut i = 0usize;
    let mut word_start: Option<usize> = None;
    let end_word = |out: &mut Vec<Tok>, ws: &mut Option<usize>, end: usize| {
        if let Some(s) = ws.take() {
            if let Some(t) = text.get(s..end) {
                out.push(Tok::Word(Word {
                    text: t.into(),
                    start: s,
                    end,
                }));
            }
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => {
                end_word(&mut out, &mut word_start, i);
                i += 1;
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
            }
            b'\n' | b'\r' => {
                end_word(&mut out, &mut word_start, i);
                out.push(Tok::Op("\n"));
                i += 1;
            }
            b'#' if word_start.is_none() => return None,
            b'\\' => {
                word_start.get_or_insert(i);
                i = (i + 2).min(b.len());
            }
            b'\'' => {
                word_start.get_or_insert(i);
                i = b.get(i + 1..)?.iter().position(|&x| x == b'\'')? + i + 2;
            }
            b'"' => {
                word_start.get_or_insert(i);
                i = skip_double_quoted(b, i + 1)?;
            }
            b'`' => {
                word_start.get_or_insert(i);
                i = skip_backticks(b, i + 1)?;
            }
            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => {
                word_start.get_or_insert(i);
                i = skip_dollar(b, i)?;
            }
            b'(' if word_start.is_none() => {
                out.push(Tok::Op("("));
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
                    return None;
                }
                i += 2;
                end_word(&mut out, &mut word_start, i);
            }
            b')' => {
                end_word(&mut out, &mut word_start, i);
                out.push(Tok::Op(")"));
                i += 1;
            }
            b'<' | b'>' => {
                if b.get(i + 1) == Some(&b'<') && c == b'<' {
                    return None; // here-document or here-string
                }
                // A file-descriptor number right before the operator belongs to it.
                let fd_only = word_start
                    .and_then(|s| text.get(s..i))
                    .map(|w| !w.is_empty() && w.bytes().all(|x| x.is_ascii_digit()))
                    .unwrap_or(false);
                if fd_only || word_start.is_none() {
                    word_start = None;
                } else {
                    end_word(&mut out, &mut word_start, i);
                }
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
                            b'\'' => i = b.get(i + 1..)?.iter().position(|&x| x == b'\'')? + i + 2,
                            b'"' => i = skip_double_quoted(b, i + 1)?,
                            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => {
                                i = skip_dollar(b, i)?
                            }
                            b'\\' => i += 2,
                            _ => i += 1,
                        }
                    }
                }
                out.push(Tok::Redirect {
                    wants_target: !glued,
                });
            }
            b'&' if b.get(i + 1) == Some(&b'>') => {
                end_word(&mut out, &mut word_start, i);
                i += 2;
                let glued = i < b.len() && !matches!(b[i], b' ' | b'\t');
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b';' | b'&' | b'|' | b')') {
                    i += 1;
                }
                out.push(Tok::Redirect {
                    wants_target: !glued,
                });
            }
            b'&' | b'|' | b';' => {
                end_word(&mut out, &mut word_start, i);
                let two = b.get(i + 1).copied();
                let (len, op) = match (c, two) {
                    (b'&', Some(b'&')) => (2, "&&"),
                    (b'|', Some(b'|')) => (2, "||"),
                    // `case` branch terminators (parse() rejects them anywhere else).
                    (b';', Some(b';')) if b.get(i + 2) == Some(&b'&') => (3, ";;&"),
                    (b';', Some(b';')) => (2, ";;"),
                    (b';', Some(b'&')) => (2, ";&"),
                    (b'|', Some(b'&')) => (2, "|"),
                    (b'&', _) => (1, "&"),
                    (b'|', _) => (1, "|"),
                    _ => (1, ";"),
                };
                out.push(Tok::Op(op));
                i += len;
            }
            _ => {
                // Inside a word, only the bytes above end it or start a quote, expansion or
                // operator: skip the rest in one go (they are never UTF-8 continuation bytes, so
                // `i` stays on a character boundary).
                word_start.get_or_insert(i);
                i += 1;
                while b.get(i).is_some_and(|&x| !WORD_SPECIAL[x as usize]) {
                    i += 1;
                }
            }
        }
    }
    end_word(&mut out, &mut word_start, b.len().min(i));
    Some(out)
}

/// `i` is just after an opening `"`; returns the index after the closing one. Both readers lex
/// quotes and expansions with these helpers, so they agree on where a word ends.
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

/// `NAME=value` or `NAME+=value`: a shell assignment word.
pub(crate) fn is_assignment(w: &str) -> bool {
    match w.find('=') {
        Some(0) | None => false,
        Some(i) => {
            let name = w[..i].trim_end_matches('+');
            let mut chars = name.chars();
            matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
                && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
    }
}

/// A lookup table that is true for the given bytes (the tokenisers' byte classes).
pub(crate) const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
}

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

/// Splits `s` into words with their quotes removed, the way a POSIX shell splits a command's
/// arguments (quotes and backslashes; no operators, no expansion): `verify --run`'s commands.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    cur.push(ch);
                }
                None => return Err("trailing backslash".into()),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progs(s: &str) -> Vec<String> {
        parse(s)
            .map(|p| p.cmds.iter().map(|c| c.line()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn commands_at_any_depth() {
        assert_eq!(
            progs("set -eux; if [ -x a ]; then sudo -E apt-get install x > /dev/null 2>&1; fi"),
            ["set -eux", "[ -x a ]", "apt-get install x"]
        );
        assert_eq!(
            progs("A=1 env B=2 pip install -r r.txt && (cd x && make) | tee log"),
            ["pip install -r r.txt", "cd x", "make", "tee log"]
        );
        assert_eq!(
            progs("for d in a b; do rm -rf \"$d\"; done"),
            ["rm -rf \"$d\""]
        );
        // `case`: the tested word and the patterns are not commands; the branches are nested.
        assert_eq!(
            progs(
                "dpkgArch=\"$(dpkg --print-architecture)\"; case \"$dpkgArch\" in \
                 amd64|arm64) apt-get update; apt-get install x ;; (i386) echo no;; \
                 *) exit 1 ;; esac && rm -rf /tmp/x"
            ),
            [
                "apt-get update",
                "apt-get install x",
                "echo no",
                "exit 1",
                "rm -rf /tmp/x"
            ]
        );
        let s = parse("case $a in x) case $b in y) echo in;; esac;; *) echo out; esac; echo end")
            .unwrap_or_else(|| panic!("nested case"));
        let depths: Vec<usize> = s.cmds.iter().map(|c| c.depth).collect();
        assert_eq!(depths, [2, 1, 0]);
        assert_eq!(s.top_ops, [";"]);
        assert!(parse("if true; then case $a in x) echo y;; esac; fi").is_some());
        assert!(parse("case $a in x) echo y;;").is_none(), "no esac");
        // Function definitions: the body is nested; the name is no command.
        let s = parse("_up() { dpkg-scanpackages . > P; apt-get update; }; _up; apt-get install x")
            .unwrap_or_else(|| panic!("function"));
        let lines: Vec<(String, usize)> = s.cmds.iter().map(|c| (c.line(), c.depth)).collect();
        assert_eq!(
            lines,
            [
                ("dpkg-scanpackages .".to_string(), 1),
                ("apt-get update".to_string(), 1),
                ("_up".to_string(), 0),
                ("apt-get install x".to_string(), 0)
            ]
        );
        assert!(parse("f(){ echo a; }").is_some());
        assert!(parse("a=(x y)").is_none(), "arrays are not modelled");
        assert!(parse("f(x) { echo; }").is_none());
        assert!(parse("function f { echo; }").is_none());
        assert!(
            parse("echo a;; echo b").is_none(),
            "terminator outside case"
        );
        assert!(parse("case $a x) echo y;; esac").is_none(), "no `in`");
        assert!(parse("case $a in x > y) echo;; esac").is_none());
        assert!(parse("cat <<EOF").is_none());
        assert!(parse("echo hi # c").is_none());
    }
}
