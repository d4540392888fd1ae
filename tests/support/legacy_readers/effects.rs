//! The effects model's text scanners as they were before the model read RUNs through its shell
//! tree (`src/model/effects/reading.rs`), kept verbatim as the oracle of
//! `tests/shell_tree_equivalence.rs` (issue 11). Everything they used from the crate is copied
//! here too (the top-level splitter, the lexer's skip helpers, `is_assignment`), so the oracle does
//! not change when those move onto the tree.

use dfopt::model::effects::{EffectsData, Workdir};
use dfopt::model::stages::Shell;
use dfopt::model::top_level::ShellFacts;

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
    let mut probe = ShellFacts::default();
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

// From src/model/script.rs.

fn is_assignment(w: &str) -> bool {
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

// From src/model/top_level.rs.

/// One top-level simple command: its words, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand<'a> {
    pub words: Vec<&'a str>,
    /// Byte range in the analysed text.
    pub start: usize,
    pub end: usize,
}

/// Splits `cmd` into top-level simple commands, recording operators into `facts`. Returns `None`
/// where quoting or brackets do not balance.
///
/// Every word is a slice of `cmd` (quotes and escapes kept as written), except the marker word
/// `()` put before a parenthesised word that follows others (`name ()`, `cmd (x)`).
pub fn split_top_level<'a>(cmd: &'a str, facts: &mut ShellFacts) -> Option<Vec<SimpleCommand<'a>>> {
    let b = cmd.as_bytes();
    let mut out = Vec::new();
    let mut words: Vec<&'a str> = Vec::new();
    // The word being read is `cmd[start..i]`; `None` between words.
    let mut word_start: Option<usize> = None;
    let mut cmd_start = 0usize;
    let mut i = 0usize;
    let mut last_op: Option<&str> = None;
    // The current word so far (empty between words).
    let word_of = |start: Option<usize>, i: usize| -> &'a str {
        start.and_then(|s| cmd.get(s..i)).unwrap_or("")
    };
    let flush_word = |start: &mut Option<usize>, i: usize, words: &mut Vec<&'a str>| {
        if start.is_some() {
            words.push(word_of(start.take(), i));
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => {
                flush_word(&mut word_start, i, &mut words);
                i += 1;
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
            }
            b'\n' | b'\r' => {
                flush_word(&mut word_start, i, &mut words);
                if !words.is_empty() {
                    // A newline ends the command like `;` (`make\ncd /x` runs `cd` at the top
                    // level); after an operator (`a &&\nb`) it is only a blank.
                    facts.has_list_operators = true;
                    out.push(SimpleCommand {
                        words: std::mem::take(&mut words),
                        start: cmd_start,
                        end: i,
                    });
                    cmd_start = i + 1;
                    last_op = Some("\n");
                }
                i += 1;
            }
            b'#' if word_start.is_none() => {
                facts.has_comment = true;
                break;
            }
            b'\\' => {
                let end = (i + 2).min(b.len());
                cmd.get(i..end)?;
                word_start.get_or_insert(i);
                i = end;
            }
            b'\'' => {
                let close = b[i + 1..].iter().position(|&x| x == b'\'')? + i + 1;
                cmd.get(i..=close)?;
                word_start.get_or_insert(i);
                i = close + 1;
            }
            b'"' => {
                let close = skip_double_quoted(b, i + 1)?;
                cmd.get(i..close)?;
                word_start.get_or_insert(i);
                i = close;
            }
            b'`' => {
                let close = skip_backticks(b, i + 1)?;
                cmd.get(i..close)?;
                word_start.get_or_insert(i);
                i = close;
            }
            b'$' if matches!(b.get(i + 1), Some(b'(') | Some(b'{')) => {
                let close = skip_dollar(b, i)?;
                cmd.get(i..close)?;
                word_start.get_or_insert(i);
                i = close;
            }
            b'(' if word_start.is_none() || word_of(word_start, i).ends_with('=') => {
                // A subshell (or an array assignment); balanced as one opaque word.
                let close = skip_parens(b, i + 1)?;
                cmd.get(i..close)?;
                if word_start.is_none() {
                    if !words.is_empty() {
                        // `name ()` function definition or `cmd (x)`: opaque
                        words.push("()");
                    }
                    word_start = Some(i);
                }
                i = close;
            }
            b'(' => {
                // `name()` function definition
                i += 1;
            }
            b')' => {
                if word_of(word_start, i).ends_with('(') {
                    i += 1;
                } else {
                    return None; // unbalanced, or a `case` pattern: give up
                }
            }
            b'&' | b'|' | b';' => {
                let two = b.get(i + 1).copied();
                let word = word_of(word_start, i);
                // Redirections such as `2>&1`, `>&2`, `&>file`, `>|file` are part of a word.
                if c == b'&' && (word.ends_with('>') || word.ends_with('<')) {
                    i += 1;
                    continue;
                }
                if c == b'&' && two == Some(b'>') {
                    word_start.get_or_insert(i);
                    i += 2;
                    continue;
                }
                if c == b'|' && word.ends_with('>') {
                    i += 1;
                    continue;
                }
                flush_word(&mut word_start, i, &mut words);
                let (op_len, kind) = match (c, two) {
                    (b'&', Some(b'&')) => (2, "&&"),
                    (b'|', Some(b'|')) => (2, "||"),
                    (b';', Some(b';')) => (2, ";;"),
                    (b'|', Some(b'&')) => (2, "|&"),
                    (b'&', _) => (1, "&"),
                    (b'|', _) => (1, "|"),
                    _ => (1, ";"),
                };
                match kind {
                    "&" => facts.has_background = true,
                    "||" | ";" => facts.has_list_operators = true,
                    ";;" => facts.compound = true,
                    _ => {}
                }
                out.push(SimpleCommand {
                    words: std::mem::take(&mut words),
                    start: cmd_start,
                    end: i,
                });
                i += op_len;
                cmd_start = i;
                last_op = Some(kind);
            }
            b'<' if b.get(i + 1) == Some(&b'<') => {
                // A here-document inside shell-form RUN text: opaque to us.
                facts.compound = true;
                word_start.get_or_insert(i);
                i += 2;
            }
            _ => {
                let ch_len = if c.is_ascii() {
                    1
                } else {
                    let n = utf8_len(c);
                    cmd.get(i..(i + n).min(b.len()))?;
                    n
                };
                word_start.get_or_insert(i);
                i += ch_len;
                // The rest of a run of ordinary bytes at once: each would land here again (they
                // are ASCII or whole characters, so `i` ends on a character boundary).
                while b.get(i).is_some_and(|&x| !WORD_SPECIAL[x as usize]) {
                    i += 1;
                }
            }
        }
    }
    flush_word(&mut word_start, i, &mut words);
    if !words.is_empty() {
        out.push(SimpleCommand {
            words,
            start: cmd_start,
            end: b.len(),
        });
    } else if matches!(last_op, Some(";") | Some("&")) && !facts.has_comment {
        facts.trailing_separator = true;
    }
    Some(out)
}

/// Bytes `split_top_level` treats specially inside a word (`#` only starts a comment between
/// words, and `<` only matters as `<<`, but stopping on them is harmless).
const WORD_SPECIAL: [bool; 256] = byte_set(b" \t\n\r\\'\"`$()&|;<");

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

// From src/model/shell/lex.rs.

/// `i` is just after an opening `"`; returns the index after the closing one.
fn skip_double_quoted(b: &[u8], mut i: usize) -> Option<usize> {
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
fn skip_dollar(b: &[u8], i: usize) -> Option<usize> {
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
fn skip_parens(b: &[u8], mut i: usize) -> Option<usize> {
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
fn skip_backticks(b: &[u8], mut i: usize) -> Option<usize> {
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
const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
}
