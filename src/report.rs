//! Per-file results and the output formats: text, diff, JSON, SARIF 2.1.0, GitHub annotations,
//! and a Markdown migration report. Every renderer but Markdown streams: a file's result is written
//! as soon as it is ready, in path order; the Markdown report is a summary, written at the end.

use crate::edit::{Finding, Level, Safety};
use crate::passes::Registry;
use crate::syntax::Dockerfile;
use serde::Serialize;
use std::io::{self, Write};

/// A finding with its position resolved to lines and columns (1-based).
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub rule: &'static str,
    /// How much it matters: error, warning or info.
    pub level: Level,
    pub message: String,
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
    /// The fix's safety, when it has one.
    pub fix: Option<LocatedFix>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocatedFix {
    pub safety: Safety,
    pub applicable: bool,
    pub edits: Vec<LocatedEdit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocatedEdit {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
    pub replacement: String,
}

pub fn locate(doc: &Dockerfile, f: &Finding, unsafe_fixes: bool) -> Located {
    let (line, col) = doc.line_col(f.span.start);
    let (end_line, end_col) = doc.line_col(f.span.end);
    Located {
        rule: f.rule,
        level: f.level(),
        message: f.message.clone(),
        line,
        col,
        end_line,
        end_col,
        fix: f.fix.as_ref().map(|fx| LocatedFix {
            safety: fx.safety,
            applicable: fx.safety == Safety::Safe || unsafe_fixes,
            edits: fx
                .edits
                .iter()
                .map(|e| {
                    let (line, col) = doc.line_col(e.span.start);
                    let (end_line, end_col) = doc.line_col(e.span.end);
                    LocatedEdit {
                        start: e.span.start,
                        end: e.span.end,
                        line,
                        col,
                        end_line,
                        end_col,
                        replacement: e.replacement.clone(),
                    }
                })
                .collect(),
        }),
    }
}

/// Everything one file produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileResult {
    pub path: String,
    /// Findings: in `check`, all of them; in `fix`, those left after fixing (positions in the
    /// fixed text).
    pub findings: Vec<Located>,
    /// Rules whose fixes were applied (one entry per fix).
    pub applied: Vec<&'static str>,
    pub changed: bool,
    /// In `fix` with unsafe fixes: what each applied unsafe fix changes beyond the diff.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RUN instructions before and after fixing.
    pub runs_before: usize,
    pub runs_after: usize,
    /// Set when the file was written (or would be, in a dry run).
    #[serde(skip)]
    pub notice: String,
    /// The fixed text, for `--write -` on standard input.
    #[serde(skip)]
    pub fixed_text: Option<String>,
    /// Warnings about the file (`path:line:col: warning: …`), printed on stderr.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The final stage's image after fixing (for the Markdown report's conversions).
    #[serde(skip)]
    pub final_image: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Diff,
    Json,
    Sarif,
    Github,
    /// A migration report for a pull request or a tracking issue (written at the end).
    Markdown,
}

/// Totals for the end-of-run summary.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub files: usize,
    pub changed: usize,
    pub errors: usize,
    pub findings: usize,
    pub fixes_by_rule: std::collections::BTreeMap<String, usize>,
    /// RUN layers removed from the stages that ship.
    pub runs_removed: usize,
    /// Findings per level (`error`, `warning`, `info`).
    pub findings_by_level: std::collections::BTreeMap<Level, usize>,
}

impl Summary {
    pub fn add(&mut self, r: &FileResult) {
        self.files += 1;
        self.changed += r.changed as usize;
        self.errors += r.error.is_some() as usize;
        self.findings += r.findings.len();
        for f in &r.findings {
            *self.findings_by_level.entry(f.level).or_default() += 1;
        }
        for a in &r.applied {
            *self.fixes_by_rule.entry(a.to_string()).or_default() += 1;
        }
        self.runs_removed += r.runs_before.saturating_sub(r.runs_after);
    }

    /// Whether a finding at or above `fail_level` was seen.
    pub fn fails(&self, fail_level: crate::config::FailLevel) -> bool {
        self.findings_by_level
            .iter()
            .any(|(level, n)| *n > 0 && fail_level.fails_on(*level))
    }

    pub fn line(&self, verb: &str) -> String {
        let fixes: Vec<String> = self
            .fixes_by_rule
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let fixes = if fixes.is_empty() {
            String::new()
        } else {
            format!(" ({})", fixes.join(", "))
        };
        let files = plural(self.files, "file", "files");
        let findings = plural(self.findings, "finding", "findings");
        if verb.is_empty() {
            return format!(
                "dfopt: {files} scanned, {findings}, {} with errors",
                self.errors
            );
        }
        format!(
            "dfopt: {files} scanned, {} {verb}{fixes}, {} with errors, {findings} left, {} RUN {} removed",
            self.changed,
            self.errors,
            self.runs_removed,
            if self.runs_removed == 1 { "layer" } else { "layers" }
        )
    }
}

/// `1 file`, `2 files`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Writes results in one format, streaming.
pub struct Renderer<'a> {
    pub format: Format,
    pub color: bool,
    pub out: &'a mut dyn Write,
    first: bool,
    markdown: markdown::MarkdownReport,
}

impl<'a> Renderer<'a> {
    pub fn new(format: Format, color: bool, out: &'a mut dyn Write) -> Self {
        Renderer {
            format,
            color,
            out,
            first: true,
            markdown: Default::default(),
        }
    }

    pub fn begin(&mut self, registry: &Registry) -> io::Result<()> {
        match self.format {
            Format::Json => write!(self.out, "{{\"files\":["),
            Format::Sarif => {
                let rules: Vec<_> = registry
                    .rules
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id(),
                            "name": r.id(),
                            "shortDescription": {"text": r.summary()},
                            "fullDescription": {"text": r.summary()},
                            "help": {"text": crate::passes::rule_doc(r.id()).unwrap_or(""), "markdown": crate::passes::rule_doc(r.id()).unwrap_or("")},
                            "helpUri": format!("https://github.com/dfopt/dfopt#{}", r.id()),
                            "defaultConfiguration": {"level": sarif_level(r.meta().level)},
                            "properties": {"fixSafety": r.meta().fix.as_str()},
                        })
                    })
                    .collect();
                let tool = serde_json::json!({"driver": {
                    "name": "dfopt",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/dfopt/dfopt",
                    "rules": rules,
                }});
                write!(
                    self.out,
                    "{{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{tool},\"results\":["
                )
            }
            _ => Ok(()),
        }
    }

    pub fn file(&mut self, r: &FileResult, mode_fix: bool) -> io::Result<()> {
        match self.format {
            Format::Text => {
                for f in &r.findings {
                    let level = f.level.as_str();
                    let hint = match &f.fix {
                        Some(fx) if fx.safety == Safety::Safe => " [fix]",
                        Some(_) => " [unsafe fix]",
                        None => "",
                    };
                    if self.color {
                        writeln!(
                            self.out,
                            "\x1b[1m{}:{}:{}:\x1b[0m \x1b[1m{}\x1b[0m {}[{level}]\x1b[0m {}{hint}",
                            r.path,
                            f.line,
                            f.col,
                            f.rule,
                            match f.level {
                                Level::Error => "\x1b[31m",
                                Level::Warning => "\x1b[33m",
                                Level::Info => "\x1b[36m",
                            },
                            f.message
                        )?;
                    } else {
                        writeln!(
                            self.out,
                            "{}:{}:{}: {} [{level}] {}{hint}",
                            r.path, f.line, f.col, f.rule, f.message
                        )?;
                    }
                }
                if mode_fix && !r.notice.is_empty() {
                    self.out.write_all(r.notice.as_bytes())?;
                }
                Ok(())
            }
            Format::Diff => {
                if let Some(t) = &r.fixed_text {
                    return self.out.write_all(t.as_bytes());
                }
                if self.color {
                    for line in r.diff.split_inclusive('\n') {
                        let c = if line.starts_with("+++")
                            || line.starts_with("---")
                            || line.starts_with("diff ")
                        {
                            "\x1b[1m"
                        } else if line.starts_with('+') {
                            "\x1b[32m"
                        } else if line.starts_with('-') {
                            "\x1b[31m"
                        } else if line.starts_with("@@") {
                            "\x1b[36m"
                        } else {
                            ""
                        };
                        if c.is_empty() {
                            self.out.write_all(line.as_bytes())?;
                        } else {
                            let body = line.trim_end_matches('\n');
                            write!(self.out, "{c}{body}\x1b[0m")?;
                            if line.ends_with('\n') {
                                writeln!(self.out)?;
                            }
                        }
                    }
                    Ok(())
                } else {
                    self.out.write_all(r.diff.as_bytes())
                }
            }
            Format::Json => {
                if !self.first {
                    write!(self.out, ",")?;
                }
                self.first = false;
                serde_json::to_writer(&mut *self.out, r).map_err(io::Error::other)
            }
            Format::Sarif => {
                for f in &r.findings {
                    if !self.first {
                        write!(self.out, ",")?;
                    }
                    self.first = false;
                    let mut result = serde_json::json!({
                        "ruleId": f.rule,
                        "level": sarif_level(f.level),
                        "message": {"text": f.message},
                        "locations": [{"physicalLocation": {
                            "artifactLocation": {"uri": r.path},
                            "region": {"startLine": f.line, "startColumn": f.col, "endLine": f.end_line, "endColumn": f.end_col},
                        }}],
                    });
                    if let Some(fx) = &f.fix {
                        result["fixes"] = serde_json::json!([{
                            "description": {"text": format!("{} fix", fx.safety.as_str())},
                            "artifactChanges": [{
                                "artifactLocation": {"uri": r.path},
                                "replacements": fx.edits.iter().map(|e| serde_json::json!({
                                    "deletedRegion": {"startLine": e.line, "startColumn": e.col, "endLine": e.end_line, "endColumn": e.end_col},
                                    "insertedContent": {"text": e.replacement},
                                })).collect::<Vec<_>>(),
                            }],
                        }]);
                    }
                    serde_json::to_writer(&mut *self.out, &result).map_err(io::Error::other)?;
                }
                Ok(())
            }
            Format::Github => {
                for f in &r.findings {
                    writeln!(
                        self.out,
                        "::{} file={},line={},col={},endLine={},endColumn={},title=dfopt {}::{}",
                        match f.level {
                            Level::Error => "error",
                            Level::Warning => "warning",
                            Level::Info => "notice",
                        },
                        escape_property(&r.path),
                        f.line,
                        f.col,
                        f.end_line,
                        f.end_col,
                        f.rule,
                        escape_data(&f.message)
                    )?;
                }
                if let Some(e) = &r.error {
                    writeln!(
                        self.out,
                        "::error file={}::{}",
                        escape_property(&r.path),
                        escape_data(e)
                    )?;
                }
                if mode_fix && r.changed && r.findings.is_empty() {
                    writeln!(
                        self.out,
                        "::notice file={}::dfopt would apply: {}",
                        escape_property(&r.path),
                        escape_data(&r.applied.join(", "))
                    )?;
                }
                Ok(())
            }
            Format::Markdown => {
                self.markdown.add(r);
                Ok(())
            }
        }
    }

    pub fn end(&mut self, summary: &Summary) -> io::Result<()> {
        match self.format {
            Format::Json => {
                write!(self.out, "],\"summary\":")?;
                serde_json::to_writer(&mut *self.out, summary).map_err(io::Error::other)?;
                writeln!(self.out, "}}")
            }
            Format::Sarif => writeln!(self.out, "]}}]}}"),
            Format::Markdown => self.out.write_all(self.markdown.render(summary).as_bytes()),
            _ => Ok(()),
        }
    }
}

/// SARIF's name for a level.
fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The Markdown migration report (`--format markdown`): what a pull-request description or a
/// tracking issue over a monorepo needs. Everything is kept in sorted maps, so two runs over the
/// same files print the same bytes and diff cleanly.
pub mod markdown {
    use super::{FileResult, Summary};
    use crate::edit::Level;
    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt::Write as _;

    /// Rules whose fixes change the number of RUN layers, in the order a file's removed layers
    /// are credited to them (a file's count is one number: it goes to the first that applied).
    const LAYER_RULES: [&str; 3] = ["chain-runs", "multi-stage", "final-stage-base"];
    /// Rules whose applied fix converts a file to a new final image.
    const CONVERSION_RULES: [&str; 2] = ["multi-stage", "final-stage-base"];

    #[derive(Default)]
    struct RuleRow {
        files: BTreeSet<String>,
        fixes: usize,
        layers_removed: usize,
    }

    #[derive(Default)]
    pub struct MarkdownReport {
        rules: BTreeMap<&'static str, RuleRow>,
        /// path → (rules converting it, final image)
        conversions: BTreeMap<String, (BTreeSet<&'static str>, String)>,
        /// (rule, reason) → files
        refusals: BTreeMap<(&'static str, String), BTreeSet<String>>,
        /// Findings by level and rule.
        findings: BTreeMap<(Level, &'static str), usize>,
        errors: BTreeMap<String, String>,
    }

    impl MarkdownReport {
        pub fn add(&mut self, r: &FileResult) {
            if let Some(e) = &r.error {
                self.errors.insert(r.path.clone(), e.clone());
            }
            for rule in &r.applied {
                let row = self.rules.entry(rule).or_default();
                row.files.insert(r.path.clone());
                row.fixes += 1;
            }
            let removed = r.runs_before.saturating_sub(r.runs_after);
            if let Some(rule) = LAYER_RULES.iter().find(|l| r.applied.contains(l)) {
                self.rules.entry(rule).or_default().layers_removed += removed;
            }
            let converted: BTreeSet<&'static str> = r
                .applied
                .iter()
                .copied()
                .filter(|a| CONVERSION_RULES.contains(a))
                .collect();
            if !converted.is_empty() {
                let image = r.final_image.clone().unwrap_or_default();
                self.conversions.insert(r.path.clone(), (converted, image));
            }
            for f in &r.findings {
                *self.findings.entry((f.level, f.rule)).or_default() += 1;
                if let Some(reason) = refusal_reason(&f.message) {
                    self.refusals
                        .entry((f.rule, reason.to_string()))
                        .or_default()
                        .insert(r.path.clone());
                }
            }
        }

        pub fn render(&self, summary: &Summary) -> String {
            let mut md = String::new();
            let _ = writeln!(md, "# dfopt migration report\n");
            let _ = writeln!(
                md,
                "{} files scanned, {} changed, {} RUN layers removed from shipped images, {} with errors, {} findings left.\n",
                summary.files, summary.changed, summary.runs_removed, summary.errors, summary.findings
            );
            let _ = writeln!(md, "## Fixes by rule\n");
            if self.rules.is_empty() {
                let _ = writeln!(md, "No fixes applied.\n");
            } else {
                let _ = writeln!(md, "| Rule | Files changed | Fixes | Layers removed |");
                let _ = writeln!(md, "|---|---:|---:|---:|");
                for (rule, row) in &self.rules {
                    let _ = writeln!(
                        md,
                        "| `{rule}` | {} | {} | {} |",
                        row.files.len(),
                        row.fixes,
                        row.layers_removed
                    );
                }
                md.push('\n');
            }
            let _ = writeln!(md, "## Conversions\n");
            if self.conversions.is_empty() {
                let _ = writeln!(md, "No file converted to a new final image.\n");
            } else {
                let _ = writeln!(md, "| File | Rule | Final image |");
                let _ = writeln!(md, "|---|---|---|");
                for (path, (rules, image)) in &self.conversions {
                    let rules: Vec<String> = rules.iter().map(|r| format!("`{r}`")).collect();
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} |",
                        code(path),
                        rules.join(", "),
                        code(image)
                    );
                }
                md.push('\n');
            }
            let _ = writeln!(md, "## Findings left\n");
            if self.findings.is_empty() {
                let _ = writeln!(md, "None.\n");
            } else {
                let _ = writeln!(md, "| Level | Rule | Findings |");
                let _ = writeln!(md, "|---|---|---:|");
                // Most severe first.
                for ((level, rule), n) in self.findings.iter().rev() {
                    let _ = writeln!(md, "| {} | `{rule}` | {n} |", level.as_str());
                }
                md.push('\n');
            }
            let _ = writeln!(md, "## Refusals\n");
            if self.refusals.is_empty() {
                let _ = writeln!(md, "None.\n");
            } else {
                for ((rule, reason), files) in &self.refusals {
                    let _ = writeln!(
                        md,
                        "### `{rule}`: {} ({} files)\n",
                        one_line(reason),
                        files.len()
                    );
                    for f in files {
                        let _ = writeln!(md, "- {}", code(f));
                    }
                    md.push('\n');
                }
            }
            let _ = writeln!(md, "## Errors\n");
            if self.errors.is_empty() {
                let _ = writeln!(md, "None.");
            } else {
                let _ = writeln!(md, "| File | Error |");
                let _ = writeln!(md, "|---|---|");
                for (path, e) in &self.errors {
                    let _ = writeln!(md, "| {} | {} |", code(path), cell(e));
                }
            }
            md
        }
    }

    /// The reason of a refusal ("… dfopt does not guess: REASON" or "… does not guess a smaller
    /// one: REASON").
    fn refusal_reason(message: &str) -> Option<&str> {
        let at = message.find("does not guess")?;
        let rest = &message[at..];
        rest.find(": ").map(|i| rest[i + 2..].trim())
    }

    fn one_line(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Text for a table cell: one line, `|` escaped.
    fn cell(s: &str) -> String {
        one_line(s).replace('|', "\\|")
    }

    /// A path or image as inline code inside a table cell.
    fn code(s: &str) -> String {
        if s.is_empty() {
            return "(unknown)".to_string();
        }
        let ticks = if s.contains('`') { "`` " } else { "`" };
        let close = if s.contains('`') { " ``" } else { "`" };
        format!("{ticks}{}{close}", cell(s))
    }
}
