//! What the server does with each request and notification: the open documents, their
//! diagnostics, code actions and hovers. Everything is computed from the document's current text
//! with the library (`engine::check_source` / `engine::fix_source`), as `dfopt check` and
//! `dfopt fix` compute it.

use super::convert::{uri_file_name, uri_to_path, LineIndex};
use super::settings::{overrides_from_json, FileRules, RulesCache};
use crate::edit::{Finding, Safety};
use crate::engine::{check_source, fix_source, FileError};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeDescription, Diagnostic,
    DiagnosticSeverity, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, Hover, HoverContents, HoverParams, MarkupContent, MarkupKind,
    NumberOrString, Position, PublishDiagnosticsParams, Range, TextEdit, Uri, WorkspaceEdit,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

/// The code action kind of "apply every fix `dfopt fix` would apply".
pub const FIX_ALL_KIND: &str = "source.fixAll.dfopt";

/// Where each rule's documentation lives on the web (the SARIF output's `helpUri` too).
const RULE_DOCS_URL: &str = "https://github.com/dfopt/dfopt#";

/// An open Dockerfile.
pub struct Document {
    pub text: String,
    pub version: i32,
    pub path: Option<PathBuf>,
}

/// The state the handlers share.
#[derive(Default)]
pub struct State {
    pub docs: HashMap<Uri, Document>,
    pub rules: RulesCache,
    /// Messages for the user (bad options), sent as `window/showMessage`.
    pub warnings: Vec<String>,
}

/// Whether the server handles a document: the client says it is a Dockerfile, or its name is one
/// `dfopt` would pick up in a folder.
pub fn is_dockerfile(uri: &Uri, language_id: &str) -> bool {
    language_id.eq_ignore_ascii_case("dockerfile")
        || language_id.eq_ignore_ascii_case("containerfile")
        || crate::discover::is_dockerfile_name(uri_file_name(uri.as_str()))
}

/// One check of a document.
enum Checked {
    Findings(Vec<Finding>, FileRules),
    Failed(Diagnostic),
    Excluded,
}

impl State {
    pub fn apply_client_options(&mut self, value: &serde_json::Value) {
        let (overrides, warnings) = overrides_from_json(value);
        self.rules.overrides = overrides;
        self.warnings.extend(warnings);
    }

    /// Compiles, on another thread, the rules' regexes that a typical Dockerfile needs: they are
    /// compiled on first use, and on the first document that took several times as long as a
    /// check (25 ms against 5 ms for a 200-line file). A document opened meanwhile waits only for
    /// the regex being compiled, not for a second copy.
    pub fn warm_up(&mut self) {
        const SAMPLE: &str = concat!(
            "FROM debian:12\n",
            "RUN apt-get update && apt install -y curl \\\n",
            "    && curl -fsSL https://example.com/a.tar.gz -o /tmp/a.tar.gz && tar -xzf /tmp/a.tar.gz\n",
            "RUN apk add git && pip install flask && npm install && yum install -y jq && rm -rf /tmp/a\n",
            "COPY . /app\n",
            "CMD [\"python\", \"app.py\"]\n",
        );
        let Ok(rules) = self.rules.for_file(None) else {
            return;
        };
        std::thread::spawn(move || {
            let _ = check_source(SAMPLE, &rules.registry, &rules.settings, None);
        });
    }

    pub fn did_open(&mut self, params: DidOpenTextDocumentParams) -> Option<Uri> {
        let item = params.text_document;
        if !is_dockerfile(&item.uri, &item.language_id) {
            return None;
        }
        let path = uri_to_path(item.uri.as_str());
        self.docs.insert(
            item.uri.clone(),
            Document {
                text: item.text,
                version: item.version,
                path,
            },
        );
        Some(item.uri)
    }

    /// Applies the changes; returns the document's URI when it is one the server tracks.
    pub fn did_change(&mut self, params: DidChangeTextDocumentParams) -> Option<Uri> {
        let uri = params.text_document.uri;
        let doc = self.docs.get_mut(&uri)?;
        for change in params.content_changes {
            match change.range {
                // The server asks for whole documents, but takes ranges as well.
                Some(range) => {
                    let (start, end) = LineIndex::new(&doc.text).offsets(range);
                    doc.text.replace_range(start..end, &change.text);
                }
                None => doc.text = change.text,
            }
        }
        doc.version = params.text_document.version;
        Some(uri)
    }

    pub fn did_close(&mut self, params: DidCloseTextDocumentParams) -> Option<Uri> {
        let uri = params.text_document.uri;
        self.docs.remove(&uri).map(|_| uri)
    }

    fn check(&mut self, uri: &Uri) -> Option<Checked> {
        let doc = self.docs.get(uri)?;
        let rules = match self.rules.for_file(doc.path.as_deref()) {
            Ok(r) => r,
            Err(message) => return Some(Checked::Failed(error_at_start(message))),
        };
        if rules.excluded {
            return Some(Checked::Excluded);
        }
        // Debug builds only: lets the protocol tests make a handler panic, to prove the server
        // answers and goes on.
        #[cfg(debug_assertions)]
        if std::env::var_os("DFOPT_TEST_PANIC").is_some() && doc.text.contains("DFOPT-TEST-PANIC") {
            panic!("test panic requested by DFOPT_TEST_PANIC");
        }
        Some(
            match check_source(
                &doc.text,
                &rules.registry,
                &rules.settings,
                doc.path.as_deref(),
            ) {
                Ok((_, found)) => Checked::Findings(found, rules),
                Err(e) => Checked::Failed(file_error_diagnostic(&doc.text, &e)),
            },
        )
    }

    /// The diagnostics of a document, for `textDocument/publishDiagnostics`.
    pub fn diagnostics(&mut self, uri: &Uri) -> Option<PublishDiagnosticsParams> {
        let checked = self.check(uri)?;
        let doc = self.docs.get(uri)?;
        let diagnostics = match checked {
            Checked::Findings(found, _) => {
                let index = LineIndex::new(&doc.text);
                found.iter().map(|f| diagnostic(&index, f)).collect()
            }
            Checked::Failed(d) => vec![d],
            Checked::Excluded => Vec::new(),
        };
        Some(PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version: Some(doc.version),
        })
    }

    pub fn code_actions(&mut self, params: CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = params.text_document.uri;
        let wanted = |kind: &CodeActionKind| match &params.context.only {
            None => true,
            Some(only) => only.iter().any(|o| {
                kind.as_str() == o.as_str()
                    || kind
                        .as_str()
                        .strip_prefix(o.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            }),
        };
        let Some(Checked::Findings(found, rules)) = self.check(&uri) else {
            return Vec::new();
        };
        let Some(doc) = self.docs.get(&uri) else {
            return Vec::new();
        };
        let index = LineIndex::new(&doc.text);
        let mut actions = Vec::new();
        if wanted(&CodeActionKind::QUICKFIX) {
            let (from, to) = index.offsets(params.range);
            for f in &found {
                let Some(fix) = &f.fix else { continue };
                if f.span.start > to || from > f.span.end {
                    continue;
                }
                if !edits_apply(&doc.text, fix) {
                    continue;
                }
                let edits = fix
                    .edits
                    .iter()
                    .map(|e| {
                        TextEdit::new(index.range(e.span.start, e.span.end), e.replacement.clone())
                    })
                    .collect();
                let safe = fix.safety == Safety::Safe;
                let title = if safe {
                    format!("dfopt: fix {}", f.rule)
                } else {
                    format!("dfopt: fix {} (unsafe: may change behaviour)", f.rule)
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostic(&index, f)]),
                    edit: Some(workspace_edit(&uri, edits)),
                    is_preferred: Some(safe),
                    ..Default::default()
                }));
            }
        }
        let fix_all = CodeActionKind::from(FIX_ALL_KIND);
        if wanted(&fix_all) && found.iter().any(|f| f.fix.is_some()) {
            if let Some(action) = fix_all_action(&uri, doc, &rules, fix_all) {
                actions.push(CodeActionOrCommand::CodeAction(action));
            }
        }
        actions
    }

    pub fn hover(&mut self, params: HoverParams) -> Option<Hover> {
        let uri = params.text_document_position_params.text_document.uri;
        let Some(Checked::Findings(found, _)) = self.check(&uri) else {
            return None;
        };
        let doc = self.docs.get(&uri)?;
        let index = LineIndex::new(&doc.text);
        let at = index.offset(params.text_document_position_params.position);
        let here: Vec<&Finding> = found
            .iter()
            .filter(|f| f.span.start <= at && at <= f.span.end)
            .collect();
        let first = here.first()?;
        let mut value = String::new();
        let mut shown: Vec<&str> = Vec::new();
        for f in &here {
            let fix = match f.fix.as_ref().map(|x| x.safety) {
                Some(Safety::Safe) => "safe fix",
                Some(Safety::Unsafe) => "unsafe fix",
                None => "no fix",
            };
            value.push_str(&format!("**{}** ({fix}): {}\n\n", f.rule, f.message));
        }
        for f in &here {
            if shown.contains(&f.rule) {
                continue;
            }
            shown.push(f.rule);
            if let Some(doc) = crate::passes::rule_doc(f.rule) {
                value.push_str("---\n\n");
                value.push_str(doc.trim());
                value.push_str("\n\n");
            }
        }
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: value.trim_end().to_string(),
            }),
            range: Some(index.range(first.span.start, first.span.end)),
        })
    }
}

/// What `dfopt fix` would do to the document, as one edit over the part that changes.
fn fix_all_action(
    uri: &Uri,
    doc: &Document,
    rules: &FileRules,
    kind: CodeActionKind,
) -> Option<CodeAction> {
    let outcome = fix_source(
        &doc.text,
        &rules.registry,
        &rules.settings,
        doc.path.as_deref(),
    )
    .ok()?;
    if !outcome.changed() {
        return None;
    }
    let edit = minimal_edit(&doc.text, &outcome.fixed);
    let title = if rules.settings.unsafe_fixes {
        "dfopt: apply all fixes (unsafe included)"
    } else {
        "dfopt: apply all safe fixes"
    };
    Some(CodeAction {
        title: title.to_string(),
        kind: Some(kind),
        edit: Some(workspace_edit(uri, vec![edit])),
        ..Default::default()
    })
}

fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..Default::default()
    }
}

/// Whether a fix's edits are valid on `text` (in range, on character boundaries, disjoint), the
/// conditions `apply_fixes` checks before it applies one.
fn edits_apply(text: &str, fix: &crate::edit::Fix) -> bool {
    let mut spans: Vec<_> = fix.edits.iter().map(|e| e.span).collect();
    spans.sort();
    spans.iter().all(|s| {
        s.start <= s.end
            && s.end <= text.len()
            && text.is_char_boundary(s.start)
            && text.is_char_boundary(s.end)
    }) && spans
        .windows(2)
        .all(|w| w[0].end <= w[1].start && w[0] != w[1])
}

/// A finding as an LSP diagnostic.
fn diagnostic(index: &LineIndex<'_>, f: &Finding) -> Diagnostic {
    Diagnostic {
        range: index.range(f.span.start, f.span.end),
        // The finding's level, as in the SARIF and GitHub output (parse errors are errors).
        severity: Some(match f.level() {
            crate::edit::Level::Error => DiagnosticSeverity::ERROR,
            crate::edit::Level::Warning => DiagnosticSeverity::WARNING,
            crate::edit::Level::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(f.rule.to_string())),
        code_description: Uri::from_str(&format!("{RULE_DOCS_URL}{}", f.rule))
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("dfopt".to_string()),
        message: f.message.clone(),
        data: Some(serde_json::json!({
            "fix": f.fix.as_ref().map(|x| x.safety.as_str()),
        })),
        ..Default::default()
    }
}

fn error_at_start(message: String) -> Diagnostic {
    Diagnostic {
        range: Range::new(Position::new(0, 0), Position::new(0, 0)),
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("dfopt".to_string()),
        message,
        ..Default::default()
    }
}

/// A parse error (or an internal one) as a diagnostic from its position to the end of its line.
fn file_error_diagnostic(text: &str, e: &FileError) -> Diagnostic {
    let (line, col, message, code) = match e {
        FileError::Parse(p) => (p.line, p.col, p.message.clone(), "parse-error"),
        FileError::Internal { line, col, message } => (
            *line,
            *col,
            format!("internal error (please report it): {message}"),
            "internal-error",
        ),
    };
    // dfopt's lines end at `\n` only (as BuildKit's) and its columns count characters.
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map(|(i, _)| i + 1)
            .unwrap_or(text.len())
    };
    let rest = &text[line_start..];
    let line_end = line_start + rest.find('\n').unwrap_or(rest.len());
    let at = line_start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map(|(i, _)| i)
            .unwrap_or(rest.len())
            .min(line_end - line_start);
    let end = text[..line_end].trim_end_matches('\r').len().max(at);
    let index = LineIndex::new(text);
    Diagnostic {
        range: index.range(at, end),
        severity: Some(DiagnosticSeverity::ERROR),
        code: Some(NumberOrString::String(code.to_string())),
        source: Some("dfopt".to_string()),
        message,
        ..Default::default()
    }
}

/// One edit turning `old` into `new`: the span between their common prefix and common suffix.
/// Its ends are kept on character boundaries and never between a `\r` and its `\n`, which no LSP
/// position can name.
pub fn minimal_edit(old: &str, new: &str) -> TextEdit {
    let (o, n) = (old.as_bytes(), new.as_bytes());
    let mut prefix = o.iter().zip(n).take_while(|(a, b)| a == b).count();
    let splits = |s: &str, i: usize| {
        !s.is_char_boundary(i)
            || (i > 0 && i < s.len() && s.as_bytes()[i - 1] == b'\r' && s.as_bytes()[i] == b'\n')
    };
    while prefix > 0 && (splits(old, prefix) || splits(new, prefix)) {
        prefix -= 1;
    }
    let max_suffix = o.len().min(n.len()) - prefix;
    let mut suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while suffix > 0 && (splits(old, o.len() - suffix) || splits(new, n.len() - suffix)) {
        suffix -= 1;
    }
    let index = LineIndex::new(old);
    TextEdit::new(
        index.range(prefix, o.len() - suffix),
        new[prefix..n.len() - suffix].to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies an LSP edit the way a client does: positions to offsets in the old text.
    fn apply(old: &str, e: &TextEdit) -> String {
        let (a, b) = LineIndex::new(old).offsets(e.range);
        format!("{}{}{}", &old[..a], e.new_text, &old[b..])
    }

    #[test]
    fn minimal_edit_reproduces_the_new_text() {
        let cases = [
            ("RUN a\r\nRUN b\r\n", "RUN a \\\r\n && b\r\n"),
            ("x é y", "x è y"),
            ("abc", "abc"),
            ("", "FROM x\n"),
            ("RUN a\r\n", "RUN a\r\nRUN b\r\n"),
            ("a\r\nb", "a\nb"),
            ("🐳\n", "🐋\n"),
        ];
        for (old, new) in cases {
            let e = minimal_edit(old, new);
            assert_eq!(apply(old, &e), new, "{old:?} -> {new:?}: {e:?}");
        }
    }

    #[test]
    fn parse_error_positions_count_characters_and_lf_lines() {
        let text = "FROM a\r\nRUN ü\r\nONBUILD ONBUILD x\r\n";
        let e = FileError::Parse(crate::syntax::ParseError {
            line: 3,
            col: 9,
            message: "m".into(),
        });
        let d = file_error_diagnostic(text, &e);
        assert_eq!(d.range.start, Position::new(2, 8));
        assert_eq!(d.range.end, Position::new(2, 17));
        // A position past the text is clamped, not a panic.
        let e = FileError::Parse(crate::syntax::ParseError {
            line: 40,
            col: 99,
            message: "m".into(),
        });
        let _ = file_error_diagnostic(text, &e);
    }
}
