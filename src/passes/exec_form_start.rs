//! ## exec-form-start
//!
//! **What it does**: rewrites a shell-form `CMD` or `ENTRYPOINT` of a stage that ships as a JSON
//! array (exec form). The words are split exactly as the shell would split them, with its quotes
//! and backslashes removed. A command that needs its shell (a `$VAR`, a glob, a redirection) but is
//! a single simple command keeps the stage's shell and gets `exec`, which then replaces the shell:
//! `["/bin/sh", "-c", "exec node server.js --port $PORT"]`. A command with `&&`, `;`, pipes,
//! subshells, leading variable assignments, a shell builtin or keyword first, or comment lines
//! inside it stays as it is, with a finding at level info. The shell is the stage's `SHELL` in
//! effect at that point (its argv, not `sh`); Windows stages (cmd.exe or PowerShell) are converted
//! only when every word is plain (letters, digits and `._-/:\=,+@`). `CMD` and `ENTRYPOINT` in
//! stages that do not ship, and `ONBUILD` triggers, are left alone. Resolves hadolint DL3025 and
//! BuildKit's `JSONArgsRecommended`.
//!
//! **Why is this bad**: in shell form the container's main process (PID 1) is the shell, and most
//! shells do not pass `SIGTERM` on: `docker stop` waits for its timeout and then kills the
//! program without a clean shutdown.
//!
//! **Example**
//! ```dockerfile
//! CMD node server.js --port 8080
//! ```
//! becomes
//! ```dockerfile
//! CMD ["node", "server.js", "--port", "8080"]
//! ```
//!
//! **Fix safety**: unsafe. The program becomes PID 1 (it now receives signals and must reap
//! children), an exec-form `ENTRYPOINT` receives the `CMD` as arguments where a shell-form one
//! ignored it, and an exec-form `CMD` reaches an `ENTRYPOINT` (perhaps the base image's) as its own
//! words instead of `/bin/sh -c "…"`. A shell-form `ENTRYPOINT` in a stage that also sets a `CMD`
//! is therefore only reported.

use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Edit, Finding, Fix, Level};
use crate::model::shell::{command_line, LineFeatures};
use crate::model::stages::Shell;
use crate::syntax::{Form, Instruction, Keyword, LineKind};

const DATA: &str = include_str!("../../transforms/exec-form-start.toml");
pub const META: RuleMeta = RuleMeta {
    id: "exec-form-start",
    summary: "CMD and ENTRYPOINT in exec form, so that the program gets the stop signal",
    fix: FixAvailability::Unsafe,
    hadolint: &["DL3025"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning; info for a start command that has to keep its shell",
};
const ID: &str = META.id;

/// `transforms/exec-form-start.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecFormStart {
    builtins: Vec<String>,
    reserved: Vec<String>,
}

impl ExecFormStart {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        super::load(DATA, ID, settings)
    }
}

/// The shell features a start command uses, as the finding names them.
fn describe(f: LineFeatures) -> String {
    let mut what = Vec::new();
    if f.compound {
        what.push("command lists, pipes or subshells");
    }
    if f.expansion {
        what.push("variables or substitutions");
    }
    if f.glob {
        what.push("globs");
    }
    if f.redirection {
        what.push("redirections");
    }
    what.join(", ")
}

/// A word cmd.exe and PowerShell both pass on unchanged.
fn plain_windows_word(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:\\=,+@".contains(c))
}

/// `NAME=value`: an assignment before the command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn json_array(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| serde_json::to_string(w).unwrap_or_else(|_| "\"\"".to_string()))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// How a start command can become exec form.
enum Conversion {
    /// The exec-form words.
    Exec(Vec<String>),
    /// Not convertible exactly: why.
    Keep(String),
}

impl ExecFormStart {
    /// The shell in effect at instruction `index` of `stage`: the last SHELL before it in the
    /// stage, else the shell the stage inherits.
    fn shell_at(ctx: &Context<'_>, stage_index: usize, index: usize) -> Shell {
        let Some(stage) = ctx.analysis.stages.get(stage_index) else {
            return Shell::default_for(false);
        };
        let earlier = ctx
            .doc
            .instructions
            .get(stage.from + 1..index)
            .unwrap_or(&[])
            .iter()
            .rev()
            .find(|i| i.kind() == Keyword::Shell && i.trigger.is_none());
        match earlier {
            Some(sh) => match &sh.command.form {
                Form::Exec(argv) => Shell::from_argv(argv),
                _ => Shell::Unknown(Vec::new()),
            },
            None => match stage.parent.and_then(|p| ctx.analysis.stages.get(p)) {
                Some(parent) => parent.shell_program.clone(),
                None => Shell::default_for(stage.windows),
            },
        }
    }

    fn convert(&self, text: &str, shell: &Shell) -> Conversion {
        match shell {
            Shell::Posix { argv, .. } => {
                let (mut words, features) = command_line(text);
                if words.first().is_some_and(|w| w == "exec")
                    && words.get(1).is_some_and(|w| !w.starts_with('-'))
                    && !features.any()
                {
                    words.remove(0);
                }
                let Some(first) = words.first() else {
                    return Conversion::Keep("the command is empty".into());
                };
                if features.compound {
                    return Conversion::Keep(format!(
                        "it uses {}: only a single simple command can be started without its shell",
                        describe(features)
                    ));
                }
                if is_assignment(first) {
                    return Conversion::Keep(
                        "it sets variables before the command: use ENV, or a script that ends with `exec`".into(),
                    );
                }
                if self.reserved.iter().any(|r| r == first) {
                    return Conversion::Keep(format!("`{first}` starts a compound command"));
                }
                if self.builtins.iter().any(|b| b == first) && first != "exec" {
                    return Conversion::Keep(format!(
                        "`{first}` is a shell builtin, not a program"
                    ));
                }
                if !features.any() {
                    return Conversion::Exec(words);
                }
                let body = if first == "exec" {
                    text.to_string()
                } else {
                    format!("exec {text}")
                };
                let mut exec = argv.clone();
                exec.push(body);
                Conversion::Exec(exec)
            }
            Shell::Cmd | Shell::PowerShell { .. } => {
                let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
                if !words.is_empty() && words.iter().all(|w| plain_windows_word(w)) {
                    Conversion::Exec(words)
                } else {
                    Conversion::Keep(
                        "on Windows only plain words are converted: quotes, variables and operators mean what the shell makes of them".into(),
                    )
                }
            }
            Shell::Unknown(_) => {
                Conversion::Keep("the stage's SHELL is not one dfopt can read".into())
            }
        }
    }

    fn check_start(
        &self,
        ctx: &Context<'_>,
        stage_index: usize,
        index: usize,
        ins: &Instruction,
        stage_sets_cmd: bool,
        out: &mut Vec<Finding>,
    ) {
        let c = &ins.command;
        let keyword = c.keyword.to_ascii_uppercase();
        let span = ins.span;
        let keep = |why: String| {
            Finding::new(
                ID,
                span,
                format!("shell-form {keyword} runs under a shell that does not pass signals on, but it stays: {why}"),
            )
            .with_level(Level::Info)
        };
        if ins.lines.iter().any(|l| l.kind == LineKind::Comment) {
            out.push(keep("comment lines inside it would be lost".into()));
            return;
        }
        if c.kind == Keyword::Entrypoint && stage_sets_cmd {
            out.push(keep(
                "in exec form the ENTRYPOINT would receive the stage's CMD as arguments".into(),
            ));
            return;
        }
        let shell = Self::shell_at(ctx, stage_index, index);
        match self.convert(&c.args, &shell) {
            Conversion::Exec(words) => out.push(
                Finding::new(
                    ID,
                    span,
                    format!(
                        "shell-form {keyword} makes the shell PID 1, which does not pass signals on: use exec form"
                    ),
                )
                .with_fix(Fix::unsafe_(vec![Edit::replace(
                    c.args_span,
                    json_array(&words),
                )])),
            ),
            Conversion::Keep(why) => out.push(keep(why)),
        }
    }
}

impl Rule for ExecFormStart {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let doc = ctx.doc;
        for (stage_index, stage) in ctx.analysis.stages.iter().enumerate() {
            if !ctx.ships(stage_index) {
                continue;
            }
            let body = doc
                .instructions
                .get(stage.from + 1..stage.end)
                .unwrap_or(&[]);
            let own = |i: &&Instruction| i.trigger.is_none() && i.heredocs.is_empty();
            let sets_cmd = body.iter().filter(own).any(|i| i.kind() == Keyword::Cmd);
            for (offset, ins) in body.iter().enumerate() {
                if !own(&ins)
                    || !matches!(ins.kind(), Keyword::Cmd | Keyword::Entrypoint)
                    || ins.command.form != Form::Shell
                    || ins.command.args.trim().is_empty()
                {
                    continue;
                }
                self.check_start(
                    ctx,
                    stage_index,
                    stage.from + 1 + offset,
                    ins,
                    sets_cmd,
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> (Vec<String>, LineFeatures) {
        command_line(text)
    }

    #[test]
    fn splits_like_the_shell() {
        let (w, f) = words(r#"node "my app.js" --name='a b' x\ y "q\"uote" 'it'\''s'"#);
        assert_eq!(
            w,
            ["node", "my app.js", "--name=a b", "x y", "q\"uote", "it's"]
        );
        assert!(!f.any());
        let (w, f) = words(r#"echo "a\b" """#);
        assert_eq!(w, ["echo", "a\\b", ""]);
        assert!(!f.any());
    }

    #[test]
    fn notes_shell_features() {
        assert!(words("node $APP").1.expansion);
        assert!(words("node \"$APP\"").1.expansion);
        assert!(words("ls *.js").1.glob);
        assert!(words("app > /log").1.redirection);
        assert!(words("a && b").1.compound);
        assert!(words("a | b").1.compound);
        assert!(words("a; b").1.compound);
        assert!(words("a # note").1.compound);
        assert!(words("echo 'open").1.compound);
        assert!(words("cd ~").1.expansion);
        assert!(!words("a=b~c").1.any());
    }

    #[test]
    fn assignments() {
        assert!(is_assignment("A=1"));
        assert!(is_assignment("_x9="));
        assert!(!is_assignment("--a=1"));
        assert!(!is_assignment("1A=1"));
        assert!(!is_assignment("=1"));
    }
}
