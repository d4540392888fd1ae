//! The variables of a RUN's script (`model::files::Vars`) as they were read before the walk over
//! the shell tree (`src/model/files.rs`): `Vars::of` and its `assignments` scanner verbatim, a
//! scan of the text for `NAME=value` and a regex for `for|read|local|declare|typeset NAME`, kept
//! as the oracle of `tests/shell_tree_equivalence.rs` (issue 11). Only the imports, the
//! visibility and `known` (the comparable view) are new.

use dfopt::rule_data::LazyRegex;
use std::collections::HashMap;

/// A byte that means itself in a shell word: no quoting, expansion or glob.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._/:+@%,=-".contains(&b)
}

/// The assignments `NAME=value` of a script, as the regex
/// `(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|"[^"$`\\]*"|[A-Za-z0-9._/:+@%,=-]*)` finds them
/// left to right without overlaps: (name, value as written, end of the match). Written out by hand
/// because the regex's capture search was most of the cost of reading a RUN's variables; a test
/// checks the two agree.
fn assignments(text: &str) -> Vec<(&str, &str, usize)> {
    let b = text.as_bytes();
    let is_name_byte = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    let mut out = Vec::new();
    let mut resume = 0; // where the previous match ended: the next may not start before it
    for eq in memchr::memchr_iter(b'=', b) {
        let mut name_start = eq;
        while name_start > 0 && b.get(name_start - 1).copied().is_some_and(is_name_byte) {
            name_start -= 1;
        }
        if name_start == eq || b.get(name_start).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        // `^`, or one separator character right before the name (the match starts there).
        let match_start = match text.get(..name_start).and_then(|t| t.chars().next_back()) {
            None => 0,
            Some(c) if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(') => {
                name_start - c.len_utf8()
            }
            Some(_) => continue,
        };
        if match_start < resume {
            continue;
        }
        let v = eq + 1;
        let rest = b.get(v..).unwrap_or_default();
        let quoted = match rest.first() {
            Some(b'\'') => memchr::memchr(b'\'', rest.get(1..).unwrap_or_default()).map(|i| i + 2),
            Some(b'"') => rest
                .get(1..)
                .unwrap_or_default()
                .iter()
                .position(|&c| matches!(c, b'"' | b'$' | b'`' | b'\\'))
                .filter(|&i| rest.get(i + 1) == Some(&b'"'))
                .map(|i| i + 2),
            _ => None,
        };
        let len = quoted.unwrap_or_else(|| rest.iter().take_while(|&&c| is_plain_byte(c)).count());
        let (Some(name), Some(value)) = (text.get(name_start..eq), text.get(v..v + len)) else {
            continue;
        };
        resume = v + len;
        out.push((name, value, v + len));
    }
    out
}

/// Variables assigned exactly once, to a literal, in a RUN's script: name → (value, offset).
pub struct Vars {
    map: HashMap<String, Option<(String, usize)>>,
}

impl Vars {
    pub fn of(text: &str) -> Vars {
        let mut map: HashMap<String, Option<(String, usize)>> = HashMap::new();
        static RE: std::sync::OnceLock<Option<LazyRegex>> = std::sync::OnceLock::new();
        let Some(other) = RE
            .get_or_init(|| {
                dfopt::rule_data::regex(
                    r"\b(?:for|read|local|declare|typeset)\s+(?:-\S+\s+)*([A-Za-z_][A-Za-z0-9_]*)",
                )
                .ok()
            })
            .as_ref()
        else {
            return Vars { map };
        };
        for (name, v, end) in assignments(text) {
            let after = text.as_bytes().get(end).copied();
            let clean_end = matches!(
                after,
                None | Some(b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b')')
            );
            let value = if v.len() >= 2 && (v.starts_with('\'') || v.starts_with('"')) {
                v.get(1..v.len() - 1).map(str::to_string)
            } else {
                Some(v.to_string())
            };
            let entry = map.entry(name.to_string());
            use std::collections::hash_map::Entry;
            match entry {
                Entry::Vacant(e) => {
                    e.insert(if clean_end {
                        value.map(|v| (v, end))
                    } else {
                        None
                    });
                }
                Entry::Occupied(mut e) => {
                    e.insert(None);
                }
            }
        }
        for c in other.captures_iter(text) {
            if let Some(n) = c.get(1) {
                map.insert(n.as_str().to_string(), None);
            }
        }
        if text.contains("read ") {
            map.clear();
        }
        Vars { map }
    }

    fn get(&self, name: &str, at: usize) -> Option<&str> {
        match self.map.get(name) {
            Some(Some((v, off))) if *off <= at => Some(v),
            _ => None,
        }
    }

    /// The variables known: name → (value, offset of the end of the assignment), by name.
    pub fn known(&self) -> std::collections::BTreeMap<&str, (&str, usize)> {
        self.map
            .iter()
            .filter_map(|(name, v)| {
                let (value, at) = v.as_ref()?;
                Some((name.as_str(), (value.as_str(), *at)))
            })
            .collect()
    }
}

/// The hand-written scanner is the regex its doc comment gives (moved here with it from
/// `src/model/files.rs`).
#[test]
fn assignments_agree_with_their_regex() {
    use proptest::prelude::*;
    let re = regex::Regex::new(
        r#"(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|"[^"$`\\]*"|[A-Za-z0-9._/:+@%,=-]*)"#,
    )
    .expect("valid");
    let by_regex = |t: &str| -> Vec<(String, String, usize)> {
        re.captures_iter(t)
            .filter_map(|c| {
                Some((
                    c.get(1)?.as_str().to_string(),
                    c.get(2)?.as_str().to_string(),
                    c.get(0)?.end(),
                ))
            })
            .collect()
    };
    let by_hand = |t: &str| -> Vec<(String, String, usize)> {
        assignments(t)
            .into_iter()
            .map(|(n, v, e)| (n.to_string(), v.to_string(), e))
            .collect()
    };
    for t in [
        "A=1 B=2",
        "A=B=C",
        "A='x B=1' C=2",
        "a-b=1 _x=\"y\" 9a=1 x9=2",
        "\u{a0}V=1;W=(X=2",
        "F=\"a$b\" G=\"ok\"",
        "=x A==",
        "é=1 x=é",
    ] {
        assert_eq!(by_hand(t), by_regex(t), "{t:?}");
    }
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 20_000,
        ..Default::default()
    });
    runner
        .run(&"[aZ_9 =;&|()'\"$`\\.\n\u{a0}é-]{0,30}", |t| {
            prop_assert_eq!(by_hand(&t), by_regex(&t));
            Ok(())
        })
        .expect("the scanner and the regex agree");
}
