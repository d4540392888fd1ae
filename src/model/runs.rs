//! The RUNs the layer-hygiene rules edit (the rules' old shared helper `passes::runtext`): the
//! text a shell-form `RUN` hands to `/bin/sh -c`, mapped byte for byte back to the source, read
//! once per distinct text ([`Memo`]) into words and simple commands, and the edits that insert a
//! word after another one or append commands at the end of the script.

use super::script::{is_assignment, Cmd, Script, Word};
use super::shell::{Reading, Tree, Unsupported};
use super::stages::Stage;
use super::top_level as shell;
use crate::config::Settings;
use crate::edit::Edit;
use crate::rule_data::LazyRegex;
use crate::syntax::{Dockerfile, Form, Instruction, Keyword, LineKind, Span};

/// What the RUN readers need of a rule's context (`passes::Context` implements it): the model
/// cannot name the rules' types.
pub trait RunContext<'a> {
    fn doc(&self) -> &'a Dockerfile;
    fn stages(&self) -> &'a [Stage];
    fn settings(&self) -> &'a Settings;
    fn memo(&self) -> &'a Memo;
    /// Where [`runs_with`] keeps the file's RUNs (without / with ONBUILD triggers).
    fn runs_cache(&self) -> &[std::cell::OnceCell<Vec<Run<'a>>>; 2];
}

/// The command text of a shell-form RUN and where each of its bytes sits in the source.
#[derive(Debug, Clone)]
pub struct RunText {
    /// Equal to `command.args`: continuations joined, comment lines dropped.
    pub text: String,
    /// One entry per source line the text is taken from: (offset in `text`, offset in the source),
    /// in order. A text byte maps to the source through the last segment starting at or before it.
    segments: Vec<(usize, usize)>,
}

impl RunText {
    /// The RUN's text when it is a plain shell-form RUN (no heredoc, no ONBUILD, one that ends on a
    /// code line) and the source maps exactly onto BuildKit's argument string.
    pub fn of(doc: &Dockerfile, ins: &Instruction) -> Option<RunText> {
        if ins.trigger.is_some() {
            return None;
        }
        Self::of_effective(doc, ins)
    }

    /// Like [`RunText::of`], and also the RUN of `ONBUILD RUN …`.
    pub fn of_effective(doc: &Dockerfile, ins: &Instruction) -> Option<RunText> {
        let c = ins.effective();
        if c.kind != Keyword::Run || !ins.heredocs.is_empty() || c.form != Form::Shell {
            return None;
        }
        match ins.lines.last() {
            Some(l)
                if matches!(
                    l.kind,
                    LineKind::Code {
                        continued: false,
                        ..
                    }
                ) => {}
            _ => return None,
        }
        // Rebuild BuildKit's string from the code lines, trimmed as BuildKit trims it, and check
        // that it is exactly `c.args`: then every byte maps back to one source byte.
        // Source ranges, in order: at most one per line.
        let mut pieces: Vec<(usize, usize)> = Vec::with_capacity(ins.lines.len());
        for l in &ins.lines {
            if let LineKind::Code { content, .. } = l.kind {
                let start = content.start.max(c.args_span.start);
                let end = content.end.min(c.args_span.end);
                if start < end {
                    pieces.push((start, end));
                }
            }
        }
        let is_space = |b: u8| b.is_ascii_whitespace();
        let src = doc.source.as_bytes();
        // Drop leading and trailing whitespace across pieces (str::trim on the joined text; the
        // comparison with `c.args` below catches any non-ASCII whitespace difference).
        while let Some(first) = pieces.first_mut() {
            let (s, e) = *first;
            let skip = src.get(s..e)?.iter().take_while(|&&b| is_space(b)).count();
            if s + skip < e {
                first.0 = s + skip;
                break;
            }
            pieces.remove(0);
        }
        while let Some(last) = pieces.last_mut() {
            let (s, e) = *last;
            let skip = src
                .get(s..e)?
                .iter()
                .rev()
                .take_while(|&&b| is_space(b))
                .count();
            if s + skip < e {
                last.1 = e - skip;
                break;
            }
            pieces.pop();
        }
        let mut text = String::with_capacity(c.args.len());
        let mut segments = Vec::with_capacity(pieces.len());
        for (s, e) in pieces {
            segments.push((text.len(), s));
            text.push_str(doc.source.get(s..e)?);
        }
        if text != c.args || text.is_empty() {
            return None;
        }
        Some(RunText { text, segments })
    }

    /// Source offset of text byte `i`.
    fn src_of(&self, i: usize) -> Option<usize> {
        if i >= self.text.len() {
            return None;
        }
        let k = self
            .segments
            .partition_point(|&(t, _)| t <= i)
            .checked_sub(1)?;
        let (t, s) = *self.segments.get(k)?;
        Some(s + (i - t))
    }

    /// Source offset just after text byte `end - 1` (the place to insert after a word).
    pub fn src_after(&self, end: usize) -> Option<usize> {
        end.checked_sub(1)
            .and_then(|i| self.src_of(i))
            .map(|o| o + 1)
    }

    /// Source span of text bytes `start..end` when they are contiguous in the source.
    pub fn src_span(&self, start: usize, end: usize) -> Option<Span> {
        let s = self.src_of(start)?;
        let e = self.src_after(end)?;
        (e >= s && e - s == end - start).then(|| Span::new(s, e))
    }
}

/// A RUN the hygiene passes may edit, with its text and words.
pub struct Run<'a> {
    pub index: usize,
    pub ins: &'a Instruction,
    pub stage: &'a Stage,
    pub rt: RunText,
    pub script: std::rc::Rc<Script>,
    /// The script's literal variable assignments, taken from the memo on first use (most RUNs
    /// never need them).
    vars: std::cell::OnceCell<std::rc::Rc<crate::model::files::Vars>>,
}

impl Run<'_> {
    /// Variables assigned once to a literal in the script (see [`crate::model::files::Vars`]).
    /// `memo` is the rules' memo: the variables are read off the tree it keeps of the text.
    pub(crate) fn vars(&self, memo: &Memo) -> &crate::model::files::Vars {
        self.vars.get_or_init(|| memo.vars(&self.rt.text))
    }

    /// `target=` paths of the RUN's `--mount=type=cache` and `type=tmpfs` flags.
    pub fn cache_mounts(&self) -> Vec<String> {
        cache_mount_targets(self.ins)
    }
}

/// `target=` paths of an instruction's cache and tmpfs mounts.
pub fn cache_mount_targets(ins: &Instruction) -> Vec<String> {
    let mut out = Vec::new();
    for f in &ins.command.flags {
        if !f.name().eq_ignore_ascii_case("mount") {
            continue;
        }
        let Some(v) = f.value() else { continue };
        let mut kind = "bind";
        let mut target = None;
        for part in v.split(',') {
            let (k, val) = part.split_once('=').unwrap_or((part, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "type" => kind = val.trim(),
                "target" | "dst" | "destination" => {
                    target = Some(val.trim().trim_matches('"').to_string())
                }
                _ => {}
            }
        }
        if matches!(kind, "cache" | "tmpfs") {
            if let Some(t) = target {
                out.push(t);
            }
        }
    }
    out
}

/// Whether a mount target covers `dir` (the mount is `dir` itself or one of its parents or
/// children: either way the cache never reaches the layer in full).
pub fn mount_covers(targets: &[String], dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    targets.iter().any(|t| {
        let t = t.trim_end_matches('/');
        !t.is_empty() && (dir.starts_with(t) || t.starts_with(dir))
    })
}

/// The script's last word is a `esac` that closes a top-level `case`.
fn ends_with_case(run: &Run<'_>) -> bool {
    let t = run.rt.text.trim_end();
    t.strip_suffix("esac").is_some_and(|before| {
        before.is_empty() || before.ends_with(|c: char| c.is_whitespace() || c == ';')
    }) && run.script.cmds.iter().any(|c| c.depth > 0)
}

/// Every editable RUN in the POSIX, non-Windows stages, in order (`ONBUILD RUN` excluded).
pub fn runs<'c, 'a>(ctx: &'c impl RunContext<'a>) -> &'c [Run<'a>] {
    runs_with(ctx, false)
}

/// Like [`runs`], with `ONBUILD RUN` triggers included when `onbuild` (for edits that stay
/// inside one command, such as adding a switch).
pub fn runs_with<'c, 'a>(ctx: &'c impl RunContext<'a>, onbuild: bool) -> &'c [Run<'a>] {
    // Several passes read the same RUNs: parse them once per file.
    ctx.runs_cache()[onbuild as usize].get_or_init(|| parse_runs(ctx, onbuild))
}

fn parse_runs<'a>(ctx: &impl RunContext<'a>, onbuild: bool) -> Vec<Run<'a>> {
    let doc = ctx.doc();
    // At most one per instruction: sized once instead of grown RUN by RUN.
    let mut out = Vec::with_capacity(doc.instructions.len());
    // With ONBUILD triggers, every other RUN is one `runs` already read: copy those (in index
    // order, like the loop below) instead of reading their text a second time.
    let mut plain = if onbuild {
        runs_with(ctx, false).iter().peekable()
    } else {
        [].iter().peekable()
    };
    for stage in ctx.stages() {
        if stage.windows || !(stage.shell.is_posix() || posix_with_options(ctx, stage)) {
            continue;
        }
        for idx in stage.from + 1..stage.end {
            let Some(ins) = doc.instructions.get(idx) else {
                break;
            };
            if onbuild && ins.trigger.is_none() {
                // Not a trigger: `runs` has it if it is editable at all (same text, same test).
                while plain.next_if(|r| r.index < idx).is_some() {}
                if let Some(r) = plain.next_if(|r| r.index == idx) {
                    out.push(Run {
                        index: r.index,
                        ins: r.ins,
                        stage: r.stage,
                        rt: r.rt.clone(),
                        script: r.script.clone(),
                        vars: std::cell::OnceCell::new(),
                    });
                }
                continue;
            }
            let rt = if onbuild {
                RunText::of_effective(doc, ins)
            } else {
                RunText::of(doc, ins)
            };
            let Some(rt) = rt else {
                continue;
            };
            let Some(script) = ctx.memo().script(&rt.text) else {
                continue;
            };
            out.push(Run {
                index: idx,
                ins,
                stage,
                rt,
                script,
                vars: std::cell::OnceCell::new(),
            });
        }
    }
    out
}

/// A stage whose `SHELL` is a POSIX shell run with options such as `-e` or `-o pipefail`
/// (`["/bin/ash", "-exo", "pipefail", "-c"]`): the analysis sets it apart because joining RUNs
/// there is different, but words can be edited and commands appended as in `/bin/sh -c`.
fn posix_with_options<'a>(ctx: &impl RunContext<'a>, stage: &Stage) -> bool {
    let stages = ctx.stages();
    let mut seen_shell = false;
    let mut cur = Some(stage);
    while let Some(s) = cur {
        for idx in s.from + 1..s.end {
            let Some(ins) = ctx.doc().instructions.get(idx) else {
                break;
            };
            if ins.kind() != Keyword::Shell {
                continue;
            }
            seen_shell = true;
            let Form::Exec(argv) = &ins.command.form else {
                return false;
            };
            let name = argv
                .first()
                .map(|a| super::script::basename(a))
                .unwrap_or("");
            let ends_c = argv
                .last()
                .map(|a| a.starts_with('-') && a.ends_with('c'))
                .unwrap_or(false);
            if !matches!(
                name,
                "sh" | "bash" | "dash" | "ash" | "ksh" | "mksh" | "zsh"
            ) || !ends_c
            {
                return false;
            }
        }
        if s.windows {
            return false;
        }
        cur = s.parent.and_then(|p| stages.get(p));
    }
    seen_shell
}

/// Inserts ` text` right after the word (e.g. ` -y` after `install`).
pub fn insert_after(rt: &RunText, w: &Word, text: &str) -> Option<Edit> {
    insert_at_end_of(rt, w.end, &format!(" {text}"))
}

/// An edit that puts `text` right after text byte `end - 1`. It is written as a replacement of the
/// character before, not as a bare insertion, so that it conflicts with (and waits for) any other
/// fix that rewrites the RUN: an insertion at the very end of a replaced range would otherwise be
/// applied alongside it.
fn insert_at_end_of(rt: &RunText, end: usize, text: &str) -> Option<Edit> {
    let mut start = end.checked_sub(1)?;
    while !rt.text.is_char_boundary(start) {
        start = start.checked_sub(1)?;
    }
    let span = rt.src_span(start, end)?;
    let last = rt.text.get(start..end)?;
    Some(Edit::replace(span, format!("{last}{text}")))
}

/// Appends `commands` at the end of the RUN's script so that they run once everything before has
/// succeeded, following the file's style (`&&` leading or trailing, `set -e; …; \` lists, one
/// line or continuation lines). `None` when the end of the script is not a place where an added
/// command is sure to run last: a trailing `;` or `&`, a background job, a comment, `exec`/`exit`
/// as the last command.
pub fn append_commands<'a>(
    ctx: &impl RunContext<'a>,
    run: &Run<'_>,
    commands: &[String],
) -> Option<Edit> {
    if commands.is_empty() {
        return None;
    }
    let doc = ctx.doc();
    let settings = ctx.settings();
    // One split gives both the operators (comment, background job, trailing separator) and the
    // top-level commands.
    let mut facts = shell::ShellFacts::default();
    let errexit_first;
    if let Some(top) = ctx.memo().split_top_level(&run.rt.text, &mut facts) {
        if facts.has_comment || facts.has_background || facts.trailing_separator {
            return None;
        }
        let last = top.last()?;
        let first_word = last
            .words
            .iter()
            .find(|w| !is_assignment(w))
            .copied()
            .unwrap_or("");
        if matches!(first_word, "exec" | "exit" | "return")
            || run.script.top_ops.last() == Some(&"&")
        {
            return None;
        }
        errexit_first = top.first().is_some_and(|c| {
            c.words.first().copied() == Some("set")
                && c.words
                    .iter()
                    .skip(1)
                    .any(|w| shell::is_short_option_with_e(w) || *w == "errexit")
        });
    } else if ends_with_case(run) {
        // chain-runs' tokeniser does not read `case` patterns, but this one did (no comment, no
        // here-document, balanced): a script that ends with `esac` ends with its top-level `case`,
        // so an appended command runs after it, as after any other last command.
        if run.script.top_ops.contains(&"&") {
            return None;
        }
        errexit_first = run.script.cmds.first().is_some_and(|c| {
            c.depth == 0
                && c.program() == "set"
                && c.args()
                    .iter()
                    .any(|w| shell::is_short_option_with_e(&w.text) || w.text == "errexit")
        });
    } else {
        return None;
    }
    let end = run.rt.text.len();
    // `set -eux; a; b` lists keep their `;` style (errexit makes `;` stop on failure).
    let semis = run.script.top_ops.iter().filter(|o| **o == ";").count();
    let ands = run.script.top_ops.iter().filter(|o| **o == "&&").count();
    let semicolon = errexit_first && semis > ands;
    let code_lines: Vec<_> = run
        .ins
        .lines
        .iter()
        .filter_map(|l| match l.kind {
            LineKind::Code { content, .. } => Some((l.span, content)),
            _ => None,
        })
        .collect();
    let multiline = code_lines.len() > 1;
    let mut text = String::new();
    if !multiline {
        let sep = if semicolon { "; " } else { " && " };
        for c in commands {
            text.push_str(sep);
            text.push_str(c);
        }
        return insert_at_end_of(&run.rt, end, &text);
    }
    let style = crate::model::style::Stylist::detect(doc, settings);
    let (nl, esc, trailing) = (style.newline, style.escape, style.trailing_operator);
    let spans: Vec<Span> = code_lines.iter().map(|(span, _)| *span).collect();
    let indent = style.append_indent(doc, &spans);
    for c in commands {
        if semicolon {
            text.push_str(&format!("; {esc}{nl}{indent}{c}"));
        } else if trailing {
            text.push_str(&format!(" && {esc}{nl}{indent}{c}"));
        } else {
            text.push_str(&format!(" {esc}{nl}{indent}&& {c}"));
        }
    }
    insert_at_end_of(&run.rt, end, &text)
}

/// True when the file's multi-line RUNs put `&&` at the end of lines rather than the start.
pub fn file_prefers_trailing_operator(doc: &Dockerfile) -> bool {
    crate::model::style::prefers_trailing_operator(doc)
}

/// `stage` and the later stages built on it (`FROM <its alias>`, transitively).
pub fn stage_family<'a>(ctx: &impl RunContext<'a>, stage: &Stage) -> Vec<&'a Stage> {
    let stages = ctx.stages();
    let Some(me) = stages.iter().position(|s| s.from == stage.from) else {
        return Vec::new();
    };
    let mut fam = vec![me];
    for (i, s) in stages.iter().enumerate().skip(me + 1) {
        if s.parent.map(|p| fam.contains(&p)).unwrap_or(false) {
            fam.push(i);
        }
    }
    fam.into_iter().filter_map(|i| stages.get(i)).collect()
}

/// The commands of `run` whose program is one of `programs` and that have one of `subcommands`
/// but no argument matching `decided`: each with the subcommand word (where a switch goes).
pub fn missing_switch<'r>(
    run: &'r Run<'_>,
    is_program: impl Fn(&Cmd) -> bool,
    subcommands: &[String],
    decided: &[LazyRegex],
) -> Vec<(&'r Cmd, &'r Word)> {
    let mut out = Vec::new();
    for c in &run.script.cmds {
        if !is_program(c) {
            continue;
        }
        let Some(sub) = c.find_arg(subcommands) else {
            continue;
        };
        if c.args()
            .iter()
            .any(|w| decided.iter().any(|r| r.is_match(&w.text)))
        {
            continue;
        }
        out.push((c, sub));
    }
    out
}

/// What the rules work out of a RUN's text, kept across the fixed-point rounds of one file: a
/// round after a fix re-reads every RUN, and most of them did not change.
#[derive(Default)]
pub struct Memo {
    readings: std::cell::RefCell<TextMap<std::rc::Rc<Reading>>>,
    scripts: std::cell::RefCell<TextMap<Option<std::rc::Rc<Script>>>>,
    chain_facts: std::cell::RefCell<TextMap<shell::ShellFacts>>,
    vars: std::cell::RefCell<TextMap<std::rc::Rc<crate::model::files::Vars>>>,
}

/// A map keyed by RUN texts, hashed with FxHash: SipHash's resistance to chosen keys buys nothing
/// in a table that lives for one file, and it hashed each RUN's text several times slower.
type TextMap<T> = std::collections::HashMap<String, T, std::hash::BuildHasherDefault<FxHasher>>;

/// The Fx hash (rustc's): a rotate, xor and multiply per 8 bytes.
#[derive(Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

impl Memo {
    /// The shell reading of a RUN's text (see [`super::script::parse`]), read once per distinct text.
    pub fn script(&self, text: &str) -> Option<std::rc::Rc<Script>> {
        memoized(&self.scripts, text, || {
            let tree = self.tree(text);
            let tree = tree.as_ref().as_ref().ok()?;
            Some(std::rc::Rc::new(super::script::of_tree(text, tree)))
        })
    }

    /// The shell tree of a RUN's text ([`Tree::parse`]), read once per distinct text: every
    /// reading of the text (the rules' [`Script`], the effects and facts of a RUN) walks this one
    /// tree instead of scanning the text again.
    pub fn tree(&self, text: &str) -> std::rc::Rc<Result<Tree, Unsupported>> {
        self.reading(text).tree(text)
    }

    /// The one lexing of a RUN's text that its tree and its top-level reading share.
    fn reading(&self, text: &str) -> std::rc::Rc<Reading> {
        memoized(&self.readings, text, || {
            std::rc::Rc::new(Reading::new(text))
        })
    }

    /// The variables a RUN's text assigns ([`crate::model::files::Vars`]), read once per distinct
    /// text off its tree: the RUN lists of every round (and the lists with and without ONBUILD
    /// triggers) ask for the same texts.
    fn vars(&self, text: &str) -> std::rc::Rc<crate::model::files::Vars> {
        memoized(&self.vars, text, || {
            std::rc::Rc::new(crate::model::files::Vars::of_tree(text, &self.tree(text)))
        })
    }

    /// [`shell::split_top_level`] of a RUN's text, from its one lexing.
    pub fn split_top_level<'t>(
        &self,
        text: &'t str,
        facts: &mut shell::ShellFacts,
    ) -> Option<Vec<shell::SimpleCommand<'t>>> {
        shell::split_tokens(text, self.reading(text).tokens().ok()?, facts)
    }

    /// chain-runs' shell facts for a RUN's text ([`shell::analyse_with`]), worked out once per
    /// distinct text from its one lexing.
    pub fn chain_facts(
        &self,
        text: &str,
        is_state_builtin: impl Fn(&str) -> bool,
    ) -> shell::ShellFacts {
        memoized(&self.chain_facts, text, || {
            let reading = self.reading(text);
            shell::analyse_tokens(text, reading.tokens().ok(), is_state_builtin)
        })
    }
}

/// The value kept for `key`, computed and kept on first use.
fn memoized<T: Clone>(
    map: &std::cell::RefCell<TextMap<T>>,
    key: &str,
    compute: impl FnOnce() -> T,
) -> T {
    if let Some(v) = map.borrow().get(key) {
        return v.clone();
    }
    let v = compute();
    map.borrow_mut().insert(key.to_string(), v.clone());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_text_maps_continuations() {
        let src = "FROM a\nRUN apt-get update \\\n    # note\n    && apt-get install -y x\n";
        let doc = Dockerfile::parse(src).unwrap_or_else(|e| panic!("{}", e.message));
        let ins = &doc.instructions[1];
        let rt = RunText::of(&doc, ins).unwrap_or_else(|| panic!("no run text"));
        assert_eq!(rt.text, ins.command.args);
        let script = crate::model::script::parse(&rt.text).unwrap_or_else(|| panic!("no script"));
        let install = script.cmds[1].find_arg(&["install"]).cloned();
        let install = install.unwrap_or_else(|| panic!("no install"));
        let span = rt
            .src_span(install.start, install.end)
            .unwrap_or_else(|| panic!("span"));
        assert_eq!(doc.text(span), "install");
    }

    #[test]
    fn mounts() {
        let t = vec!["/var/lib/apt".to_string()];
        assert!(mount_covers(&t, "/var/lib/apt/lists"));
        assert!(!mount_covers(&t, "/var/cache/apk"));
    }
}
