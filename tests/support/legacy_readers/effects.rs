//! The effects model's text scanners as they were before the model read RUNs through its shell
//! tree (`src/model/effects/reading.rs`), kept verbatim as the oracle of
//! `tests/shell_tree_equivalence.rs` (issue 11). What they used from the crate (the top-level
//! splitter, the lexer's skip helpers, `is_assignment`) comes from the sibling oracles
//! (`legacy_top_level`, `legacy_script`), so the oracle does not change when those move onto the
//! tree.

use dfopt::model::effects::{EffectsData, Workdir};
use dfopt::model::stages::Shell;
use dfopt::model::top_level::ShellFacts;

use super::legacy_script::{is_assignment, skip_backticks, skip_parens};
use super::legacy_top_level::{self, split_top_level};

/// The verdicts the old scanners gave one RUN (the fields of `RunEffects` they decided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldVerdicts {
    pub errexit_on: bool,
    pub errexit_sensitive: bool,
    pub hidden_state: bool,
    pub ends_chain: Option<String>,
    pub may_create_executables: bool,
}

/// The old `run_effects`, without its `path_commands` (read off `facts`, unchanged).
pub fn old_verdicts(
    cmd: &str,
    facts: &ShellFacts,
    shell: &Shell,
    workdir: &Workdir,
    data: &EffectsData,
) -> OldVerdicts {
    let segments = segments(cmd);
    let shell_errexit = shell.posix_options().is_some_and(|o| o.errexit);
    OldVerdicts {
        errexit_on: shell_errexit || segments.iter().any(|s| set_turns_errexit_on(s)),
        errexit_sensitive: errexit_sensitive(cmd, facts),
        hidden_state: hidden_state(cmd, &segments),
        ends_chain: replaces_shell(cmd, shell, data)
            .or_else(|| leaves_process(cmd, &segments, data))
            .or_else(|| removes_workdir(&segments, workdir)),
        may_create_executables: segments.iter().any(|s| {
            command_word(s)
                .map(|w| !data.no_executables.iter().any(|n| n == w))
                .unwrap_or(false)
        }),
    }
}

/// POSIX special builtins: assignments written before one persist in the shell.
const SPECIAL_BUILTINS: &[&str] = &[
    "break", ":", ".", "continue", "eval", "exec", "exit", "export", "readonly", "return", "set",
    "shift", "times", "trap", "unset",
];

/// Words that run the command after them (`sudo rm …`): the command is what counts.
const COMMAND_WRAPPERS: &[&str] = &[
    "sudo", "exec", "command", "builtin", "env", "nice", "nohup", "time", "timeout", "stdbuf", "!",
    "doas", "chroot", "su-exec", "gosu",
];

/// The words of the text's commands, split at every operator, bracket and backquote (quotes
/// removed; a quoted word holding spaces is read again as commands, since `sh -c '…'` runs it).
fn segments(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    segments_into(text, &mut out, 0);
    out
}

fn segments_into(text: &str, out: &mut Vec<Vec<String>>, depth: usize) {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut quoted_with_space = false;
    let mut chars = text.chars().peekable();
    let flush_word = |word: &mut String,
                      words: &mut Vec<String>,
                      out: &mut Vec<Vec<String>>,
                      quoted_with_space: &mut bool| {
        if !word.is_empty() {
            if *quoted_with_space && depth < 4 {
                segments_into(word, out, depth + 1);
            }
            words.push(std::mem::take(word));
        }
        *quoted_with_space = false;
    };
    while let Some(ch) = chars.next() {
        match ch {
            '\'' | '"' => {
                for c in chars.by_ref() {
                    if c == ch {
                        break;
                    }
                    if c.is_whitespace() {
                        quoted_with_space = true;
                    }
                    word.push(c);
                }
                if word.is_empty() {
                    // `''`: an empty word is still a word (an empty target).
                    word.push_str("\"\"");
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '$' if chars.peek() == Some(&'{') => {
                word.push('$');
                for c in chars.by_ref() {
                    word.push(c);
                    if c == '}' {
                        break;
                    }
                }
            }
            ' ' | '\t' => flush_word(&mut word, &mut words, out, &mut quoted_with_space),
            ';' | '&' | '|' | '(' | ')' | '{' | '}' | '\n' | '\r' | '`' => {
                flush_word(&mut word, &mut words, out, &mut quoted_with_space);
                if !words.is_empty() {
                    out.push(std::mem::take(&mut words));
                }
            }
            _ => word.push(ch),
        }
    }
    flush_word(&mut word, &mut words, out, &mut quoted_with_space);
    if !words.is_empty() {
        out.push(words);
    }
}

/// The index of a segment's command word: after assignments and wrappers such as `sudo`.
fn command_index(seg: &[String]) -> Option<usize> {
    let mut i = 0;
    while let Some(w) = seg.get(i) {
        if is_assignment(w) || COMMAND_WRAPPERS.contains(&w.as_str()) || w.starts_with('-') {
            i += 1;
        } else {
            return Some(i);
        }
    }
    None
}

fn command_word(seg: &[String]) -> Option<&str> {
    let w = seg.get(command_index(seg)?)?;
    Some(w.rsplit('/').next().unwrap_or(w))
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
fn errexit_sensitive(cmd: &str, facts: &ShellFacts) -> bool {
    if facts.compound || facts.has_background || !facts.parsed {
        return true;
    }
    let mut probe = legacy_top_level::ShellFacts::default();
    let Some(commands) = split_top_level(cmd, &mut probe) else {
        return true;
    };
    for c in &commands {
        if c.words.first().is_some_and(|w| w.starts_with('('))
            || c.words.contains(&"()")
            || c.words.iter().any(|w| w.ends_with("()"))
        {
            return true;
        }
        let rest = cmd.get(c.end..).unwrap_or("");
        // `;`, `&` and a newline end a command as a list member (the top-level reader ends a
        // command at a newline that does not follow an operator).
        if (rest.starts_with(';') || rest.starts_with('&') || rest.starts_with(['\n', '\r']))
            && !rest.starts_with("&&")
        {
            return true;
        }
        if cmd.get(c.start..c.end).is_some_and(|t| t.contains('\n')) {
            return true;
        }
    }
    substitution_holds_list(cmd)
}

/// A `$( … )` or backquoted substitution (not `$(( … ))`) whose text has a list operator or pipe.
/// The substitution's end is found with the shell reader's own scanners; where they give up (a
/// comment inside, unbalanced text) the answer is the conservative one.
fn substitution_holds_list(cmd: &str) -> bool {
    let holds_list = |inner: &[u8]| {
        inner
            .iter()
            .any(|c| matches!(c, b';' | b'&' | b'|' | b'\n'))
    };
    let b = cmd.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'(') && b.get(i + 2) != Some(&b'(') {
            let Some(end) = skip_parens(b, i + 2) else {
                return true;
            };
            if holds_list(&b[i + 2..end - 1]) {
                return true;
            }
            i = end;
        } else if b[i] == b'`' {
            let end = skip_backticks(b, i + 1).unwrap_or(b.len() + 1);
            if holds_list(&b[i + 1..end - 1]) {
                return true;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    false
}

/// Shell state the top-level reader does not see.
fn hidden_state(cmd: &str, segments: &[Vec<String>]) -> bool {
    // `${T:=x}`, `${T=x}`: the assignment happens wherever the expansion is.
    let b = cmd.as_bytes();
    for (i, _) in cmd.match_indices("${") {
        let name_end = b[i + 2..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .map(|p| p + i + 2);
        if let Some(e) = name_end {
            let rest = &cmd[e..];
            if rest.starts_with(":=") || rest.starts_with('=') {
                return true;
            }
        }
    }
    // `$((N=4))`, `$((N+=1))`, `$((N++))`, and bash's `(( … ))` command.
    for (i, _) in cmd.match_indices("((") {
        let end = cmd[i..].find("))").map(|e| e + i).unwrap_or(cmd.len());
        let body = &cmd[i + 2..end];
        let assigns = body.contains("++")
            || body.contains("--")
            || body.char_indices().any(|(k, c)| {
                c == '='
                    && !matches!(body[..k].chars().last(), Some('=' | '!' | '<' | '>'))
                    && !body[k + 1..].starts_with('=')
            });
        if assigns {
            return true;
        }
    }
    segments.iter().any(|seg| {
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
    let mut watched: Vec<&str> = vec!["/bin/sh", "/usr/bin/sh", "/bin/dash", "/usr/bin/dash"];
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
    let lower = cmd.to_ascii_lowercase();
    if lower.contains("dpkg-reconfigure") && lower.contains("dash")
        || lower.contains("update-alternatives") && lower.split_whitespace().any(|w| w == "sh")
    {
        return Some("it may change what /bin/sh is".to_string());
    }
    data.startup_files
        .iter()
        .find(|f| cmd.contains(f.as_str()))
        .map(|f| format!("it may change a shell start-up file ({f})"))
}

/// A RUN that may leave a process behind: BuildKit ends it with the RUN's PID namespace.
fn leaves_process(cmd: &str, segments: &[Vec<String>], data: &EffectsData) -> Option<String> {
    let tokens = cmd.split(|c: char| !(c.is_ascii_alphanumeric() || "_.-/".contains(c)));
    for t in tokens {
        let base = t.rsplit('/').next().unwrap_or(t);
        if data.process_starters.iter().any(|s| s == base) {
            return Some(format!("it may leave a process behind ({base})"));
        }
    }
    for seg in segments {
        let Some(i) = command_index(seg) else {
            continue;
        };
        let word = seg[i].rsplit('/').next().unwrap_or(&seg[i]);
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
        let word = seg[i].rsplit('/').next().unwrap_or(&seg[i]);
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
    // A glob: any path under the folder before its first wildcard.
    let (literal, glob) = match t.find(['*', '?', '[']) {
        Some(k) => (&t[..t[..k].rfind('/').map(|s| s + 1).unwrap_or(0)], true),
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
    dfopt::model::stage_facts::resolve(cwd, target)
}
