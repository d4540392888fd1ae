//! How the container starts: CMD and ENTRYPOINT as argv, or as a script a shell runs (the programs
//! it runs and the files it writes), and what a runtime image needs to run them (the node, python
//! or java command line for a distroless image's ENTRYPOINT, the tools a HEALTHCHECK uses).

use super::context::BuildContext;
use super::images::Choice;
use super::runtime_data::RuntimeData;
use super::script;
use super::shell::argv as split_words;
use super::shell::Tree;
use crate::config::FinalImage;
use crate::syntax::{Dockerfile, Form, Instruction};

/// Shell-form text as argv when it is plain words (no quoting, expansion or operators).
pub fn plain_words(s: &str) -> Option<Vec<String>> {
    if s.chars().any(|c| "$;&|<>()`*?~'\"{}\\#\n\r".contains(c)) {
        return None;
    }
    let w: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    (!w.is_empty()).then_some(w)
}

/// An exec-form array as Dockerfile JSON.
pub fn json_array(args: &[String]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_else(|_| "\"\"".to_string()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// How the container starts.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub entrypoint: Option<usize>,
    pub cmd: Option<usize>,
}

/// The command line of an instruction as argv: exec form as is, plain shell form split.
pub fn argv_of(ins: &Instruction) -> Option<Vec<String>> {
    match &ins.command.form {
        Form::Exec(a) => Some(a.clone()),
        Form::Shell => plain_words(&ins.command.args),
        Form::Empty => Some(Vec::new()),
    }
}

/// How the runtime stage starts the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOut {
    /// CMD/ENTRYPOINT move unchanged.
    Verbatim,
    /// New exec-form instructions.
    Exec {
        entrypoint: Option<Vec<String>>,
        cmd: Option<Vec<String>>,
    },
}

/// The effective command line: ENTRYPOINT + CMD as argv, when dfopt can read it without a shell.
pub fn effective_argv(
    doc: &Dockerfile,
    ep: Option<usize>,
    cmd: Option<usize>,
) -> Result<Vec<String>, String> {
    let get = |i: Option<usize>| i.and_then(|i| doc.instructions.get(i));
    match (get(ep), get(cmd)) {
        (None, None) => {
            Err("there is no CMD or ENTRYPOINT, so the build image's default command runs".into())
        }
        (Some(e), c) => {
            let mut argv = match &e.command.form {
                Form::Exec(a) => a.clone(),
                _ => {
                    return plain_words(&e.command.args).ok_or_else(|| {
                        "the shell-form ENTRYPOINT uses shell features and the runtime image has no shell".into()
                    })
                }
            };
            if let Some(c) = c {
                match &c.command.form {
                    Form::Exec(a) => argv.extend(a.iter().cloned()),
                    Form::Empty => {}
                    Form::Shell => {
                        return Err("a shell-form CMD after an exec-form ENTRYPOINT is passed to it as `/bin/sh -c …`, which the runtime image cannot run".into())
                    }
                }
            }
            Ok(argv)
        }
        (None, Some(c)) => argv_of(c).ok_or_else(|| {
            format!(
                "the shell-form CMD `{}` uses shell features and the runtime image has no shell",
                c.command.args.trim()
            )
        }),
    }
}

/// How the start command runs, as dfopt reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartCommand {
    /// ENTRYPOINT + CMD as argv, run without a shell.
    Argv(Vec<String>),
    /// A script a shell runs: the shell form, or `sh -c "…"`.
    Shell(ShellStart),
}

/// A start command run through a shell, read with the model's shell reader ([`super::shell`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShellStart {
    /// The command as written (for messages).
    pub text: String,
    /// Every program it runs, as written (a name or a path), in order, each once. Shell builtins
    /// are left out; a shell run with `-c` and the wrappers `env`, `nohup`, `nice` are in.
    pub programs: Vec<String>,
    /// Files it writes (redirection targets, `tee`'s files), as written, each once; `/dev/*` is
    /// left out.
    pub writes: Vec<String>,
}

/// Shells whose `-c` text dfopt reads as a script of its own.
const SHELLS: &[&str] = &["sh", "dash", "bash", "rbash"];

/// Builtins of dash (dash(1), "Builtins"; /bin/sh in Debian images) and bash that run no other
/// program, read no code and write no file: a start command may use them on any image with a
/// shell. `.`, `source`, `eval` and `trap` run code from a file or a string ([`CODE_RUNNERS`]);
/// `exec` is read apart (the program it names replaces the shell); `command`, like `env`, is a
/// wrapper the script reader steps over.
const BUILTINS: &[&str] = &[
    ":", "true", "false", "cd", "echo", "printf", "test", "[", "set", "unset", "export",
    "readonly", "shift", "wait", "kill", "read", "umask", "ulimit", "exit", "return", "break",
    "continue", "pwd", "local", "getopts", "hash", "type", "times", "alias", "unalias", "command",
];

/// Programs that run code dfopt does not read: from a file or a string (`eval "$X"`, `. ./env.sh`,
/// `trap 'cmd' TERM`), or a program text of their own (awk's `system()`, sed's `e` and `w`, perl).
const CODE_RUNNERS: &[&str] = &[
    ".", "source", "eval", "trap", "awk", "mawk", "gawk", "sed", "perl", "python", "python3",
    "node",
];

/// Programs that start another program named in their arguments (`timeout 10 app`, `su -c …`,
/// `xargs cmd`): which program that is, and whether the image has it, dfopt does not follow.
const LAUNCHERS: &[&str] = &[
    "env",
    "nice",
    "nohup",
    "timeout",
    "stdbuf",
    "chroot",
    "xargs",
    "flock",
    "setsid",
    "runuser",
    "su",
    "sudo",
    "setpriv",
    "taskset",
    "ionice",
    "chrt",
    "unshare",
    "nsenter",
    "prlimit",
    "script",
    "run-parts",
    "start-stop-daemon",
    "watch",
    "gosu",
    "su-exec",
    "tini",
    "dumb-init",
];

/// Programs that change files (other than by writing their output to one): whether the runtime
/// user may change those files dfopt cannot tell.
const FILE_CHANGERS: &[&str] = &[
    "cp",
    "mv",
    "rm",
    "rmdir",
    "mkdir",
    "touch",
    "ln",
    "link",
    "unlink",
    "chmod",
    "chown",
    "chgrp",
    "install",
    "dd",
    "truncate",
    "shred",
    "mkfifo",
    "mknod",
    "tar",
    "gzip",
    "gunzip",
    "uncompress",
    "split",
    "csplit",
    "mktemp",
    "tempfile",
    "savelog",
];

/// `find` options that run a program or change files.
const FIND_ACTIONS: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

/// How the container starts: an argv, or a script for a shell when the start command needs one
/// (shell form with shell features, `sh -c "…"`). What dfopt cannot read is an error that says
/// why.
pub fn start_command(
    doc: &Dockerfile,
    ep: Option<usize>,
    cmd: Option<usize>,
) -> Result<StartCommand, String> {
    let shell_form_text = |i: Option<usize>| {
        i.and_then(|i| doc.instructions.get(i))
            .filter(|i| matches!(i.command.form, Form::Shell))
            .map(|i| i.command.args.trim().to_string())
    };
    match effective_argv(doc, ep, cmd) {
        Ok(argv) => match shell_c_script(&argv)? {
            Some(text) => read_shell_start(text).map(StartCommand::Shell),
            None => Ok(StartCommand::Argv(argv)),
        },
        // A shell-form ENTRYPOINT ignores CMD; a shell-form CMD runs alone without ENTRYPOINT.
        // A shell-form CMD after an exec-form ENTRYPOINT stays refused.
        Err(why) => match shell_form_text(if ep.is_some() { ep } else { cmd }) {
            Some(text) => read_shell_start(&text).map(StartCommand::Shell),
            None => Err(why),
        },
    }
}

/// The script of `sh -c "…"` (also `bash`, and option clusters such as `-ec`), the words after
/// it being the script's `$0`, `$1`, …; `None` when argv runs no shell.
fn shell_c_script(argv: &[String]) -> Result<Option<&str>, String> {
    let Some(first) = argv.first() else {
        return Ok(None);
    };
    if !SHELLS.contains(&basename(first)) {
        return Ok(None);
    }
    match (argv.get(1), argv.get(2)) {
        (Some(flags), Some(text)) if runs_string(flags) => Ok(Some(text.as_str())),
        _ => Err(format!(
            "the start command runs `{}` without `-c`: dfopt does not read a script file",
            argv.join(" ")
        )),
    }
}

/// `-c`, alone or in one cluster with the options a start command commonly sets with it
/// (`-ec`, `-euxc`: errexit, nounset, xtrace); `-e -c` as two words is not read.
fn runs_string(flags: &str) -> bool {
    flags
        .strip_prefix('-')
        .is_some_and(|f| f.contains('c') && f.chars().all(|c| "ceux".contains(c)))
}

/// Reads a start command's script: the programs it runs and the files it writes.
pub fn read_shell_start(text: &str) -> Result<ShellStart, String> {
    let mut out = ShellStart {
        text: text.trim().to_string(),
        ..ShellStart::default()
    };
    read_script(text, 0, &mut out)?;
    Ok(out)
}

fn read_script(text: &str, depth: usize, out: &mut ShellStart) -> Result<(), String> {
    if depth > 3 {
        return Err(format!(
            "the start command `{}` nests shells too deep for dfopt to follow",
            out.text
        ));
    }
    let tree = Tree::parse(text).map_err(|_| {
        format!(
            "dfopt cannot read the start command `{}` as shell",
            text.trim()
        )
    })?;
    if runs_substitution(text) {
        return Err(format!(
            "the start command `{}` runs commands in `$( )` or backticks, which dfopt does not read",
            out.text
        ));
    }
    let parsed = script::of_tree(text, &tree);
    for c in &parsed.cmds {
        // Wrappers the reader stepped over run the program: they must be in the image too.
        for w in c.words.get(..c.prog).unwrap_or(&[]) {
            match basename(&w.text) {
                "sudo" => {
                    return Err(format!(
                        "the start command `{}` runs `sudo`, which starts another program as another user",
                        out.text
                    ))
                }
                name @ ("env" | "nohup" | "nice") => push_once(&mut out.programs, name),
                _ => {}
            }
        }
        let mut words = c.words.get(c.prog..).unwrap_or(&[]);
        // `exec app`: app replaces the shell.
        if words.first().is_some_and(|w| w.text == "exec") {
            words = &words[1..];
            if words.first().is_some_and(|w| w.text.starts_with('-')) {
                return Err(format!(
                    "the start command `{}` runs `exec` with options, which dfopt does not read",
                    out.text
                ));
            }
        }
        let Some((first, args)) = words.split_first() else {
            continue;
        };
        let word = first.text.as_str();
        if word.contains(['$', '`', '"', '\'', '\\', '*', '?', '~']) {
            return Err(format!(
                "the start command `{}` runs `{word}`, a program named through an expansion or quoting: dfopt cannot tell which program that is",
                out.text
            ));
        }
        let name = basename(word);
        let args: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
        if SHELLS.contains(&name) {
            let inner = match (args.first(), args.get(1)) {
                (Some(flags), Some(raw)) if runs_string(flags) => literal_text(raw, &out.text)?,
                _ => {
                    return Err(format!(
                        "the start command `{}` runs `{word}` without `-c`: dfopt does not read a script file",
                        out.text
                    ))
                }
            };
            push_once(&mut out.programs, word);
            read_script(&inner, depth + 1, out)?;
            continue;
        }
        if BUILTINS.contains(&name) {
            continue;
        }
        let refuse = |why: &str| {
            Err(format!(
                "the start command `{}` runs `{name}`, {why}",
                out.text
            ))
        };
        if CODE_RUNNERS.contains(&name) {
            return refuse("which runs code dfopt does not read");
        }
        if LAUNCHERS.contains(&name) {
            return refuse("which starts another program that dfopt does not follow");
        }
        if FILE_CHANGERS.contains(&name)
            || (name == "find" && args.iter().any(|a| FIND_ACTIONS.contains(a)))
        {
            return refuse(
                "which changes files, and dfopt cannot tell whether the runtime user may",
            );
        }
        if name == "tee" {
            let mut options = true;
            for a in &args {
                if options && *a == "--" {
                    options = false;
                } else if !(options && a.starts_with('-')) {
                    push_write(&mut out.writes, a, &out.text)?;
                }
            }
        }
        push_once(&mut out.programs, word);
    }
    for r in tree.redirects() {
        let (_, op, glued) = super::shell::split_redirect(r.span.of(text));
        if op.is_empty() && glued.starts_with('{') {
            return Err(format!(
                "the start command `{}` redirects a named descriptor, which dfopt does not read",
                out.text
            ));
        }
        if !op.contains('>') {
            continue; // reads a file or duplicates an input
        }
        let target = match (glued.is_empty(), &r.target) {
            (false, _) => glued,
            (true, Some(t)) => t.span.of(text),
            // A process substitution's `>(`: its commands were read above.
            (true, None) => continue,
        };
        // `2>&1`, `>&2`, `>&-`: a descriptor, no file.
        if op == ">&" && (target == "-" || target.chars().all(|c| c.is_ascii_digit())) {
            continue;
        }
        push_write(&mut out.writes, target, &out.text)?;
    }
    Ok(())
}

/// The text a quoted word stands for when no expansion is in it (`'a | b'`, `"a | b"`): the
/// script a nested `sh -c` runs. An expansion there is done by the outer shell before the inner
/// one reads the text, so what it runs is unknown.
fn literal_text(raw: &str, whole: &str) -> Result<String, String> {
    let single_quoted = raw.len() >= 2
        && raw.starts_with('\'')
        && raw.ends_with('\'')
        && !raw[1..raw.len() - 1].contains('\'');
    if !single_quoted && raw.contains(['$', '`']) {
        return Err(format!(
            "in the start command `{whole}` the outer shell expands the text given to `sh -c` before that shell reads it: dfopt cannot tell what it runs"
        ));
    }
    match split_words(raw).as_deref() {
        Ok([one]) => Ok(one.clone()),
        _ => Err(format!(
            "dfopt cannot read the text the start command `{whole}` gives to `sh -c`"
        )),
    }
}

/// Adds a file the start command writes, unquoted; `/dev/*` and `/proc/*` (the container's
/// streams and devices, `/proc/1/fd/1`) are no files of the image. A name built by an expansion
/// is unknown.
fn push_write(writes: &mut Vec<String>, raw: &str, whole: &str) -> Result<(), String> {
    let unknown = || {
        format!(
            "the start command `{whole}` writes to `{raw}`, a name dfopt cannot tell in advance"
        )
    };
    if raw.contains(['$', '`', '*', '?', '[', '~']) {
        return Err(unknown());
    }
    let path = match split_words(raw).as_deref() {
        Ok([one]) if !one.is_empty() => one.clone(),
        _ => return Err(unknown()),
    };
    if !path.starts_with("/dev/") && !path.starts_with("/proc/") {
        push_once(writes, &path);
    }
    Ok(())
}

fn push_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

/// Whether shell text runs commands in `$( )` or backticks (`$(( ))` is arithmetic); inside
/// single quotes neither runs, but a start command that quotes them is rare enough to refuse.
fn runs_substitution(text: &str) -> bool {
    text.contains('`')
        || text
            .match_indices("$(")
            .any(|(i, _)| text.as_bytes().get(i + 2) != Some(&b'('))
}

/// The last component of a path: the program a command runs.
pub fn basename(s: &str) -> &str {
    super::script::basename(s)
}

/// `python`, `python3`, `/usr/bin/python3.11`: a Python interpreter.
pub fn is_python(s: &str) -> bool {
    let b = basename(s);
    b == "python"
        || b.strip_prefix("python")
            .map(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .unwrap_or(false)
}

/// `npm start`, `npm run x`, `yarn start`, `pnpm run x`: the script name.
pub fn package_script(argv: &[String]) -> Option<String> {
    let pm = basename(argv.first()?);
    if !matches!(pm, "npm" | "yarn" | "pnpm") {
        return None;
    }
    match argv.get(1).map(String::as_str) {
        Some("start") if argv.len() == 2 => Some("start".into()),
        Some("run") | Some("run-script") if argv.len() == 3 => argv.get(2).cloned(),
        Some(s) if pm == "yarn" && argv.len() == 2 && !s.starts_with('-') => Some(s.to_string()),
        _ => None,
    }
}

/// A node command line as arguments for the node binary (distroless nodejs's ENTRYPOINT).
pub fn node_args(argv: &[String], ctx: &BuildContext) -> Result<Vec<String>, String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if matches!(basename(first), "node" | "nodejs") {
        let rest = argv[1..].to_vec();
        if rest.is_empty() {
            return Err("CMD starts node without a script".into());
        }
        return Ok(rest);
    }
    if let Some(script) = package_script(argv) {
        let pkg = ctx.package_json().ok_or_else(|| {
            format!(
                "CMD runs `{}` and there is no readable package.json in the build context to resolve the script; distroless has no npm (`--final alpine` or `--final slim` keep npm)",
                argv.join(" ")
            )
        })?;
        let text = pkg
            .get("scripts")
            .and_then(|s| s.get(&script))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let text = match text {
            Some(t) => t,
            None if script == "start" && ctx.read("server.js").is_some() => "node server.js".into(),
            None => return Err(format!("package.json has no `{script}` script")),
        };
        // npm (and yarn) run `pre<script>` and `post<script>` around the script, and give it the
        // `npm_package_*` variables: node alone does neither.
        let hooks: Vec<String> = [format!("pre{script}"), format!("post{script}")]
            .into_iter()
            .filter(|h| pkg.get("scripts").and_then(|s| s.get(h)).is_some())
            .collect();
        if !hooks.is_empty() {
            return Err(format!(
                "`{}` also runs package.json's {} hook{}, and distroless has no npm to run {}",
                argv.join(" "),
                hooks
                    .iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                if hooks.len() == 1 { "" } else { "s" },
                if hooks.len() == 1 { "it" } else { "them" },
            ));
        }
        if let Some(file) = reads_npm_package_vars(&text, ctx) {
            return Err(format!(
                "{file} reads `npm_package_*` variables, which only npm sets, and distroless has no npm"
            ));
        }
        let words = plain_words(&text).ok_or_else(|| {
            format!("the `{script}` script `{text}` uses shell features; distroless has no shell or npm (`--final alpine` keeps them)")
        })?;
        return node_args(&words, ctx).map_err(|_| {
            format!("the `{script}` script `{text}` does not start node directly; distroless runs only node (`--final alpine` keeps npm)")
        });
    }
    // The node image's entrypoint runs `node` for a first argument that is a script or an option.
    if first.ends_with(".js")
        || first.ends_with(".mjs")
        || first.ends_with(".cjs")
        || first.starts_with('-')
    {
        return Ok(argv.to_vec());
    }
    Err(format!(
        "CMD runs `{first}`, and distroless nodejs runs only node; `--final alpine` or `--final slim` keep a shell and npm"
    ))
}

/// Programs that run an app from its sources for development: a script that starts one needs
/// dev dependencies (which the build prunes) and is not how an app is shipped.
const DEV_RUNNERS: &[&str] = &[
    "ts-node",
    "ts-node-dev",
    "tsx",
    "nodemon",
    "babel-node",
    "node-dev",
    "webpack-dev-server",
    "vite",
    "react-scripts",
    "vue-cli-service",
];

/// The script a package manager runs for `argv` (`npm start` → package.json's `scripts.start`,
/// or npm's default `node server.js`), as text; `None` when argv is no such command or the
/// script cannot be read.
pub fn package_script_text(argv: &[String], ctx: &BuildContext) -> Option<(String, String)> {
    let script = package_script(argv)?;
    let pkg = ctx.package_json()?;
    let text = pkg
        .get("scripts")
        .and_then(|s| s.get(&script))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    match text {
        Some(t) => Some((script, t)),
        None if script == "start" && ctx.read("server.js").is_some() => {
            Some((script, "node server.js".into()))
        }
        None => None,
    }
}

/// The program a script runs first, past `VAR=value` assignments and `cross-env`/`env`.
pub fn script_program(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| !w.contains('=') && !matches!(*w, "cross-env" | "env"))
        .map(|w| basename(w).to_string())
}

/// Why a package script cannot start the shipped app whatever the runtime image: it runs a
/// development tool (`ts-node src/index.ts`, `nodemon`, `next dev`).
pub fn refuse_dev_script(argv: &[String], ctx: &BuildContext) -> Result<(), String> {
    let Some((script, text)) = package_script_text(argv, ctx) else {
        return Ok(());
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let program = script_program(&text).unwrap_or_default();
    let next_dev = program == "next" && words.contains(&"dev");
    if DEV_RUNNERS.contains(&program.as_str()) || next_dev {
        return Err(format!(
            "the `{script}` script `{text}` runs `{program}`, a development tool that needs dev dependencies and compiles at every start: build the app ahead (`tsc`, `next build`) and start it with node"
        ));
    }
    Ok(())
}

/// The package a script's program comes from when package.json lists it only in
/// devDependencies (`serve -s dist` with serve a dev dependency): pruning dev dependencies would
/// remove what starts the app.
pub fn script_needs_dev_dependency(argv: &[String], ctx: &BuildContext) -> Option<String> {
    let (_, text) = package_script_text(argv, ctx)?;
    let program = script_program(&text)?;
    if matches!(
        program.as_str(),
        "node" | "nodejs" | "npm" | "yarn" | "pnpm" | "npx"
    ) {
        return None;
    }
    let pkg = ctx.package_json()?;
    let listed = |key: &str| pkg.get(key).and_then(|d| d.get(&program)).is_some();
    (listed("devDependencies") && !listed("dependencies")).then_some(program)
}

/// The file of a `node file.js` script when the build context has it and it reads
/// `npm_package_*` variables (`process.env.npm_package_version`).
fn reads_npm_package_vars(script: &str, ctx: &BuildContext) -> Option<String> {
    let words = plain_words(script)?;
    if !matches!(words.first().map(|w| basename(w)), Some("node" | "nodejs")) {
        return None;
    }
    let file = words[1..].iter().find(|w| !w.starts_with('-'))?;
    let text = ctx.read(file.trim_start_matches("./"))?;
    text.contains("npm_package_").then(|| file.clone())
}

/// A python command line as arguments for distroless python3's ENTRYPOINT.
pub fn python_args(argv: &[String], data: &RuntimeData) -> Result<Vec<String>, String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if is_python(first) {
        let rest = argv[1..].to_vec();
        if rest.is_empty() {
            return Err("CMD starts python without a script".into());
        }
        return Ok(rest);
    }
    if let Some((_, m)) = data
        .python_modules
        .iter()
        .find(|(s, _)| s == basename(first))
    {
        let mut out = vec!["-m".to_string(), m.clone()];
        out.extend(argv[1..].iter().cloned());
        return Ok(out);
    }
    Err(format!(
        "CMD runs `{first}`, and distroless python3 runs only python (its ENTRYPOINT); `--final slim` keeps the venv's scripts on PATH"
    ))
}

/// How a distroless java image (ENTRYPOINT `java -jar`) starts `jar`: JVM options need an
/// ENTRYPOINT of their own, the jar and its arguments go in CMD.
pub fn java_start(jar: String, opts: Vec<String>, args: Vec<String>) -> StartOut {
    let mut cmd = vec![jar];
    cmd.extend(args);
    let entrypoint = (!opts.is_empty()).then(|| {
        let mut ep = vec!["/usr/bin/java".to_string()];
        ep.extend(opts);
        ep.push("-jar".into());
        ep
    });
    StartOut::Exec {
        entrypoint,
        cmd: Some(cmd),
    }
}

/// `java [opts] -jar X [args]` → (jar, opts, args).
pub fn java_jar(argv: &[String]) -> Result<(String, Vec<String>, Vec<String>), String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if basename(first) != "java" {
        return Err(format!(
            "CMD runs `{first}`, not `java -jar`: dfopt cannot tell which jar to copy"
        ));
    }
    let i = argv
        .iter()
        .position(|a| a == "-jar")
        .ok_or("CMD runs java without -jar: dfopt cannot tell which files the classpath needs")?;
    let jar = argv.get(i + 1).cloned().ok_or("`java -jar` names no jar")?;
    if jar.contains(['*', '$']) {
        return Err(format!(
            "the jar `{jar}` is a pattern: dfopt cannot tell which file it is"
        ));
    }
    Ok((jar, argv[1..i].to_vec(), argv[i + 2..].to_vec()))
}

/// Checks a HEALTHCHECK against the runtime image.
pub fn check_healthcheck(
    ins: &Instruction,
    choice: &Choice,
    data: &RuntimeData,
) -> Result<(), String> {
    check_healthcheck_installing(ins, choice, data, &[])
}

/// The programs a HEALTHCHECK may run: the exec form's program, every word of the shell form.
pub fn healthcheck_tools(ins: &Instruction) -> Vec<String> {
    let args = ins.command.args.trim();
    if args.eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    match &ins.command.form {
        Form::Exec(a) => a
            .first()
            .map(|w| vec![basename(w).to_string()])
            .unwrap_or_default(),
        _ => args
            .split(|c: char| c.is_whitespace() || ";&|()".contains(c))
            .map(|w| basename(w).to_string())
            .collect(),
    }
}

/// Checks a HEALTHCHECK against the runtime image, which will have the OS packages `installed`
/// (named like the tools they bring: `curl`, `wget`).
pub fn check_healthcheck_installing(
    ins: &Instruction,
    choice: &Choice,
    data: &RuntimeData,
    installed: &[String],
) -> Result<(), String> {
    let args = ins.command.args.trim();
    if args.eq_ignore_ascii_case("none") {
        return Ok(());
    }
    let shell_form = !matches!(ins.command.form, Form::Exec(_));
    // Distroless nodejs has node at /nodejs/bin/node, which is not on PATH: only its ENTRYPOINT
    // finds it.
    if let Form::Exec(a) = &ins.command.form {
        let program = a.first().map(String::as_str).unwrap_or("");
        if choice.interpreter_entrypoint
            && !choice.has_shell
            && choice.image.contains("nodejs")
            && matches!(program, "node" | "nodejs")
        {
            return Err(format!(
                "the HEALTHCHECK runs `{program}`, which is not on PATH in {} (it is /nodejs/bin/node there)",
                choice.image
            ));
        }
    }
    for t in healthcheck_tools(ins) {
        if !data.shell_tools.contains(&t) || installed.contains(&t) {
            continue;
        }
        // busybox in alpine has wget, sh and nc.
        if choice.family == FinalImage::Alpine && matches!(t.as_str(), "wget" | "sh" | "nc") {
            continue;
        }
        if choice.family == FinalImage::Slim && matches!(t.as_str(), "sh" | "bash") {
            continue;
        }
        // What the catalogue lists the image having (`image_programs`).
        if choice.programs.contains(&t) {
            continue;
        }
        return Err(format!(
            "the HEALTHCHECK runs `{t}`, which {} does not have: check health with the app's own runtime (e.g. a small script run by the interpreter) or install `{t}` in a final stage you write",
            choice.image
        ));
    }
    if shell_form && !choice.has_shell {
        let example = if choice.image.contains("python") {
            "[\"python3\", \"healthcheck.py\"]"
        } else if choice.image.contains("node") {
            "[\"/nodejs/bin/node\", \"healthcheck.js\"]"
        } else {
            "[\"/app/healthcheck\"]"
        };
        return Err(format!(
            "the HEALTHCHECK is in shell form and {} has no shell: write it in exec form with a program the image has (e.g. `HEALTHCHECK CMD {example}`), or use `--final alpine`",
            choice.image
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_only() {
        assert_eq!(
            plain_words("node  index.js"),
            Some(vec!["node".into(), "index.js".into()])
        );
        assert_eq!(plain_words("node $X"), None);
    }

    fn read(text: &str) -> Result<(Vec<String>, Vec<String>), String> {
        read_shell_start(text).map(|s| (s.programs, s.writes))
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shell_start_programs_and_writes() {
        // The corpus shape: a nested `sh -c` whose text pipes the app through tee.
        assert_eq!(
            read(r#"sh -c "app 2>&1 | tee /var/log/app.log""#),
            Ok((strs(&["sh", "app", "tee"]), strs(&["/var/log/app.log"])))
        );
        // Builtins and `exec` are no programs; `>&2`, `/dev/*` and reads are no files.
        assert_eq!(
            read("echo starting >&2; test -d /data && exec /usr/local/bin/srv --port 80 >/dev/null 2>out.log < in.txt"),
            Ok((strs(&["/usr/local/bin/srv"]), strs(&["out.log"])))
        );
        assert_eq!(
            read("app | tee -a /var/log/a.log /tmp/b.log /proc/1/fd/1"),
            Ok((
                strs(&["app", "tee"]),
                strs(&["/var/log/a.log", "/tmp/b.log"])
            ))
        );
        assert_eq!(
            read("{ app; } >> '/var/log/app.log'"),
            Ok((strs(&["app"]), strs(&["/var/log/app.log"])))
        );
        // Wrappers the reader steps over are programs the image must have.
        assert_eq!(
            read("nohup app & wait"),
            Ok((strs(&["nohup", "app"]), Vec::new()))
        );
        assert_eq!(
            read("bash -ec 'app | grep -v DEBUG'"),
            Ok((strs(&["bash", "app", "grep"]), Vec::new()))
        );
    }

    #[test]
    fn shell_start_refusals_say_why() {
        let why = |t: &str| read(t).err().unwrap_or_default();
        assert!(why("$PROG --serve").contains("through an expansion"));
        assert!(why(r#"sh -c "$CMD""#).contains("outer shell expands"));
        assert!(why(r#"eval "$START""#).contains("runs `eval`, which runs code"));
        assert!(why(". ./env.sh && app").contains("runs `.`"));
        assert!(why("app --id $(hostname)").contains("`$( )`"));
        assert!(why("timeout 60 app").contains("starts another program"));
        assert!(why("mkdir -p /run/app && app").contains("changes files"));
        assert!(why("find /data -delete; app").contains("changes files"));
        assert!(why("sh ./start.sh").contains("without `-c`"));
        assert!(why("app > $LOG").contains("a name dfopt cannot tell"));
        assert!(why("sudo app").contains("`sudo`"));
        assert!(why("app # comment").contains("cannot read"));
    }

    #[test]
    fn start_command_reads_exec_form_shells() {
        assert_eq!(
            shell_c_script(&strs(&["/bin/sh", "-c", "app | tee x", "zero"])),
            Ok(Some("app | tee x"))
        );
        assert_eq!(shell_c_script(&strs(&["app", "-c", "x"])), Ok(None));
        assert!(shell_c_script(&strs(&["bash", "run.sh"])).is_err());
        assert!(runs_string("-ec") && runs_string("-c") && !runs_string("-o") && !runs_string("c"));
    }
}
