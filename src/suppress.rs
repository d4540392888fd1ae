//! Inline suppressions: `# dfopt: ignore=RULE[,RULE]` or `# hadolint ignore=DLxxxx` on the comment
//! lines right above an instruction, and `# dfopt: skip-file` anywhere.

use crate::edit::Finding;
use crate::passes::Registry;
use crate::syntax::Dockerfile;

/// Whether the file opts out of dfopt entirely.
pub fn skip_file(doc: &Dockerfile) -> bool {
    // Only lines with a `#` can hold the pragma: find those instead of trimming every line.
    let src = doc.source.as_str();
    let mut from = 0;
    memchr::memchr_iter(b'#', src.as_bytes()).any(|hash| {
        if hash < from {
            return false; // a second `#` on a line already looked at
        }
        let start = src
            .get(..hash)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let end = src
            .get(hash..)
            .and_then(|a| a.find('\n'))
            .map_or(src.len(), |i| hash + i);
        from = end;
        src.get(start..end).is_some_and(|l| {
            l.trim()
                .strip_prefix('#')
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("dfopt: skip-file"))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_file_pragma_on_its_own_comment_line() {
        let skips = |src: &str| skip_file(&Dockerfile::parse(src).expect("parses"));
        assert!(skips("# dfopt: skip-file\nFROM a\n"));
        assert!(skips("FROM a\r\n  #   DFOPT: Skip-File  \r\nRUN x\r\n"));
        assert!(skips("FROM a\nRUN x # y\n\t# dfopt: skip-file"));
        assert!(!skips("FROM a\nRUN echo '# dfopt: skip-file'\n"));
        assert!(!skips("FROM a\n## dfopt: skip-file\n"));
        assert!(!skips("FROM a\n# dfopt: skip-file please\n"));
        assert!(!skips(
            "FROM a\n# dfopt: ignore=chain-runs # dfopt: skip-file\n"
        ));
    }
}
