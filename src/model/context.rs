//! What the build context beside the Dockerfile says: package.json, go.mod, Cargo.toml,
//! requirements.txt.

use std::path::{Path, PathBuf};

/// The folder a Dockerfile was read from: its build context as far as dfopt can tell.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    dir: Option<PathBuf>,
}

/// Files larger than this are not read.
const MAX_CONTEXT_FILE: u64 = 1 << 20;

impl BuildContext {
    pub fn new(dockerfile: Option<&Path>) -> BuildContext {
        let dir = dockerfile.and_then(|p| p.parent()).map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d.to_path_buf()
            }
        });
        BuildContext { dir }
    }

    pub fn read(&self, name: &str) -> Option<String> {
        let p = self.dir.as_ref()?.join(name);
        let meta = std::fs::metadata(&p).ok()?;
        if !meta.is_file() || meta.len() > MAX_CONTEXT_FILE {
            return None;
        }
        std::fs::read_to_string(p).ok()
    }

    pub fn has_dir(&self, name: &str) -> bool {
        self.dir
            .as_ref()
            .map(|d| d.join(name).is_dir())
            .unwrap_or(false)
    }

    pub fn package_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.read("package.json")?).ok()
    }

    /// The last element of go.mod's module path: what `go build` names the binary by default.
    pub fn go_module_name(&self) -> Option<String> {
        let text = self.read("go.mod")?;
        let line = text
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("module"))?;
        let m = line.trim().trim_matches('"');
        let last = m.rsplit('/').next()?;
        // `example.com/app/v2` builds `app`.
        let last = if last.starts_with('v')
            && last[1..].chars().all(|c| c.is_ascii_digit())
            && last.len() > 1
        {
            m.rsplit('/').nth(1)?
        } else {
            last
        };
        (!last.is_empty()).then(|| last.to_string())
    }

    /// Binary names Cargo.toml declares: `[[bin]]` names, else `[package] name`.
    pub fn cargo_bins(&self) -> Option<Vec<String>> {
        let t: toml::Table = toml::from_str(&self.read("Cargo.toml")?).ok()?;
        if let Some(bins) = t.get("bin").and_then(|b| b.as_array()) {
            let names: Vec<String> = bins
                .iter()
                .filter_map(|b| b.get("name")?.as_str().map(str::to_string))
                .collect();
            if !names.is_empty() {
                return Some(names);
            }
        }
        let name = t.get("package")?.get("name")?.as_str()?;
        Some(vec![name.to_string()])
    }

    /// Package names from requirements.txt (lower-cased, extras and versions removed).
    pub fn requirements(&self) -> Option<Vec<String>> {
        let text = self.read("requirements.txt")?;
        Some(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty() && !l.starts_with('-'))
                .map(|l| {
                    l.split(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                    })
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
                    .replace('_', "-")
                })
                .filter(|n| !n.is_empty())
                .collect(),
        )
    }
}
