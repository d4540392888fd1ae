//! How a path is shown in headers and messages: relative to the current folder, `/`-separated.

use std::path::{Path, PathBuf};

/// `path` relative to the current folder, with `/` separators, for headers and messages.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    display_path_from(path, cwd.as_deref())
}

pub fn display_path_from(path: &Path, cwd: Option<&Path>) -> String {
    let rel = if path.is_absolute() {
        cwd.and_then(|c| relative(path, c))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    // Only Windows separates with `\`: on Unix it is an ordinary character of a file name.
    let s = rel.to_string_lossy().into_owned();
    #[cfg(windows)]
    let s = s.replace('\\', "/");
    let mut s: &str = &s;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

fn relative(path: &Path, base: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let p: Vec<Component> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(b.iter()).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}
