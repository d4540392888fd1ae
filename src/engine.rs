//! Runs the rules over one file: findings, fixes applied to a fixed point, and a final re-parse.

use crate::analysis::Analysis;
use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::edit::{apply_fixes, Finding, Level, Safety};
use crate::passes::{Context, Memo, Registry};
use crate::syntax::{Dockerfile, ParseError};
use std::path::{Path, PathBuf};

/// More rounds than any real file needs: each round applies every non-overlapping fix.
const MAX_ROUNDS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The input is not a Dockerfile BuildKit would accept.
    Parse(ParseError),
    /// A fix produced text that no longer parses, or fixes did not settle: a bug in dfopt. The file
    /// is never written.
    Internal {
        line: usize,
        col: usize,
        message: String,
    },
}

impl FileError {
    /// The error located in the file shown as `path`, printed `path:line:col: error: message`
    /// like every other error of dfopt.
    pub fn diagnostic(&self, path: impl Into<PathBuf>) -> Diagnostic {
        match self {
            FileError::Parse(e) => Diagnostic::new(path, e.line, e.col, e.message.clone()),
            FileError::Internal { line, col, message } => {
                Diagnostic::new(path, *line, *col, format!("internal: {message}"))
            }
        }
    }
}

/// The result of fixing one file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub original: String,
    /// The fixed text (equal to `original` when nothing applied).
    pub fixed: String,
    /// Rule ids of the fixes applied, one entry per fix.
    pub applied: Vec<&'static str>,
    /// Findings left in the fixed text (no fix, or an unsafe fix not enabled), with the parsed fixed
    /// file for their positions.
    pub remaining: Vec<Finding>,
    pub fixed_doc: Dockerfile,
    /// RUN instructions in the original's shipping stages (layers the image had).
    pub runs_before: usize,
    /// RUN instructions in the fixed text's shipping stages (layers the image has now).
    pub runs_after: usize,
    /// The fixed text's final base image (its last stage's `FROM`), if it has a stage.
    pub final_image: Option<String>,
    /// With unsafe fixes on: the original's findings that carry an unsafe fix, placed in the
    /// original text (their messages state a rewrite's consequences, shown beside the diff).
    pub original_unsafe: Vec<PlacedFinding>,
}

/// A finding with its line and column in the text it was found in.
#[derive(Debug, Clone)]
pub struct PlacedFinding {
    pub line: usize,
    pub col: usize,
    pub rule: &'static str,
    pub message: String,
}

impl FileOutcome {
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }
}

/// All findings of the enabled rules, suppressions applied, in source order.
pub fn findings(
    doc: &Dockerfile,
    registry: &Registry,
    settings: &Settings,
    path: Option<&Path>,
) -> Vec<Finding> {
    findings_with(
        doc,
        &Analysis::new(doc),
        registry,
        settings,
        path,
        &Memo::default(),
    )
}

/// [`findings`] with the file's `analysis` made already, reusing what `memo` knows of the file's
/// RUNs (from an earlier round).
fn findings_with(
    doc: &Dockerfile,
    analysis: &Analysis,
    registry: &Registry,
    settings: &Settings,
    path: Option<&Path>,
    memo: &Memo,
) -> Vec<Finding> {
    let ctx = Context::new(doc, analysis, settings, path, memo);
    let mut out = Vec::new();
    for rule in registry.enabled(settings) {
        let first = out.len();
        rule.check(&ctx, &mut out);
        for f in &mut out[first..] {
            f.explicit_level.get_or_insert(rule.meta().level);
        }
    }
    keep_what_ships(&ctx, &mut out);
    crate::suppress::filter(doc, registry, &mut out);
    settings.demote_configured_fixes(&mut out);
    out.sort_by_key(|f| (f.span.start, f.rule));
    out
}

/// Drops the findings about waste ([`Level::Warning`]) in stages that do not reach the final
/// image, unless `merge-build-stages` asks for them: nothing a build stage wastes ships, and its
/// separate RUNs are separate build-cache steps (a dependency install kept apart from the sources
/// is not re-run when they change). Errors (build bugs, such as an `apt-get update` cached apart
/// from its install) and advice stay. One place for every rule, so that no rule has to know.
fn keep_what_ships(ctx: &Context<'_>, findings: &mut Vec<Finding>) {
    if ctx.settings.merge_build_stages || ctx.analysis.stages.len() < 2 {
        return;
    }
    findings.retain(|f| f.level() != Level::Warning || ctx.wants_size_fixes_at(f.span.start));
}

/// RUN instructions in the stages that ship: the layers the summary counts.
pub fn shipped_run_count(doc: &Dockerfile) -> usize {
    shipped_run_count_with(doc, &Analysis::new(doc))
}

/// [`shipped_run_count`] with the file's analysis made already (the engine has one per round).
fn shipped_run_count_with(doc: &Dockerfile, analysis: &Analysis) -> usize {
    if analysis.stages.len() < 2 {
        return doc.run_count();
    }
    let ships = analysis.shipping(doc);
    doc.instructions
        .iter()
        .enumerate()
        .filter(|(i, ins)| {
            ins.kind() == crate::syntax::Keyword::Run
                && analysis
                    .stages
                    .iter()
                    .position(|s| s.from <= *i && *i < s.end)
                    .map_or(true, |s| ships.get(s).copied().unwrap_or(true))
        })
        .count()
}

/// Parses and reports, without fixing.
pub fn check_source(
    source: &str,
    registry: &Registry,
    settings: &Settings,
    path: Option<&Path>,
) -> Result<(Dockerfile, Vec<Finding>), FileError> {
    let doc = Dockerfile::parse(source).map_err(FileError::Parse)?;
    let f = findings(&doc, registry, settings, path);
    Ok((doc, f))
}

/// Applies every allowed fix, re-parsing after each round, until nothing changes.
pub fn fix_source(
    source: &str,
    registry: &Registry,
    settings: &Settings,
    path: Option<&Path>,
) -> Result<FileOutcome, FileError> {
    let mut doc = Dockerfile::parse(source).map_err(FileError::Parse)?;
    let mut runs_before = 0;
    let mut applied = Vec::new();
    let memo = Memo::default();
    let mut original_unsafe = Vec::new();
    for round in 0..MAX_ROUNDS {
        let analysis = Analysis::new(&doc);
        if round == 0 {
            runs_before = shipped_run_count_with(&doc, &analysis);
        }
        let found = findings_with(&doc, &analysis, registry, settings, path, &memo);
        if round == 0 && settings.unsafe_fixes {
            original_unsafe = found
                .iter()
                .filter(|f| f.fix.as_ref().is_some_and(|x| x.safety == Safety::Unsafe))
                .map(|f| {
                    let (line, col) = doc.line_col(f.span.start);
                    PlacedFinding {
                        line,
                        col,
                        rule: f.rule,
                        message: f.message.clone(),
                    }
                })
                .collect();
        }
        let fixes: Vec<_> = found
            .iter()
            .filter_map(|f| f.fix.as_ref().map(|fix| (f.rule, fix)))
            .filter(|(_, fix)| fix.safety == Safety::Safe || settings.unsafe_fixes)
            .collect();
        if fixes.is_empty() {
            return Ok(FileOutcome {
                original: source.to_string(),
                fixed: doc.source.clone(),
                applied,
                remaining: found,
                runs_after: shipped_run_count_with(&doc, &analysis),
                final_image: analysis.stages.last().map(|s| s.base.clone()),
                fixed_doc: doc,
                runs_before,
                original_unsafe,
            });
        }
        let (text, rules) = apply_fixes(&doc.source, fixes);
        if text == doc.source {
            return Ok(FileOutcome {
                original: source.to_string(),
                fixed: doc.source.clone(),
                applied,
                remaining: found,
                runs_after: shipped_run_count_with(&doc, &analysis),
                final_image: analysis.stages.last().map(|s| s.base.clone()),
                fixed_doc: doc,
                runs_before,
                original_unsafe,
            });
        }
        doc = Dockerfile::parse(&text).map_err(|e| FileError::Internal {
            line: e.line,
            col: e.col,
            message: format!(
                "the fix of {} produced text that does not parse: {}",
                rules.join(", "),
                e.message
            ),
        })?;
        applied.extend(rules);
    }
    Err(FileError::Internal {
        line: 1,
        col: 1,
        message: format!("fixes did not settle after {MAX_ROUNDS} rounds"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_read_like_every_other_error() {
        let parse = check_source(
            "FROM\n",
            &Registry::new(&Settings::default()).expect("rules"),
            &Settings::default(),
            None,
        )
        .expect_err("FROM without an image does not parse");
        let text = parse.diagnostic("a/Dockerfile").to_string();
        assert!(text.starts_with("a/Dockerfile:1:1: error: "), "{text}");
        let internal = FileError::Internal {
            line: 3,
            col: 2,
            message: "fixes did not settle".to_string(),
        };
        assert_eq!(
            internal.diagnostic("-").to_string(),
            "-:3:2: error: internal: fixes did not settle"
        );
    }
}
