//! What one stage does: working directory, environment, RUN commands, packages installed, files
//! copied, the user, and how the container starts.

use super::runs::Memo;
use super::start::Start;
use crate::syntax::{lex, Dockerfile, Form, Instruction, Keyword};
use std::collections::BTreeMap;
use std::rc::Rc;

mod commands;

/// `/a/b` + `../c` → `/a/c`. Returns `None` for paths with variables.
pub fn resolve(cwd: &str, p: &str) -> Option<String> {
    if p.contains('$') || p.is_empty() {
        return None;
    }
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{}", cwd.trim_end_matches('/'), p)
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether `path` is `dir` or inside it.
pub fn within(path: &str, dir: &str) -> bool {
    let d = dir.trim_end_matches('/');
    d.is_empty() || path == d || path.starts_with(&format!("{d}/"))
}

/// An ENV or ARG instruction's keys (and values as written).
pub fn env_pairs(ins: &Instruction, escape: char) -> Vec<(String, String)> {
    let words = lex::parse_words(&ins.command.args, escape);
    match words.first() {
        Some(w) if !w.contains('=') => {
            let rest = ins.command.args.trim_start()[w.len()..].trim().to_string();
            vec![(w.clone(), rest)]
        }
        _ => words
            .iter()
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_string(), unquote(v)),
                None => (w.clone(), String::new()),
            })
            .collect(),
    }
}

fn unquote(v: &str) -> String {
    // A word that starts and ends with a visible ASCII character has nothing to trim: most do,
    // and `trim` costs more than the rest of the copy.
    let visible_ends = |b: &[u8]| {
        b.first().is_some_and(u8::is_ascii_graphic) && b.last().is_some_and(u8::is_ascii_graphic)
    };
    let v = if visible_ends(v.as_bytes()) {
        v
    } else {
        v.trim()
    };
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Names of variables a text refers to (`$X`, `${X}`, `${X:-y}`).
pub fn var_refs(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let mut j = i + 1;
            let braced = b.get(j) == Some(&b'{');
            if braced {
                j += 1;
            }
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.push(s[start..j].to_string());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// One top-level command of a RUN, with the directory it runs in.
///
/// `cwd` and `env` are shared (`Rc`) by the commands that have the same ones, as most commands of
/// a RUN do: scanning a stage cloned them for every command.
#[derive(Debug, Clone)]
pub struct RunCmd {
    pub words: Vec<String>,
    pub cwd: Rc<str>,
    /// Variables assigned in front of it or exported earlier in the same RUN.
    pub env: Rc<BTreeMap<String, String>>,
}

/// What a stage does.
#[derive(Debug, Clone)]
pub struct StageFacts {
    /// Working directory after each instruction index (absolute; `None` once unknown).
    pub final_workdir: Option<String>,
    /// Whether the file set WORKDIR at all.
    pub has_workdir: bool,
    pub env: BTreeMap<String, String>,
    pub env_ins: Vec<usize>,
    pub arg_ins: Vec<(usize, Vec<String>)>,
    pub runs: Vec<RunCmd>,
    /// RUNs whose text dfopt could not split (opaque to it).
    pub opaque_runs: usize,
    /// Absolute destinations of COPY/ADD.
    pub copy_dests: Vec<String>,
    /// Packages installed with apt-get/apt/apk/yum/dnf/microdnf (names without versions).
    pub os_packages: Vec<String>,
    pub start: Start,
    pub healthcheck: Option<usize>,
    /// The last USER and whether a RUN follows it.
    pub user: Option<(usize, String)>,
    pub run_after_user: bool,
    pub volumes: Vec<String>,
    pub exposed: Vec<u32>,
    pub onbuild: bool,
    pub shell_ins: bool,
    pub last_run: Option<usize>,
}

impl StageFacts {
    pub fn scan(doc: &Dockerfile, from: usize, end: usize, default_workdir: &str) -> StageFacts {
        Self::scan_with(doc, from, end, default_workdir, &Memo::default())
    }

    /// [`StageFacts::scan`], reading each RUN's shell tree from the rules' `memo` (parsed once per
    /// distinct text, shared with the other readings of the RUN).
    pub fn scan_with(
        doc: &Dockerfile,
        from: usize,
        end: usize,
        default_workdir: &str,
        memo: &Memo,
    ) -> StageFacts {
        let mut f = StageFacts {
            final_workdir: Some(default_workdir.to_string()),
            has_workdir: false,
            env: BTreeMap::new(),
            env_ins: Vec::new(),
            arg_ins: Vec::new(),
            runs: Vec::new(),
            opaque_runs: 0,
            copy_dests: Vec::new(),
            os_packages: Vec::new(),
            start: Start::default(),
            healthcheck: None,
            user: None,
            run_after_user: false,
            volumes: Vec::new(),
            exposed: Vec::new(),
            onbuild: false,
            shell_ins: false,
            last_run: None,
        };
        for idx in from + 1..end {
            let Some(ins) = doc.instructions.get(idx) else {
                break;
            };
            let c = &ins.command;
            match c.kind {
                Keyword::Workdir => {
                    f.has_workdir = true;
                    f.final_workdir = f.final_workdir.as_deref().and_then(|w| {
                        let path = expand_env(&unquote(c.args.trim()), &f.env)?;
                        resolve(w, &path)
                    });
                }
                Keyword::Env => {
                    for (k, v) in env_pairs(ins, doc.escape) {
                        f.env.insert(k, v);
                    }
                    f.env_ins.push(idx);
                }
                Keyword::Arg => {
                    let names = env_pairs(ins, doc.escape)
                        .into_iter()
                        .map(|(k, v)| {
                            if !v.is_empty() {
                                f.env.entry(k.clone()).or_insert(v);
                            }
                            k
                        })
                        .collect();
                    f.arg_ins.push((idx, names));
                }
                Keyword::Run => {
                    f.last_run = Some(idx);
                    if f.user.is_some() {
                        f.run_after_user = true;
                    }
                    let cwd: Rc<str> = f.final_workdir.as_deref().unwrap_or("/").into();
                    let texts: Vec<&str> = if ins.heredocs.is_empty() {
                        match &c.form {
                            Form::Exec(argv) => {
                                f.runs.push(RunCmd {
                                    words: argv.clone(),
                                    cwd: Rc::clone(&cwd),
                                    env: Rc::default(),
                                });
                                Vec::new()
                            }
                            _ => vec![c.args.as_str()],
                        }
                    } else {
                        ins.heredocs.iter().map(|h| doc.text(h.body)).collect()
                    };
                    for t in texts {
                        if !f.scan_shell(t, &cwd, memo) {
                            f.opaque_runs += 1;
                        }
                    }
                }
                Keyword::Copy | Keyword::Add => {
                    let dest = match &c.form {
                        Form::Exec(a) => a.last().cloned(),
                        _ => c.args.split_whitespace().last().map(str::to_string),
                    };
                    let cwd = f.final_workdir.clone().unwrap_or_else(|| "/".into());
                    if let Some(d) = dest.and_then(|d| resolve(&cwd, &d)) {
                        f.copy_dests.push(d);
                    }
                }
                Keyword::Cmd => f.start.cmd = Some(idx),
                Keyword::Entrypoint => {
                    f.start.entrypoint = Some(idx);
                    // ENTRYPOINT resets an earlier CMD.
                    f.start.cmd = None;
                }
                Keyword::Healthcheck => f.healthcheck = Some(idx),
                Keyword::User => {
                    f.user = Some((idx, c.args.trim().to_string()));
                    f.run_after_user = false;
                }
                Keyword::Volume => {
                    let v = match &c.form {
                        Form::Exec(a) => a.clone(),
                        _ => c.args.split_whitespace().map(str::to_string).collect(),
                    };
                    let cwd = f.final_workdir.clone().unwrap_or_else(|| "/".into());
                    f.volumes.extend(v.iter().filter_map(|p| resolve(&cwd, p)));
                }
                Keyword::Expose => {
                    for w in c.args.split_whitespace() {
                        if let Some(n) = w.split('/').next().and_then(|p| p.parse().ok()) {
                            f.exposed.push(n);
                        }
                    }
                }
                Keyword::Onbuild => f.onbuild = true,
                Keyword::Shell => f.shell_ins = true,
                _ => {}
            }
        }
        f
    }

    /// Splits a RUN's shell text into commands (read off the shell tree: [`commands`]),
    /// following `cd` and `export`. False when opaque.
    fn scan_shell(&mut self, text: &str, cwd: &Rc<str>, memo: &Memo) -> bool {
        let Some(cmds) = commands::commands(text, &memo.tree(text)) else {
            return false;
        };
        let mut cwd = Rc::clone(cwd);
        // Shared by the commands that assign nothing in front of themselves.
        let mut exported: Rc<BTreeMap<String, String>> = Rc::default();
        for c in cmds {
            let mut env = Rc::clone(&exported);
            let mut words: Vec<String> = Vec::with_capacity(c.len());
            let mut leading = true;
            for w in &c {
                if leading {
                    if let Some((k, v)) = w.split_once('=') {
                        if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            Rc::make_mut(&mut env).insert(k.to_string(), unquote(v));
                            continue;
                        }
                    }
                }
                leading = false;
                words.push(unquote(w));
            }
            match words.first().map(String::as_str) {
                Some("cd") => {
                    if let Some(d) = words.get(1).and_then(|d| resolve(&cwd, d)) {
                        cwd = d.into();
                    }
                }
                Some("export") => {
                    for w in &words[1..] {
                        if let Some((k, v)) = w.split_once('=') {
                            Rc::make_mut(&mut exported).insert(k.to_string(), unquote(v));
                        }
                    }
                }
                _ => {}
            }
            self.note_packages(&words);
            if !words.is_empty() {
                self.runs.push(RunCmd {
                    words,
                    cwd: Rc::clone(&cwd),
                    env,
                });
            }
        }
        true
    }

    fn note_packages(&mut self, words: &[String]) {
        let Some(first) = words.first() else {
            return;
        };
        let pm = super::script::basename(first);
        let verb = match pm {
            "apt-get" | "apt" | "yum" | "dnf" | "microdnf" => "install",
            "apk" => "add",
            _ => return,
        };
        let Some(pos) = words.iter().position(|w| w == verb) else {
            return;
        };
        let mut skip_next = false;
        for w in &words[pos + 1..] {
            if skip_next {
                skip_next = false;
                continue;
            }
            if w.starts_with('-') {
                // apk's `--virtual NAME` / `-t NAME` names a group, not a package.
                skip_next = pm == "apk" && (w == "--virtual" || w == "-t");
                continue;
            }
            let name = w.split(['=', '>', '<']).next().unwrap_or(w);
            if !name.is_empty() && !name.contains('$') {
                self.os_packages.push(name.to_string());
            }
        }
    }

    /// Commands whose first word (basename) is `prog`.
    pub fn commands<'a>(&'a self, prog: &'a str) -> impl Iterator<Item = &'a RunCmd> + 'a {
        self.runs.iter().filter(move |r| {
            r.words
                .first()
                .map(|w| super::script::basename(w) == prog)
                .unwrap_or(false)
        })
    }

    /// An environment value set by ENV/ARG in the stage or in front of the command.
    pub fn env_value<'a>(&'a self, run: &'a RunCmd, key: &str) -> Option<&'a str> {
        run.env
            .get(key)
            .or_else(|| self.env.get(key))
            .map(String::as_str)
    }

    /// Absolute paths that RUN commands write outside of the `allowed` folders.
    pub fn writes_outside(&self, allowed: &[String]) -> Vec<String> {
        const SCRATCH: &[&str] = &[
            "/tmp",
            "/var/tmp",
            "/var/lib/apt",
            "/var/cache",
            "/var/log",
            "/root/.cache",
            "/root/.npm",
            "/root/.m2",
            "/root/.gradle",
            "/root/.cargo",
            "/usr/local/cargo",
            "/go/pkg",
            "/root/go",
            "/etc/apt",
            "/usr/share/keyrings",
            "/etc/apk",
            "/dev/null",
            "/root/.config",
            "/root/.local",
            "/home",
            "/usr/local/share/.cache",
        ];
        let mut out = Vec::new();
        for r in &self.runs {
            let Some(first) = r.words.first() else {
                continue;
            };
            let prog = super::script::basename(first);
            let args: Vec<&String> = r.words[1..]
                .iter()
                .filter(|w| !w.starts_with('-'))
                .collect();
            let targets: Vec<&String> = match prog {
                "mkdir" | "touch" => args,
                "cp" | "mv" | "ln" | "install" | "tee" => {
                    args.last().copied().into_iter().collect()
                }
                "curl" | "wget" => r
                    .words
                    .windows(2)
                    .filter(|w| matches!(w[0].as_str(), "-o" | "--output" | "-O" | "-P"))
                    .map(|w| &w[1])
                    .collect(),
                _ => Vec::new(),
            };
            for t in targets {
                let Some(p) = resolve(&r.cwd, t) else {
                    continue;
                };
                if SCRATCH.iter().any(|s| within(&p, s)) || allowed.iter().any(|a| within(&p, a)) {
                    continue;
                }
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Paths inside `dir` the build makes writable or creates (mkdir/chmod/chown), or VOLUMEs in it.
    pub fn writable_in(&self, dir: &str) -> bool {
        self.volumes.iter().any(|v| within(v, dir))
            || self.runs.iter().any(|r| {
                let prog = r.words.first().map(|w| super::script::basename(w));
                matches!(prog, Some("mkdir" | "chmod" | "chown"))
                    && r.words[1..]
                        .iter()
                        .filter(|w| !w.starts_with('-'))
                        .filter_map(|w| resolve(&r.cwd, w))
                        .any(|p| within(&p, dir))
            })
    }
}

/// `$NAME` and `${NAME}` replaced by the stage's ENV values (`WORKDIR $APP_HOME`); `None` when a
/// reference is not a plain one to a known variable.
fn expand_env(text: &str, env: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            (&inner[..close], close + 2)
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], n)
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push_str(env.get(name)?);
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(resolve("/app", "./a/../b").as_deref(), Some("/app/b"));
        assert_eq!(resolve("/app", "/x/").as_deref(), Some("/x"));
        assert_eq!(resolve("/", ".").as_deref(), Some("/"));
        assert!(resolve("/", "$X").is_none());
        assert!(within("/app/x", "/app"));
        assert!(!within("/apple", "/app"));
        assert_eq!(var_refs("a $B ${C:-x} $$"), vec!["B", "C"]);
    }

    #[test]
    fn scan_tracks_cd_and_packages() {
        let d = Dockerfile::parse(
            "FROM golang:1.22\nWORKDIR /src\nRUN apt-get update && apt-get install -y --no-install-recommends ffmpeg=7 git\nRUN cd cmd/app && CGO_ENABLED=0 go build -o /out/app .\nUSER 1000\nCMD [\"/out/app\"]\n",
        )
        .unwrap();
        let f = StageFacts::scan(&d, 0, d.instructions.len(), "/go");
        assert_eq!(f.os_packages, vec!["ffmpeg", "git"]);
        let gb = f.commands("go").next().unwrap();
        assert_eq!(&*gb.cwd, "/src/cmd/app");
        assert_eq!(gb.env.get("CGO_ENABLED").map(String::as_str), Some("0"));
        assert_eq!(f.final_workdir.as_deref(), Some("/src"));
        assert_eq!(f.start.cmd, Some(5));
        assert!(!f.run_after_user);
    }
}
