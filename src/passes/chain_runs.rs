//! ## chain-runs
//!
//! **What it does**: merges consecutive shell-form `RUN` instructions of one stage that carry the
//! same flags into a single `RUN`, joined with `&&`.
//!
//! **Why is this bad**: every `RUN` makes a layer. Files that one `RUN` creates and a later one
//! deletes (package lists, caches, archives) still ship in the earlier layer, and each layer costs
//! metadata, pull time and cache lookups.
//!
//! **Example**
//! ```dockerfile
//! RUN apt-get update
//! # the tools the build needs
//! RUN apt-get install -y curl
//! ```
//! becomes
//! ```dockerfile
//! RUN apt-get update \
//!     # the tools the build needs
//!     && apt-get install -y curl
//! ```
//!
//! **Fix safety**: safe, by the model in docs/safety-model.md (src/model/effects.rs). BuildKit runs
//! each `RUN` as a fresh `SHELL… "<text>"` process (its own PID and mount namespace, WORKDIR
//! created first, the build stopping at the first failure), so a join must not let one `RUN` see
//! what an earlier one left in its shell. dfopt therefore:
//! - wraps every member but the last in a subshell `( … )` unless it provably changes no shell
//!   state (variables, also `${T:=x}`, `$((N=4))`, `V=1 :`, `printf -v`; `cd`, `set`, umask, traps,
//!   aliases, functions, …), and when a later member runs a command the shell may have hashed while
//!   an executable was created in between; `;` and `||` lists are grouped so that `&&` binds as the
//!   separate `RUN`s did;
//! - ends the chain after a member that runs with errexit on (from `SHELL` options or its own
//!   `set -e`, `set -x -e`, `set -o errexit`, `set $OPTS`, …) and is more than one AND-OR list of
//!   simple commands, since errexit is ignored left of `&&`; after one that may replace `/bin/sh`,
//!   the SHELL program or a start-up file; after one that may remove or rename its WORKDIR or an
//!   ancestor; after one that may leave a process behind (`setsid`, `start-stop-daemon`,
//!   `service … start`, …); and before the joined text would pass 64 KiB;
//! - joins nothing in a stage whose shell reads start-up files per `RUN` (login or interactive
//!   `SHELL`, `BASH_ENV` set, zsh), nor `RUN`s with a tmpfs or writable bind mount.
//!
//! Such `RUN`s are reported without a fix, saying why (`not joined: …`). Commands are also left
//! alone when joining cannot keep their behaviour: a trailing shell comment, a background job
//! (`&`), exec form, heredocs, a non-POSIX `SHELL` (PowerShell, cmd) or Windows base, different
//! `--mount` or other flags, or a pragma comment (`# hadolint ignore=…`) that belongs to one `RUN`.
//! Comments between the instructions are kept inside the continuation; blank lines between them are
//! dropped.

use super::{Context, FixAvailability, LazyRegex, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Edit, Finding, Fix, Level};
use crate::model::effects::{self, RunEffects};
use crate::model::style::Stylist;
use crate::shell::ShellFacts;
use crate::syntax::{Dockerfile, Form, Instruction, Keyword, LineKind, Span};
use std::cell::OnceCell;

const DATA: &str = include_str!("../../transforms/chain-runs.toml");

/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "chain-runs",
    summary: "Consecutive RUN instructions can be one layer",
    fix: FixAvailability::Sometimes("unsafe on Windows stages"),
    hadolint: &["DL3059"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning; error when the join puts an `apt-get update` alone in its RUN together with the install that follows (a cached, stale package list breaks builds)",
};

/// One `[[cleanup_barriers]]` table of `transforms/chain-runs.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupBarrier {
    /// The manager the pair is about (documentation in the data file; not used to match).
    #[serde(rename = "manager")]
    _manager: String,
    install: LazyRegex,
    cleanup: LazyRegex,
}

/// `transforms/chain-runs.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    state_builtins: Vec<String>,
    pragma_prefixes: Vec<String>,
    #[serde(default = "default_indent")]
    default_indent: String,
    windows_cmd_state: Vec<String>,
    windows_powershell_state: Vec<String>,
    process_starters: Vec<String>,
    daemon_servers: Vec<String>,
    daemon_flags: Vec<String>,
    no_executables: Vec<String>,
    builtins: Vec<String>,
    startup_files: Vec<String>,
    #[serde(default)]
    cleanup_barriers: Vec<CleanupBarrier>,
}

fn default_indent() -> String {
    "    ".to_string()
}

pub struct ChainRuns {
    state_builtins: Vec<String>,
    windows_cmd_state: Vec<String>,
    windows_powershell_state: Vec<String>,
    /// `$name =` at the start of a PowerShell statement: a variable the next command would see.
    powershell_assignment: super::LazyRegex,
    /// (install, cleanup) regexes per package manager.
    cleanup_barriers: Vec<(super::LazyRegex, super::LazyRegex)>,
    pragma_prefixes: Vec<String>,
    default_indent: String,
    /// The model's data: process starters, commands that create no executables, start-up files.
    effects_data: effects::EffectsData,
}

impl ChainRuns {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let data: Data = super::load(DATA, META.id, settings)?;
        Ok(ChainRuns {
            windows_cmd_state: data.windows_cmd_state,
            windows_powershell_state: data.windows_powershell_state,
            powershell_assignment: super::regex(r"(^|[;{])\s*\$[A-Za-z_][^\s=+*/-]*\s*[-+*/]?=")
                .map_err(|e| e.to_string())?,
            cleanup_barriers: data
                .cleanup_barriers
                .into_iter()
                .map(|b| (b.install, b.cleanup))
                .collect(),
            state_builtins: data.state_builtins,
            pragma_prefixes: data.pragma_prefixes,
            default_indent: data.default_indent,
            effects_data: effects::EffectsData {
                process_starters: data.process_starters,
                daemon_servers: data.daemon_servers,
                daemon_flags: data.daemon_flags,
                no_executables: data.no_executables,
                builtins: data.builtins,
                startup_files: data.startup_files,
                ..Default::default()
            },
        })
    }

    fn facts(&self, memo: &super::Memo, cmd: &str) -> ShellFacts {
        memo.chain_facts(cmd, |w| self.state_builtins.iter().any(|b| b == w))
    }

    /// A RUN that may take part in a chain, with what we know of its command.
    fn candidate(
        &self,
        memo: &super::Memo,
        doc: &Dockerfile,
        ins: &Instruction,
    ) -> Option<ShellFacts> {
        if !plain_shell_run(ins) {
            return None;
        }
        let c = &ins.command;
        // A heredoc-looking `<<` that BuildKit did not take as one is still shell we cannot see into.
        let mut facts = self.facts(memo, &c.args);
        let _ = doc;
        if facts.trailing_separator {
            // `cmd;` behaves as `cmd`: judge (and later emit) it without the separator.
            let stripped = c.args.trim_end().trim_end_matches(';');
            facts = ShellFacts {
                trailing_separator: true,
                ..self.facts(memo, stripped)
            };
        }
        if !facts.parsed || facts.has_comment || facts.has_background || c.args.trim().is_empty() {
            return None;
        }
        Some(facts)
    }

    /// Whether a RUN already in the chain cleans a package manager that `next` installs with.
    fn cleanup_before_install(&self, chain: &[Member<'_>], next: &Instruction) -> bool {
        self.cleanup_barriers.iter().any(|(install, cleanup)| {
            install.is_match(&next.command.args)
                && chain.iter().any(|m| cleanup.is_match(&m.ins.command.args))
        })
    }

    /// Whether comment lines between two instructions include a pragma that belongs to the second.
    fn gap_has_pragma(&self, gap: &str) -> bool {
        gap.lines().any(|l| {
            let t = l.trim_start();
            t.strip_prefix('#')
                .map(|c| {
                    let c = c.trim_start().to_ascii_lowercase();
                    self.pragma_prefixes
                        .iter()
                        .any(|p| c.starts_with(p.as_str()))
                })
                .unwrap_or(false)
        })
    }
}

struct Member<'a> {
    ins: &'a Instruction,
    facts: ShellFacts,
    /// What the model says about the RUN, read when first asked for: the reading is most of what
    /// a member costs, and a RUN that never meets a neighbour it could join does not need it.
    effects: OnceCell<RunEffects>,
    /// Where the RUN stands, for reading its effects.
    place: Place<'a>,
    /// Wrapped in `( … )` because a later member could see its command hash go stale (state
    /// changes are wrapped too: [`Member::wrap`]).
    wrap_for_hash: bool,
}

/// What [`effects::run_effects`] needs besides a member's text and facts.
struct Place<'a> {
    memo: &'a super::Memo,
    doc: &'a Dockerfile,
    stages: &'a [crate::analysis::Stage],
    stage: &'a crate::analysis::Stage,
    index: usize,
    text: &'a str,
    data: &'a effects::EffectsData,
}

impl Member<'_> {
    fn effects(&self) -> &RunEffects {
        self.effects.get_or_init(|| {
            let p = &self.place;
            let workdir = effects::workdir_at(p.doc, p.stages, p.stage, p.index);
            effects::run_effects(
                p.text,
                &p.memo.tree(p.text),
                &self.facts,
                &p.stage.shell_program,
                &workdir,
                p.data,
            )
        })
    }

    /// Wrapped in `( … )` when joined: state changes, and a RUN whose command hash a later member
    /// could see go stale.
    fn wrap(&self) -> bool {
        self.wrap_for_hash || self.facts.changes_state || self.effects().hidden_state
    }
}

impl Rule for ChainRuns {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let doc = ctx.doc;
        let style = OnceCell::new();
        for (stage_index, stage) in ctx.analysis.stages.iter().enumerate() {
            if !ctx.wants_size_fixes(stage_index) {
                self.join_update_with_install(ctx, &style, stage, out);
                continue;
            }
            if !stage.shell.is_posix() || stage.windows {
                self.check_windows(ctx, stage, out);
                continue;
            }
            let stage_block = effects::stage_blocks_joins(doc, &ctx.analysis.stages, stage);
            let mut chain: Vec<Member<'_>> = Vec::new();
            let is_run = |i: usize| {
                doc.instructions
                    .get(i)
                    .is_some_and(|x| x.kind() == Keyword::Run)
            };
            for idx in stage.from + 1..stage.end {
                let Some(ins) = doc.instructions.get(idx) else {
                    break;
                };
                // Shell analysis is the costly part: only a RUN that could join a neighbour needs
                // it. The chain holds the previous instruction exactly when that was a member; with
                // an empty chain and no RUN next, a member would stand alone and emit nothing.
                let facts = if !chain.is_empty() || is_run(idx + 1) {
                    self.candidate(ctx.memo, doc, ins)
                } else {
                    None
                };
                let member = facts.map(|facts| self.member(ctx, stage, idx, ins, facts));
                let mut not_joined: Option<String> = None;
                let joins = match (&member, chain.last()) {
                    (Some(next), Some(prev)) => {
                        let gap = doc
                            .source
                            .get(prev.ins.full_end..ins.line_start)
                            .unwrap_or("");
                        let same_flags = prev.ins.command.flags.iter().map(|f| &f.text).eq(ins
                            .command
                            .flags
                            .iter()
                            .map(|f| &f.text));
                        let f = &next.facts;
                        // Backquoted substitutions inside a group we add make hadolint's shellcheck
                        // pass report SC2006 where it reported SC2164 before: leave such RUNs apart.
                        let grouped_backticks = (f.changes_state || f.has_list_operators)
                            && ins.command.args.contains('`');
                        let plain = same_flags
                            && !grouped_backticks
                            && !self.gap_has_pragma(gap)
                            && !self.cleanup_before_install(&chain, ins);
                        if plain {
                            not_joined = self.model_refuses(stage_block, &chain, next);
                        }
                        plain && not_joined.is_none()
                    }
                    _ => false,
                };
                if !joins {
                    self.emit(ctx, &style, &chain, out);
                    if let (Some(why), Some(prev), Some(next)) =
                        (&not_joined, chain.last(), member.as_ref())
                    {
                        self.report_not_joined(prev.ins, next.ins, why, out);
                    }
                    chain.clear();
                }
                if let Some(member) = member {
                    chain.push(member);
                    wrap_stale_hashes(&mut chain);
                }
            }
            self.emit(ctx, &style, &chain, out);
        }
    }
}

impl ChainRuns {
    /// In a stage that does not ship, RUNs stay apart (each is a build-cache step and nothing of
    /// their layers ships), except one join that fixes a build bug: an `apt-get update` alone in its
    /// RUN, cached apart from the install that follows, serves a stale package list once the
    /// install changes.
    fn join_update_with_install(
        &self,
        ctx: &Context<'_>,
        style: &OnceCell<Stylist>,
        stage: &crate::analysis::Stage,
        out: &mut Vec<Finding>,
    ) {
        if !stage.shell.is_posix() || stage.windows {
            return;
        }
        let doc = ctx.doc;
        for idx in stage.from + 1..stage.end.saturating_sub(1) {
            let (Some(update), Some(install)) =
                (doc.instructions.get(idx), doc.instructions.get(idx + 1))
            else {
                break;
            };
            if !is_apt_update_alone(&update.command.args)
                || !installs_with_apt(&install.command.args)
                || !update.command.flags.iter().map(|f| &f.text).eq(install
                    .command
                    .flags
                    .iter()
                    .map(|f| &f.text))
                || self.gap_has_pragma(
                    doc.source
                        .get(update.full_end..install.line_start)
                        .unwrap_or(""),
                )
            {
                continue;
            }
            let (Some(first), Some(second)) = (
                self.candidate(ctx.memo, doc, update),
                self.candidate(ctx.memo, doc, install),
            ) else {
                continue;
            };
            let first = self.member(ctx, stage, idx, update, first);
            let second = self.member(ctx, stage, idx + 1, install, second);
            // The same model decides as everywhere else: a join it cannot prove is not made.
            let stage_block = effects::stage_blocks_joins(doc, &ctx.analysis.stages, stage);
            let chain = [first];
            if self.model_refuses(stage_block, &chain, &second).is_some() {
                continue;
            }
            let [first] = chain;
            let pair = [first, second];
            self.emit(ctx, style, &pair, out);
        }
    }

    /// A RUN of the chain with what the model says about it (docs/safety-model.md).
    fn member<'m>(
        &'m self,
        ctx: &'m Context<'_>,
        stage: &'m crate::analysis::Stage,
        idx: usize,
        ins: &'m Instruction,
        facts: ShellFacts,
    ) -> Member<'m> {
        let text = self.judged_text(ins, &facts);
        Member {
            ins,
            facts,
            effects: OnceCell::new(),
            place: Place {
                memo: ctx.memo,
                doc: ctx.doc,
                stages: &ctx.analysis.stages,
                stage,
                index: idx,
                text,
                data: &self.effects_data,
            },
            wrap_for_hash: false,
        }
    }

    /// The text a member is judged and joined by: without a trailing `;`.
    fn judged_text<'t>(&self, ins: &'t Instruction, facts: &ShellFacts) -> &'t str {
        let args = ins.command.args.as_str();
        if facts.trailing_separator {
            args.trim_end().trim_end_matches(';')
        } else {
            args
        }
    }

    /// Why the model does not let `next` follow the chain so far (docs/safety-model.md), if so.
    fn model_refuses(
        &self,
        stage_block: Option<&'static str>,
        chain: &[Member<'_>],
        next: &Member<'_>,
    ) -> Option<String> {
        if let Some(why) = stage_block {
            return Some(why.to_string());
        }
        let prev = chain.last()?;
        if let Some(why) = &prev.effects().ends_chain {
            return Some(format!(
                "the RUN at line {} ends the chain: {why}",
                prev.ins.start_line
            ));
        }
        let prev_effects = prev.effects();
        if prev_effects.errexit_on && prev_effects.errexit_sensitive {
            return Some(format!(
                "errexit is on in the RUN at line {} and its commands would run with errexit ignored left of `&&`",
                prev.ins.start_line
            ));
        }
        if effects::has_per_run_mount(&prev.ins.command.flags)
            || effects::has_per_run_mount(&next.ins.command.flags)
        {
            return Some("a tmpfs or writable bind mount is new for every RUN".to_string());
        }
        let joined: usize = chain
            .iter()
            .chain(std::iter::once(next))
            .map(|m| m.ins.command.args.len() + 16)
            .sum();
        if joined > effects::MAX_JOINED_TEXT {
            return Some(format!(
                "the joined command would be longer than {} KiB (half the kernel's limit on one argument)",
                effects::MAX_JOINED_TEXT / 1024
            ));
        }
        None
    }

    /// A finding without a fix: two RUNs that could be one layer, and why dfopt does not join them.
    fn report_not_joined(
        &self,
        prev: &Instruction,
        next: &Instruction,
        why: &str,
        out: &mut Vec<Finding>,
    ) {
        out.push(Finding::new(
            "chain-runs",
            Span::new(prev.span.start, next.span.end),
            format!(
                "consecutive RUN instructions (lines {}-{}) could be one layer; not joined: {why}",
                prev.start_line, next.end_line
            ),
        ));
    }
}

/// The shell hashes the path of each command it runs by PATH lookup. When the last member runs a
/// name that an earlier unwrapped member also ran, and that member or one between may have created
/// an executable, the hash could point at the wrong file: wrap the earlier member.
fn wrap_stale_hashes(chain: &mut [Member<'_>]) {
    let Some((last, earlier)) = chain.split_last_mut() else {
        return;
    };
    let mut creates_after = false;
    for m in earlier.iter_mut().rev() {
        creates_after |= m.effects().may_create_executables;
        if !m.wrap()
            && creates_after
            && m.effects()
                .path_commands
                .iter()
                .any(|c| last.effects().path_commands.contains(c))
        {
            m.wrap_for_hash = true;
        }
    }
}

impl ChainRuns {
    /// `style` is the file's [`Stylist`], detected on the first chain that is emitted: it reads
    /// the whole file, and one file may emit several chains.
    fn emit(
        &self,
        ctx: &Context<'_>,
        style: &OnceCell<Stylist>,
        chain: &[Member<'_>],
        out: &mut Vec<Finding>,
    ) {
        if chain.len() < 2 {
            return;
        }
        let doc = ctx.doc;
        let (Some(first), Some(last)) = (chain.first(), chain.last()) else {
            return;
        };
        let style = style.get_or_init(|| Stylist::detect(doc, ctx.settings));
        let (nl, esc, trailing) = (style.newline, style.escape, style.trailing_operator);
        let indent = style.join_indent(doc, first.ins, &self.default_indent);
        let mut text = String::new();
        text.push_str(doc.text(Span::new(
            first.ins.span.start,
            first.ins.command.args_span.start,
        )));
        let n = chain.len();
        for (i, m) in chain.iter().enumerate() {
            let f = &m.facts;
            // State changes are isolated even in last place: shellcheck (and so hadolint) treats an
            // assignment after `&&` as conditional and starts warning about its later uses.
            let group = m.wrap() || (i > 0 && f.has_list_operators);
            let mut body = doc.text(m.ins.command.args_span);
            if f.trailing_separator && i + 1 < n {
                body = body.strip_suffix(';').unwrap_or(body).trim_end();
            }
            let body = if group {
                format!("( {body} )")
            } else {
                body.to_string()
            };
            if i > 0 {
                let prev = &chain[i - 1];
                let gap = doc
                    .source
                    .get(prev.ins.full_end..m.ins.line_start)
                    .unwrap_or("");
                if trailing {
                    text.push_str(" && ");
                    text.push(esc);
                } else {
                    text.push(' ');
                    text.push(esc);
                }
                text.push_str(nl);
                for line in gap.lines() {
                    let line = line.trim_end_matches('\r');
                    if !line.trim().is_empty() {
                        text.push_str(line);
                        text.push_str(nl);
                    }
                }
                // Comment lines between this RUN's keyword and its command (`RUN \` + `# why`).
                for l in &m.ins.lines {
                    if l.kind == LineKind::Comment && l.span.start < m.ins.command.args_span.start {
                        text.push_str(doc.text(l.span));
                        text.push_str(nl);
                    }
                }
                text.push_str(&indent);
                if !trailing {
                    text.push_str("&& ");
                }
            }
            text.push_str(&body);
        }
        let span = Span::new(first.ins.span.start, last.ins.span.end);
        let lines = format!("{}-{}", first.ins.start_line, last.ins.end_line);
        let stale_update = chain.windows(2).find(|w| {
            is_apt_update_alone(&w[0].ins.command.args) && installs_with_apt(&w[1].ins.command.args)
        });
        let mut finding = Finding::new(
            "chain-runs",
            span,
            format!("{n} consecutive RUN instructions (lines {lines}) can be one layer"),
        )
        .with_fix(Fix::safe(vec![Edit::replace(span, text)]));
        if let Some(w) = stale_update {
            finding.message.push_str(&format!(
                "; the `apt-get update` of line {} is cached apart from its install, which then reads a stale package list",
                w[0].ins.start_line
            ));
            finding = finding.with_level(Level::Error);
        }
        out.push(finding);
    }
}

/// `apt-get update` (or `apt update`) with nothing else but options.
fn is_apt_update_alone(args: &str) -> bool {
    let mut words = args.split_whitespace();
    matches!(words.next(), Some("apt-get" | "apt"))
        && words
            .filter(|w| !w.starts_with('-'))
            .eq(std::iter::once("update"))
}

/// Whether a RUN's text runs `apt-get install` (or `apt install`).
fn installs_with_apt(args: &str) -> bool {
    let words: Vec<&str> = args.split_whitespace().collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(*w, "apt-get" | "apt")
            && words
                .get(i + 1..)
                .unwrap_or(&[])
                .iter()
                .take_while(|x| x.starts_with('-'))
                .count()
                .checked_add(i + 1)
                .and_then(|k| words.get(k))
                == Some(&"install")
    })
}

/// A shell-form RUN of its own (not an ONBUILD trigger, no heredoc) whose last physical line ends
/// it: the only RUNs chain-runs will join.
fn plain_shell_run(ins: &Instruction) -> bool {
    let c = &ins.command;
    c.kind == Keyword::Run
        && ins.trigger.is_none()
        && ins.heredocs.is_empty()
        && c.form == Form::Shell
        && matches!(ins.lines.last(), Some(l) if matches!(l.kind, LineKind::Code { continued: false, .. }))
}

/// The shell of a Windows stage, as far as joining RUNs goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WindowsShell {
    Cmd,
    /// PowerShell with `$ErrorActionPreference = 'Stop'` in its SHELL.
    PowerShellStop,
}

impl ChainRuns {
    fn windows_shell(
        &self,
        doc: &Dockerfile,
        analysis: &crate::analysis::Analysis,
        stage: &crate::analysis::Stage,
    ) -> Option<WindowsShell> {
        // The last SHELL of the stage, else of the stage it is built on.
        let mut cur = Some(stage);
        while let Some(st) = cur {
            let shell = doc
                .instructions
                .get(st.from + 1..st.end)
                .unwrap_or(&[])
                .iter()
                .rev()
                .find(|i| i.kind() == Keyword::Shell);
            if let Some(sh) = shell {
                let Form::Exec(argv) = &sh.command.form else {
                    return None;
                };
                let prog = argv
                    .first()?
                    .rsplit(['/', '\\'])
                    .next()?
                    .to_ascii_lowercase();
                let prog = prog.trim_end_matches(".exe");
                return match prog {
                    "cmd" => Some(WindowsShell::Cmd),
                    "powershell" | "pwsh" => {
                        let all = argv.join(" ");
                        (all.contains("ErrorActionPreference") && all.contains("Stop"))
                            .then_some(WindowsShell::PowerShellStop)
                    }
                    _ => None,
                };
            }
            cur = st.parent.and_then(|p| analysis.stages.get(p));
        }
        stage.windows.then_some(WindowsShell::Cmd)
    }

    /// A Windows RUN that may be joined, with its command text trimmed of a trailing separator.
    fn windows_candidate<'d>(
        &self,
        doc: &'d Dockerfile,
        ins: &Instruction,
        shell: WindowsShell,
    ) -> Option<&'d str> {
        if !plain_shell_run(ins) {
            return None;
        }
        let c = &ins.command;
        let args = c.args.trim();
        if args.is_empty()
            || args.contains('#')
            || args.contains('"') && args.matches('"').count() % 2 == 1
        {
            return None;
        }
        let first = args
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match shell {
            WindowsShell::Cmd => {
                // Operators and groups would bind differently; `@`, `::` and `rem` only make sense first.
                if args.contains(['&', '|', '(', ')', '^'])
                    || first.starts_with('@')
                    || first.starts_with("::")
                {
                    return None;
                }
                if self.windows_cmd_state.contains(&first) {
                    return None;
                }
            }
            WindowsShell::PowerShellStop => {
                let statements = args.split(';').map(|st| {
                    st.split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                });
                for w in statements {
                    if self.windows_powershell_state.contains(&w) {
                        return None;
                    }
                }
                if self.powershell_assignment.is_match(args) || args.contains("<#") {
                    return None;
                }
            }
        }
        let body = doc.text(c.args_span);
        Some(body.trim_end().trim_end_matches(';').trim_end())
    }

    fn check_windows(
        &self,
        ctx: &Context<'_>,
        stage: &crate::analysis::Stage,
        out: &mut Vec<Finding>,
    ) {
        let doc = ctx.doc;
        let Some(shell) = self.windows_shell(doc, ctx.analysis, stage) else {
            return;
        };
        let mut chain: Vec<(&Instruction, &str)> = Vec::new();
        for idx in stage.from + 1..stage.end {
            let Some(ins) = doc.instructions.get(idx) else {
                break;
            };
            let cand = self.windows_candidate(doc, ins, shell);
            let joins = match (&cand, chain.last()) {
                (Some(_), Some((prev, _))) => {
                    let gap = doc.source.get(prev.full_end..ins.line_start).unwrap_or("");
                    prev.command.flags.iter().map(|f| &f.text).eq(ins
                        .command
                        .flags
                        .iter()
                        .map(|f| &f.text))
                        && !self.gap_has_pragma(gap)
                }
                _ => false,
            };
            if !joins {
                self.emit_windows(ctx, &chain, shell, out);
                chain.clear();
            }
            if let Some(body) = cand {
                chain.push((ins, body));
            }
        }
        self.emit_windows(ctx, &chain, shell, out);
    }

    fn emit_windows(
        &self,
        ctx: &Context<'_>,
        chain: &[(&Instruction, &str)],
        shell: WindowsShell,
        out: &mut Vec<Finding>,
    ) {
        let (Some((first, _)), Some((last, _))) = (chain.first(), chain.last()) else {
            return;
        };
        if chain.len() < 2 {
            return;
        }
        let doc = ctx.doc;
        let nl = doc.newline();
        let indent =
            Stylist::detect(doc, ctx.settings).join_indent(doc, first, &self.default_indent);
        let mut text = doc
            .text(Span::new(first.span.start, first.command.args_span.start))
            .to_string();
        for (i, (ins, body)) in chain.iter().enumerate() {
            if i > 0 {
                let prev = chain[i - 1].0;
                text.push_str(if shell == WindowsShell::Cmd {
                    " "
                } else {
                    "; "
                });
                text.push(doc.escape);
                text.push_str(nl);
                let gap = doc.source.get(prev.full_end..ins.line_start).unwrap_or("");
                for line in gap
                    .lines()
                    .map(|l| l.trim_end_matches('\r'))
                    .filter(|l| !l.trim().is_empty())
                {
                    text.push_str(line);
                    text.push_str(nl);
                }
                for l in ins.lines.iter().filter(|l| {
                    l.kind == LineKind::Comment && l.span.start < ins.command.args_span.start
                }) {
                    text.push_str(doc.text(l.span));
                    text.push_str(nl);
                }
                text.push_str(&indent);
                if shell == WindowsShell::Cmd {
                    text.push_str("&& ");
                }
            }
            text.push_str(body);
        }
        let span = Span::new(first.span.start, last.span.end);
        let n = chain.len();
        let why = match shell {
            WindowsShell::Cmd => "a joined command no longer sees machine environment changes (PATH set by an installer) made by an earlier one",
            WindowsShell::PowerShellStop => "a joined command no longer sees machine environment changes (PATH set by an installer) made by an earlier one, and PowerShell goes on after a failing native command",
        };
        out.push(
            Finding::new(
                "chain-runs",
                span,
                format!("{n} consecutive RUN instructions (lines {}-{}) can be one layer (unsafe on Windows: {why})", first.start_line, last.end_line),
            )
            .with_fix(Fix::unsafe_(vec![Edit::replace(span, text)])),
        );
    }
}
