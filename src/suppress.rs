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
    if findings.is_empty() || !may_hold_pragma(&doc.source) {
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
        let ignored = pragmas_above(&doc.source, ins.line_start);
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

/// Whether `source` holds the text every pragma needs: `dfopt:` in any case (as
/// [`skip_file`] compares) or `hadolint`. Most files have neither, and then no finding is
/// suppressed, so [`filter`] need not look for instructions and comments at all.
fn may_hold_pragma(source: &str) -> bool {
    let bytes = source.as_bytes();
    memchr::memmem::find(bytes, b"hadolint").is_some()
        || memchr::memchr_iter(b':', bytes).any(|colon| {
            colon
                .checked_sub(5)
                .and_then(|start| bytes.get(start..colon))
                .is_some_and(|word| word.eq_ignore_ascii_case(b"dfopt"))
        })
}

/// Rule names and hadolint codes listed in the comment lines directly above `line_start`.
fn pragmas_above(source: &str, line_start: usize) -> Vec<String> {
    let before = source.get(..line_start).unwrap_or("");
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

/// Names in `# dfopt: ignore=…` comments that are no rule (a typo such as `chain-rnus` would
/// otherwise suppress nothing, silently), as (line, column, name), 1-based. hadolint comments
/// are not checked: they name hadolint's codes, most of which dfopt has no rule for.
pub fn unknown_names(source: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    if memchr::memmem::find(source.as_bytes(), b"dfopt:").is_none() {
        return out;
    }
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(comment) = trimmed.strip_prefix('#') else {
            continue;
        };
        let Some(rest) = comment.trim_start().strip_prefix("dfopt:") else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(list) = rest
            .strip_prefix("ignore=")
            .or_else(|| rest.strip_prefix("ignore ="))
        else {
            continue;
        };
        let list = list.trim_start();
        let list_start = line.len() - list.len();
        let list = list.split_whitespace().next().unwrap_or("");
        let mut offset = 0;
        for name in list.split(',') {
            let at = offset;
            offset += name.len() + 1;
            let name = name.trim();
            if name.is_empty() || crate::rule_ids::is_rule_id(name) {
                continue;
            }
            let col = line[..list_start + at].chars().count() + 1;
            out.push((index + 1, col, name.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_in_dfopt_pragmas_are_located() {
        assert_eq!(
            unknown_names("FROM a\n  # dfopt: ignore=chain-runs,chain-rnus\nRUN x\n"),
            [(2, 30, "chain-rnus".to_string())]
        );
        assert!(
            unknown_names("FROM a\n# dfopt: ignore=ALL\n# hadolint ignore=DL9999\n").is_empty()
        );
    }

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

    proptest::proptest! {
        /// The quick check never turns a pragma away: when it says a file has none, neither
        /// `skip_file` nor any comment block above a line finds one.
        #[test]
        fn no_pragma_text_means_no_pragma(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "FROM a\n", "RUN x\n", "#", " ", "\n", "\r\n", "dfopt", "DfOpT", ":",
                    " skip-file", "ignore=", "ignore =", "chain-runs", ",", "all", "hadolint",
                    "hadolin", "DL3008", "dfop", "t:", "\t",
                ]),
                0..24,
            )
        ) {
            let source: String = parts.concat();
            if !may_hold_pragma(&source) {
                if let Ok(doc) = Dockerfile::parse(&source) {
                    proptest::prop_assert!(!skip_file(&doc));
                }
                for (at, _) in source.match_indices('\n') {
                    proptest::prop_assert!(pragmas_above(&source, at + 1).is_empty());
                }
            }
        }
    }

    #[test]
    fn pragma_text_is_seen_in_any_case() {
        assert!(may_hold_pragma("FROM a\n# DFOPT: skip-file\n"));
        assert!(may_hold_pragma("# hadolint ignore=DL3008\nRUN x\n"));
        assert!(may_hold_pragma("dfopt:"));
        assert!(!may_hold_pragma("FROM a:b\n# dfopt ignore\n:dfopt"));
        assert!(!may_hold_pragma(""));
    }
}
