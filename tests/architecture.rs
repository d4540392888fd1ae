//! The module boundaries, checked from the source text: the `use crate::…` / `crate::x::…` /
//! `super::…` references in src/**/*.rs (test modules included: a test that reaches across a
//! boundary ties the modules together just the same) make an import graph, and
//!
//! (a) no two top-level modules may import each other, directly or through others;
//! (b) only `cli` (and the binary, `main.rs`) may import `cli`;
//! (c) a file in src/passes may not import a sibling rule module (the shared helpers in
//!     `passes/mod.rs` such as `load`, `regex`, `Context`, `Rule`, `LazyRegex`, `Memo`,
//!     and the helper modules in [`SHARED_PASS_HELPERS`] are fine);
//! (d) no source file may hold more than [`MAX_CODE_LINES`] lines before its first `#[cfg(test)]`.
//!
//! What breaks a rule today is listed in [`KNOWN_VIOLATIONS`]; the test fails on any violation not
//! listed there, and on any listed one that no longer occurs (delete it: the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines of non-test code a source file may have.
const MAX_CODE_LINES: usize = 1000;

/// Modules in src/passes that rules may share. They are being moved out of src/passes (to
/// src/model, issue 11); once they are gone this list is empty.
const SHARED_PASS_HELPERS: &[&str] = &[];

/// Violations that exist today, each with why it is tolerated. A new violation fails the test.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

/// One source file: its path relative to the crate and its module path (`["cli", "pipeline"]`).
struct Source {
    rel: String,
    module: Vec<String>,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(root)
                .expect("under the crate")
                .to_string_lossy()
                .replace('\\', "/");
            let mut module: Vec<String> = rel
                .trim_start_matches("src/")
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_string)
                .collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear(); // the crate root
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            Source { rel, module, text }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code without comments and without the contents of string and character literals, so that
/// neither a doc link such as ``[`crate::config::find_config`]`` nor a glob such as `"dir/*"` is
/// taken for code.
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (at(i + 1) == '"' || at(i + 1) == '#')
            && !ident_char(at(i.wrapping_sub(1)))
        {
            // A raw string r"…" or r#"…"#: no escapes, ends at the quote and as many hashes.
            let mut k = i + 1;
            let mut hashes = 0;
            while at(k) == '#' {
                hashes += 1;
                k += 1;
            }
            if at(k) != '"' {
                out.push(c);
                i += 1;
                continue;
            }
            k += 1;
            while k < chars.len() && !(chars[k] == '"' && (1..=hashes).all(|h| at(k + h) == '#')) {
                k += 1;
            }
            out.push_str("\"\"");
            i = k + 1 + hashes;
        } else if c == '"' {
            let mut k = i + 1;
            while k < chars.len() && chars[k] != '"' {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = k + 1;
        } else if c == '\'' && (at(i + 2) == '\'' || at(i + 1) == '\\') {
            // A character literal ('"', '\'', '\u{..}'); a lifetime has no closing quote.
            let mut k = i + 1;
            if at(k) == '\\' {
                k += 2;
            } else {
                k += 1;
            }
            while k < chars.len() && chars[k] != '\'' {
                k += 1;
            }
            out.push_str("' '");
            i = k + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A path reference: how many `super::` it starts with (`None` for `crate::`) and the first
/// segment after the prefix, one per item of a `{…}` list.
#[derive(Debug)]
struct Reference {
    supers: Option<usize>,
    first: String,
    /// Whether it is in the file's test code (after the first `#[cfg(test)]`), one module deeper.
    in_test: bool,
}

fn references(code: &str, test_start: usize) -> Vec<Reference> {
    let bytes = code.as_bytes();
    let mut refs = Vec::new();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !is_ident(bytes[i - 1]);
        let (supers, mut j) = if boundary && bytes[i..].starts_with(b"crate::") {
            (None, i + "crate::".len())
        } else if boundary && bytes[i..].starts_with(b"super::") {
            let mut j = i;
            let mut n = 0;
            while bytes[j..].starts_with(b"super::") {
                j += "super::".len();
                n += 1;
            }
            (Some(n), j)
        } else {
            i += 1;
            continue;
        };
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let firsts = if bytes.get(j) == Some(&b'{') {
            let (items, end) = brace_items(code, j);
            j = end;
            items
        } else {
            let start = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            vec![code[start..j].to_string()]
        };
        for first in firsts.into_iter().filter(|f| !f.is_empty()) {
            refs.push(Reference {
                supers,
                first,
                in_test: i >= test_start,
            });
        }
        i = j.max(i + 1);
    }
    refs
}

/// The first segment of each item of the `{…}` list that opens at `open`, and where it ends.
fn brace_items(code: &str, open: usize) -> (Vec<String>, usize) {
    let mut depth = 0;
    let mut end = code.len();
    for (k, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = open + k + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    let inner = &code[open + 1..end.saturating_sub(1).max(open + 1)];
    let mut items = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => items.push(std::mem::take(&mut item)),
            _ => {}
        }
        if !(c == ',' && depth == 0) {
            item.push(c);
        }
    }
    items.push(item);
    let firsts = items
        .iter()
        .map(|it| {
            it.trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '*')
                .collect()
        })
        .collect();
    (firsts, end)
}

/// Where a file's test code starts (its first `#[cfg(test)]`), or its length.
fn test_start(code: &str) -> usize {
    code.find("#[cfg(test)]").unwrap_or(code.len())
}

/// The module path a reference names, resolved from the file's module.
fn target(src: &Source, r: &Reference) -> Vec<String> {
    match r.supers {
        None => vec![r.first.clone()],
        Some(n) => {
            // Test code sits in a `mod tests` one level below the file's module.
            let depth = src.module.len() + usize::from(r.in_test);
            let mut base: Vec<String> = src.module.clone();
            base.truncate(depth.saturating_sub(n).min(src.module.len()));
            base.push(r.first.clone());
            base
        }
    }
}

fn top_level_modules(srcs: &[Source]) -> BTreeSet<String> {
    srcs.iter()
        .filter_map(|s| s.module.first().cloned())
        .collect()
}

/// Edges between top-level modules: importer -> imported, with a file that makes each.
fn top_level_graph(srcs: &[Source]) -> BTreeMap<String, BTreeMap<String, String>> {
    let tops = top_level_modules(srcs);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for src in srcs {
        let Some(from) = src.module.first() else {
            continue; // the crate root declares the modules; main.rs is the binary
        };
        let code = strip_comments(&src.text);
        for r in references(&code, test_start(&code)) {
            let to = target(src, &r);
            let Some(to) = to.first() else { continue };
            if to != from && tops.contains(to) {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to.clone())
                    .or_insert_with(|| src.rel.clone());
            }
        }
    }
    graph
}

/// Every cycle between top-level modules, as `a -> b -> a (via files)`.
fn cycles(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        // Depth-first search for a path back to `start`; each cycle is reported once, from its
        // smallest module.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).map(|m| m.keys()).into_iter().flatten() {
                if next == start {
                    if path.iter().all(|p| p >= start) {
                        let mut shown = path.join(" -> ");
                        shown.push_str(&format!(" -> {start}"));
                        let via: Vec<String> = path
                            .iter()
                            .zip(path.iter().skip(1).chain(std::iter::once(start)))
                            .map(|(a, b)| format!("{a}->{b} in {}", graph[a][b]))
                            .collect();
                        found.insert(format!("{shown} ({})", via.join(", ")));
                    }
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn violations() -> Vec<String> {
    let srcs = sources();
    let mut out = Vec::new();
    let graph = top_level_graph(&srcs);
    // (a)
    for c in cycles(&graph) {
        out.push(format!("import cycle between top-level modules: {c}"));
    }
    // (b)
    for (from, tos) in &graph {
        if let Some(file) = tos.get("cli") {
            if from != "cli" {
                out.push(format!("{file} imports crate::cli (only the CLI may)"));
            }
        }
    }
    // (c)
    let passes_dir = "src/passes/";
    let siblings: BTreeSet<String> = srcs
        .iter()
        .filter(|s| s.rel.starts_with(passes_dir) && s.module.len() == 2)
        .map(|s| s.module[1].clone())
        .collect();
    for src in srcs
        .iter()
        .filter(|s| s.module.len() >= 2 && s.module[0] == "passes")
    {
        let own = &src.module[1];
        let code = strip_comments(&src.text);
        let mut named = BTreeSet::new();
        for r in references(&code, test_start(&code)) {
            let to = target(src, &r);
            if to.len() >= 2 && to[0] == "passes" {
                let sibling = &to[1];
                if sibling != own
                    && siblings.contains(sibling)
                    && !SHARED_PASS_HELPERS.contains(&sibling.as_str())
                {
                    named.insert(sibling.clone());
                }
            }
        }
        for sibling in named {
            out.push(format!("{} imports sibling rule module {sibling}", src.rel));
        }
    }
    // (d)
    for src in &srcs {
        let code_lines = src
            .text
            .lines()
            .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
            .count();
        if code_lines > MAX_CODE_LINES {
            out.push(format!(
                "{} has more than {MAX_CODE_LINES} lines of non-test code",
                src.rel
            ));
        }
    }
    out
}

#[test]
fn module_boundaries_hold() {
    let found = violations();
    let known: BTreeSet<&str> = KNOWN_VIOLATIONS.iter().map(|(v, _)| *v).collect();
    let new: Vec<&String> = found
        .iter()
        .filter(|v| !known.contains(v.as_str()))
        .collect();
    let gone: Vec<&&str> = known
        .iter()
        .filter(|k| !found.iter().any(|v| v == **k))
        .collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "new violations (fix them):\n  {}\nKNOWN_VIOLATIONS entries that no longer occur (delete them):\n  {}",
        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        gone.iter().map(|s| **s).collect::<Vec<_>>().join("\n  ")
    );
}

/// The checker itself: each rule fires on a small made-up example.
#[test]
fn the_checker_sees_each_kind_of_reference() {
    let src = |rel: &str, module: &[&str], text: &str| Source {
        rel: rel.into(),
        module: module.iter().map(|s| s.to_string()).collect(),
        text: text.into(),
    };
    let code = strip_comments(
        "//! [`crate::doc_only`]\nuse crate::{a::B, c, d::{e, f}};\nconst G: &str = \"g/* crate::s\";\nconst Q: char = '\"';\n/* crate::t /* nested */ */ fn g() { crate::h::i(); }\n",
    );
    let firsts: Vec<String> = references(&code, code.len())
        .into_iter()
        .map(|r| r.first)
        .collect();
    assert_eq!(firsts, ["a", "c", "d", "h"]);
    let file = src(
        "src/passes/x.rs",
        &["passes", "x"],
        "use super::{rule_data, y::Z};\n#[cfg(test)]\nmod tests { use super::*; use super::super::w; }\n",
    );
    let code = strip_comments(&file.text);
    let targets: Vec<Vec<String>> = references(&code, test_start(&code))
        .iter()
        .map(|r| target(&file, r))
        .collect();
    assert_eq!(
        targets,
        [
            vec!["passes", "rule_data"],
            vec!["passes", "y"],
            vec!["passes", "w"],
        ]
    );
    let graph: BTreeMap<String, BTreeMap<String, String>> = [
        ("a", "b", "src/a.rs"),
        ("b", "c", "src/b.rs"),
        ("c", "a", "src/c.rs"),
        ("c", "d", "src/c.rs"),
    ]
    .iter()
    .fold(BTreeMap::new(), |mut g, (f, t, file)| {
        g.entry(f.to_string())
            .or_default()
            .insert(t.to_string(), file.to_string());
        g
    });
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a -> b -> c -> a"), "{found:?}");
}

/// The rule ids that the configuration checks names against (src/rule_ids.rs, generated by
/// build.rs so that config need not import the passes) are exactly the registered rules.
#[test]
fn rule_ids_are_the_registered_rules() {
    let registry = dfopt::passes::Registry::new(&dfopt::config::Settings::default())
        .expect("default registry");
    let registered: BTreeSet<&str> = registry.rules.iter().map(|r| r.id()).collect();
    let listed: BTreeSet<&str> = dfopt::rule_ids::RULE_IDS.iter().copied().collect();
    assert_eq!(registered, listed);
    for id in listed {
        assert!(
            dfopt::passes::rule_doc(id).is_some(),
            "{id} has no documentation"
        );
    }
}
