//! The Dockerfile text of the split: the build stage named, runtime metadata moved out of it, the
//! runtime stage written after it.

use super::{MultiStage, Plan};
use crate::edit::Edit;
use crate::model::stage_facts::{env_pairs, var_refs, within, StageFacts};
use crate::model::start::{json_array, StartOut};
use crate::passes::Context;
use crate::syntax::{Dockerfile, Instruction, Keyword, Span};

pub(super) fn kw(doc: &Dockerfile, from: &Instruction, word: &str) -> String {
    let _ = doc;
    if from.command.keyword.chars().all(|c| c.is_ascii_lowercase()) {
        word.to_ascii_lowercase()
    } else {
        word.to_string()
    }
}

/// Byte offset where an instruction's block starts: its own first line, or the comment lines
/// directly above it (no blank line between), when `prev_end` (end of the instruction before) allows.
pub fn block_start(doc: &Dockerfile, ins: &Instruction, prev_end: usize) -> usize {
    let gap = doc.source.get(prev_end..ins.line_start).unwrap_or("");
    let mut start = ins.line_start;
    let mut offset = ins.line_start;
    for line in gap.split_inclusive('\n').rev() {
        offset -= line.len();
        let t = line.trim();
        if t.starts_with('#') {
            start = offset;
        } else {
            break;
        }
    }
    start
}

impl MultiStage {
    /// Instructions that move from the build stage to the runtime stage.
    pub(super) fn moved(
        &self,
        doc: &Dockerfile,
        from: usize,
        end: usize,
        facts: &StageFacts,
    ) -> Vec<usize> {
        (from + 1..end)
            .filter(|i| {
                doc.instructions
                    .get(*i)
                    .map(|ins| match ins.kind() {
                        Keyword::Cmd
                        | Keyword::Entrypoint
                        | Keyword::Expose
                        | Keyword::Healthcheck
                        | Keyword::Stopsignal
                        | Keyword::Label
                        | Keyword::Maintainer
                        | Keyword::Volume => true,
                        Keyword::User => {
                            !facts.run_after_user
                                && facts.user.as_ref().map(|(u, _)| u == i).unwrap_or(false)
                        }
                        _ => false,
                    })
                    .unwrap_or(false)
            })
            .collect()
    }

    pub(super) fn edits(
        &self,
        ctx: &Context<'_>,
        from: &Instruction,
        facts: &StageFacts,
        plan: &Plan,
    ) -> (Vec<Edit>, String) {
        let doc = ctx.doc;
        let nl = doc.newline();
        let k = |w: &str| kw(doc, from, w);
        let Some(stage) = ctx.analysis.stages.first() else {
            return (Vec::new(), String::new());
        };
        let mut edits: Vec<Edit> = Vec::new();
        // 1. name the build stage. A named stage keeps its name on the runtime stage (what
        // `--target` and other files' `COPY --from` mean by it) and the build stage takes a
        // derived one.
        let (alias, final_name) = match &stage.alias {
            Some(_) => {
                let args = doc.text(from.command.args_span);
                let trimmed = args.trim_end();
                let start = trimmed
                    .rfind(char::is_whitespace)
                    .map(|i| i + 1)
                    .unwrap_or(0);
                let written = trimmed[start..].to_string();
                let build = format!("{written}-build");
                let at = from.command.args_span.start + start;
                edits.push(Edit::replace(
                    Span::new(at, at + written.len()),
                    build.clone(),
                ));
                (build, Some(written))
            }
            None => {
                edits.push(Edit::insert(
                    from.command.args_span.end,
                    format!(" {} build", k("AS")),
                ));
                ("build".to_string(), None)
            }
        };
        edits.extend(plan.build_edits.iter().cloned());
        // 2. move runtime metadata out of the build stage
        let moved = self.moved(doc, stage.from, stage.end, facts);
        let mut blocks: Vec<(usize, String)> = Vec::new();
        for &i in &moved {
            let Some(ins) = doc.instructions.get(i) else {
                continue;
            };
            let prev_end = i
                .checked_sub(1)
                .and_then(|p| doc.instructions.get(p))
                .map(|p| p.full_end)
                .unwrap_or(0);
            let start = block_start(doc, ins, prev_end);
            // Blank lines before the block go with it (they separated it from what stays).
            let mut del_start = start;
            let before = doc.source.get(prev_end..start).unwrap_or("");
            if !before.is_empty() && before.trim().is_empty() {
                del_start = prev_end;
            }
            edits.push(Edit::delete(Span::new(del_start, ins.full_end)));
            let comments = doc
                .source
                .get(start..ins.line_start)
                .unwrap_or("")
                .to_string();
            blocks.push((
                i,
                format!(
                    "{comments}{}",
                    doc.text(Span::new(ins.line_start, ins.span.end))
                ),
            ));
        }
        // 3. the runtime stage
        let mut body: Vec<String> = Vec::new();
        match &final_name {
            Some(n) => body.push(format!(
                "{} {} {} {n}",
                k("FROM"),
                plan.choice.image,
                k("AS")
            )),
            None => body.push(format!("{} {}", k("FROM"), plan.choice.image)),
        }
        // variables the carried text needs
        let mut carried_env: Vec<String> = Vec::new();
        for &i in &facts.env_ins {
            let Some(ins) = doc.instructions.get(i) else {
                continue;
            };
            let keys = env_pairs(ins, doc.escape);
            if keys
                .iter()
                .all(|(k, _)| self.data.build_env.iter().any(|b| b == k))
            {
                continue;
            }
            if path_names_only_missing(&keys, plan) {
                continue;
            }
            carried_env.push(
                doc.text(Span::new(ins.line_start, ins.span.end))
                    .to_string(),
            );
        }
        let mut text_for_vars: String = carried_env.join("\n");
        for (_, b) in &blocks {
            text_for_vars.push('\n');
            text_for_vars.push_str(b);
        }
        let refs = var_refs(&text_for_vars);
        let mut args_lines: Vec<String> = Vec::new();
        for (i, names) in &facts.arg_ins {
            if names.iter().any(|n| refs.contains(n)) {
                if let Some(ins) = doc.instructions.get(*i) {
                    args_lines.push(
                        doc.text(Span::new(ins.line_start, ins.span.end))
                            .to_string(),
                    );
                }
            }
        }
        let local: Vec<&String> = facts.arg_ins.iter().flat_map(|(_, n)| n).collect();
        for ins in doc.instructions.iter().take(ctx.analysis.preamble_end) {
            if ins.kind() == Keyword::Arg {
                for (name, _) in env_pairs(ins, doc.escape) {
                    if refs.contains(&name) && !local.contains(&&name) {
                        args_lines.push(format!("{} {name}", k("ARG")));
                    }
                }
            }
        }
        body.extend(args_lines);
        body.extend(carried_env);
        body.extend(
            plan.extra_env
                .iter()
                .map(|e| e.replacen("ENV", &k("ENV"), 1)),
        );
        // The build image's own working directory (golang's /go) counts too: relative paths in
        // CMD depend on it.
        let workdir = facts
            .final_workdir
            .as_ref()
            .filter(|w| facts.has_workdir || *w != "/");
        // The app folder must belong to the runtime user, not only its contents: a COPY into an
        // existing folder (which WORKDIR would create, owned by root) copies the contents and
        // leaves the folder root-owned, so an app that creates a file there fails (EACCES). A
        // COPY --chown that creates the folder makes it the user's (BuildKit creates missing
        // destination folders with the --chown owner), so WORKDIR then follows the COPY.
        let workdir_after_copy = workdir.is_some_and(|wd| {
            plan.chown.is_some() && plan.copies.first().is_some_and(|c| c == wd)
        });
        if let Some(wd) = workdir.filter(|_| !workdir_after_copy) {
            body.push(format!("{} {wd}", k("WORKDIR")));
        }
        if let Some(r) = &plan.runtime_install {
            body.push(r.clone());
        }
        if let Some(u) = &plan.user_setup {
            body.push(u.replacen("RUN", &k("RUN"), 1));
        }
        for c in &plan.copies {
            let chown = match &plan.chown {
                Some(o) if c == plan.copies.first().unwrap_or(c) => format!(" --chown={o}"),
                _ => String::new(),
            };
            body.push(format!("{} --from={alias}{chown} {c} {c}", k("COPY")));
        }
        for (from_path, to_path) in &plan.relocated {
            let chown = plan
                .chown
                .as_ref()
                .map(|o| format!(" --chown={o}"))
                .unwrap_or_default();
            body.push(format!(
                "{} --from={alias}{chown} {from_path} {to_path}",
                k("COPY")
            ));
        }
        if let Some(wd) = workdir.filter(|_| workdir_after_copy) {
            body.push(format!("{} {wd}", k("WORKDIR")));
        }
        let mut start_comments = String::new();
        let user_done = blocks
            .iter()
            .any(|(i, _)| doc.instructions.get(*i).map(|x| x.kind()) == Some(Keyword::User));
        if !user_done {
            if let Some(Some(u)) = &plan.user_line {
                // The original USER stays in the build stage (a RUN follows it) or there was none.
                body.push(format!("{} {u}", k("USER")));
            } else if facts.user.is_some() && plan.user_line.is_none() {
                if let Some((_, u)) = &facts.user {
                    let root = matches!(u.split(':').next().unwrap_or(u), "root" | "0");
                    let numeric = u.chars().all(|c| c.is_ascii_digit() || c == ':');
                    if root || numeric || plan.choice.has_shell {
                        body.push(format!("{} {u}", k("USER")));
                    }
                }
            }
        }
        for (i, b) in &blocks {
            let ins = &doc.instructions[*i];
            match ins.kind() {
                Keyword::Cmd | Keyword::Entrypoint if plan.start != StartOut::Verbatim => {
                    let c = b
                        .get(..b.len() - doc.text(Span::new(ins.line_start, ins.span.end)).len())
                        .unwrap_or("");
                    start_comments.push_str(c);
                }
                Keyword::User => match &plan.user_line {
                    Some(None) => {}
                    Some(Some(u)) => body.push(format!("{} {u}", k("USER"))),
                    None => body.push(b.clone()),
                },
                _ => body.push(b.clone()),
            }
        }
        if let StartOut::Exec { entrypoint, cmd } = &plan.start {
            let mut s = start_comments;
            if let Some(e) = entrypoint {
                s.push_str(&format!("{} {}", k("ENTRYPOINT"), json_array(e)));
                if cmd.is_some() {
                    s.push_str(nl);
                }
            }
            if let Some(c) = cmd {
                s.push_str(&format!("{} {}", k("CMD"), json_array(c)));
            }
            body.push(s);
        }
        // A comment block after the last instruction (a footer, how to run the image, a
        // commented-out CMD) stays at the end of the file, after the runtime stage: that is where
        // the reader found it, and what it describes is the image, which the runtime stage is.
        let end = trailing_comments_start(doc).unwrap_or(doc.source.len());
        let mut text = String::new();
        if end > 0 && !doc.source[..end].ends_with('\n') {
            text.push_str(nl);
        }
        text.push_str(nl);
        for line in body {
            text.push_str(&line.replace('\n', nl).replace("\r\r", "\r"));
            text.push_str(nl);
        }
        // A build edit may insert at the very end too (`npm prune` after a last `COPY . .` when
        // no CMD follows it): one insertion per point, the runtime stage after it.
        match edits
            .iter_mut()
            .find(|e| e.span.start == end && e.span.end == end)
        {
            Some(e) => e.replacement.push_str(&text),
            None => edits.push(Edit::insert(end, text)),
        }
        let copied = plan.copies.join(", ");
        (edits, copied)
    }
}

/// Where the comment block after the last instruction starts (the end of that instruction's
/// line), when the file ends with comments and blank lines only, one comment at least.
fn trailing_comments_start(doc: &Dockerfile) -> Option<usize> {
    let last = doc.instructions.last()?;
    let tail = doc.source.get(last.full_end..)?;
    let is_comment = |l: &str| l.trim_start().starts_with('#');
    (tail.lines().any(is_comment) && tail.lines().all(|l| l.trim().is_empty() || is_comment(l)))
        .then_some(last.full_end)
}

/// Folders every image has on its PATH.
const SYSTEM_BIN: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Whether an ENV sets only PATH, prepending or appending folders none of which the runtime stage
/// has (`ENV PATH=/opt/venv/bin:$PATH` when only the venv's site-packages is copied,
/// `/usr/local/go/bin` of the build image): carried over, it would name folders that are not
/// there. A PATH built any other way (a variable, a relative folder) is kept as written.
fn path_names_only_missing(keys: &[(String, String)], plan: &Plan) -> bool {
    let [(key, value)] = keys else {
        return false;
    };
    if key != "PATH" {
        return false;
    }
    let value = value.trim_matches('"');
    let (inherited, added): (Vec<&str>, Vec<&str>) = value
        .split(':')
        .partition(|e| matches!(*e, "$PATH" | "${PATH}"));
    let present = |dir: &str| {
        let dir = dir.trim_end_matches('/');
        SYSTEM_BIN.contains(&dir)
            || plan
                .copies
                .iter()
                .chain(plan.relocated.iter().map(|(_, to)| to))
                .any(|c| within(dir, c) || within(c, dir))
    };
    inherited.len() == 1
        && !added.is_empty()
        && added
            .iter()
            .all(|d| d.starts_with('/') && !d.contains(['$', '`', '"', '\'']) && !present(d))
}
