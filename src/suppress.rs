//! Inline suppressions: `# dfopt: ignore=RULE[,RULE]` or `# hadolint ignore=DLxxxx` on the comment
//! lines right above an instruction, and `# dfopt: skip-file` anywhere.

use crate::edit::Finding;
use crate::passes::Registry;
use crate::syntax::Dockerfile;

/// Whether the file opts out of dfopt entirely.
pub fn skip_file(doc: &Dockerfile) -> bool {
    doc.source.lines().any(|l| {
        let t = l.trim();
        t.strip_prefix('#')
            .map(|c| c.trim().eq_ignore_ascii_case("dfopt: skip-file"))
            .unwrap_or(false)
    })
}

/// Drops findings suppressed by comments above the instruction where they start.
pub fn filter(doc: &Dockerfile, registry: &Registry, findings: &mut Vec<Finding>) {
    if findings.is_empty() {
        return;
    }
    if skip_file(doc) {
        findings.clear();
        return;
    }
    findings.retain(|f| {
        let Some(ins) = doc
            .instructions
            .iter()
            .find(|i| i.span.start <= f.span.start && f.span.start <= i.span.end.max(i.span.start))
        else {
            return true;
        };
        let ignored = pragmas_above(doc, ins.line_start);
        if ignored.is_empty() {
            return true;
        }
        let codes = registry
            .get(f.rule)
            .map(|r| r.hadolint_codes())
            .unwrap_or(&[]);
        !ignored.iter().any(|name| {
            name == f.rule
                || name.eq_ignore_ascii_case("all")
                || codes.iter().any(|c| c.eq_ignore_ascii_case(name))
        })
    });
}

/// Rule names and hadolint codes listed in the comment lines directly above `line_start`.
fn pragmas_above(doc: &Dockerfile, line_start: usize) -> Vec<String> {
    let before = doc.source.get(..line_start).unwrap_or("");
    let mut out = Vec::new();
    for line in before.lines().rev() {
        let t = line.trim();
        let Some(comment) = t.strip_prefix('#') else {
            break;
        };
        let c = comment.trim();
        let list = if let Some(r) = c.strip_prefix("dfopt:") {
            r.trim()
                .strip_prefix("ignore=")
                .or_else(|| r.trim().strip_prefix("ignore ="))
        } else if let Some(r) = c.strip_prefix("hadolint") {
            r.trim().strip_prefix("ignore=")
        } else {
            None
        };
        if let Some(list) = list {
            let list = list.split_whitespace().next().unwrap_or("");
            out.extend(
                list.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
    }
    out
}
