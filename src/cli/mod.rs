//! The command line, kept thin: argument parsing and rendering over the library.
//!
//! `mod.rs` defines the flags and dispatches the commands; `pipeline.rs` runs `fix`/`check` over
//! the walk, `folder_rules.rs` resolves each folder's configuration once, and `file.rs` processes
//! one file.

mod file;
mod folder_rules;
mod pipeline;

use pipeline::process;
pub use pipeline::shard_of;

use crate::diagnostic::Diagnostic;
use crate::display_path::display_path;
use crate::exit::{EXIT_ERROR, EXIT_OK};
use crate::passes::{rule_doc, rule_meta, rules_resolving, RuleMeta, RULES};
use crate::report::Format;
use crate::rule_args::RuleArgs;
use crate::syntax::{Dockerfile, Form};
use clap::{Args, Parser, Subcommand};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "dfopt",
    version,
    about = "Rewrites Dockerfiles into smaller, safer images; shows the change as a unified diff."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the fixes as a unified diff (dry run), or apply them with --write.
    Fix(FixArgs),
    /// List findings as PATH:LINE:COL: RULE [LEVEL] message; exit 1 on findings at or above
    /// --fail-level.
    Check(CommonArgs),
    /// List every rule with its fix safety and whether it runs by default.
    Rules {
        /// `text`, or `markdown` for the table in README.md.
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Print a rule's documentation; a hadolint code (DL3059) prints the rules that resolve it.
    Explain {
        /// The rule id, e.g. chain-runs, or a hadolint code, e.g. DL3059.
        rule: String,
    },
    /// Write a commented default dfopt.toml.
    Init {
        /// Where to write it.
        #[arg(default_value = "dfopt.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff): dfopt(1), or with a command name its page, e.g. `dfopt man fix`.
    Man {
        /// A command, e.g. fix: print dfopt-fix(1).
        command: Option<String>,
    },
    /// Build the original and the rewritten Dockerfile with the local Docker engine and compare.
    Verify(crate::verify::VerifyArgs),
    /// Run the Language Server (LSP over standard input and output) for editors.
    Server {
        /// Accepted and ignored: stdio is the only transport (some clients pass it).
        #[arg(long, hide = true)]
        stdio: bool,
    },
    /// Print dfopt's parse of each file as one JSON line (for the BuildKit agreement check).
    #[command(hide = true)]
    Parse { paths: Vec<PathBuf> },
}

/// How `dfopt rules` prints the rules.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesFormat {
    Text,
    Markdown,
}

#[derive(Args, Debug, Default, Clone)]
pub struct CommonArgs {
    /// Files or folders (walked recursively, honouring .gitignore); `-` reads standard input.
    /// Default: the current folder.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format (default: diff for `fix`, text for `check`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Process only shard K of N (1-based), e.g. `--shard 2/8`: a stable split by path.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Ignore dfopt.toml files.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Use this config file for every input instead of discovering `dfopt.toml` files.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Never apply unsafe fixes, whatever the config says (overrides `unsafe-fixes = true`).
    #[arg(long, conflicts_with = "unsafe_fixes")]
    pub no_unsafe_fixes: bool,
    /// Name shown for standard input.
    #[arg(long, default_value = "Dockerfile")]
    pub stdin_filename: String,
    /// Follow symbolic links while walking folders.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Skip paths matching this glob (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Also take files whose name matches this glob (repeatable).
    #[arg(long)]
    pub include: Vec<String>,
    /// Print no summary and no progress.
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// The least severe finding level that makes `check` fail (default: warning, or `fail-level`
    /// in the dfopt.toml of the current folder).
    #[arg(long, value_enum)]
    pub fail_level: Option<crate::config::FailLevel>,
}

#[derive(Args, Debug, Default)]
pub struct FixArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Apply the fixes in place (atomically). With `-`, the fixed text goes to standard output.
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Write nothing; exit 1 if any file would change.
    #[arg(long)]
    pub check: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/8")?;
    let k: u64 = k.trim().parse().map_err(|_| "K must be a number")?;
    let n: u64 = n.trim().parse().map_err(|_| "N must be a number")?;
    if n == 0 || k == 0 || k > n {
        return Err("need 1 <= K <= N".into());
    }
    Ok((k, n))
}

/// Runs the CLI with process streams; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Not locked for the whole run: a worker thread that prints to stderr (`eprintln!` while
    // debugging, say) would wait for the lock forever and hang the run.
    let mut err = std::io::stderr();
    let code = run(cli, &mut std::io::stdin(), &mut out, &mut err);
    let _ = out.flush();
    code
}

/// `dfopt rules`: one line per rule, in the order they run.
fn rules_text() -> String {
    let id_width = RULES.iter().map(|m| m.id.len()).max().unwrap_or(4);
    let fix_width = RULES
        .iter()
        .map(|m| m.fix.as_str().len())
        .max()
        .unwrap_or(3);
    let mut text = format!(
        "{:<id_width$} {:<fix_width$} {:<8} summary\n",
        "rule", "fix", "default"
    );
    for m in RULES {
        let on = if m.default_enabled { "on" } else { "off" };
        text.push_str(&format!(
            "{:<id_width$} {:<fix_width$} {:<8} {}\n",
            m.id,
            m.fix.as_str(),
            on,
            m.summary
        ));
    }
    text
}

/// `dfopt rules --format markdown`: the table between README.md's `rules:start`/`rules:end`
/// markers (a test keeps the two equal).
pub fn rules_markdown() -> String {
    let mut text = String::from(
        "| rule | fix | default | resolves (hadolint) | summary |\n|---|---|---|---|---|\n",
    );
    for m in RULES {
        let on = if m.default_enabled { "on" } else { "off" };
        text.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            m.id,
            m.fix.describe(),
            on,
            m.hadolint.join(", "),
            m.summary
        ));
    }
    text
}

/// `dfopt explain RULE`: the summary and declaration, then the rule's documentation. For a
/// hadolint code, the same for every rule that resolves it.
fn explain(name: &str) -> Option<String> {
    let metas: Vec<&RuleMeta> = match rule_meta(name) {
        Some(m) => vec![m],
        None => rules_resolving(name).collect(),
    };
    if metas.is_empty() {
        return None;
    }
    let parts: Vec<String> = metas
        .iter()
        .map(|m| {
            let doc = rule_doc(m.id).unwrap_or("");
            // The doc opens with its `## rule-id` heading; the declaration goes under it.
            let (heading, body) = doc.split_once('\n').unwrap_or((doc, ""));
            let hadolint = if m.hadolint.is_empty() {
                String::new()
            } else {
                format!(" · resolves (hadolint): {}", m.hadolint.join(", "))
            };
            format!(
                "{heading}\n\n{}\n\nfix: {} · default: {}{hadolint}\n{body}\n",
                m.summary,
                m.fix.describe(),
                if m.default_enabled { "on" } else { "off" },
            )
        })
        .collect();
    Some(parts.join("\n"))
}

/// Runs a parsed command line against the given streams.
pub fn run(cli: Cli, stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match cli.command {
        Command::Fix(args) => {
            let mode = if args.write {
                Mode::Write
            } else if args.check {
                Mode::CheckFix
            } else {
                Mode::Diff
            };
            process(&args.common, mode, stdin, out, err)
        }
        Command::Check(common) => process(&common, Mode::Report, stdin, out, err),
        Command::Rules { format } => {
            let _ = match format {
                RulesFormat::Text => write!(out, "{}", rules_text()),
                RulesFormat::Markdown => write!(out, "{}", rules_markdown()),
            };
            EXIT_OK
        }
        Command::Explain { rule } => match explain(&rule) {
            Some(text) => {
                let _ = write!(out, "{text}");
                if let Some(meta) = crate::passes::rule_meta(&rule) {
                    let _ = writeln!(out, "\n**Level**: {}", meta.levels);
                }
                EXIT_OK
            }
            None => {
                let _ = writeln!(
                    err,
                    "error: no rule named `{rule}`, and no rule resolves it (see `dfopt rules`)"
                );
                EXIT_ERROR
            }
        },
        Command::Init { path, force } => {
            if path.exists() && !force {
                let _ = writeln!(
                    err,
                    "{}",
                    Diagnostic::whole_file(
                        display_path(&path),
                        "already exists (use --force to overwrite)"
                    )
                );
                return EXIT_ERROR;
            }
            match std::fs::write(&path, crate::config::DEFAULT_CONFIG) {
                Ok(()) => {
                    let _ = writeln!(err, "wrote {}", display_path(&path));
                    EXIT_OK
                }
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "{}",
                        Diagnostic::whole_file(
                            display_path(&path),
                            crate::discover::io_message(&e)
                        )
                    );
                    EXIT_ERROR
                }
            }
        }
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics when its writer fails, and a closed
            // pipe (`dfopt completions bash | head`) is no error.
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "dfopt", &mut script);
            let _ = out.write_all(&script);
            EXIT_OK
        }
        Command::Man { command } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let page = match command.as_deref() {
                None => cmd,
                Some(name) => match cmd.find_subcommand(name) {
                    // The page `dfopt(1)` points at as dfopt-NAME(1).
                    // Leaked: clap names are `&'static str`, and the process ends right after.
                    Some(sub) => sub
                        .clone()
                        .name(&*Box::leak(format!("dfopt-{name}").into_boxed_str())),
                    None => {
                        let _ = writeln!(err, "error: no command named `{name}`");
                        return EXIT_ERROR;
                    }
                },
            };
            let mut roff = Vec::new();
            match clap_mangen::Man::new(page).render(&mut roff) {
                Ok(()) => {
                    let _ = out.write_all(&roff); // a closed pipe (`| head`) is no error
                    EXIT_OK
                }
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    EXIT_ERROR
                }
            }
        }
        Command::Verify(args) => crate::verify::run(&args, out, err),
        Command::Server { .. } => crate::server::run(out),
        Command::Parse { paths } => {
            for p in paths {
                let rec = parse_record(&p);
                let _ = writeln!(out, "{rec}");
            }
            EXIT_OK
        }
    }
}

/// What a `fix` or `check` run does with each file: print a diff, write it, only tell whether it
/// would change (`fix --check`), or list findings (`check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Diff,
    Write,
    CheckFix,
    Report,
}

/// dfopt's view of a file in the shape of `buildkit-parse.py`'s records.
pub fn parse_record(path: &Path) -> String {
    let p = path.to_string_lossy().to_string();
    let text = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| crate::write::decode(b).map_err(|e| e.message))
    {
        Ok(t) => t,
        Err(e) => {
            return serde_json::json!({"path": p, "ok": false, "error": e, "instructions": []})
                .to_string()
        }
    };
    match Dockerfile::parse(&text) {
        Err(e) => {
            serde_json::json!({"path": p, "ok": false, "error": e.to_string(), "instructions": []})
                .to_string()
        }
        Ok(doc) => {
            let ins: Vec<_> = doc
                .instructions
                .iter()
                .map(|i| {
                    let eff = i.effective();
                    serde_json::json!({
                        "cmd": i.command.keyword.to_ascii_lowercase(),
                        "sub_cmd": i.trigger.as_ref().map(|t| t.keyword.clone()),
                        "json": matches!(eff.form, Form::Exec(_)),
                        "start_line": i.start_line,
                        "end_line": i.end_line,
                        "flags": i.command.flags.iter().map(|f| f.text.clone()).collect::<Vec<_>>(),
                        "heredocs": i.heredocs.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::json!({"path": p, "ok": true, "error": null, "instructions": ins})
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's rule table is `dfopt rules --format markdown`: the declarations are the source.
    #[test]
    fn readme_rule_table_is_generated_from_the_declarations() {
        const START: &str = "<!-- rules:start -->\n";
        const END: &str = "<!-- rules:end -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let start = readme.find(START).expect("README has <!-- rules:start -->") + START.len();
        let end = readme.find(END).expect("README has <!-- rules:end -->");
        // A comment line under the start marker says how the table is made; it is kept.
        let table_start = readme[start..end]
            .find("| rule |")
            .map_or(start, |i| start + i);
        let expected = rules_markdown();
        if readme[table_start..end] == expected {
            return;
        }
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{expected}{}", &readme[..table_start], &readme[end..]);
            std::fs::write(path, updated).expect("write README.md");
            return;
        }
        panic!(
            "README.md's rule table differs from the rules' declarations; update it with\n  \
             UPDATE_README=1 cargo test --lib readme_rule_table\n\nexpected:\n{expected}"
        );
    }

    #[test]
    fn explain_finds_a_rule_by_id_or_hadolint_code() {
        let by_id = explain("chain-runs").expect("chain-runs");
        assert!(by_id.starts_with("## chain-runs\n"), "{by_id}");
        assert!(
            by_id.contains("fix: safe (unsafe on Windows stages)"),
            "{by_id}"
        );
        assert!(by_id.contains("**Fix safety**"), "{by_id}");
        let by_code = explain("dl3059").expect("DL3059");
        assert_eq!(by_code, by_id);
        let several = explain("DL3009").expect("DL3009");
        assert!(several.contains("## package-cache-cleanup"), "{several}");
        assert!(explain("DL9999").is_none());
        assert!(explain("no-such-rule").is_none());
    }

    #[test]
    fn cli_parses_verify_flags() {
        let cli = Cli::try_parse_from([
            "dfopt",
            "verify",
            "a/Dockerfile",
            "--probe",
            "http://:3000/",
            "--unsafe-fixes",
            "--select",
            "chain-runs",
            "--final",
            "distroless",
            "--format",
            "json",
            "--context",
            ".",
        ])
        .unwrap();
        let Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert!(v.rules.unsafe_fixes);
        assert_eq!(v.format, crate::verify::Format::Json);
        assert_eq!(v.rules.select, Some(vec!["chain-runs".to_string()]));
        assert_eq!(v.probe.as_deref(), Some("http://:3000/"));
        assert!(Cli::try_parse_from(["dfopt", "verify"]).is_err());
        assert!(Cli::try_parse_from([
            "dfopt",
            "verify",
            "D",
            "--probe",
            "http://:1/",
            "--run",
            "x"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["dfopt", "verify", "D", "--run", "-e 'x'"]).unwrap();
        let Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(v.run.as_deref(), Some("-e 'x'"));
    }
}
