//! Which later steps read what an earlier RUN leaves behind: the one model the rules that delete
//! files (or stop creating them) ask before they call a fix safe.
//!
//! A fix that removes path P at the end of RUN X in stage S is safe only when no later step can
//! read P: the later RUNs of S and of every stage built `FROM S` (transitively), `COPY --from=` and
//! `RUN --mount=…,from=` of those stages whose source covers P, and RUN mounts of X itself over P.
//! A later RUN's commands are resolved through wrappers (`sudo -u U`, `xargs`, `sh -c "…"`,
//! `su -c`, `timeout N`, `env`, …; data in `transforms/consumers.toml`). A command the model cannot
//! see into (a script, `make`, `eval`, `source`) makes the answer [`Verdict::Unknown`]: unknown
//! means unsafe, and the rule says why it did not fix.

use crate::model::files::{covers, literal, Vars};
use crate::model::script::{self, basename, Cmd, Word};
use crate::model::stages::Analysis;
use crate::rule_data::LazyRegex;
use crate::syntax::{lex, Dockerfile, Form, Instruction, Keyword};
use std::sync::OnceLock;

/// The data file, compiled in.
pub const DATA: &str = include_str!("../../transforms/consumers.toml");

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapper {
    name: String,
    value_options: Vec<String>,
    operands: usize,
    #[serde(default)]
    user_operand: bool,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    wrappers: Vec<Wrapper>,
    shells: Vec<String>,
    opaque: Vec<String>,
    inert: Vec<String>,
    /// The names of `wrappers`, `shells` and `opaque` in one set: [`missing_switch`] asks of every
    /// command whether its program is one, for every package manager a rule knows, and one hash
    /// look-up costs less than comparing it with each name.
    #[serde(skip)]
    wrapping: std::collections::HashSet<String, BuildFx>,
}

type BuildFx = std::hash::BuildHasherDefault<crate::model::runs::FxHasher>;

fn data() -> Result<&'static Data, String> {
    static READ: OnceLock<Result<Data, String>> = OnceLock::new();
    READ.get_or_init(|| read(DATA))
        .as_ref()
        .map_err(Clone::clone)
}

fn read(text: &str) -> Result<Data, String> {
    let mut data =
        toml::from_str::<Data>(text).map_err(|e| format!("transforms/consumers.toml: {e}"))?;
    data.wrapping = (data.wrappers.iter().map(|w| &w.name))
        .chain(&data.shells)
        .chain(&data.opaque)
        .cloned()
        .collect();
    Ok(data)
}

/// Reads `text` as the data file is read (`passes::DATA_FILES`: every data file's reader).
pub(crate) fn read_text(text: &str) -> Result<(), String> {
    read(text).map(drop)
}

/// Checks the data file (rules call this when they are built, so a broken file is an error).
pub fn check_data() -> Result<(), String> {
    data().map(|_| ())
}

/// A command as it finally runs, wrappers removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The program name without its directory.
    pub program: String,
    /// Its arguments, quotes removed where they are literal (kept as written otherwise), `~` and
    /// `$HOME` resolved for the user it runs as.
    pub args: Vec<String>,
    /// The user a wrapper runs it as (`sudo -u node`, `gosu app`), when one does.
    pub user: Option<String>,
}

impl Effective {
    /// The program and its arguments joined by single spaces (for the data's regexes).
    pub fn line(&self) -> String {
        // Sized once instead of grown word by word.
        let len = self.program.len() + self.args.iter().map(|a| a.len() + 1).sum::<usize>();
        let mut s = String::with_capacity(len);
        s.push_str(&self.program);
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    /// Whether an argument (or the value of a `--opt=value` argument) names `path`, a path under it
    /// or a folder over it (globs matched).
    pub fn names_path(&self, path: &str) -> bool {
        self.args.iter().any(|a| {
            let value = a.split_once('=').map(|(_, v)| v);
            [Some(a.as_str()), value]
                .into_iter()
                .flatten()
                .any(|w| w.starts_with('/') && w != "/" && covers(w, path))
        })
    }
}

/// One command of a later RUN, as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Runs(Effective),
    /// Something the model cannot see into, described for the finding (`./install.sh`).
    Opaque(String),
}

/// What the model concludes about a later step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No later step reads it.
    Free,
    /// The step on `line` reads it; `why` completes "the RUN on line N …".
    Reads { line: usize, why: String },
    /// The step on `line` runs something the model cannot see into.
    Unknown { line: usize, why: String },
}

impl Verdict {
    /// Why a fix that removes `what` is not applied, for the finding ("not fixed: …"), or `None`
    /// when nothing later reads it.
    pub fn reason(&self, what: &str) -> Option<String> {
        match self {
            Verdict::Free => None,
            Verdict::Reads { line, why } => Some(format!("the step on line {line} {why}")),
            Verdict::Unknown { line, why } => Some(format!(
                "the RUN on line {line} runs {why}, which may use {what}"
            )),
        }
    }
}

/// What a later command does with the thing a rule wants to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// It reads it; the text completes "the step on line N …".
    Reads(String),
    /// It makes its own fresh copy first (`apt-get update`): the rest of its RUN reads that.
    Refreshes,
    /// It removes it: nothing later in the stage can read the old one.
    Removes,
}

/// What a rule asks about: the paths it would remove and how a command uses them.
pub struct Probe<'p> {
    pub paths: &'p [String],
    /// How a command uses the thing beyond naming one of `paths` (`None`: it does not).
    pub uses: &'p dyn Fn(&Effective) -> Option<Use>,
    /// Words whose mention in a RUN the model cannot read (heredoc, …) makes it unknown.
    pub mentions: &'p [String],
}

/// `$HOME` of a user: root's or `/home/<user>` (useradd's default).
fn home_of(user: Option<&str>) -> String {
    match user {
        None | Some("root") | Some("0") => "/root".to_string(),
        Some(u) => format!("/home/{u}"),
    }
}

/// A word's text with quotes removed when it is literal, `~`/`$HOME` resolved.
fn word_text(raw: &str, user: Option<&str>) -> String {
    // (Without `$HOME` or `~` there is nothing to replace, and no home to work out.)
    let mut w = if raw.contains("$HOME") || raw.contains("${HOME}") {
        let home = home_of(user);
        raw.replace("${HOME}", &home).replace("$HOME", &home)
    } else {
        raw.to_string()
    };
    if w == "~" || w.starts_with("~/") {
        w = format!("{}{}", home_of(user), &w[1..]);
    }
    static NO_VARS: OnceLock<Vars> = OnceLock::new();
    match literal(&w, NO_VARS.get_or_init(|| Vars::of("")), 0, true) {
        Some(l) => l,
        // A quoted word with expansions (`sh -c "cd ~ && $X"`): its text between the quotes.
        None if w.len() >= 2
            && ((w.starts_with('"') && w.ends_with('"'))
                || (w.starts_with('\'') && w.ends_with('\''))) =>
        {
            w.get(1..w.len() - 1).unwrap_or_default().to_string()
        }
        None => w,
    }
}

/// Every command `cmd` runs, resolved through wrappers and `sh -c`.
pub fn resolve(cmd: &Cmd) -> Vec<Seen> {
    let words: Vec<String> = cmd
        .words
        .iter()
        .map(|w| w.text.as_str().to_owned())
        .collect();
    let mut out = Vec::new();
    resolve_words(&words, None, 0, &mut out);
    out
}

fn resolve_words(words: &[String], user: Option<String>, depth: usize, out: &mut Vec<Seen>) {
    let Ok(data) = data() else {
        out.push(Seen::Opaque(
            "a command (transforms/consumers.toml is broken)".into(),
        ));
        return;
    };
    let Some(first) = words.first() else {
        return;
    };
    if depth > 8 {
        out.push(Seen::Opaque(format!("`{first}` nested too deep")));
        return;
    }
    let raw_prog = word_text(first, user.as_deref());
    let prog = basename(&raw_prog).to_string();
    let rest = words.get(1..).unwrap_or(&[]);
    let has_c = |ws: &[String]| {
        ws.iter().position(|w| {
            w == "-c"
                || w == "--command"
                || (w.starts_with('-') && !w.starts_with("--") && w.ends_with('c'))
        })
    };
    if data.shells.contains(&prog) {
        if prog == "busybox" {
            return resolve_words(rest, user, depth + 1, out);
        }
        let su_like = prog == "su" || prog == "runuser";
        if let Some(c) = has_c(rest) {
            let mut who = user.clone();
            if su_like {
                who = rest
                    .iter()
                    .take(c)
                    .find(|w| !w.starts_with('-'))
                    .map(|w| word_text(w, None))
                    .or(Some("root".into()));
            }
            let Some(text) = rest.get(c + 1).map(|w| word_text(w, None)) else {
                out.push(Seen::Opaque(format!("`{prog} -c` without a script")));
                return;
            };
            match script::parse(&text) {
                Some(s) => {
                    for inner in &s.cmds {
                        let ws: Vec<String> = inner
                            .words
                            .iter()
                            .map(|w| w.text.as_str().to_owned())
                            .collect();
                        resolve_words(&ws, who.clone(), depth + 1, out);
                    }
                }
                None => out.push(Seen::Opaque(format!("`{prog} -c \"{text}\"`"))),
            }
            return;
        }
        if prog == "runuser" {
            // `runuser -u U -- cmd`: a wrapper, below.
        } else {
            let script = rest.iter().find(|w| !w.starts_with('-'));
            out.push(Seen::Opaque(match script {
                Some(s) => format!("`{prog} {s}`"),
                None if su_like => format!("a `{prog}` login shell"),
                None => format!("a script `{prog}` reads from its input"),
            }));
            return;
        }
    }
    if let Some(w) = data.wrappers.iter().find(|w| w.name == prog) {
        let mut who = user;
        let mut i = 0;
        while let Some(o) = rest.get(i) {
            if o == "--" {
                i += 1;
                break;
            }
            let assignment = prog == "env" && script::is_assignment(o);
            if !o.starts_with('-') && !assignment {
                break;
            }
            let (name, inline) = match o.split_once('=') {
                Some((n, v)) if n.starts_with('-') => (n, Some(v)),
                _ => (o.as_str(), None),
            };
            let takes = w.value_options.iter().any(|v| v == name) && inline.is_none();
            if matches!(name, "-u" | "--user") && matches!(prog.as_str(), "sudo" | "runuser") {
                who = inline
                    .map(str::to_string)
                    .or_else(|| rest.get(i + 1).cloned());
            }
            i += if takes { 2 } else { 1 };
        }
        if w.user_operand {
            who = rest.get(i).cloned();
        }
        i += w.operands;
        let inner = rest.get(i..).unwrap_or(&[]);
        if inner.is_empty() && prog == "xargs" {
            // `xargs` alone runs `echo`.
            return;
        }
        return resolve_words(inner, who, depth + 1, out);
    }
    if data.opaque.contains(&prog) {
        out.push(Seen::Opaque(format!("`{prog}`")));
        return;
    }
    let is_script = raw_prog.starts_with("./")
        || raw_prog.starts_with("../")
        || prog.ends_with(".sh")
        || raw_prog.contains('$');
    if is_script && !data.inert.contains(&prog) {
        out.push(Seen::Opaque(format!("`{first}`")));
        return;
    }
    let args = rest.iter().map(|w| word_text(w, user.as_deref())).collect();
    out.push(Seen::Runs(Effective {
        program: prog,
        args,
        user,
    }));
}

/// A package-manager command that lacks a switch a rule wants (`-y`, `--no-cache`), as the model
/// finds it through wrappers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSwitch<'c> {
    /// The command as it runs, up to its subcommand (`apt-get install`), for the finding.
    pub shown: String,
    /// Where the switch goes: the subcommand's word in the RUN's text; or, when the command is not
    /// written in the RUN as it runs (inside `sh -c "…"`, behind `eval`), why it is not fixed.
    pub at: Result<&'c Word, String>,
}

/// The commands of `cmds` that run a program `is_program` accepts with one of `subcommands` and
/// no argument matching `decided`, resolved through wrappers (`sudo`, `env`, `timeout`, `xargs`,
/// `sh -c`, `su -c`, …): the rules that add a switch to a package-manager command all find it
/// here, so a wrapped invocation counts the same in each.
///
/// Only commands whose program's name contains one of `hints`, or that wrap another command and
/// have a word containing one, are resolved: most commands of most RUNs run nothing of the kind,
/// and resolving every one would cost more than the rules' own work. `cmds` are the commands of
/// the script `text`; their words are slices of it, so a text that names none of `hints` is
/// answered at once, without looking at a word.
pub fn missing_switch<'c, H: AsRef<str>>(
    text: &str,
    cmds: &'c [Cmd],
    hints: &[H],
    is_program: &dyn Fn(&Effective) -> bool,
    subcommands: &[String],
    decided: &[LazyRegex],
) -> Vec<MissingSwitch<'c>> {
    let mut out: Vec<MissingSwitch<'c>> = Vec::new();
    if !names_any(text, hints) {
        return out;
    }
    let Ok(data) = data() else {
        return out;
    };
    for cmd in cmds {
        let Some(first) = cmd.words.first() else {
            continue;
        };
        // A command that runs its first word directly is one of the programs only when that word
        // names one; one that wraps another may name it in any word.
        let program = basename(&first.text);
        let names_one = hints.iter().any(|h| has(program, h.as_ref()));
        let wraps = data.wrapping.contains(program)
            || first.text.starts_with('.')
            || first.text.contains('$')
            || program.ends_with(".sh");
        if !names_one && !wraps {
            continue;
        }
        // A wrapper matters only when one of its words names one of the programs (the first word
        // does when `names_one`).
        if !names_one
            && !cmd
                .words
                .iter()
                .any(|w| hints.iter().any(|h| has(&w.text, h.as_ref())))
        {
            continue;
        }
        if !wraps {
            // Run as written: its words are the program and arguments, and the edit goes there.
            // Without one of `subcommands` among them it lacks nothing: asked before copying
            // the words (most commands that name a manager run another of its subcommands).
            if !cmd
                .words
                .iter()
                .skip(1)
                .any(|w| subcommands.iter().any(|s| s.as_str() == w.text.as_str()))
            {
                continue;
            }
            let e = Effective {
                program: program.to_string(),
                args: cmd
                    .words
                    .iter()
                    .skip(1)
                    .map(|w| w.text.as_str().to_owned())
                    .collect(),
                user: None,
            };
            if let Some((shown, i)) = lacking(&e, is_program, subcommands, decided) {
                let at = cmd
                    .words
                    .get(i + 1)
                    .ok_or_else(|| "its subcommand is not one of its words".to_string());
                out.push(MissingSwitch { shown, at });
            }
            continue;
        }
        let seen = resolve(cmd);
        let alone = seen.len() == 1;
        for s in &seen {
            let hit = match s {
                Seen::Runs(e) => lacking(e, is_program, subcommands, decided).map(|(shown, i)| {
                    let at = match in_place(cmd, e).filter(|_| alone) {
                        Some(words) => words
                            .get(i + 1)
                            .ok_or_else(|| "its subcommand is not one of its words".to_string()),
                        None => Err(format!(
                            "it runs inside {}, where dfopt does not edit",
                            quoted_script(cmd)
                        )),
                    };
                    MissingSwitch { shown, at }
                }),
                Seen::Opaque(what) => {
                    mentioned(cmd, is_program, subcommands, decided).map(|shown| MissingSwitch {
                        shown,
                        at: Err(format!("it runs through {what}, which dfopt does not read")),
                    })
                }
            };
            if let Some(hit) = hit.filter(|h| !out.contains(h)) {
                out.push(hit);
            }
        }
    }
    out
}

/// `word.contains(needle)` for a word of a command: byte by byte from each place its first byte
/// occurs (the standard search prepares itself for long texts first, which cost more than the
/// whole search in a word).
fn has(word: &str, needle: &str) -> bool {
    let (w, n) = (word.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    if w.len() > 64 {
        return word.contains(needle);
    }
    (0..w.len().saturating_sub(rest.len()))
        .any(|i| w[i] == first && w.get(i + 1..i + 1 + rest.len()).is_some_and(|r| r == rest))
}

/// Whether `text` contains one of `hints`: the first question of [`missing_switch`], which a rule
/// may ask itself before it does any other work on a RUN.
pub fn names_any<H: AsRef<str>>(text: &str, hints: &[H]) -> bool {
    hints.iter().any(|h| text.contains(h.as_ref()))
}

/// `hints` without those that contain another one (`apt-get` and `aptitude` beside `apt`): a text
/// contains one of `hints` exactly when it contains one of these, and fewer searches find it
/// (rules make them for every RUN, once per package manager).
pub fn fewest_hints<H: AsRef<str>>(hints: &[H]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, h) in hints.iter().enumerate() {
        let h = h.as_ref();
        let covered = hints.iter().enumerate().any(|(j, other)| {
            let other = other.as_ref();
            j != i && h.contains(other) && (other != h || j < i)
        });
        if !covered {
            out.push(h.to_string());
        }
    }
    out
}

/// `(program and arguments up to the subcommand, index of the subcommand in the arguments)` when
/// `e` is a command missing the switch.
fn lacking(
    e: &Effective,
    is_program: &dyn Fn(&Effective) -> bool,
    subcommands: &[String],
    decided: &[LazyRegex],
) -> Option<(String, usize)> {
    if !is_program(e) {
        return None;
    }
    let sub = e.args.iter().position(|a| subcommands.contains(a))?;
    if e.args.iter().any(|a| decided.iter().any(|r| r.is_match(a))) {
        return None;
    }
    let mut shown = e.program.clone();
    for a in e.args.iter().take(sub + 1) {
        shown.push(' ');
        shown.push_str(a);
    }
    Some((shown, sub))
}

/// The words of `cmd` that are `e`'s program and arguments, when `cmd` runs `e` from its own words
/// (through `sudo`, `env`, `xargs`, … but not from a `sh -c` script): an edit there edits `e`.
fn in_place<'c>(cmd: &'c Cmd, e: &Effective) -> Option<&'c [Word]> {
    let data = data().ok()?;
    let start = cmd.words.len().checked_sub(e.args.len() + 1)?;
    let (before, words) = cmd.words.split_at(start);
    // `sh -c 'apt-get install' apt-get install`: the last words are the script's `$0`…, not the
    // command it runs.
    let shell = before
        .iter()
        .any(|w| data.shells.iter().any(|s| s == basename(&w.text)));
    let c_flag = before.iter().any(|w| {
        w.text == "-c"
            || w.text == "--command"
            || (w.text.starts_with('-') && !w.text.starts_with("--") && w.text.ends_with('c'))
    });
    if shell && c_flag {
        return None;
    }
    let user = e.user.as_deref();
    let (program, args) = words.split_first()?;
    let same = basename(&word_text(&program.text, user)) == e.program
        && args
            .iter()
            .zip(&e.args)
            .all(|(w, a)| word_text(&w.text, user) == *a);
    same.then_some(words)
}

/// How `cmd` runs its quoted script, for a finding (`` `sh -c` ``).
fn quoted_script(cmd: &Cmd) -> String {
    let shells = data().map(|d| d.shells.as_slice()).unwrap_or(&[]);
    match cmd
        .words
        .iter()
        .map(|w| basename(&w.text))
        .find(|p| shells.iter().any(|s| s == p))
    {
        Some(shell) => format!("`{shell} -c`"),
        None => "a quoted script".to_string(),
    }
}

/// A command missing the switch named in the text of `cmd`, which runs it in a way the model does
/// not read (`eval "apt-get install x"`, `bash -c "… $(…)"`): the text split at spaces, quotes
/// and operators, read as if it ran.
fn mentioned(
    cmd: &Cmd,
    is_program: &dyn Fn(&Effective) -> bool,
    subcommands: &[String],
    decided: &[LazyRegex],
) -> Option<String> {
    let text = cmd.line();
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "'\";&|()`".contains(c))
        .filter(|t| !t.is_empty())
        .collect();
    // A command read from token `i` lacks the switch only with one of `subcommands` after `i`:
    // the tokens from the last one on start none, and are not copied into a command to ask.
    let last_sub = tokens
        .iter()
        .rposition(|t| subcommands.iter().any(|s| s.as_str() == *t))?;
    (0..last_sub).find_map(|i| {
        let e = Effective {
            program: basename(tokens.get(i)?).to_string(),
            args: tokens.get(i + 1..)?.iter().map(|t| t.to_string()).collect(),
            user: None,
        };
        lacking(&e, is_program, subcommands, decided).map(|(shown, _)| shown)
    })
}

/// The stage at `index` in `analysis` and the stages built on it (`FROM <its alias>`), as indexes.
fn family(analysis: &Analysis, stage: usize) -> Vec<usize> {
    let mut fam = vec![stage];
    for (i, s) in analysis.stages.iter().enumerate().skip(stage + 1) {
        if s.parent.is_some_and(|p| fam.contains(&p)) {
            fam.push(i);
        }
    }
    fam
}

/// `target=` paths of an instruction's `--mount` flags of every type that puts something else at
/// the target (cache, bind, tmpfs, secret, ssh).
pub fn mount_targets(ins: &Instruction) -> Vec<String> {
    mounts(ins).into_iter().filter_map(|m| m.target).collect()
}

/// Whether deleting `path` in `ins` would delete inside (or over) one of its mounts.
pub fn under_mount(ins: &Instruction, path: &str) -> bool {
    mount_targets(ins)
        .iter()
        .any(|t| covers(t, path) || t.trim_end_matches('/').is_empty())
}

struct Mount {
    target: Option<String>,
    from: Option<String>,
    source: Option<String>,
}

fn mounts(ins: &Instruction) -> Vec<Mount> {
    let mut out = Vec::new();
    for f in &ins.effective().flags {
        if !f.name().eq_ignore_ascii_case("mount") {
            continue;
        }
        let Some(v) = f.value() else { continue };
        let mut m = Mount {
            target: None,
            from: None,
            source: None,
        };
        for part in v.split(',') {
            let (k, val) = part.split_once('=').unwrap_or((part, ""));
            let val = val.trim().trim_matches('"').to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "target" | "dst" | "destination" => m.target = Some(val),
                "from" => m.from = Some(val),
                "source" | "src" => m.source = Some(val),
                _ => {}
            }
        }
        out.push(m);
    }
    out
}

/// Whether a COPY or mount source (relative to the root of the stage it reads) covers `path`.
fn source_covers(source: &str, path: &str) -> bool {
    let abs = if source.starts_with('/') {
        source.to_string()
    } else {
        format!("/{source}")
    };
    let trimmed = abs.trim_end_matches(['/', '.', '*']);
    trimmed.is_empty() || covers(&abs, path)
}

/// The first later step that reads what `probe` describes, after the RUN at `run_index`.
pub fn later(
    doc: &Dockerfile,
    analysis: &Analysis,
    run_index: usize,
    probe: &Probe<'_>,
) -> Verdict {
    let Some(me) = analysis
        .stages
        .iter()
        .position(|s| s.from <= run_index && run_index < s.end)
    else {
        return Verdict::Free;
    };
    let fam = family(analysis, me);
    // RUNs of the stage and of the stages built on it.
    for &si in &fam {
        let Some(stage) = analysis.stages.get(si) else {
            continue;
        };
        let start = if si == me {
            run_index + 1
        } else {
            stage.from + 1
        };
        for idx in start..stage.end {
            let Some(ins) = doc.instructions.get(idx) else {
                break;
            };
            if ins.trigger.is_some() || ins.kind() != Keyword::Run {
                continue;
            }
            match run_use(doc, ins, probe) {
                RunUse::None => {}
                RunUse::Removes => break,
                RunUse::Verdict(v) => return v,
            }
        }
    }
    // Other stages' copies and mounts of these stages' files (any later instruction).
    for ins in doc.instructions.iter().skip(run_index + 1) {
        let from_fam = |r: &str| analysis.stage_named(r).is_some_and(|s| fam.contains(&s));
        if ins.kind() == Keyword::Copy || ins.kind() == Keyword::Add {
            let Some(from) = ins.command.flag("from").and_then(|f| f.value()) else {
                continue;
            };
            if !from_fam(from) {
                continue;
            }
            let words = match &ins.command.form {
                Form::Exec(argv) => argv.clone(),
                _ => lex::parse_words(&ins.command.args, doc.escape),
            };
            let sources = words.split_last().map(|(_, s)| s).unwrap_or(&[]);
            for s in sources {
                if let Some(p) = probe.paths.iter().find(|p| source_covers(s, p)) {
                    return Verdict::Reads {
                        line: ins.start_line,
                        why: format!("copies `{s}` from that stage, which holds `{p}`"),
                    };
                }
            }
        } else if ins.kind() == Keyword::Run {
            for m in mounts(ins) {
                let (Some(from), source) = (m.from.as_deref(), m.source.as_deref()) else {
                    continue;
                };
                if !from_fam(from) {
                    continue;
                }
                let s = source.unwrap_or("/");
                if let Some(p) = probe.paths.iter().find(|p| source_covers(s, p)) {
                    return Verdict::Reads {
                        line: ins.start_line,
                        why: format!("mounts `{s}` from that stage, which holds `{p}`"),
                    };
                }
            }
        }
    }
    Verdict::Free
}

enum RunUse {
    None,
    Removes,
    Verdict(Verdict),
}

fn run_use(doc: &Dockerfile, ins: &Instruction, probe: &Probe<'_>) -> RunUse {
    let line = ins.start_line;
    let cmds: Vec<Vec<String>> = match &ins.command.form {
        Form::Exec(argv) => vec![argv.clone()],
        Form::Shell if ins.heredocs.is_empty() => match script::parse(&ins.command.args) {
            Some(s) => s
                .cmds
                .iter()
                .map(|c| c.words.iter().map(|w| w.text.as_str().to_owned()).collect())
                .collect(),
            None => return unreadable(doc, ins, probe),
        },
        _ => return unreadable(doc, ins, probe),
    };
    let mut refreshed = false;
    for words in cmds {
        let mut seen = Vec::new();
        resolve_words(&words, None, 0, &mut seen);
        for s in seen {
            match s {
                Seen::Opaque(what) if !refreshed => {
                    return RunUse::Verdict(Verdict::Unknown { line, why: what });
                }
                Seen::Opaque(_) => {}
                Seen::Runs(e) => {
                    match (probe.uses)(&e) {
                        Some(Use::Refreshes) => refreshed = true,
                        Some(Use::Removes) => return RunUse::Removes,
                        Some(Use::Reads(why)) if !refreshed => {
                            return RunUse::Verdict(Verdict::Reads { line, why });
                        }
                        _ => {}
                    }
                    if refreshed {
                        continue;
                    }
                    if let Some(p) = probe.paths.iter().find(|p| e.names_path(p)) {
                        return RunUse::Verdict(Verdict::Reads {
                            line,
                            why: format!("names `{p}` (`{}`)", e.program),
                        });
                    }
                }
            }
        }
    }
    RunUse::None
}

/// A RUN the shell reader does not model: unknown when it mentions what the probe looks for.
fn unreadable(doc: &Dockerfile, ins: &Instruction, probe: &Probe<'_>) -> RunUse {
    let text = doc.text(ins.span);
    let hit = probe
        .mentions
        .iter()
        .chain(probe.paths)
        .find(|m| !m.is_empty() && text.contains(m.as_str()));
    match hit {
        Some(m) => RunUse::Verdict(Verdict::Unknown {
            line: ins.start_line,
            why: format!("a script dfopt does not read that mentions `{m}`"),
        }),
        None => RunUse::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(text: &str) -> Vec<Seen> {
        let s = script::parse(text).expect("parses");
        s.cmds.iter().flat_map(resolve).collect()
    }

    fn progs(text: &str) -> Vec<String> {
        seen(text)
            .into_iter()
            .map(|s| match s {
                Seen::Runs(e) => format!("{}@{}", e.line(), e.user.unwrap_or_default()),
                Seen::Opaque(w) => format!("?{w}"),
            })
            .collect()
    }

    #[test]
    fn the_data_reads() {
        assert!(check_data().is_ok());
    }

    #[test]
    fn wrappers_resolve_to_the_command_they_run() {
        assert_eq!(
            progs("sudo -u node npm ci --offline"),
            ["npm ci --offline@node"]
        );
        assert_eq!(
            progs("timeout 30 apt-get install x"),
            ["apt-get install x@"]
        );
        assert_eq!(progs("env -i A=1 nice -n 5 ls /x"), ["ls /x@"]);
        assert_eq!(
            progs("sh -c 'apt-get install -y x'"),
            ["apt-get install -y x@"]
        );
        assert_eq!(progs("su app -c \"npm ci\""), ["npm ci@app"]);
        assert_eq!(progs("gosu app ls ~/.npm"), ["ls /home/app/.npm@app"]);
        assert_eq!(
            progs("echo x | xargs -n1 apt-get install"),
            ["echo x@", "apt-get install@"]
        );
        assert_eq!(progs("runuser -u app -- ls"), ["ls@app"]);
    }

    #[test]
    fn scripts_and_make_are_opaque() {
        assert_eq!(progs("./install.sh"), ["?`./install.sh`"]);
        assert_eq!(progs("sh x.sh"), ["?`sh x.sh`"]);
        assert_eq!(progs("bash /opt/setup"), ["?`bash /opt/setup`"]);
        assert_eq!(progs("make all"), ["?`make`"]);
        assert_eq!(progs("/usr/bin/apt-get update"), ["apt-get update@"]);
        assert_eq!(progs("/opt/install.sh"), ["?`/opt/install.sh`"]);
        assert_eq!(progs("/venv/bin/pip install x"), ["pip install x@"]);
        assert_eq!(
            progs("sh -c \"cd ~ && echo $V\""),
            ["cd /root@", "echo $V@"]
        );
    }

    /// `missing_switch` for `apt-get install` without `-y`: each hit as `shown@edit word` or
    /// `shown!reason`.
    fn missing_y(text: &str) -> Vec<String> {
        let s = script::parse(text).expect("parses");
        let yes = [crate::rule_data::regex("^-y$").expect("regex")];
        let programs = ["apt-get".to_string()];
        let subcommands = ["install".to_string()];
        let is_apt = |e: &Effective| programs.contains(&e.program);
        missing_switch(text, &s.cmds, &["apt-get"], &is_apt, &subcommands, &yes)
            .into_iter()
            .map(|h| match h.at {
                Ok(w) => format!("{}@{}:{}", h.shown, w.text, w.start),
                Err(why) => format!("{}!{why}", h.shown),
            })
            .collect()
    }

    #[test]
    fn a_switch_goes_into_the_command_as_written_through_wrappers() {
        assert_eq!(
            missing_y("apt-get install x"),
            ["apt-get install@install:8"]
        );
        assert_eq!(
            missing_y("echo x | xargs -n1 apt-get install"),
            ["apt-get install@install:27"]
        );
        assert_eq!(
            missing_y("timeout 60 apt-get -q install x"),
            ["apt-get -q install@install:22"]
        );
        assert!(missing_y("sudo -u app apt-get install -y x").is_empty());
        assert!(missing_y("apt-get update").is_empty());
        assert!(missing_y("echo apt-get install").is_empty());
    }

    #[test]
    fn a_command_inside_a_script_string_is_reported_not_edited() {
        assert_eq!(
            missing_y("sh -c 'apt-get install x'"),
            ["apt-get install!it runs inside `sh -c`, where dfopt does not edit"]
        );
        // The words after `sh -c SCRIPT` are the script's `$0`, `$1`: never the place to edit.
        assert_eq!(
            missing_y("sh -c 'apt-get install x' apt-get install"),
            ["apt-get install!it runs inside `sh -c`, where dfopt does not edit"]
        );
        assert_eq!(
            missing_y("eval \"apt-get install x\""),
            ["apt-get install!it runs through `eval`, which dfopt does not read"]
        );
        assert!(missing_y("eval \"apt-get install -y x\"").is_empty());
        assert!(missing_y("./install.sh apt-get").is_empty());
    }

    #[test]
    fn a_word_has_what_contains_finds() {
        let long = "x".repeat(70) + "apt-get";
        for word in [
            "",
            "a",
            "apt",
            "apt-get",
            "/usr/bin/apt-get",
            "xapt",
            "ap",
            "aptaptitude",
            &long,
        ] {
            for needle in ["", "a", "apt", "apt-get", "aptitude", "t"] {
                assert_eq!(
                    has(word, needle),
                    word.contains(needle),
                    "{word:?} {needle:?}"
                );
            }
        }
    }

    #[test]
    fn the_fewest_hints_find_the_same_texts() {
        let hints = ["apt-get", "apt", "aptitude", "yum", "yum", "tdnf", "dnf"];
        assert_eq!(fewest_hints(&hints), ["apt", "yum", "dnf"]);
        for text in [
            "apt-get install",
            "aptitude",
            "tdnf x",
            "yum",
            "zypper in",
            "",
            "ap t",
        ] {
            assert_eq!(
                names_any(text, &hints),
                names_any(text, &fewest_hints(&hints)),
                "{text}"
            );
        }
        assert_eq!(fewest_hints(&["", "x"]), [""]);
    }

    #[test]
    fn paths_are_named_over_and_under() {
        let e = Effective {
            program: "ls".into(),
            args: vec!["/dl".into(), "--file=/x/y".into()],
            user: None,
        };
        assert!(e.names_path("/dl/tool.zip"));
        assert!(e.names_path("/x"));
        assert!(!e.names_path("/other"));
    }

    #[test]
    fn copies_from_the_stage_read_its_files() {
        let doc = crate::syntax::Dockerfile::parse(
            "FROM debian AS build\nRUN curl -o /dl/t.zip u\nFROM debian\nCOPY --from=build /dl/ /dl/\n",
        )
        .expect("parses");
        let analysis = Analysis::new(&doc);
        let paths = vec!["/dl/t.zip".to_string()];
        let probe = Probe {
            paths: &paths,
            uses: &|_| None,
            mentions: &[],
        };
        assert!(matches!(
            later(&doc, &analysis, 1, &probe),
            Verdict::Reads { line: 4, .. }
        ));
        let other = vec!["/elsewhere".to_string()];
        let probe = Probe {
            paths: &other,
            uses: &|_| None,
            mentions: &[],
        };
        assert_eq!(later(&doc, &analysis, 1, &probe), Verdict::Free);
    }
}
