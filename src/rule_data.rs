//! Reading a rule's data: its `transforms/<rule>.toml` merged with `[transforms.<rule>]` from the
//! configuration, and the helpers that turn that data into lists and regexes. A leaf module: the
//! model and the rules both read data through it, so neither has to import the other.

use crate::config::Settings;

/// A rule's data: its `transforms/<rule>.toml` merged with `[transforms.<rule>]` from the config.
pub fn rule_data(default_toml: &str, id: &str, settings: &Settings) -> Result<toml::Table, String> {
    rule_data_with(toml::Table::new(), default_toml, id, settings)
}

/// Like [`rule_data`], with `defaults` (what the rule takes from the model, such as a package
/// manager's programs) under the keys of its TOML: both may be overridden from the config.
pub fn rule_data_with(
    defaults: toml::Table,
    default_toml: &str,
    id: &str,
    settings: &Settings,
) -> Result<toml::Table, String> {
    let own: toml::Table =
        toml::from_str(default_toml).map_err(|e| format!("transforms/{id}.toml: {e}"))?;
    let mut base = defaults;
    base.extend(own);
    if let Some(over) = settings.transforms.get(id) {
        for (k, v) in over {
            if !base.contains_key(k) {
                return Err(format!("[transforms.{id}]: unknown key `{k}`"));
            }
            base.insert(k.clone(), v.clone());
        }
    }
    Ok(base)
}

/// A rule's regex, checked when the rules are built and compiled on first use.
///
/// Compiling every regex of every rule up front took most of start-up time, on one thread, before
/// any file was read; many are only needed by files that use a given package manager. The syntax
/// is still checked up front, so a bad pattern in `dfopt.toml` is reported at once.
pub struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<regex::Regex>,
    /// What to use should compiling fail after the syntax check passed (only the size limit is
    /// left, which these patterns are far from): a regex that matches nothing, not a panic.
    never: regex::Regex,
}

impl std::ops::Deref for LazyRegex {
    type Target = regex::Regex;
    fn deref(&self) -> &regex::Regex {
        self.compiled
            .get_or_init(|| regex::Regex::new(&self.pattern).unwrap_or_else(|_| self.never.clone()))
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
    regex_syntax::ParserBuilder::new()
        .utf8(true)
        .build()
        .parse(&out)
        .map_err(|e| e.to_string())?;
    static NEVER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let never = match NEVER.get() {
        Some(r) => r.clone(),
        None => {
            let r = regex::Regex::new(r"[^\s\S]").map_err(|e| e.to_string())?;
            NEVER.get_or_init(|| r).clone()
        }
    };
    Ok(LazyRegex {
        pattern: out,
        compiled: std::sync::OnceLock::new(),
        never,
    })
}

/// Reads a list of strings from rule data.
pub fn str_list(data: &toml::Table, key: &str) -> Result<Vec<String>, String> {
    match data.get(key) {
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{key}` must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("`{key}` must be a list of strings")),
        None => Err(format!("missing key `{key}`")),
    }
}

/// Reads a string from rule data.
pub fn str_key(data: &toml::Table, key: &str) -> Result<String, String> {
    data.get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("missing string key `{key}`"))
}
