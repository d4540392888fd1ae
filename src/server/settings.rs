//! The server's configuration: the same `dfopt.toml` resolution as the CLI, with the client's
//! `initializationOptions` (or `workspace/didChangeConfiguration` settings) in the place of the
//! command-line flags.

use crate::config::{find_config, resolve, FinalImage, Overrides, Settings};
use crate::passes::Registry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the client may set. Keys are camelCase, as editors write them:
/// `{"unsafeFixes": true, "select": ["chain-runs"], "ignore": [...], "final": "alpine",
/// "isolated": false}`; the object may also sit under a `dfopt` key (the shape of
/// `workspace/didChangeConfiguration` settings). They override `dfopt.toml` as the matching
/// flags do: `select` replaces, `ignore` adds, `unsafeFixes: true` turns unsafe fixes on.
pub fn overrides_from_json(value: &serde_json::Value) -> (Overrides, Vec<String>) {
    let value = value.get("dfopt").unwrap_or(value);
    let mut warnings = Vec::new();
    let mut over = Overrides::default();
    let Some(obj) = value.as_object() else {
        if !value.is_null() {
            warnings.push("dfopt: initializationOptions must be an object; ignored".to_string());
        }
        return (over, warnings);
    };
    let mut rule_list = |key: &str| -> Option<Vec<String>> {
        let list = obj.get(key)?;
        let Some(items) = list.as_array() else {
            warnings.push(format!(
                "dfopt: `{key}` must be a list of rule ids; ignored"
            ));
            return None;
        };
        let mut ids = Vec::new();
        for item in items {
            match item.as_str() {
                Some(id) if crate::passes::is_rule_id(id) => ids.push(id.to_string()),
                _ => warnings.push(format!(
                    "dfopt: `{key}`: unknown rule {item} (see `dfopt rules`); ignored"
                )),
            }
        }
        Some(ids)
    };
    over.select = rule_list("select");
    over.ignore = rule_list("ignore").unwrap_or_default();
    for (key, field) in [
        ("unsafeFixes", &mut over.unsafe_fixes),
        ("isolated", &mut over.isolated),
    ] {
        match obj.get(key) {
            None => {}
            Some(serde_json::Value::Bool(b)) => *field = *b,
            Some(_) => warnings.push(format!("dfopt: `{key}` must be true or false; ignored")),
        }
    }
    match obj.get("final").map(|v| v.as_str()) {
        None => {}
        Some(Some("distroless")) => over.final_image = Some(FinalImage::Distroless),
        Some(Some("alpine")) => over.final_image = Some(FinalImage::Alpine),
        Some(Some("slim")) => over.final_image = Some(FinalImage::Slim),
        Some(_) => warnings.push(
            "dfopt: `final` must be \"distroless\", \"alpine\" or \"slim\"; ignored".to_string(),
        ),
    }
    (over, warnings)
}

/// The settings and rules for one file.
pub struct FileRules {
    pub settings: Settings,
    pub registry: Arc<Registry>,
    /// The config's `exclude` matches the file: it gets no diagnostics.
    pub excluded: bool,
}

/// Resolves settings per file and keeps the compiled rules.
#[derive(Default)]
pub struct RulesCache {
    pub overrides: Overrides,
    /// The folder for files without a path (unsaved buffers): the workspace root.
    pub root: Option<PathBuf>,
    /// Rules compiled once per distinct `[transforms]` data, as the CLI does: building them is
    /// most of a check's cost for a small file.
    registries: HashMap<String, Arc<Registry>>,
}

impl RulesCache {
    /// Settings for `path` (or for an unsaved buffer): the nearest `dfopt.toml`, read afresh each
    /// time so that an edited config applies at the next check (it is a small file; the
    /// expensive part, the rules, is cached), with the client's overrides on top.
    pub fn for_file(&mut self, path: Option<&Path>) -> Result<FileRules, String> {
        let dir = match path {
            Some(p) => p.parent().map(Path::to_path_buf),
            None => self.root.clone(),
        };
        let config = match &dir {
            Some(d) if !self.overrides.isolated => find_config(d),
            _ => None,
        };
        let resolved = resolve(config.as_deref(), &self.overrides).map_err(|e| e.to_string())?;
        let key = format!("{:?}", resolved.settings.transforms);
        let registry = match self.registries.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(
                    Registry::new(&resolved.settings).map_err(|e| match &config {
                        Some(p) => crate::diagnostic::Diagnostic::whole_file(p, e).to_string(),
                        None => format!("error: {e}"),
                    })?,
                );
                self.registries.insert(key, r.clone());
                r
            }
        };
        let (settings, excluded) = match path {
            Some(p) => {
                let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
                (
                    resolved.settings_for(&abs).into_owned(),
                    resolved.excluded(&abs),
                )
            }
            None => (resolved.settings.clone(), false),
        };
        Ok(FileRules {
            settings,
            registry,
            excluded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_options() {
        let (o, w) = overrides_from_json(&serde_json::json!({
            "unsafeFixes": true, "select": ["chain-runs", "nope"], "ignore": ["apk-no-cache"],
            "final": "alpine"
        }));
        assert!(o.unsafe_fixes);
        assert_eq!(o.select, Some(vec!["chain-runs".to_string()]));
        assert_eq!(o.ignore, ["apk-no-cache"]);
        assert_eq!(o.final_image, Some(FinalImage::Alpine));
        assert_eq!(w.len(), 1, "{w:?}");
        let (o, w) = overrides_from_json(&serde_json::json!({"dfopt": {"unsafeFixes": 1}}));
        assert!(!o.unsafe_fixes);
        assert_eq!(w.len(), 1);
        let (o, w) = overrides_from_json(&serde_json::Value::Null);
        assert!(o.select.is_none() && w.is_empty());
    }
}
