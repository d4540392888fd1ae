//! What a RUN's commands do to files: the files curl and wget download, the variables a script
//! assigns to literals, the literal a word stands for, the paths `rm` deletes and whether a
//! deletion covers a path. Shared by the rules that reason about files left in a layer
//! (download-cleanup, later-delete), so that no rule borrows another rule's internals.

use crate::config::Settings;
use crate::model::script::{Cmd, Script};
use crate::rule_data::LazyRegex;
use std::collections::HashMap;

/// download-cleanup's data: it names the curl and wget options (read here for every rule that
/// finds downloads) besides that rule's own consumers.
pub(crate) const DOWNLOAD_CLEANUP_DATA: &str =
    include_str!("../../transforms/download-cleanup.toml");

/// `transforms/download-cleanup.toml`, merged with `[transforms.download-cleanup]`: the curl and
/// wget options (for every rule that finds downloads, as [`Downloaders`]) and download-cleanup's
/// own keys (as [`Unpacking`]). One struct for the whole file, so that a key neither part knows is
/// refused, in the file or in a user's config.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DownloadCleanupData {
    /// Short options (letters) of curl that take a value.
    curl_short_with_arg: String,
    curl_long_with_arg: Vec<String>,
    /// curl options whose file name dfopt cannot know.
    curl_unknown_name: Vec<String>,
    wget_short_with_arg: String,
    wget_long_with_arg: Vec<String>,
    wget_unknown_name: Vec<String>,
    self_removing: Vec<String>,
    keep_flags: LazyRegex,
    keepers: Vec<String>,
    consumers: Vec<Unpacker>,
}

/// download-cleanup's own part of its data: what unpacks, keeps or deletes a downloaded file.
pub(crate) struct Unpacking {
    /// Programs that delete the file they unpack unless kept with one of `keep_flags`.
    pub self_removing: Vec<String>,
    pub keep_flags: LazyRegex,
    /// Programs that show the file is kept as the product (`chmod`, `ln`, `cp`, …).
    pub keepers: Vec<String>,
    /// Programs that unpack or install a downloaded file (the `[[consumers]]` tables).
    pub unpackers: Vec<Unpacker>,
}

/// One `[[consumers]]` table of `transforms/download-cleanup.toml`: a program that unpacks or
/// installs a downloaded file given as an argument.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Unpacker {
    pub program: String,
    /// One of the command's arguments must match (tar must be extracting).
    pub needs: Option<LazyRegex>,
    /// No argument may match.
    pub excludes: Option<LazyRegex>,
    /// The file must be the first operand (`sh FILE`, not `sh -c "..." FILE`).
    #[serde(default)]
    pub script: bool,
}

impl DownloadCleanupData {
    /// Reads the data with the user's `[transforms.download-cleanup]` overrides.
    pub(crate) fn load(settings: &Settings) -> Result<Self, String> {
        crate::rule_data::load(DOWNLOAD_CLEANUP_DATA, "download-cleanup", settings)
    }

    /// The downloaders, and download-cleanup's own part.
    pub(crate) fn split(self) -> (Downloaders, Unpacking) {
        let downloaders = Downloaders {
            curl_short: self.curl_short_with_arg,
            curl_long: self.curl_long_with_arg,
            curl_unknown: self.curl_unknown_name,
            wget_short: self.wget_short_with_arg,
            wget_long: self.wget_long_with_arg,
            wget_unknown: self.wget_unknown_name,
        };
        let unpacking = Unpacking {
            self_removing: self.self_removing,
            keep_flags: self.keep_flags,
            keepers: self.keepers,
            unpackers: self.consumers,
        };
        (downloaders, unpacking)
    }
}

/// How curl and wget name the file they write.
pub(crate) struct Downloaders {
    curl_short: String,
    curl_long: Vec<String>,
    curl_unknown: Vec<String>,
    wget_short: String,
    wget_long: Vec<String>,
    wget_unknown: Vec<String>,
}

/// The file a download writes: a literal path, or the raw word when it cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    File(String),
    Unknown(String),
}

impl Target {
    pub(crate) fn shown(&self) -> &str {
        match self {
            Target::File(s) | Target::Unknown(s) => s,
        }
    }
}

pub(crate) struct Download {
    pub cmd: usize,
    pub target: Target,
    pub sudo: bool,
}

impl Downloaders {
    /// The downloads of a script, in command order.
    pub(crate) fn all(&self, script: &Script, vars: &Vars) -> Vec<Download> {
        script
            .cmds
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.find(c, i, vars))
            .collect()
    }

    fn find(&self, cmd: &Cmd, idx: usize, vars: &Vars) -> Option<Download> {
        let is_curl = match cmd.program() {
            "curl" => true,
            "wget" => false,
            _ => return None,
        };
        let (short, long, unknown) = if is_curl {
            (&self.curl_short, &self.curl_long, &self.curl_unknown)
        } else {
            (&self.wget_short, &self.wget_long, &self.wget_unknown)
        };
        let args = cmd.args();
        let mut output: Option<(String, usize)> = None;
        let mut remote = false;
        let mut urls: Vec<(String, usize)> = Vec::new();
        let mut opts_done = false;
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let t = w.text.as_str();
            i += 1;
            if !opts_done && t == "--" {
                opts_done = true;
                continue;
            }
            if !opts_done && t.starts_with("--") {
                let (name, val) = match t.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (t, None),
                };
                if unknown.iter().any(|u| u == name) {
                    return None;
                }
                let is_out = if is_curl {
                    name == "--output"
                } else {
                    name == "--output-document"
                };
                if is_curl && name == "--remote-name" {
                    remote = true;
                }
                let value = match val {
                    Some(v) => Some((v.to_string(), w.start)),
                    None if long.iter().any(|l| l == name) => {
                        let v = args.get(i).map(|x| (x.text.to_string(), x.start));
                        i += 1;
                        v
                    }
                    None => None,
                };
                if is_out {
                    output = value;
                }
                continue;
            }
            if !opts_done && t.starts_with('-') && t.len() > 1 {
                for (pos, ch) in t.char_indices().skip(1) {
                    if unknown.iter().any(|u| u.len() == 2 && u.ends_with(ch)) {
                        return None;
                    }
                    if is_curl && ch == 'O' {
                        remote = true;
                        continue;
                    }
                    if short.contains(ch) {
                        let rest = t.get(pos + ch.len_utf8()..).unwrap_or("");
                        let val = if rest.is_empty() {
                            let v = args.get(i).map(|x| (x.text.to_string(), x.start));
                            i += 1;
                            v
                        } else {
                            Some((rest.to_string(), w.start))
                        };
                        if (is_curl && ch == 'o') || (!is_curl && ch == 'O') {
                            output = val;
                        }
                        break;
                    }
                }
                continue;
            }
            urls.push((t.to_string(), w.start));
        }
        if urls.len() != 1 {
            return None;
        }
        let target = match output {
            Some((o, _)) if o == "-" || o == "/dev/null" || o == "/dev/stdout" => return None,
            Some((o, at)) => match literal(&o, vars, at, false) {
                Some(f) if !f.is_empty() && !f.contains('#') => Target::File(f),
                _ => Target::Unknown(o),
            },
            None if is_curl && !remote => return None,
            None => {
                let (u, at) = urls.first()?;
                let url = literal(u, vars, *at, false)?;
                let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
                let (_, name) = rest.rsplit_once('/')?;
                if name.is_empty() || name.contains(['?', '#', '&', '%']) {
                    return None;
                }
                Target::File(name.to_string())
            }
        };
        Some(Download {
            cmd: idx,
            target,
            sudo: cmd.sudo,
        })
    }
}

/// The assignments `NAME=value` of a script, as the regex
/// `(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|"[^"$`\\]*"|[A-Za-z0-9._/:+@%,=-]*)` finds them
/// left to right without overlaps: (name, value as written, end of the match). Written out by hand
/// because the regex's capture search was most of the cost of reading a RUN's variables; a test
/// checks the two agree.
fn assignments(text: &str) -> Vec<(&str, &str, usize)> {
    let b = text.as_bytes();
    let is_name_byte = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    let mut out = Vec::new();
    let mut resume = 0; // where the previous match ended: the next may not start before it
    for eq in memchr::memchr_iter(b'=', b) {
        let mut name_start = eq;
        while name_start > 0 && b.get(name_start - 1).copied().is_some_and(is_name_byte) {
            name_start -= 1;
        }
        if name_start == eq || b.get(name_start).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        // `^`, or one separator character right before the name (the match starts there).
        let match_start = match text.get(..name_start).and_then(|t| t.chars().next_back()) {
            None => 0,
            Some(c) if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(') => {
                name_start - c.len_utf8()
            }
            Some(_) => continue,
        };
        if match_start < resume {
            continue;
        }
        let v = eq + 1;
        let rest = b.get(v..).unwrap_or_default();
        let quoted = match rest.first() {
            Some(b'\'') => memchr::memchr(b'\'', rest.get(1..).unwrap_or_default()).map(|i| i + 2),
            Some(b'"') => rest
                .get(1..)
                .unwrap_or_default()
                .iter()
                .position(|&c| matches!(c, b'"' | b'$' | b'`' | b'\\'))
                .filter(|&i| rest.get(i + 1) == Some(&b'"'))
                .map(|i| i + 2),
            _ => None,
        };
        let len = quoted.unwrap_or_else(|| rest.iter().take_while(|&&c| is_plain_byte(c)).count());
        let (Some(name), Some(value)) = (text.get(name_start..eq), text.get(v..v + len)) else {
            continue;
        };
        resume = v + len;
        out.push((name, value, v + len));
    }
    out
}

/// Variables assigned exactly once, to a literal, in a RUN's script: name → (value, offset).
pub(crate) struct Vars {
    map: HashMap<String, Option<(String, usize)>>,
}

impl Vars {
    pub(crate) fn of(text: &str) -> Vars {
        let mut map: HashMap<String, Option<(String, usize)>> = HashMap::new();
        static RE: std::sync::OnceLock<Option<LazyRegex>> = std::sync::OnceLock::new();
        let Some(other) = RE
            .get_or_init(|| {
                crate::rule_data::regex(
                    r"\b(?:for|read|local|declare|typeset)\s+(?:-\S+\s+)*([A-Za-z_][A-Za-z0-9_]*)",
                )
                .ok()
            })
            .as_ref()
        else {
            return Vars { map };
        };
        for (name, v, end) in assignments(text) {
            let after = text.as_bytes().get(end).copied();
            let clean_end = matches!(
                after,
                None | Some(b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b')')
            );
            let value = if v.len() >= 2 && (v.starts_with('\'') || v.starts_with('"')) {
                v.get(1..v.len() - 1).map(str::to_string)
            } else {
                Some(v.to_string())
            };
            let entry = map.entry(name.to_string());
            use std::collections::hash_map::Entry;
            match entry {
                Entry::Vacant(e) => {
                    e.insert(if clean_end {
                        value.map(|v| (v, end))
                    } else {
                        None
                    });
                }
                Entry::Occupied(mut e) => {
                    e.insert(None);
                }
            }
        }
        for c in other.captures_iter(text) {
            if let Some(n) = c.get(1) {
                map.insert(n.as_str().to_string(), None);
            }
        }
        if text.contains("read ") {
            map.clear();
        }
        Vars { map }
    }

    fn get(&self, name: &str, at: usize) -> Option<&str> {
        match self.map.get(name) {
            Some(Some((v, off))) if *off <= at => Some(v),
            _ => None,
        }
    }
}

/// The literal a shell word stands for: quotes removed, `$VAR`/`${VAR}` replaced from `vars` (as
/// assigned before text offset `at`). `None` for anything else (command substitution, unknown
/// variables, globs unless `globs`, brace or tilde expansion).
pub(crate) fn literal(raw: &str, vars: &Vars, at: usize, globs: bool) -> Option<String> {
    if is_plain_word(raw) {
        return Some(raw.to_string());
    }
    // Byte offsets: every character with a meaning here is ASCII; others are copied whole.
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    let mut dq = false;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii() {
            let ch = raw.get(i..)?.chars().next()?;
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        i += 1;
        match c {
            b'\'' if !dq => {
                let len = memchr::memchr(b'\'', b.get(i..)?)?;
                out.push_str(raw.get(i..i + len)?);
                i += len + 1;
            }
            b'"' => dq = !dq,
            b'\\' => {
                let n = raw.get(i..)?.chars().next()?;
                i += n.len_utf8();
                if dq && !matches!(n, '$' | '`' | '"' | '\\') {
                    out.push('\\');
                }
                out.push(n);
            }
            b'`' => return None,
            b'$' => {
                let braced = b.get(i) == Some(&b'{');
                if braced {
                    i += 1;
                }
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let name = raw.get(start..i)?;
                if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                    return None;
                }
                if braced {
                    if b.get(i) != Some(&b'}') {
                        return None;
                    }
                    i += 1;
                }
                let v = vars.get(name, at)?;
                if !dq && v.contains([' ', '\t', '\n', '*', '?', '[']) {
                    return None;
                }
                out.push_str(v);
            }
            b'*' | b'?' | b'[' if !dq => {
                if !globs {
                    return None;
                }
                out.push(c as char);
            }
            b'{' if !dq => return None,
            b'~' if !dq && i == 1 => return None,
            _ => out.push(c as char),
        }
    }
    if dq {
        return None;
    }
    Some(out)
}

/// A word made only of characters the shell takes literally (no quotes, expansions or globs): it
/// stands for itself. Most words are; checking saves the general path's work.
pub(crate) fn is_plain_word(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(is_plain_byte)
}

/// A byte that means itself in a shell word: no quoting, expansion or glob.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._/:+@%,=-".contains(&b)
}

/// `path` without a leading `./` and trailing `/`.
pub(crate) fn norm(p: &str) -> &str {
    let p = p.strip_prefix("./").unwrap_or(p);
    if p.len() > 1 {
        p.trim_end_matches('/')
    } else {
        p
    }
}

/// `*` and `?` glob match where neither crosses `/`.
fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => {
            let mut k = 0;
            loop {
                if glob_match(rest, s.get(k..).unwrap_or(&[])) {
                    return true;
                }
                match s.get(k) {
                    Some(b'/') | None => return false,
                    _ => k += 1,
                }
            }
        }
        Some((b'?', rest)) => match s.split_first() {
            Some((c, srest)) if *c != b'/' => glob_match(rest, srest),
            _ => false,
        },
        Some((c, rest)) => match s.split_first() {
            Some((d, srest)) if c == d => glob_match(rest, srest),
            _ => false,
        },
    }
}

/// Whether deleting `pattern` (a path, maybe with globs) deletes `path` or part of it.
pub(crate) fn covers(pattern: &str, path: &str) -> bool {
    let pat = norm(pattern);
    let path = norm(path);
    if pat.is_empty() || path.is_empty() || pat == "/" {
        return false;
    }
    let mut a = path;
    loop {
        if glob_match(pat.as_bytes(), a.as_bytes()) {
            return true;
        }
        match a.rfind('/') {
            Some(i) if i > 0 => a = &a[..i],
            _ => break,
        }
    }
    pat.strip_prefix(path)
        .map(|r| r.starts_with('/'))
        .unwrap_or(false)
}

/// The paths an `rm` command deletes (globs kept), or nothing for another command.
pub(crate) fn rm_paths(cmd: &Cmd, vars: &Vars) -> Vec<String> {
    if cmd.program() != "rm" {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut opts = true;
    for w in cmd.args() {
        if opts && w.text == "--" {
            opts = false;
            continue;
        }
        if opts && w.text.starts_with('-') && w.text.len() > 1 {
            continue;
        }
        if let Some(p) = literal(&w.text, vars, w.start, true) {
            out.push(p);
        }
    }
    out
}

impl Downloaders {
    /// The downloaders as download-cleanup's data describes them, with the user's
    /// `[transforms.download-cleanup]` overrides.
    pub(crate) fn from_settings(settings: &Settings) -> Result<Self, String> {
        Ok(DownloadCleanupData::load(settings)?.split().0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_cover() {
        assert!(covers("/var/lib/apt/lists/*", "/var/lib/apt/lists"));
        assert!(covers("/tmp/*.tar.gz", "/tmp/x.tar.gz"));
        assert!(covers("/tmp", "/tmp/x.tar.gz"));
        assert!(!covers("/tmp/*.zip", "/tmp/x.tar.gz"));
        assert!(covers("./x.tgz", "x.tgz"));
        assert!(!covers("/", "/tmp"));
    }

    #[test]
    fn literals() {
        let v = Vars::of("V=1.2 && F=\"app-$X\" && curl -o /tmp/a-$V.tgz");
        assert_eq!(
            literal("/tmp/a-$V.tgz", &v, 100, false).as_deref(),
            Some("/tmp/a-1.2.tgz")
        );
        assert_eq!(literal("\"${V}\"", &v, 100, false).as_deref(), Some("1.2"));
        assert_eq!(literal("$F", &v, 100, false), None);
        assert_eq!(literal("$V", &v, 0, false), None);
        assert_eq!(literal("*.tgz", &v, 0, false), None);
        assert_eq!(literal("'a b'", &v, 0, false).as_deref(), Some("a b"));
    }

    #[test]
    fn assignments_agree_with_their_regex() {
        use proptest::prelude::*;
        let re = regex::Regex::new(
            r#"(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|"[^"$`\\]*"|[A-Za-z0-9._/:+@%,=-]*)"#,
        )
        .expect("valid");
        let by_regex = |t: &str| -> Vec<(String, String, usize)> {
            re.captures_iter(t)
                .filter_map(|c| {
                    Some((
                        c.get(1)?.as_str().to_string(),
                        c.get(2)?.as_str().to_string(),
                        c.get(0)?.end(),
                    ))
                })
                .collect()
        };
        let by_hand = |t: &str| -> Vec<(String, String, usize)> {
            assignments(t)
                .into_iter()
                .map(|(n, v, e)| (n.to_string(), v.to_string(), e))
                .collect()
        };
        for t in [
            "A=1 B=2",
            "A=B=C",
            "A='x B=1' C=2",
            "a-b=1 _x=\"y\" 9a=1 x9=2",
            "\u{a0}V=1;W=(X=2",
            "F=\"a$b\" G=\"ok\"",
            "=x A==",
            "é=1 x=é",
        ] {
            assert_eq!(by_hand(t), by_regex(t), "{t:?}");
        }
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 20_000,
            ..Default::default()
        });
        runner
            .run(&"[aZ_9 =;&|()'\"$`\\.\n\u{a0}é-]{0,30}", |t| {
                prop_assert_eq!(by_hand(&t), by_regex(&t));
                Ok(())
            })
            .expect("the scanner and the regex agree");
    }

    /// The first version of [`literal`], a character at a time: the oracle for the test below.
    fn literal_by_chars(raw: &str, vars: &Vars, at: usize, globs: bool) -> Option<String> {
        if is_plain_word(raw) {
            return Some(raw.to_string());
        }
        let chars: Vec<char> = raw.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut dq = false;
        while let Some(&c) = chars.get(i) {
            i += 1;
            match c {
                '\'' if !dq => loop {
                    let c2 = *chars.get(i)?;
                    i += 1;
                    if c2 == '\'' {
                        break;
                    }
                    out.push(c2);
                },
                '"' => dq = !dq,
                '\\' => {
                    let n = *chars.get(i)?;
                    i += 1;
                    if dq && !matches!(n, '$' | '`' | '"' | '\\') {
                        out.push('\\');
                    }
                    out.push(n);
                }
                '`' => return None,
                '$' => {
                    let braced = chars.get(i) == Some(&'{');
                    if braced {
                        i += 1;
                    }
                    let start = i;
                    while chars
                        .get(i)
                        .map(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .unwrap_or(false)
                    {
                        i += 1;
                    }
                    let name: String = chars.get(start..i)?.iter().collect();
                    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                        return None;
                    }
                    if braced {
                        if chars.get(i) != Some(&'}') {
                            return None;
                        }
                        i += 1;
                    }
                    let v = vars.get(&name, at)?;
                    if !dq && v.contains([' ', '\t', '\n', '*', '?', '[']) {
                        return None;
                    }
                    out.push_str(v);
                }
                '*' | '?' | '[' if !dq => {
                    if !globs {
                        return None;
                    }
                    out.push(c);
                }
                '{' if !dq => return None,
                '~' if !dq && i == 1 => return None,
                _ => out.push(c),
            }
        }
        if dq {
            return None;
        }
        Some(out)
    }

    #[test]
    fn literal_agrees_with_the_character_version() {
        use proptest::prelude::*;
        let vars = Vars::of("A=1 B='x y' C=/opt/é D=\"a*\"");
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 20_000,
            ..Default::default()
        });
        runner
            .run(&"[aAB_CD$'\"\\\\{}~*?\\[`/. é-]{0,16}", |t| {
                for globs in [false, true] {
                    prop_assert_eq!(
                        literal(&t, &vars, 1000, globs),
                        literal_by_chars(&t, &vars, 1000, globs)
                    );
                }
                Ok(())
            })
            .expect("same literal");
    }
}
