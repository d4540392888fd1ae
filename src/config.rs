//! Run settings: which rules run, whether unsafe fixes apply, style, and per-rule data overrides.

use std::collections::BTreeMap;

/// Where `&&` goes when dfopt breaks a command over lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorPosition {
    /// Follow the file's own style; `&&` at the start of the line when it has none.
    #[default]
    Auto,
    /// `\` then a new line starting with `&& cmd`.
    Leading,
    /// `cmd && \` then the next command on the new line.
    Trailing,
}

/// The image family the final stage should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinalImage {
    #[default]
    Distroless,
    Alpine,
    Slim,
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Rules to run; `None` means the rules that are on by default. `ALL` selects every rule.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub unsafe_fixes: bool,
    pub final_image: FinalImage,
    pub operator_position: OperatorPosition,
    /// Continuation indentation; `None` follows the file.
    pub indent: Option<String>,
    /// `[transforms.<rule>]` tables from the config, merged over `transforms/<rule>.toml`.
    pub transforms: BTreeMap<String, toml::Table>,
}

impl Settings {
    pub fn rule_enabled(&self, id: &str, default_enabled: bool) -> bool {
        let named = |list: &[String]| {
            list.iter()
                .any(|r| r == id || r.eq_ignore_ascii_case("all"))
        };
        let selected = match &self.select {
            Some(list) => named(list),
            None => default_enabled,
        };
        selected && !self.ignore.iter().any(|r| r == id)
    }
}
