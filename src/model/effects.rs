//! How BuildKit runs a RUN, and what one RUN's shell text may do that a later RUN of the same stage
//! would notice if the two ran in one shell: the model chain-runs decides "safe" from.
//!
//! BuildKit runs every RUN as a fresh process `SHELL… "<text>"` in its own mount and PID namespace,
//! with WORKDIR created first and used as the working directory; the build stops at the first
//! failing RUN (docs/safety-model.md gives the sources). Joining RUN A before RUN B as `A && B`
//! (A possibly wrapped `( A )`) keeps that behaviour only under the conditions checked here. Where
//! this reader is unsure it answers conservatively: "ends the chain", "changes state", "errexit on".
//! The text is read through the model's shell tree (`effects/reading.rs`): a text the tree cannot
//! read gets every conservative verdict.

use super::script::{basename, is_assignment};
use super::shell::{Tree, Unsupported};
use super::stages::{PosixProgram, Shell, Stage};
use super::top_level::ShellFacts;
use crate::syntax::{Dockerfile, Keyword};
use reading::Reading;

mod reading;

/// The joined RUN text must stay under half of Linux's MAX_ARG_STRLEN (128 KiB, the limit of one
/// argv string), leaving room for the environment.
pub const MAX_JOINED_TEXT: usize = 64 * 1024;

/// POSIX special builtins: assignments written before one persist in the shell.
const SPECIAL_BUILTINS: &[&str] = &[
    "break", ":", ".", "continue", "eval", "exec", "exit", "export", "readonly", "return", "set",
    "shift", "times", "trap", "unset",
];

/// Words that run the command after them (`sudo rm …`): the command is what counts. A `match`
/// instead of a list searched in order: every segment's words are asked, by several verdicts.
fn is_command_wrapper(w: &str) -> bool {
    matches!(
        w,
        "sudo"
            | "exec"
            | "command"
            | "builtin"
            | "env"
            | "nice"
            | "nohup"
            | "time"
            | "timeout"
            | "stdbuf"
            | "!"
            | "doas"
            | "chroot"
            | "su-exec"
            | "gosu"
    )
}

/// Data the model reads from chain-runs' rule data (transforms/chain-runs.toml).
#[derive(Debug, Clone, Default)]
pub struct EffectsData {
    /// Commands that start a process meant to outlive them (`setsid`, `nohup`, …).
    pub process_starters: Vec<String>,
    /// Servers that go to the background when given one of `daemon_flags`.
    pub daemon_servers: Vec<String>,
    pub daemon_flags: Vec<String>,
    /// Commands known not to create executables (package managers install under /usr and /, which
    /// does not shadow a name the shell hashed earlier in PATH).
    pub no_executables: Vec<String>,
    /// Builtins and keywords: never looked up in PATH, never hashed.
    pub builtins: Vec<String>,
    /// Files a shell reads at start-up: a RUN writing one may change how a later RUN starts.
    pub startup_files: Vec<String>,
    /// The lists above as look-ups, built on first use: construct with `..Default::default()`.
    pub lookups: std::sync::OnceLock<Lookups>,
}

/// [`EffectsData`]'s lists as every RUN asks them: a name in a set instead of compared with each
/// one, and one search for all of a list's strings instead of one search per string.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    builtins: std::collections::HashSet<String, BuildFx>,
    no_executables: std::collections::HashSet<String, BuildFx>,
    /// Matches where one of `startup_files` occurs (`None`: ask each, as without it).
    startup_files: Option<regex::Regex>,
    /// Matches where one of `process_starters` occurs.
    process_starters: Option<regex::Regex>,
}

type BuildFx = std::hash::BuildHasherDefault<super::runs::FxHasher>;

/// A regex that matches where one of `strings` occurs; `None` for no strings.
fn any_of(strings: &[String]) -> Option<regex::Regex> {
    if strings.is_empty() {
        return None;
    }
    let alternatives: Vec<String> = strings.iter().map(|s| regex::escape(s)).collect();
    regex::Regex::new(&alternatives.join("|")).ok()
}

impl EffectsData {
    fn lookups(&self) -> &Lookups {
        self.lookups.get_or_init(|| Lookups {
            builtins: self.builtins.iter().cloned().collect(),
            no_executables: self.no_executables.iter().cloned().collect(),
            startup_files: any_of(&self.startup_files),
            process_starters: any_of(&self.process_starters),
        })
    }
}

/// The WORKDIR a RUN runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workdir {
    /// Set by a WORKDIR of the stage (or a stage it is built on) to a path dfopt can resolve.
    Known(String),
    /// No WORKDIR in the file: the base image's, which dfopt does not know; taken as `/`.
    ImageDefault,
    /// A WORKDIR with a variable dfopt does not resolve.
    Unknown,
}

/// Why no two RUNs of a stage may be joined, if so: the stage's shell reads start-up files on
/// every RUN (a login or interactive shell, bash with `BASH_ENV` set, zsh's zshenv).
pub fn stage_blocks_joins(
    doc: &Dockerfile,
    stages: &[Stage],
    stage: &Stage,
) -> Option<&'static str> {
    let Shell::Posix { argv, options } = &stage.shell_program else {
        return Some("the stage's shell is not one the model knows");
    };
    if options.login {
        return Some("the SHELL is a login shell, which reads profile files on every RUN");
    }
    let before_command = argv.get(..options.command_flag + 1).unwrap_or(argv);
    let interactive = before_command.iter().skip(1).any(|a| {
        matches!(a.as_str(), "--rcfile" | "--init-file" | "--interactive")
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('i'))
    });
    if interactive {
        return Some("the SHELL is an interactive shell, which reads start-up files on every RUN");
    }
    match options.program {
        PosixProgram::Zsh => {
            Some("zsh reads /etc/zshenv and ~/.zshenv on every RUN, which a RUN may change")
        }
        PosixProgram::Bash | PosixProgram::Sh if sets_bash_env(doc, stages, stage) => {
            Some("BASH_ENV is set, so bash reads that file on every RUN")
        }
        _ => None,
    }
}

/// Whether an ENV or ARG of the stage, a stage it is built on, or the global ARGs names BASH_ENV.
fn sets_bash_env(doc: &Dockerfile, stages: &[Stage], stage: &Stage) -> bool {
    let mentions = |range: std::ops::Range<usize>| {
        doc.instructions.get(range).unwrap_or(&[]).iter().any(|i| {
            matches!(i.kind(), Keyword::Env | Keyword::Arg) && i.command.args.contains("BASH_ENV")
        })
    };
    let first_from = stages.first().map(|s| s.from).unwrap_or(0);
    if mentions(0..first_from) {
        return true;
    }
    let mut cur = Some(stage);
    let mut hops = 0;
    while let Some(st) = cur {
        if mentions(st.from..st.end) {
            return true;
        }
        hops += 1;
        cur = st.parent.and_then(|p| stages.get(p)).filter(|_| hops < 64);
    }
    false
}

/// The WORKDIR in effect for instruction `idx` of `stage`.
pub fn workdir_at(doc: &Dockerfile, stages: &[Stage], stage: &Stage, idx: usize) -> Workdir {
    // The WORKDIR instructions that apply, nearest first: this stage's before idx, then its
    // ancestors'.
    let mut dirs: Vec<String> = Vec::new();
    let mut cur = Some((stage, idx));
    let mut hops = 0;
    while let Some((st, end)) = cur {
        for ins in doc
            .instructions
            .get(st.from + 1..end.min(st.end))
            .unwrap_or(&[])
            .iter()
            .rev()
        {
            if ins.kind() == Keyword::Workdir {
                let path = ins.command.args.trim().trim_matches('"').to_string();
                let absolute = path.starts_with('/');
                dirs.push(path);
                if absolute {
                    return resolve_workdirs(&dirs);
                }
            }
        }
        hops += 1;
        cur = st
            .parent
            .and_then(|p| stages.get(p))
            .filter(|_| hops < 64)
            .map(|p| (p, p.end));
    }
    if dirs.is_empty() {
        Workdir::ImageDefault
    } else {
        // A relative WORKDIR on top of the image's: unknown.
        Workdir::Unknown
    }
}

fn resolve_workdirs(nearest_first: &[String]) -> Workdir {
    let mut path = String::new();
    for d in nearest_first.iter().rev() {
        if d.contains('$') || d.contains('\\') {
            return Workdir::Unknown;
        }
        path = if d.starts_with('/') {
            d.clone()
        } else {
            format!("{path}/{d}")
        };
    }
    // `path` is absolute or empty (no WORKDIR): the model's one path resolver normalises it.
    match super::stage_facts::resolve("/", &path) {
        Some(p) => Workdir::Known(p),
        None => Workdir::Unknown,
    }
}

/// What the model knows about one RUN as a member of a chain.
#[derive(Debug, Clone, Default)]
pub struct RunEffects {
    /// errexit is on while this RUN runs: from the SHELL's options or a `set` in the text (a `set`
    /// whose options cannot be read counts as on).
    pub errexit_on: bool,
    /// Behaves differently when errexit is ignored (left of `&&`): not a single AND-OR list of
    /// simple commands and pipelines.
    pub errexit_sensitive: bool,
    /// Changes shell state the top-level reader does not see: assignments in expansions, before
    /// special builtins, in arithmetic commands, `printf -v`.
    pub hidden_state: bool,
    /// Why no RUN may follow this one in a chain, if so.
    pub ends_chain: Option<String>,
    /// May create an executable file (a later RUN's PATH lookup could find it first).
    pub may_create_executables: bool,
    /// Names this RUN runs at its top level by PATH lookup (the shell hashes them).
    pub path_commands: Vec<String>,
}

/// Reads one RUN's text `cmd` (already judged parsable by the top-level reader, `facts`) through
/// its shell tree, `tree` (`Tree::parse(cmd)`, which the RUN memo keeps: `Memo::tree`).
pub fn run_effects(
    cmd: &str,
    tree: &Result<Tree, Unsupported>,
    facts: &ShellFacts,
    shell: &Shell,
    workdir: &Workdir,
    data: &EffectsData,
) -> RunEffects {
    let shell_errexit = shell.posix_options().is_some_and(|o| o.errexit);
    let lookups = data.lookups();
    let path_commands = facts
        .commands
        .iter()
        .filter(|c| {
            !c.contains('/')
                && !c.starts_with('(')
                && !c.contains('$')
                && !lookups.builtins.contains(c.as_str())
        })
        .cloned()
        .collect();
    let Some(reading) = reading::read(cmd, tree) else {
        // The shell tree has no answer: every verdict is the conservative one.
        return RunEffects {
            errexit_on: true,
            errexit_sensitive: true,
            hidden_state: true,
            ends_chain: Some("dfopt cannot read its shell text".to_string()),
            may_create_executables: true,
            path_commands,
        };
    };
    let segments = &reading.segments;
    RunEffects {
        errexit_on: shell_errexit || segments.iter().any(|s| set_turns_errexit_on(s)),
        errexit_sensitive: errexit_sensitive(facts, &reading),
        hidden_state: hidden_state(&reading),
        ends_chain: replaces_shell(cmd, shell, data)
            .or_else(|| leaves_process(cmd, segments, data))
            .or_else(|| removes_workdir(segments, workdir)),
        may_create_executables: segments.iter().any(|s| {
            command_word(s)
                .map(|w| !lookups.no_executables.contains(w))
                .unwrap_or(false)
        }),
        path_commands,
    }
}

/// The index of a segment's command word: after assignments and wrappers such as `sudo`.
fn command_index(seg: &[String]) -> Option<usize> {
    let mut i = 0;
    while let Some(w) = seg.get(i) {
        if is_assignment(w) || is_command_wrapper(w) || w.starts_with('-') {
            i += 1;
        } else {
            return Some(i);
        }
    }
    None
}

fn command_word(seg: &[String]) -> Option<&str> {
    let w = seg.get(command_index(seg)?)?;
    Some(basename(w))
}

/// `set` with an option that turns errexit on: `-e` in any bundle (`-eux`, `-x -e`, `-Eeuo`),
/// `-o errexit`; options the reader cannot read (`set $OPTS`) count as on.
fn set_turns_errexit_on(seg: &[String]) -> bool {
    let Some(i) = command_index(seg) else {
        return false;
    };
    if seg[i] != "set" {
        return false;
    }
    let mut words = seg[i + 1..].iter();
    while let Some(w) = words.next() {
        if w.contains('$') || w.contains('`') {
            return true;
        }
        if w == "--" || w == "-" || !(w.starts_with('-') || w.starts_with('+')) {
            return false;
        }
        let on = w.starts_with('-');
        let letters = &w[1..];
        if on && letters.contains('e') {
            return true;
        }
        if letters.contains('o') {
            match words.next() {
                Some(name) if on && (name == "errexit" || name.contains('$')) => return true,
                Some(_) => {}
                None => return false,
            }
        }
    }
    false
}

/// Not a single AND-OR list of simple commands and pipelines: `;`, newline or `&` lists, compound
/// commands, subshells, function definitions, command substitutions that hold a list.
fn errexit_sensitive(facts: &ShellFacts, reading: &Reading) -> bool {
    facts.compound
        || facts.has_background
        || !facts.parsed
        || !reading.single_and_or
        || reading.substitution_holds_list
}

/// Shell state the top-level reader does not see: assignments in expansions and arithmetic,
/// before special builtins, and `printf -v`.
fn hidden_state(reading: &Reading) -> bool {
    reading.assigns_in_expansion
        || reading.segments.iter().any(|seg| {
            let Some(i) = command_index(seg) else {
                return false;
            };
            let word = seg[i].as_str();
            let assigned = seg[..i].iter().any(|w| is_assignment(w));
            (assigned && SPECIAL_BUILTINS.contains(&word))
                || (word == "printf" && seg.get(i + 1).is_some_and(|w| w == "-v"))
        })
}

/// A RUN that may replace the shell program or its start-up files ends the chain: the RUNs after
/// it started a new shell.
fn replaces_shell(cmd: &str, shell: &Shell, data: &EffectsData) -> Option<String> {
    // The usual paths of sh and dash all hold `/bin/`: a text without it names none of them.
    let mut watched: Vec<&str> = if cmd.contains("/bin/") {
        vec!["/bin/sh", "/usr/bin/sh", "/bin/dash", "/usr/bin/dash"]
    } else {
        Vec::new()
    };
    if let Shell::Posix { argv, .. } = shell {
        if let Some(program) = argv.first() {
            watched.push(program.as_str());
            if argv.len() > 1 && program.ends_with("busybox") {
                watched.push("busybox");
            }
        }
    }
    if let Some(w) = watched.iter().find(|w| cmd.contains(**w)) {
        return Some(format!("it may replace the shell program ({w})"));
    }
    // Most RUNs hold no capital letter: read those as they are instead of copying them.
    let lower = if cmd.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(cmd.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(cmd)
    };
    if lower.contains("dpkg-reconfigure") && lower.contains("dash")
        || lower.contains("update-alternatives") && lower.split_whitespace().any(|w| w == "sh")
    {
        return Some("it may change what /bin/sh is".to_string());
    }
    // One search tells whether any of them occurs (most RUNs name none); then the first in the
    // data's order that does, for the message.
    let lookups = data.lookups();
    if lookups
        .startup_files
        .as_ref()
        .is_some_and(|any| !any.is_match(cmd))
    {
        return None;
    }
    data.startup_files
        .iter()
        .find(|f| cmd.contains(f.as_str()))
        .map(|f| format!("it may change a shell start-up file ({f})"))
}

/// A RUN that may leave a process behind: BuildKit ends it with the RUN's PID namespace.
fn leaves_process(cmd: &str, segments: &[Vec<String>], data: &EffectsData) -> Option<String> {
    let tokens =
        cmd.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')));
    // A token can only equal a starter the text contains: most RUNs contain none, and one search
    // for them all costs less than looking up every token. Runs of separators give empty tokens,
    // which name no program.
    let may_name_starter = match &data.lookups().process_starters {
        Some(any) => any.is_match(cmd),
        None => data
            .process_starters
            .iter()
            .any(|s| cmd.contains(s.as_str())),
    };
    // (Without one the text is not split at all: the split reads every character.)
    if may_name_starter {
        for t in tokens.filter(|t| !t.is_empty()) {
            let base = t.rsplit_once('/').map_or(t, |(_, base)| base);
            if data.process_starters.iter().any(|s| s == base) {
                return Some(format!("it may leave a process behind ({base})"));
            }
        }
    }
    for seg in segments {
        let Some(i) = command_index(seg) else {
            continue;
        };
        let word = basename(&seg[i]);
        let args = &seg[i + 1..];
        let starts = args
            .iter()
            .any(|a| matches!(a.as_str(), "start" | "restart" | "reload" | "force-reload"));
        let service = matches!(word, "service" | "systemctl" | "rc-service" | "invoke-rc.d")
            || seg[i].starts_with("/etc/init.d/")
            || seg[i].starts_with("/etc/rc.d/");
        if service && starts {
            return Some(format!("it may start a service ({})", seg[i]));
        }
        if data.daemon_servers.iter().any(|s| s == word)
            && args.iter().any(|a| {
                data.daemon_flags
                    .iter()
                    .any(|f| a == f || a.starts_with(&format!("{f}=")))
            })
        {
            return Some(format!("it may start {word} in the background"));
        }
    }
    None
}

/// A RUN that may remove or rename its WORKDIR or an ancestor ends the chain: BuildKit creates the
/// WORKDIR again before each RUN, a joined RUN would run in a removed directory.
fn removes_workdir(segments: &[Vec<String>], workdir: &Workdir) -> Option<String> {
    let workdir_path = match workdir {
        Workdir::Known(p) => p.as_str(),
        Workdir::ImageDefault => "/",
        Workdir::Unknown => "",
    };
    // Every directory a relative path may be relative to; `None` once a `cd` is not resolvable.
    let mut cwds: Option<Vec<String>> = match workdir {
        Workdir::Unknown => None,
        _ => Some(vec![workdir_path.to_string()]),
    };
    for seg in segments {
        let Some(i) = command_index(seg) else {
            continue;
        };
        let word = basename(&seg[i]);
        // Most commands are none of these: skip them before collecting their arguments.
        if !matches!(
            word,
            "cd" | "pushd" | "popd" | "rm" | "rmdir" | "unlink" | "mv" | "find" | "xargs"
        ) {
            continue;
        }
        let args: Vec<&str> = seg[i + 1..].iter().map(String::as_str).collect();
        if matches!(word, "cd" | "pushd" | "popd") {
            cwds = match (cwds, args.iter().find(|a| !a.starts_with('-'))) {
                (Some(mut list), Some(target)) if word != "popd" => {
                    let resolved: Option<Vec<String>> =
                        list.iter().map(|c| resolve(target, c)).collect();
                    resolved.map(|r| {
                        list.extend(r);
                        list
                    })
                }
                _ => None,
            };
            continue;
        }
        let targets: Vec<&str> = match word {
            "rm" | "rmdir" | "unlink" => args
                .iter()
                .copied()
                .filter(|a| !a.starts_with('-'))
                .collect(),
            "mv" => {
                let operands: Vec<&str> = args
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                operands[..operands.len().saturating_sub(1)].to_vec()
            }
            "find" => {
                let deletes = args
                    .iter()
                    .any(|a| matches!(*a, "-delete" | "-exec" | "-execdir" | "-ok" | "-okdir"));
                let files_only = args
                    .windows(2)
                    .any(|w| w[0] == "-type" && matches!(w[1], "f" | "l"));
                if !deletes || files_only {
                    continue;
                }
                let paths: Vec<&str> = args
                    .iter()
                    .copied()
                    .take_while(|a| !a.starts_with('-') && *a != "!")
                    .collect();
                if paths.is_empty() {
                    vec!["."]
                } else {
                    paths
                }
            }
            "xargs" => {
                if args.iter().any(|a| matches!(*a, "rm" | "rmdir" | "mv")) {
                    return Some("it removes paths read from its input".to_string());
                }
                continue;
            }
            _ => continue,
        };
        for t in targets {
            if let Some(why) = target_hits_workdir(t, workdir, cwds.as_deref()) {
                return Some(format!("it may remove or rename its WORKDIR ({why})"));
            }
        }
    }
    None
}

/// Whether removing `target` may remove the WORKDIR (the path itself or an ancestor).
fn target_hits_workdir(target: &str, workdir: &Workdir, cwds: Option<&[String]>) -> Option<String> {
    let t = target
        .strip_prefix("${HOME}")
        .or_else(|| target.strip_prefix("$HOME"))
        .map(|rest| format!("~{rest}"))
        .unwrap_or_else(|| target.to_string());
    if t.contains('$') || t.contains('`') || t == "\"\"" || t.is_empty() {
        return Some(format!("`{target}` is not known before it runs"));
    }
    let Workdir::Known(w) = workdir else {
        if matches!(workdir, Workdir::Unknown) {
            return Some("the WORKDIR is not known".to_string());
        }
        // The image's own WORKDIR: only what reaches every directory is known to hit it.
        let climbs = t == "." || t == ".." || t.split('/').any(|p| p == "..");
        return climbs.then(|| format!("`{target}`"));
    };
    if let Some(rest) = t.strip_prefix('~') {
        // `~/x`: the home directory is not known; it hits if the WORKDIR has a folder named x.
        let first = rest.trim_start_matches('/').split('/').next().unwrap_or("");
        if first.is_empty() || first == ".." || w.split('/').any(|p| p == first) {
            return Some(format!("`{target}`"));
        }
        return None;
    }
    // A glob: any path under the folder before its first wildcard. A brace expansion may name
    // that folder itself (`/app/{,old}`).
    let (literal, glob) = match t.find(['*', '?', '[', '{']) {
        Some(k) => (
            &t[..t[..k].rfind('/').map(|s| s + 1).unwrap_or(0)],
            t.as_bytes()[k] != b'{',
        ),
        None => (t.as_str(), false),
    };
    let literal = if literal.is_empty() { "." } else { literal };
    let bases: Vec<String> = if literal.starts_with('/') {
        vec!["/".to_string()]
    } else {
        match cwds {
            Some(c) => c.to_vec(),
            None => return Some(format!("`{target}` after a `cd` dfopt cannot follow")),
        }
    };
    for base in bases {
        let Some(p) = resolve(literal, &base) else {
            return Some(format!("`{target}`"));
        };
        let hit = if glob {
            p == "/" || w.starts_with(&format!("{p}/"))
        } else {
            p == *w || p == "/" || w.starts_with(&format!("{p}/"))
        };
        if hit {
            return Some(format!("`{target}`"));
        }
    }
    None
}

/// `target` resolved against `cwd`; `None` when it cannot be (`-`, `~`, variables).
fn resolve(target: &str, cwd: &str) -> Option<String> {
    if target.contains('$') || target.contains('`') || target.starts_with('~') || target == "-" {
        return None;
    }
    super::stage_facts::resolve(cwd, target)
}

/// Whether the RUN's flags give it mounts that are new for every RUN (`type=tmpfs`, a writable
/// bind mount whose writes BuildKit drops after the RUN): such a RUN joins with no other.
pub fn has_per_run_mount(flags: &[crate::syntax::Flag]) -> bool {
    flags.iter().any(|f| {
        let t = f.text.to_ascii_lowercase();
        t.starts_with("--mount")
            && (t.contains("type=tmpfs")
                || (t.contains("type=bind") && (t.contains(",rw") || t.contains("readwrite"))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(t: &str) -> Option<reading::Reading> {
        reading::read(t, &Tree::parse(t))
    }

    fn segs(t: &str) -> Vec<Vec<String>> {
        read(t).expect("the tree reads it").segments
    }

    #[test]
    fn set_flags() {
        for on in [
            "set -e",
            "set -x -e",
            "set -u -e",
            "set -eux",
            "set -o errexit",
            "set -Eeuo pipefail",
            "set $OPTS",
            "set -o pipefail -e",
        ] {
            assert!(segs(on).iter().any(|s| set_turns_errexit_on(s)), "{on}");
        }
        for off in [
            "set -x",
            "set -- -e",
            "set +e",
            "set -o pipefail",
            "echo set -e",
        ] {
            assert!(!segs(off).iter().any(|s| set_turns_errexit_on(s)), "{off}");
        }
    }

    #[test]
    fn hidden_assignments() {
        for c in [
            ": \"${T:=x}\"",
            "echo ${T=x}",
            "echo $((N=4))",
            "echo $((N+=1))",
            "echo $((N++))",
            "W=1 :",
            "W=1 : || true",
            "printf -v X %s y",
            "((N=1))",
        ] {
            assert!(hidden_state(&read(c).expect("readable")), "{c}");
        }
        for c in [
            "echo ${T:-x}",
            "echo $((N+1)) $((A==B))",
            "V=1 make",
            "printf %s",
        ] {
            assert!(!hidden_state(&read(c).expect("readable")), "{c}");
        }
    }

    #[test]
    fn workdir_removal() {
        let w = Workdir::Known("/app".into());
        for c in [
            "cd / && rm -rf /app",
            "rm -rf .",
            "rm -rf /",
            "cd / && rm -rf app",
            "rm -rf \"$DIR\"",
            "cd $X && rm -rf y",
            "mv /app /old",
            "find / -delete",
        ] {
            assert!(removes_workdir(&segs(c), &w).is_some(), "{c}");
        }
        for c in [
            "rm -rf /var/lib/apt/lists/*",
            "rm -rf build",
            "cd /tmp && rm -rf x",
            "rm -rf /app/build",
            "find / -name '*.pyc' -type f -delete",
            "rm -rf ~/.cache",
        ] {
            assert!(removes_workdir(&segs(c), &w).is_none(), "{c}");
        }
    }

    #[test]
    fn errexit_sensitivity() {
        let sens = |c: &str| {
            read(c).map_or(true, |r| {
                errexit_sensitive(&super::super::top_level::analyse(c), &r)
            })
        };
        for c in [
            "a; b",
            "(a; b)",
            "if a; then b; fi",
            "f() { a; }",
            "echo $(a; b)",
            "a\nb",
        ] {
            assert!(sens(c), "{c}");
        }
        for c in ["a && b || c", "a | b", "echo $(pwd)", "! a"] {
            assert!(!sens(c), "{c}");
        }
    }
}
