//! Unified diffs that `git apply` takes.

use similar::TextDiff;

/// A unified diff of `old` → `new` with `a/PATH` and `b/PATH` headers; empty when equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
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
            .context_radius(3)
            .missing_newline_hint(true)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    );
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
