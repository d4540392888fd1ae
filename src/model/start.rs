//! How the container starts: CMD and ENTRYPOINT as argv, and what a runtime image needs to run them
//! (the node, python or java command line for a distroless image's ENTRYPOINT, the tools a
//! HEALTHCHECK uses).

use super::context::BuildContext;
use super::images::Choice;
use super::runtime_data::RuntimeData;
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

/// The last component of a path: the program a command runs.
pub fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
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
}
