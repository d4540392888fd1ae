//! Unified diffs that `git apply` takes.

use similar::TextDiff;

/// Lines of context around each change (as `diff -u`).
const CONTEXT: usize = 3;

/// A unified diff of `old` → `new` with `a/PATH` and `b/PATH` headers; empty when equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    unified_bytes(path.as_bytes(), old, new)
}

/// [`unified`] for a path given as raw bytes (a Linux file name need not be UTF-8).
pub fn unified_bytes(path: &[u8], old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let old_lines = lines(old);
    let new_lines = lines(new);
    // A fix changes a few instructions of a file: only the changed middle, with its context, goes
    // to the diff algorithm (which would otherwise hash every line of the file first). Myers
    // strips the common prefix and suffix itself before its search, so the hunks are the same as
    // for the whole texts; only their line numbers need the `skip` lines put back.
    let prefix = old_lines
        .iter()
        .zip(&new_lines)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old_lines[prefix..]
        .iter()
        .rev()
        .zip(new_lines[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let skip = prefix.saturating_sub(CONTEXT);
    let keep_after = suffix.min(CONTEXT);
    let old_mid = &old_lines[skip..old_lines.len() - suffix + keep_after];
    let new_mid = &new_lines[skip..new_lines.len() - suffix + keep_after];
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .newline_terminated(true)
        .diff_slices(old_mid, new_mid);
    let body = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(true)
        .header(&quote_path_bytes("a/", path), &quote_path_bytes("b/", path))
        .to_string();
    let mut out = String::with_capacity(body.len() + 2 * path.len() + 20);
    out.push_str("diff --git ");
    out.push_str(&quote_path_bytes("a/", path));
    out.push(' ');
    out.push_str(&quote_path_bytes("b/", path));
    out.push('\n');
    for line in body.split_inclusive('\n') {
        match shift_hunk_header(line, skip) {
            Some(shifted) => out.push_str(&shifted),
            None => out.push_str(line),
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `prefix` + `path` as git writes it in diff headers (core.quotePath): unchanged unless it holds
/// a control character, `"`, `\\` or a non-ASCII byte; then the whole name in double quotes with
/// C escapes (`\\t`, `\\n`, `\\"`, `\\\\`, and octal `\\303` for other bytes), so that
/// `git apply` reads the same name back.
pub fn quote_path(prefix: &str, path: &str) -> String {
    quote_path_bytes(prefix, path.as_bytes())
}

/// [`quote_path`] over raw bytes (a Linux file name need not be UTF-8).
pub fn quote_path_bytes(prefix: &str, path: &[u8]) -> String {
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f;
    if !path.iter().any(|&b| needs(b)) {
        return format!("{prefix}{}", String::from_utf8_lossy(path));
    }
    let mut out = String::with_capacity(path.len() + prefix.len() + 8);
    out.push('"');
    out.push_str(prefix);
    for &b in path {
        match b {
            b'\x07' => out.push_str("\\a"),
            b'\x08' => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\x0b' => out.push_str("\\v"),
            b'\x0c' => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if needs(b) => out.push_str(&format!("\\{b:03o}")),
            b => out.push(b as char),
        }
    }
    out.push('"');
    out
}

/// The lines of `text`, each with its `\n` (as `split_inclusive`), found with memchr.
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        out.extend(text.get(start..=nl));
        start = nl + 1;
    }
    if start < text.len() {
        out.extend(text.get(start..));
    }
    out
}

/// `@@ -A[,B] +C[,D] @@…` with `skip` added to A and C; `None` for any other line (content lines
/// start with ` `, `-`, `+` or `\`, so they never look like a hunk header).
fn shift_hunk_header(line: &str, skip: usize) -> Option<String> {
    if skip == 0 {
        return None;
    }
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, tail) = rest.split_once(" @@")?;
    let shift = |range: &str| -> Option<String> {
        let (start, len) = match range.split_once(',') {
            Some((s, l)) => (s, Some(l)),
            None => (range, None),
        };
        let start: usize = start.parse().ok()?;
        Some(match len {
            Some(l) => format!("{},{l}", start + skip),
            None => (start + skip).to_string(),
        })
    };
    Some(format!("@@ -{} +{} @@{tail}", shift(old)?, shift(new)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diff of the whole texts, as `unified` made it before it cut the common ends off.
    fn whole(path: &str, old: &str, new: &str) -> String {
        if old == new {
            return String::new();
        }
        let diff = TextDiff::configure()
            .algorithm(similar::Algorithm::Myers)
            .diff_lines(old, new);
        let mut out = format!("diff --git a/{path} b/{path}\n");
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(CONTEXT)
                .missing_newline_hint(true)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    #[test]
    fn lines_split_as_split_inclusive() {
        for t in ["", "a", "a\n", "\n\n", "a\nb", "a\r\nb\n", "é\nü"] {
            assert_eq!(
                lines(t),
                t.split_inclusive('\n').collect::<Vec<_>>(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn equals_the_whole_text_diff() {
        // Changes at the start, the middle, the end; several hunks; no final newline; growth and
        // shrinkage; repeated lines that make prefix and suffix overlap.
        let base: Vec<String> = (0..40).map(|i| format!("line {}\n", i % 7)).collect();
        let text = |lines: &[String]| lines.concat();
        let old = text(&base);
        let mut cases: Vec<String> = Vec::new();
        for at in [0usize, 1, 3, 4, 10, 20, 36, 39] {
            let mut l = base.clone();
            l[at] = "changed\n".into();
            cases.push(text(&l));
            let mut l = base.clone();
            l.remove(at);
            cases.push(text(&l));
            let mut l = base.clone();
            l.insert(at, "new\n".into());
            cases.push(text(&l));
        }
        let mut l = base.clone();
        l[5] = "a\n".into();
        l[30] = "b\n".into();
        cases.push(text(&l));
        cases.push(old.trim_end().to_string());
        cases.push(format!("{old}extra"));
        cases.push(String::new());
        cases.push(old.repeat(2));
        for new in &cases {
            assert_eq!(unified("p", &old, new), whole("p", &old, new), "{new:?}");
            assert_eq!(unified("p", new, &old), whole("p", new, &old), "{new:?}");
        }
        let no_newline = old.trim_end();
        for new in &cases {
            assert_eq!(unified("p", no_newline, new), whole("p", no_newline, new));
        }
    }
}
