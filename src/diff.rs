//! Unified diffs that `git apply` takes.

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
    let (old_kept, new_kept, line_offset) = cut_common_ends(old, new);
    diff_of_lines(path, old_kept, new_kept, line_offset)
}

/// `old` and `new` without the common lines at their ends that cannot be in the diff (all but
/// [`CONTEXT`] on either side of the change), found by comparing bytes, and how many lines were
/// cut at the front. [`diff_of_lines`] then splits and compares only the lines near the change;
/// it cuts the same common ends itself, so its diff is the same as for the whole texts.
fn cut_common_ends<'a>(old: &'a str, new: &'a str) -> (&'a str, &'a str, usize) {
    let (o, n) = (old.as_bytes(), new.as_bytes());
    // After the last newline of the common prefix, every line before is the same on both sides.
    let same_prefix = common_prefix_len(o, n);
    let prefix_end = memchr::memrchr(b'\n', &o[..same_prefix]).map_or(0, |i| i + 1);
    let start = memchr::memrchr_iter(b'\n', &o[..prefix_end])
        .nth(CONTEXT)
        .map_or(0, |i| i + 1);
    let line_offset = memchr::memchr_iter(b'\n', &o[..start]).count();
    // A newline inside the common suffix (after the common prefix lines, so that no line is
    // counted twice, as `diff_of_lines` does) starts a line that is the same on both sides up to
    // the end; the fourth such line and all after it are cut.
    let same_suffix = common_suffix_len(&o[prefix_end..], &n[prefix_end..]);
    let suffix_from = o.len() - same_suffix;
    let cut_from = o
        .get(suffix_from..o.len().saturating_sub(1))
        .and_then(|region| memchr::memchr_iter(b'\n', region).nth(CONTEXT))
        .map_or(o.len(), |i| suffix_from + i + 1);
    let cut = o.len() - cut_from;
    match (old.get(start..cut_from), new.get(start..new.len() - cut)) {
        (Some(old_kept), Some(new_kept)) => (old_kept, new_kept, line_offset),
        _ => (old, new, 0),
    }
}

/// Bytes at the start of `a` and `b` that are the same (compared 32 at a time first).
fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let whole = a
        .chunks_exact(32)
        .zip(b.chunks_exact(32))
        .take_while(|(x, y)| x == y)
        .count()
        * 32;
    whole
        + a[whole..]
            .iter()
            .zip(&b[whole..])
            .take_while(|(x, y)| x == y)
            .count()
}

/// Bytes at the end of `a` and `b` that are the same.
fn common_suffix_len(a: &[u8], b: &[u8]) -> usize {
    let whole = a
        .rchunks_exact(32)
        .zip(b.rchunks_exact(32))
        .take_while(|(x, y)| x == y)
        .count()
        * 32;
    whole
        + a[..a.len() - whole]
            .iter()
            .rev()
            .zip(b[..b.len() - whole].iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
}

/// The diff of `old` → `new`, whose first lines are line `line_offset + 1` of the files.
fn diff_of_lines(path: &[u8], old: &str, new: &str, line_offset: usize) -> String {
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
    let (old_header, new_header) = (quote_path_bytes("a/", path), quote_path_bytes("b/", path));
    // Both paths produce the ops similar's `TextDiff` would (Myers over the middle, or anchors and
    // Myers over the gaps for a huge middle); one renderer writes them straight into the output
    // with the `skip` lines added to the hunk headers, so no intermediate text is built and
    // re-parsed.
    let ops = if old_mid.len().saturating_mul(new_mid.len()) <= MYERS_WHOLE_LIMIT {
        count_work(old_mid.len() * new_mid.len());
        similar::capture_diff_slices(similar::Algorithm::Myers, old_mid, new_mid)
    } else {
        anchored_ops(old_mid, new_mid)
    };
    let mut out = String::with_capacity(4 * old_header.len() + 256);
    out.push_str("diff --git ");
    out.push_str(&old_header);
    out.push(' ');
    out.push_str(&new_header);
    out.push('\n');
    render_unified(
        &mut out,
        ops,
        old_mid,
        new_mid,
        Headers {
            old: &old_header,
            new: &new_header,
            line_offset: line_offset + skip,
        },
    );
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
        // Every byte is printable ASCII: the path is copied as it is (`format!` and a lossy
        // conversion cost more than the diff's lines for a small change).
        let mut out = String::with_capacity(prefix.len() + path.len());
        out.push_str(prefix);
        out.push_str(&String::from_utf8_lossy(path));
        return out;
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

/// Above this many line pairs (old × new lines of the changed middle), Myers over the whole middle
/// is no longer used: its time grows with the product when most lines changed (4,000 joined RUNs
/// took 8 s). Every file of the corpus is far below, so their diffs are Myers' as before.
const MYERS_WHOLE_LIMIT: usize = 1 << 20;

/// Above this many line pairs, a gap between anchors is shown as removed and added whole rather
/// than diffed: a gap that large has no line in common that is unique on both sides.
const MYERS_GAP_LIMIT: usize = 1 << 16;

thread_local! {
    /// Line pairs handed to Myers on this thread (its worst-case work), for the tests that bound
    /// the diff's cost.
    static MYERS_WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_work(pairs: usize) {
    MYERS_WORK.with(|w| w.set(w.get().saturating_add(pairs as u64)));
}

/// Line pairs handed to Myers on this thread so far (see [`MYERS_WORK`]).
#[doc(hidden)]
pub fn myers_work() -> u64 {
    MYERS_WORK.with(|w| w.get())
}

/// Diff operations for a large changed middle in O(N log N) plus bounded Myers: lines that occur
/// exactly once on each side anchor the diff (patience diff's idea, their longest increasing
/// run), and each gap between anchors goes to Myers, or, when the gap is too large for it, is
/// replaced whole.
fn anchored_ops(old: &[&str], new: &[&str]) -> Vec<similar::DiffOp> {
    use std::collections::HashMap;
    // Each line's count and (last) index on both sides.
    let mut in_old: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, l) in old.iter().enumerate() {
        let e = in_old.entry(l).or_insert((0, i));
        e.0 += 1;
    }
    let mut in_new: HashMap<&str, usize> = HashMap::new();
    for l in new {
        *in_new.entry(l).or_default() += 1;
    }
    let pairs: Vec<(usize, usize)> = new
        .iter()
        .enumerate()
        .filter_map(|(j, l)| match in_old.get(l) {
            Some(&(1, i)) if in_new.get(l) == Some(&1) => Some((i, j)),
            _ => None,
        })
        .collect();
    // Longest increasing subsequence of old indices, in new order (pairs are sorted by new index).
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (k, &(i, _)) in pairs.iter().enumerate() {
        let at = tails.partition_point(|&t| pairs[t].0 < i);
        prev[k] = at.checked_sub(1).map(|p| tails[p]);
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut anchors = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(k) = cur {
        anchors.push(pairs[k]);
        cur = prev[k];
    }
    anchors.reverse();
    anchors.push((old.len(), new.len())); // the end, as a sentinel
    let mut ops = Vec::new();
    let (mut oi, mut ni) = (0, 0);
    for (ai, aj) in anchors {
        let (gap_old, gap_new) = (&old[oi..ai], &new[ni..aj]);
        if !gap_old.is_empty() || !gap_new.is_empty() {
            if gap_old.len().saturating_mul(gap_new.len()) <= MYERS_GAP_LIMIT {
                count_work(gap_old.len() * gap_new.len());
                for op in similar::capture_diff_slices(similar::Algorithm::Myers, gap_old, gap_new)
                {
                    ops.push(shift_op(op, oi, ni));
                }
            } else if gap_new.is_empty() {
                ops.push(similar::DiffOp::Delete {
                    old_index: oi,
                    old_len: gap_old.len(),
                    new_index: ni,
                });
            } else if gap_old.is_empty() {
                ops.push(similar::DiffOp::Insert {
                    old_index: oi,
                    new_index: ni,
                    new_len: gap_new.len(),
                });
            } else {
                ops.push(similar::DiffOp::Replace {
                    old_index: oi,
                    old_len: gap_old.len(),
                    new_index: ni,
                    new_len: gap_new.len(),
                });
            }
        }
        if ai < old.len() {
            ops.push(similar::DiffOp::Equal {
                old_index: ai,
                new_index: aj,
                len: 1,
            });
        }
        (oi, ni) = (ai + 1, aj + 1);
    }
    ops
}

fn shift_op(op: similar::DiffOp, o: usize, n: usize) -> similar::DiffOp {
    use similar::DiffOp::*;
    match op {
        Equal {
            old_index,
            new_index,
            len,
        } => Equal {
            old_index: old_index + o,
            new_index: new_index + n,
            len,
        },
        Delete {
            old_index,
            old_len,
            new_index,
        } => Delete {
            old_index: old_index + o,
            old_len,
            new_index: new_index + n,
        },
        Insert {
            old_index,
            new_index,
            new_len,
        } => Insert {
            old_index: old_index + o,
            new_index: new_index + n,
            new_len,
        },
        Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => Replace {
            old_index: old_index + o,
            old_len,
            new_index: new_index + n,
            new_len,
        },
    }
}

/// The `---`/`+++` names of a diff, and how many lines before the diffed slices the files have
/// (added to the hunk headers' line numbers).
struct Headers<'a> {
    old: &'a str,
    new: &'a str,
    line_offset: usize,
}

/// Appends to `out` a unified diff of `ops` in the layout similar's formatter writes (hunks of
/// [`CONTEXT`] lines of context, `\ No newline at end of file` after a last line without one);
/// nothing when `ops` changes nothing.
fn render_unified(
    out: &mut String,
    ops: Vec<similar::DiffOp>,
    old: &[&str],
    new: &[&str],
    headers: Headers<'_>,
) {
    use std::fmt::Write as _;
    // `start` is 0-based; as similar's `UnifiedDiffHunkRange`: `N` for one line, `N,LEN` else,
    // with N the line before the range when it is empty.
    let range = |out: &mut String, start: usize, end: usize| {
        let len = end.saturating_sub(start);
        let start = start + headers.line_offset;
        let _ = match len {
            1 => write!(out, "{}", start + 1),
            0 => write!(out, "{start},0"),
            _ => write!(out, "{},{len}", start + 1),
        };
    };
    let line = |out: &mut String, sign: char, text: &str| {
        out.push(sign);
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    let groups = similar::group_diff_ops(ops, CONTEXT);
    if groups.is_empty() {
        return;
    }
    for part in ["--- ", headers.old, "\n+++ ", headers.new, "\n"] {
        out.push_str(part);
    }
    for group in groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o0, n0) = (first.old_range().start, first.new_range().start);
        let (o1, n1) = (last.old_range().end, last.new_range().end);
        out.push_str("@@ -");
        range(out, o0, o1);
        out.push_str(" +");
        range(out, n0, n1);
        out.push_str(" @@\n");
        for op in &group {
            match *op {
                similar::DiffOp::Equal { old_index, len, .. } => {
                    for t in old.get(old_index..old_index + len).unwrap_or_default() {
                        line(out, ' ', t);
                    }
                }
                _ => {
                    for t in old.get(op.old_range()).unwrap_or_default() {
                        line(out, '-', t);
                    }
                    for t in new.get(op.new_range()).unwrap_or_default() {
                        line(out, '+', t);
                    }
                }
            }
        }
    }
}

/// The lines of `text`, each with its `\n` (as `split_inclusive`), found with memchr.
fn lines(text: &str) -> Vec<&str> {
    // Sized from the length (lines of 16 bytes or more need no growing) rather than by a first
    // pass counting the line feeds.
    let mut out = Vec::with_capacity(text.len() / 16 + 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use similar::TextDiff;

    /// [`render_unified`] of `ops` as a string, headers `a/p` and `b/p`.
    fn rendered(ops: Vec<similar::DiffOp>, old: &[&str], new: &[&str]) -> String {
        let mut out = String::new();
        let headers = Headers {
            old: "a/p",
            new: "b/p",
            line_offset: 0,
        };
        render_unified(&mut out, ops, old, new, headers);
        out
    }

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

    /// `n` RUNs of ten commands, and what chain-runs makes of them: every line changes.
    fn many_runs(n: usize) -> (String, String) {
        let mut old = String::from("FROM debian\n");
        let mut new = String::from("FROM debian\n");
        for i in 0..n {
            let cmds: Vec<String> = (0..10).map(|j| format!("echo {i}-{j}")).collect();
            old.push_str(&format!("RUN {}\n", cmds.join(" && ")));
            let sep = if i == 0 { "RUN " } else { "    && " };
            new.push_str(&format!("{sep}{} \\\n", cmds.join(" && ")));
        }
        new.push_str("    && true\n");
        (old, new)
    }

    #[test]
    fn diff_work_is_linear_in_changed_lines() {
        let work = |n: usize| {
            let (old, new) = many_runs(n);
            let before = myers_work();
            let d = unified("Dockerfile", &old, &new);
            assert!(
                d.contains(&format!("+    && echo {}-0", n - 1)),
                "{}",
                &d[..200]
            );
            myers_work() - before
        };
        let (small, large) = (work(1000), work(4000));
        assert!(
            large <= 5 * small + 1_000_000,
            "4x the RUNs cost {large} line pairs against {small}: not linear"
        );
    }

    #[test]
    fn the_large_diff_renders_as_similar_does() {
        let base: Vec<String> = (0..40).map(|i| format!("line {}\n", i % 7)).collect();
        let old = base.concat();
        let mut l = base.clone();
        l[5] = "a\n".into();
        l.insert(30, "b\n".into());
        let changed = l.concat();
        for (a, b) in [
            (old.as_str(), changed.as_str()),
            (old.trim_end(), changed.as_str()),
            (old.as_str(), changed.trim_end()),
            ("", old.as_str()),
            (old.as_str(), ""),
        ] {
            let (ol, nl) = (lines(a), lines(b));
            let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &ol, &nl);
            let ours = rendered(ops, &ol, &nl);
            let theirs = TextDiff::configure()
                .algorithm(similar::Algorithm::Myers)
                .newline_terminated(true)
                .diff_slices(&ol, &nl)
                .unified_diff()
                .context_radius(CONTEXT)
                .missing_newline_hint(true)
                .header("a/p", "b/p")
                .to_string();
            assert_eq!(ours, theirs, "{a:?} -> {b:?}");
            // And the anchored ops describe the same change.
            let anchored = rendered(anchored_ops(&ol, &nl), &ol, &nl);
            assert_eq!(apply(a, &anchored), b, "{anchored}");
        }
    }

    /// Applies a unified diff made by [`render_unified`] to `old` (enough of `patch` for tests).
    fn apply(old: &str, patch: &str) -> String {
        let old_lines = lines(old);
        let mut out = String::new();
        let mut at = 0;
        let mut plines = patch.split_inclusive('\n').skip(2).peekable();
        while let Some(h) = plines.next() {
            let start: usize = h
                .trim_start_matches("@@ -")
                .split([',', ' '])
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let len_is_zero = h.split(' ').nth(1).is_some_and(|r| r.ends_with(",0"));
            let start = if len_is_zero { start } else { start - 1 };
            out.extend(old_lines[at..start].iter().copied());
            at = start;
            while let Some(l) = plines.peek() {
                if l.starts_with("@@") {
                    break;
                }
                let l = plines.next().unwrap_or_default();
                let mut strip = |s: &str| {
                    if plines.peek().is_some_and(|n| n.starts_with('\\')) {
                        s.trim_end_matches('\n').to_string()
                    } else {
                        s.to_string()
                    }
                };
                match l.chars().next() {
                    Some(' ') => {
                        out.push_str(&strip(&l[1..]));
                        at += 1;
                    }
                    Some('-') => at += 1,
                    Some('+') => out.push_str(&strip(&l[1..])),
                    _ => {}
                }
            }
        }
        out.extend(old_lines[at..].iter().copied());
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

    /// Texts of up to 60 lines over a few distinct lines (so that lines repeat and Myers has
    /// choices to make), each line with its newline or, for the last, maybe without.
    fn text_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy as _;
        (
            proptest::collection::vec(0u8..6, 0..60),
            proptest::bool::ANY,
        )
            .prop_map(|(picks, trailing_newline)| {
                let mut text: String = picks.iter().map(|p| format!("line {p}\n")).collect();
                if !trailing_newline {
                    text.pop();
                }
                text
            })
    }

    proptest::proptest! {
        /// [`render_unified`] writes Myers' ops byte for byte as similar's own unified formatter
        /// does, for random edits anywhere (odd ops of Myers over repeated lines included).
        #[test]
        fn random_edits_render_as_similar_does(
            old in text_strategy(),
            edits in proptest::collection::vec((0usize..80, 0u8..3, 0u8..8), 0..8),
            drop_final_newline in proptest::bool::ANY,
        ) {
            let mut new_lines: Vec<String> = old.split_inclusive('\n').map(str::to_string).collect();
            for (at, kind, value) in edits {
                let at = at.min(new_lines.len());
                match kind {
                    0 => new_lines.insert(at, format!("line {value}\n")),
                    1 if at < new_lines.len() => {
                        new_lines.remove(at);
                    }
                    _ if at < new_lines.len() => new_lines[at] = format!("edit {value}\n"),
                    _ => {}
                }
            }
            let mut new = new_lines.concat();
            if drop_final_newline {
                new.pop();
            }
            for (a, b) in [(&old, &new), (&new, &old)] {
                // Cutting the common ends by bytes first changes nothing.
                if a != b {
                    proptest::prop_assert_eq!(unified("p", a, b), diff_of_lines(b"p", a, b, 0));
                }
                let (al, bl) = (lines(a), lines(b));
                let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &al, &bl);
                let theirs = TextDiff::configure()
                    .algorithm(similar::Algorithm::Myers)
                    .newline_terminated(true)
                    .diff_slices(&al, &bl)
                    .unified_diff()
                    .context_radius(CONTEXT)
                    .missing_newline_hint(true)
                    .header("a/p", "b/p")
                    .to_string();
                proptest::prop_assert_eq!(rendered(ops, &al, &bl), theirs);
            }
        }
    }
}
