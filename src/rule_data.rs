//! Reading a rule's data: its `transforms/<rule>.toml` merged with `[transforms.<rule>]` from the
//! configuration, read into the rule's own `#[serde(deny_unknown_fields)]` struct by [`load`], so
//! that an unknown key, a value of the wrong type or a bad regex, in the data file or in a user's
//! config, is an error that names where it is, the key and what was expected. A leaf module: the
//! model and the rules both read data through it, so neither has to import the other.

use crate::config::Settings;
use serde::de::DeserializeOwned;

/// Reads a rule's data into `T`: `default_toml` (its `transforms/<id>.toml`), with each top-level
/// key that `[transforms.<id>]` sets in the config replaced by the config's value.
///
/// The data file is read alone first, so an error in it is reported against the file; an error
/// that only appears once the config's keys are in is the config's, and is reported against
/// `[transforms.<id>]`.
pub fn load<T: DeserializeOwned>(
    default_toml: &str,
    id: &str,
    settings: &Settings,
) -> Result<T, String> {
    if !settings.transforms.contains_key(id) {
        // The data file alone, as nearly every run reads it: straight from its text, without the
        // table `from_table` reads from (a copy of the parsed file). Should that fail, the error
        // comes from the reading below, worded as ever.
        if let Ok(data) = builtin_data(|| toml::from_str::<T>(default_toml)) {
            return Ok(data);
        }
    }
    let file = format!("transforms/{id}.toml");
    let mut table: toml::Table =
        toml::from_str(default_toml).map_err(|e| format!("{file}: {e}"))?;
    let defaults: T = from_table(&table, &file)?;
    let Some(over) = settings.transforms.get(id) else {
        return Ok(defaults);
    };
    table.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    from_table(&table, &format!("[transforms.{id}]"))
}

std::thread_local! {
    /// Whether the regexes being read are compiled into dfopt (see [`builtin_data`]).
    static READING_BUILTIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `read` over data compiled into dfopt (a `transforms/` file as shipped): its regexes'
/// syntax is checked only in debug builds, which every test runs (a test that builds the rules
/// reads every data file), since the same text gives the same answer in the release build. The
/// check is a third of start-up, before any file can be processed; patterns a configuration
/// sets are always checked.
pub fn builtin_data<R>(read: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            READING_BUILTIN.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(READING_BUILTIN.with(|b| b.replace(!cfg!(debug_assertions))));
    read()
}

/// Deserialises `table` into `T`; an error names `source`, the key and what was expected.
pub fn from_table<T: DeserializeOwned>(table: &toml::Table, source: &str) -> Result<T, String> {
    T::deserialize(toml::Value::Table(table.clone())).map_err(|e| describe(source, &e))
}

/// A deserialisation error in words a TOML author uses: where, which key, what was expected.
///
/// toml's errors for a value (not a document) carry no position; their text is the message, then
/// `in `a.b`` naming the key when there is one.
fn describe(source: &str, e: &toml::de::Error) -> String {
    let text = e.to_string();
    let key = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("in `")?.strip_suffix('`'));
    let message = e
        .message()
        .trim_end()
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
        .replace("a sequence", "a list")
        .replace("expected a map", "expected a table");
    match key {
        Some(key) => format!("{source}: `{key}`: {message}"),
        None => format!("{source}: {message}"),
    }
}

/// A rule's regex, checked when the rules are built and compiled on first use.
///
/// Compiling every regex of every rule up front took most of start-up time, on one thread, before
/// any file was read; many are only needed by files that use a given package manager. The syntax
/// is still checked up front, so a bad pattern in `dfopt.toml` is reported at once.
///
/// Several rules share patterns (`^install$` is in three data files): a pattern is compiled once
/// per process, and every `LazyRegex` with the same final text clones that one `regex::Regex`
/// (clones share the compiled program). A pattern that is an anchored literal or alternation of
/// literals (`^install$`, `^--(yes|assume-yes)$`) is never compiled for [`LazyRegex::is_match`],
/// which compares strings instead; anything else reached through `Deref` compiles it as ever.
pub struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<regex::Regex>,
    /// The whole strings the pattern matches, when it is an anchored literal alternation.
    literals: Option<Vec<String>>,
    /// [`LazyRegex::anchored_prefixes`], worked out on first use.
    prefixes: std::sync::OnceLock<Option<Vec<Vec<u8>>>>,
    /// What to use should compiling fail after the syntax check passed (only the size limit is
    /// left, which these patterns are far from): a regex that matches nothing, not a panic.
    never: regex::Regex,
}

impl LazyRegex {
    /// Whether the pattern matches somewhere in `haystack`: `regex::Regex::is_match`, answered by
    /// comparing strings when the pattern only matches a few whole strings.
    pub fn is_match(&self, haystack: &str) -> bool {
        match &self.literals {
            Some(words) => words.iter().any(|w| w == haystack),
            None => (**self).is_match(haystack),
        }
    }

    /// The literals one of which begins every match, when the pattern only matches at the start
    /// of the text (`^` without multi-line mode) and regex-syntax finds a finite set of them;
    /// `None` otherwise. A caller can rule a text out by its first bytes, without a search (or
    /// without building the text); the regex still decides when a literal is there.
    pub fn anchored_prefixes(&self) -> Option<&[Vec<u8>]> {
        self.prefixes
            .get_or_init(|| anchored_prefixes(&self.pattern))
            .as_deref()
    }
}

/// See [`LazyRegex::anchored_prefixes`].
fn anchored_prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::Look;
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

impl std::ops::Deref for LazyRegex {
    type Target = regex::Regex;
    fn deref(&self) -> &regex::Regex {
        self.compiled
            .get_or_init(|| shared_compiled(&self.pattern, &self.never))
    }
}

/// The process's one compiled regex for `pattern`. The map is locked only to find or add the
/// pattern's cell; compiling happens outside the lock, so threads compiling different patterns do
/// not wait for each other, and threads wanting the same one wait for its single compile.
fn shared_compiled(pattern: &str, never: &regex::Regex) -> regex::Regex {
    type Cells =
        std::collections::HashMap<String, std::sync::Arc<std::sync::OnceLock<regex::Regex>>>;
    static COMPILED: std::sync::Mutex<Option<Cells>> = std::sync::Mutex::new(None);
    let cell = {
        // A panic elsewhere while the map was locked leaves it whole: every change is one insert.
        let mut map = COMPILED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::sync::Arc::clone(
            map.get_or_insert_with(Default::default)
                .entry(pattern.to_owned())
                .or_default(),
        )
    };
    cell.get_or_init(|| regex::Regex::new(pattern).unwrap_or_else(|_| never.clone()))
        .clone()
}

/// The strings a pattern of the form `^prefix(alt|alt|...)suffix$` or `^literal$` matches, each
/// part made only of characters that are literal in any regex; `None` for any other pattern, which
/// must then be compiled. With no flags, `^` and `$` anchor at the ends of the whole haystack, so
/// such a pattern matches exactly these whole strings.
fn anchored_literals(pattern: &str) -> Option<Vec<String>> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let plain = |part: &str| {
        part.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b'=' | b',' | b'/' | b':' | b'@' | b'%')
        })
    };
    let Some(open) = body.find('(') else {
        return plain(body).then(|| vec![body.to_owned()]);
    };
    let (prefix, rest) = body.split_at(open);
    let (group, suffix) = rest[1..].split_once(')')?;
    if !plain(prefix) || !plain(suffix) {
        return None;
    }
    group
        .split('|')
        .map(|alt| plain(alt).then(|| format!("{prefix}{alt}{suffix}")))
        .collect()
}

impl std::fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LazyRegex({:?})", self.pattern)
    }
}

/// A regex in rule data is checked as the data is read: a bad pattern is an error naming its key.
impl<'de> serde::Deserialize<'de> for LazyRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pattern = String::deserialize(d)?;
        regex(&pattern)
            .map_err(|e| serde::de::Error::custom(format!("`{pattern}` is not a valid regex: {e}")))
    }
}

/// Checks a rule's regex and returns it, to be compiled on first use. Word boundaries are ASCII
/// ones (`\b` becomes `(?-u:\b)`): shell commands are ASCII where it matters, and a Unicode word
/// boundary nearly doubles a typical pattern's compile time.
pub fn regex(pattern: &str) -> Result<LazyRegex, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    if !READING_BUILTIN.with(std::cell::Cell::get) {
        regex_syntax::ParserBuilder::new()
            .utf8(true)
            .build()
            .parse(&out)
            .map_err(|e| e.to_string())?;
    }
    static NEVER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let never = match NEVER.get() {
        Some(r) => r.clone(),
        None => {
            let r = regex::Regex::new(r"[^\s\S]").map_err(|e| e.to_string())?;
            NEVER.get_or_init(|| r).clone()
        }
    };
    Ok(LazyRegex {
        literals: anchored_literals(&out),
        prefixes: std::sync::OnceLock::new(),
        pattern: out,
        compiled: std::sync::OnceLock::new(),
        never,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule's data as a test rule would declare it.
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Data {
        names: Vec<String>,
        decided: Vec<LazyRegex>,
        #[serde(default)]
        tables: Vec<Entry>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        program: String,
    }

    const FILE: &str = "names = [\"a\"]\ndecided = ['^-y$']\n";

    fn with_config(id: &str, over: &str) -> Settings {
        let mut s = Settings::default();
        let table: toml::Table = toml::from_str(over).unwrap_or_else(|e| panic!("{e}"));
        s.transforms.insert(id.into(), table);
        s
    }

    fn load_err(file: &str, over: &str) -> String {
        load::<Data>(file, "demo", &with_config("demo", over)).unwrap_err()
    }

    #[test]
    fn built_in_regexes_are_checked_in_the_builds_the_tests_run() {
        // Release builds leave built-in data unchecked; the debug builds of the tests check it.
        assert_eq!(
            builtin_data(|| regex("^(-y").is_err()),
            cfg!(debug_assertions)
        );
        // Only within: a pattern read afterwards (a config's) is checked in every build.
        assert!(regex("^(-y").is_err());
        // The data file read straight from its text gives what the table reading gives.
        let d: Data = load(FILE, "demo", &Settings::default()).unwrap();
        let table: toml::Table = toml::from_str(FILE).unwrap();
        let via_table: Data = from_table(&table, "demo").unwrap();
        assert_eq!(d.names, via_table.names);
        assert_eq!(
            format!("{:?}", d.decided),
            format!("{:?}", via_table.decided)
        );
    }

    #[test]
    fn the_config_replaces_keys_of_the_file() {
        let d: Data = load(FILE, "demo", &with_config("demo", "names = [\"b\", \"c\"]")).unwrap();
        assert_eq!(d.names, ["b", "c"]);
        assert!(d.decided.first().is_some_and(|r| r.is_match("-y")));
        let d: Data = load(FILE, "demo", &Settings::default()).unwrap();
        assert_eq!(d.names, ["a"]);
        assert!(d.tables.is_empty());
        let d: Data = load(
            FILE,
            "demo",
            &with_config("demo", "[[tables]]\nprogram = \"x\""),
        )
        .unwrap();
        assert_eq!(d.tables.first().map(|t| t.program.as_str()), Some("x"));
    }

    #[test]
    fn config_errors_name_the_table_the_key_and_the_expected_type() {
        assert_eq!(
            load_err(FILE, "nmes = [\"b\"]"),
            "[transforms.demo]: unknown key `nmes`, expected one of `names`, `decided`, `tables`"
        );
        assert_eq!(
            load_err(FILE, "names = \"b\""),
            "[transforms.demo]: `names`: invalid type: string \"b\", expected a list"
        );
        assert_eq!(
            load_err(FILE, "names = [1]"),
            "[transforms.demo]: `names`: invalid type: integer `1`, expected a string"
        );
        let bad_regex = load_err(FILE, "decided = ['^(-y']");
        assert!(
            bad_regex.starts_with("[transforms.demo]: `decided`: `^(-y` is not a valid regex"),
            "{bad_regex}"
        );
        let nested = load_err(FILE, "[[tables]]\nprogram = \"x\"\nprogramme = \"y\"");
        assert!(
            nested.starts_with("[transforms.demo]: `tables`: unknown key `programme`"),
            "{nested}"
        );
    }

    #[test]
    fn errors_in_the_data_file_name_the_file() {
        let err = load::<Data>(
            "names = [\"a\"]\ndecided = 3\n",
            "demo",
            &Settings::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "transforms/demo.toml: `decided`: invalid type: integer `3`, expected a list"
        );
        let err = load::<Data>("names = [\"a\"]\n", "demo", &Settings::default()).unwrap_err();
        assert_eq!(err, "transforms/demo.toml: missing key `decided`");
        // The config is not blamed for the file: the file is read alone first.
        let err = load_err("names = [\"a\"]\nextra = 1\ndecided = []\n", "names = []");
        assert!(
            err.starts_with("transforms/demo.toml: unknown key `extra`"),
            "{err}"
        );
        assert!(load::<Data>("not toml [", "demo", &Settings::default())
            .unwrap_err()
            .starts_with("transforms/demo.toml: "));
    }

    #[test]
    fn literal_patterns_answer_is_match_as_the_compiled_regex_does() {
        let patterns = [
            "^install$",
            "^(install|localinstall)$",
            "^--(yes|assume-yes)$",
            "^--(no-confirm|non-interactive)$",
            "^(a|)$",
            "^$",
            "^(-q|--quiet)=[2-9]$",
            "^-[a-zA-Z]*y[a-zA-Z]*$",
            "^(?:x|y)$",
            "^(a|b)(c)$",
            "^((a)|b)$",
            "^a$b$",
            "(?i)^install$",
            "^a.b$",
            "install",
        ];
        let haystacks = [
            "",
            "install",
            "Install",
            "install ",
            " install",
            "localinstall",
            "--yes",
            "--assume-yes",
            "--assume-yesx",
            "--no-confirm",
            "--non-interactive",
            "a",
            "b",
            "c",
            "bc",
            "ac",
            "-q=3",
            "-qy",
            "-y",
            "x",
            "y",
            "ab",
            "a$b",
            "axb",
            "a.b",
            "install\n",
            "reinstall",
        ];
        let literal = [
            "^install$",
            "^(install|localinstall)$",
            "^--(yes|assume-yes)$",
            "^--(no-confirm|non-interactive)$",
            "^(a|)$",
            "^$",
        ];
        for pattern in patterns {
            let lazy = regex(pattern).unwrap();
            assert_eq!(
                lazy.literals.is_some(),
                literal.contains(&pattern),
                "{pattern}"
            );
            let compiled = regex::Regex::new(pattern).unwrap();
            for haystack in haystacks {
                assert_eq!(
                    lazy.is_match(haystack),
                    compiled.is_match(haystack),
                    "{pattern} on {haystack:?}"
                );
            }
        }
    }

    #[test]
    fn a_pattern_is_compiled_once_for_every_regex_that_uses_it() {
        let first = regex("^-[a-zA-Z]*z[a-zA-Z]*$").unwrap();
        let second = regex("^-[a-zA-Z]*z[a-zA-Z]*$").unwrap();
        assert!(second.is_match("-xzf") && !second.is_match("-x"));
        assert!(first.is_match("-z"));
        // Both hold clones of the one compiled regex: its pattern string is the same allocation.
        assert!(std::ptr::eq(first.as_str(), second.as_str()));
    }
}
