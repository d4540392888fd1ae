//! Per-file results and the output formats: text, diff, JSON, SARIF 2.1.0, GitHub annotations.
//! Every renderer streams: a file's result is written as soon as it is ready, in path order.

use crate::edit::{Finding, Safety};
use crate::passes::Registry;
use crate::syntax::Dockerfile;
use serde::Serialize;
use std::io::{self, Write};

/// A finding with its position resolved to lines and columns (1-based).
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub rule: &'static str,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Diff,
    Json,
    Sarif,
    Github,
}

/// Totals for the end-of-run summary.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub files: usize,
    pub changed: usize,
    pub errors: usize,
    pub findings: usize,
    pub fixes_by_rule: std::collections::BTreeMap<String, usize>,
    pub runs_removed: usize,
}

impl Summary {
    pub fn add(&mut self, r: &FileResult) {
        self.files += 1;
        self.changed += r.changed as usize;
        self.errors += r.error.is_some() as usize;
        self.findings += r.findings.len();
        for a in &r.applied {
            *self.fixes_by_rule.entry(a.to_string()).or_default() += 1;
        }
        self.runs_removed += r.runs_before.saturating_sub(r.runs_after);
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
        if verb.is_empty() {
            return format!(
                "dfopt: {} files scanned, {} findings, {} with errors",
                self.files, self.findings, self.errors
            );
        }
        format!(
            "dfopt: {} files scanned, {} {verb}{fixes}, {} with errors, {} findings left, {} RUN layers removed",
            self.files, self.changed, self.errors, self.findings, self.runs_removed
        )
    }
}

/// Writes results in one format, streaming.
pub struct Renderer<'a> {
    pub format: Format,
    pub color: bool,
    pub out: &'a mut dyn Write,
    first: bool,
}

impl<'a> Renderer<'a> {
    pub fn new(format: Format, color: bool, out: &'a mut dyn Write) -> Self {
        Renderer {
            format,
            color,
            out,
            first: true,
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
                            "properties": {"fixSafety": r.fix_safety().map(|s| s.as_str()).unwrap_or("none")},
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
                    let hint = match &f.fix {
                        Some(fx) if fx.safety == Safety::Safe => " [fix]",
                        Some(_) => " [unsafe fix]",
                        None => "",
                    };
                    if self.color {
                        writeln!(
                            self.out,
                            "\x1b[1m{}:{}:{}:\x1b[0m \x1b[31m{}\x1b[0m {}{hint}",
                            r.path, f.line, f.col, f.rule, f.message
                        )?;
                    } else {
                        writeln!(
                            self.out,
                            "{}:{}:{}: {} {}{hint}",
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
                        "level": "warning",
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
                        "::warning file={},line={},col={},endLine={},endColumn={},title=dfopt {}::{}",
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
            _ => Ok(()),
        }
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
