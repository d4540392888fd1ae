//! What a RUN's commands do to files: the files curl and wget download, the variables a script
//! assigns to literals, the literal a word stands for, the paths `rm` deletes and whether a
//! deletion covers a path. Shared by the rules that reason about files left in a layer
//! (download-cleanup, later-delete), so that no rule borrows another rule's internals.

use crate::config::Settings;
use crate::model::script::{is_assignment, Cmd, Script};
use crate::model::shell::{Command, Compound, List, PartKind, Simple, Tree, Unsupported, WordNode};
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

/// Variables assigned exactly once, to a literal, in a RUN's script: name → (value, offset of the
/// end of the assignment).
///
/// Read off the script's shell tree ([`crate::model::shell`]): the assignment words of every
/// simple command at any depth (before its program, and the `NAME=value` arguments of `export`,
/// `readonly` and `env`). A value is literal when it is plain text, one single-quoted string or
/// one double-quoted string holding no `$`, backquote or backslash. A variable is unknown when it
/// is assigned twice, to anything else, with `+=`, by `${NAME:=…}` / `${NAME=…}` or arithmetic,
/// by `for NAME`, or by `read`, `local`, `declare`, `typeset`, `unset`, `let`, `getopts`,
/// `mapfile`, `readarray` or `printf -v`. Nothing is known of a script that runs `eval` (it may
/// assign anything), nor of one the tree cannot read. Assignments inside `$( )`, backquotes or a
/// string another shell runs (`sh -c '…'`) set nothing in this shell, and are not read.
#[derive(Default)]
pub struct Vars {
    /// Hashed with FxHash (see [`crate::model::runs::FxHasher`]): a walk looks up every
    /// assignment's name, and the map is read in name order only ([`Vars::known`]).
    map: HashMap<String, Option<(String, usize)>, BuildFx>,
}

type BuildFx = std::hash::BuildHasherDefault<crate::model::runs::FxHasher>;

impl Vars {
    /// The variables of `text` (for callers without the RUN memo, which keeps the text's tree).
    pub fn of(text: &str) -> Vars {
        Vars::of_tree(text, &Tree::parse(text))
    }

    /// The variables of `text`, read off its `tree` (`Tree::parse(text)`, as the RUN memo keeps
    /// it); none when the tree cannot read the text.
    pub fn of_tree(text: &str, tree: &Result<Tree, Unsupported>) -> Vars {
        let Ok(tree) = tree else {
            return Vars::default();
        };
        let mut walk = VarsWalk {
            text,
            tree,
            vars: Vars::default(),
            opaque: false,
        };
        walk.list(&tree.body);
        if walk.opaque {
            return Vars::default();
        }
        walk.vars
    }

    /// The variables known: name → (value, offset of the end of the assignment), by name.
    pub fn known(&self) -> std::collections::BTreeMap<&str, (&str, usize)> {
        self.map
            .iter()
            .filter_map(|(name, v)| {
                let (value, at) = v.as_ref()?;
                Some((name.as_str(), (value.as_str(), *at)))
            })
            .collect()
    }

    fn get(&self, name: &str, at: usize) -> Option<&str> {
        match self.map.get(name) {
            Some(Some((v, off))) if *off <= at => Some(v),
            _ => None,
        }
    }

    /// `name` is assigned `value` (`None`: no literal): known if this is its only assignment.
    fn assigned(&mut self, name: &str, value: Option<(String, usize)>) {
        use std::collections::hash_map::Entry;
        match self.map.entry(name.to_string()) {
            Entry::Vacant(e) => {
                e.insert(value);
            }
            Entry::Occupied(mut e) => {
                e.insert(None);
            }
        }
    }

    /// `name` is assigned something dfopt cannot know.
    fn unknown(&mut self, name: &str) {
        if is_name(name) {
            self.map.insert(name.to_string(), None);
        }
    }
}

/// `NAME`: a shell variable's name.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The literal an assignment's value stands for: plain text, `'…'`, or `"…"` holding no `$`,
/// backquote or backslash (the forms whose value reads off the text as it is); `None` otherwise.
fn literal_value(v: &str) -> Option<String> {
    if v.bytes().all(is_plain_byte) {
        return Some(v.to_string());
    }
    let inner = match v.strip_prefix('\'') {
        Some(rest) => rest.strip_suffix('\'').filter(|s| !s.contains('\''))?,
        None => v
            .strip_prefix('"')?
            .strip_suffix('"')
            .filter(|s| !s.contains(['"', '$', '`', '\\']))?,
    };
    Some(inner.to_string())
}

/// Whether the body of an arithmetic expansion assigns (`=` that is no comparison, `++`, `--`).
fn arithmetic_assigns(body: &str) -> bool {
    body.contains("++")
        || body.contains("--")
        || body.char_indices().any(|(k, c)| {
            c == '='
                && !matches!(
                    body.get(..k).and_then(|s| s.chars().last()),
                    Some('=' | '!' | '<' | '>')
                )
                && !body.get(k + 1..).is_some_and(|s| s.starts_with('='))
        })
}

/// The walk over a script's tree that collects its [`Vars`].
struct VarsWalk<'t> {
    text: &'t str,
    tree: &'t Tree,
    vars: Vars,
    /// The script runs `eval`, which may assign any variable.
    opaque: bool,
}

impl VarsWalk<'_> {
    fn list(&mut self, list: &List) {
        for (and_or, _) in &list.items {
            for p in std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p)) {
                for c in &p.commands {
                    self.command(c);
                }
            }
        }
    }

    fn command(&mut self, c: &Command) {
        match c {
            Command::Simple(simple) => self.simple(simple),
            Command::Function {
                spaced_head, body, ..
            } => {
                if let Some(simple) = spaced_head {
                    self.simple(simple);
                }
                self.command(body);
            }
            Command::Compound {
                prefix,
                body,
                redirects,
            } => {
                let targets = redirects.iter().filter_map(|r| r.target.as_ref());
                for w in prefix.iter().chain(targets) {
                    self.expansions(w);
                }
                match body.as_ref() {
                    Compound::Subshell(l) | Compound::Brace(l) => self.list(l),
                    Compound::If {
                        branches,
                        otherwise,
                    } => {
                        for (condition, then) in branches {
                            self.list(condition);
                            self.list(then);
                        }
                        if let Some(l) = otherwise {
                            self.list(l);
                        }
                    }
                    Compound::Loop {
                        condition, body, ..
                    } => {
                        self.list(condition);
                        self.list(body);
                    }
                    Compound::For { header, body } => {
                        if let Some(name) = header.first() {
                            self.vars.unknown(name.span.of(self.text));
                        }
                        for w in header {
                            self.expansions(w);
                        }
                        self.list(body);
                    }
                    Compound::Case { subject, arms } => {
                        self.expansions(subject);
                        for arm in arms {
                            for w in &arm.patterns {
                                self.expansions(w);
                            }
                            self.list(&arm.body);
                        }
                    }
                }
            }
        }
    }

    /// A simple command, in stretches between its process substitutions as [`Tree::walk`] reads
    /// it (the words after one read as a command of their own).
    fn simple(&mut self, simple: &Simple) {
        for w in simple.redirects.iter().filter_map(|r| r.target.as_ref()) {
            self.expansions(w);
        }
        let mut from = 0;
        for (at, list) in &simple.process_substitutions {
            self.words(simple.words.get(from..*at).unwrap_or(&[]));
            self.list(list);
            from = *at;
        }
        self.words(simple.words.get(from..).unwrap_or(&[]));
    }

    /// The words of one command: its own assignments, and those its program makes.
    fn words(&mut self, words: &[WordNode]) {
        let text = self.text;
        let written = |w: &WordNode| w.span.of(text);
        for w in words {
            self.expansions(w);
        }
        let reserved = words
            .iter()
            .take_while(|w| matches!(written(w), "!" | "time"))
            .count();
        let mut rest = words.get(reserved..).unwrap_or(&[]).iter();
        let program = loop {
            let Some(w) = rest.next() else {
                return;
            };
            if !is_assignment(written(w)) {
                break written(w);
            }
            self.assignment(w);
        };
        let args = rest.as_slice();
        match program {
            "export" | "readonly" => {
                for w in args.iter().filter(|w| is_assignment(written(w))) {
                    self.assignment(w);
                }
            }
            // `env A=1 -i cmd`: the assignments before the program it runs.
            "env" => {
                for w in args
                    .iter()
                    .take_while(|w| written(w).starts_with('-') || is_assignment(written(w)))
                    .filter(|w| is_assignment(written(w)))
                {
                    self.assignment(w);
                }
            }
            // Builtins that assign the variables they name (`read -r A B`, `local A=1`), or unset
            // them; an option's value that looks like a name is taken for one too (no harm: it
            // only makes a variable unknown).
            "read" | "local" | "declare" | "typeset" | "unset" | "let" | "getopts" | "mapfile"
            | "readarray" => {
                for w in args {
                    let name = written(w).split('=').next().unwrap_or("");
                    self.vars.unknown(name.trim_end_matches('+'));
                }
            }
            "printf" => {
                let mut args = args.iter().map(written);
                while let Some(a) = args.next() {
                    if a == "-v" {
                        if let Some(name) = args.next() {
                            self.vars.unknown(name);
                        }
                    }
                }
            }
            "eval" => self.opaque = true,
            _ => {}
        }
    }

    /// `NAME=value` (a literal if it reads as one) or `NAME+=value` (unknown).
    fn assignment(&mut self, w: &WordNode) {
        let Some((name, value)) = w.span.of(self.text).split_once('=') else {
            return;
        };
        match name.strip_suffix('+') {
            Some(name) => self.vars.unknown(name),
            None => {
                let value = literal_value(value).map(|v| (v, w.span.end));
                self.vars.assigned(name, value);
            }
        }
    }

    /// The variables a word's expansions assign: `${NAME:=…}`, `${NAME=…}` and arithmetic, also
    /// inside double quotes and other `${ }` (the tree does not split those out).
    fn expansions(&mut self, w: &WordNode) {
        let tree = self.tree;
        for part in tree.parts(w) {
            if !matches!(
                part.kind,
                PartKind::DoubleQuoted | PartKind::Braced { .. } | PartKind::Arithmetic
            ) {
                continue;
            }
            let s = part.span.of(self.text);
            // Both forms start with a `$` (and neither can overlap itself): one pass over the `$`s
            // finds every `${` and `$((` that two substring searches would.
            for k in memchr::memchr_iter(b'$', s.as_bytes()) {
                let after = s.get(k + 1..).unwrap_or("");
                if let Some(inner) = after.strip_prefix('{') {
                    let name_end = inner
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(inner.len());
                    let (name, rest) = inner.split_at(name_end);
                    if rest.starts_with(":=") || rest.starts_with('=') {
                        self.vars.unknown(name);
                    }
                    continue;
                }
                if !after.starts_with("((") {
                    continue;
                }
                let body = s.get(k + 3..).unwrap_or("");
                let body = body
                    .find("))")
                    .map_or(body, |e| body.get(..e).unwrap_or(""));
                if arithmetic_assigns(body) {
                    for name in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                        self.vars.unknown(name);
                    }
                }
            }
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
