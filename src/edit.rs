//! Findings, fixes and the byte-range edits they carry.

use crate::syntax::Span;
use serde::Serialize;

/// Whether a fix keeps the image's behaviour (applied by default) or may change it (applied only
/// with `--unsafe-fixes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    Safe,
    Unsafe,
}

impl Safety {
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Safe => "safe",
            Safety::Unsafe => "unsafe",
        }
    }
}

/// How much a finding matters, for CI: `check` fails on findings at or above `--fail-level`
/// (default: warning). Ordered from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Advice: what dfopt saw but will not change, e.g. a multi-stage refusal ("dfopt does not
    /// guess: …").
    Info,
    /// Fixable waste: layers, caches and packages the image does not need.
    Warning,
    /// Something that breaks builds or correctness: a prompt that aborts a build, a package list
    /// cached apart from its install, a runtime past its end of life.
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Replace the bytes of `span` with `replacement` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

impl Edit {
    pub fn replace(span: Span, replacement: impl Into<String>) -> Self {
        Edit {
            span,
            replacement: replacement.into(),
        }
    }
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit {
            span: Span::new(at, at),
            replacement: text.into(),
        }
    }
    pub fn delete(span: Span) -> Self {
        Edit {
            span,
            replacement: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub safety: Safety,
    /// Non-overlapping edits, applied together or not at all.
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn safe(edits: Vec<Edit>) -> Self {
        Fix {
            safety: Safety::Safe,
            edits,
        }
    }
    pub fn unsafe_(edits: Vec<Edit>) -> Self {
        Fix {
            safety: Safety::Unsafe,
            edits,
        }
    }
    fn overlaps(&self, other: &Fix) -> bool {
        self.edits.iter().any(|a| {
            other.edits.iter().any(|b| {
                // Two insertions at one point, or an insertion inside or at either end of a replaced
                // range (it was computed against the old text there), conflict: one waits a round.
                a.span.start < b.span.end && b.span.start < a.span.end
                    || a.span.start == b.span.start
                    || (a.span.is_empty()
                        && b.span.start <= a.span.start
                        && a.span.start <= b.span.end)
                    || (b.span.is_empty()
                        && a.span.start <= b.span.start
                        && b.span.start <= a.span.end)
            })
        })
    }
}

/// What a pass reports: a rule, where, why, and optionally how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub message: String,
    pub span: Span,
    pub fix: Option<Fix>,
    /// Set by rules whose findings differ in level, else by the engine from the rule's declaration.
    pub explicit_level: Option<Level>,
}

impl Finding {
    pub fn new(rule: &'static str, span: Span, message: impl Into<String>) -> Self {
        Finding {
            rule,
            message: message.into(),
            span,
            fix: None,
            explicit_level: None,
        }
    }
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }
    pub fn with_level(mut self, level: Level) -> Self {
        self.explicit_level = Some(level);
        self
    }
    /// How much this finding matters (see [`Level`]): its own level, which the engine sets from
    /// the rule's declaration (`RuleMeta::level`) when the rule did not.
    pub fn level(&self) -> Level {
        self.explicit_level.unwrap_or(Level::Warning)
    }
}

/// Picks a set of fixes whose edits do not overlap (earliest first) and applies them to `source`.
/// Returns the new text and the rules whose fixes were applied.
pub fn apply_fixes<'a>(
    source: &str,
    fixes: impl IntoIterator<Item = (&'static str, &'a Fix)>,
) -> (String, Vec<&'static str>) {
    let mut candidates: Vec<(&'static str, &Fix)> = fixes.into_iter().collect();
    candidates.sort_by_key(|(_, f)| f.edits.iter().map(|e| e.span.start).min().unwrap_or(0));
    let mut chosen: Vec<(&'static str, &Fix)> = Vec::new();
    for (rule, fix) in candidates {
        let valid = fix.edits.iter().all(|e| {
            e.span.start <= e.span.end
                && e.span.end <= source.len()
                && source.is_char_boundary(e.span.start)
                && source.is_char_boundary(e.span.end)
        });
        if valid && !chosen.iter().any(|(_, c)| c.overlaps(fix)) && !self_overlapping(fix) {
            chosen.push((rule, fix));
        }
    }
    let mut edits: Vec<&Edit> = chosen.iter().flat_map(|(_, f)| f.edits.iter()).collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(source.len() + 64);
    let mut at = 0;
    for e in edits {
        out.push_str(&source[at..e.span.start]);
        out.push_str(&e.replacement);
        at = e.span.end;
    }
    out.push_str(&source[at..]);
    (out, chosen.into_iter().map(|(r, _)| r).collect())
}

fn self_overlapping(fix: &Fix) -> bool {
    let mut spans: Vec<Span> = fix.edits.iter().map(|e| e.span).collect();
    spans.sort();
    spans.windows(2).any(|w| {
        w[0].end > w[1].start || (w[0].start == w[1].start && w[0].is_empty() && w[1].is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_fixes_are_deferred() {
        let a = Fix::safe(vec![Edit::replace(Span::new(0, 3), "x")]);
        let b = Fix::safe(vec![Edit::replace(Span::new(2, 5), "y")]);
        let c = Fix::safe(vec![Edit::insert(6, "!")]);
        let d = Fix::safe(vec![Edit::insert(3, "?")]); // at the end of a's range: waits
        let (out, rules) = apply_fixes("abcdefg", [("a", &a), ("b", &b), ("c", &c), ("d", &d)]);
        assert_eq!(out, "xdef!g");
        assert_eq!(rules, ["a", "c"]);
    }
}
