//! Finding the Dockerfiles a run covers.

use std::path::{Path, PathBuf};

/// What a PATH argument turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// Something named on the command line or met on the walk that cannot be processed.
    Error(PathBuf, String),
}

/// Whether a file name is one dfopt takes when walking a folder.
pub fn is_dockerfile_name(name: &str) -> bool {
    if name.ends_with(".dockerignore") {
        return false;
    }
    name == "Dockerfile"
        || name == "dockerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
        || name == "Containerfile"
        || name.starts_with("Containerfile.")
}

/// Options for the walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub follow_symlinks: bool,
    /// Extra glob patterns (on file names) to take.
    pub include: Vec<String>,
    /// Glob patterns (on paths) to skip.
    pub exclude: Vec<String>,
}

/// Expands PATH arguments: files as given, folders walked (honouring .gitignore and .ignore,
/// skipping hidden entries), `-` as standard input. The result is sorted by path within each
/// argument so output order is stable.
pub fn discover(paths: &[PathBuf], opts: &WalkOptions) -> Vec<Input> {
    let mut out = Vec::new();
    let include = build_globs(&opts.include, true);
    let exclude = build_globs(&opts.exclude, false);
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Input::Stdin);
            continue;
        }
        match std::fs::symlink_metadata(p) {
            Err(e) => out.push(Input::Error(p.clone(), io_message(&e))),
            Ok(m) if m.is_dir() || (m.file_type().is_symlink() && p.is_dir()) => {
                let mut found = walk(p, opts, include.as_ref(), exclude.as_ref());
                found.sort_by(|a, b| input_path(a).cmp(input_path(b)));
                out.extend(found);
            }
            Ok(_) => out.push(Input::File(p.clone())),
        }
    }
    out
}

fn input_path(i: &Input) -> &Path {
    match i {
        Input::Stdin => Path::new("-"),
        Input::File(p) | Input::Error(p, _) => p,
    }
}

fn build_globs(patterns: &[String], names: bool) -> Option<ignore::overrides::Override> {
    if patterns.is_empty() {
        return None;
    }
    let mut b = ignore::overrides::OverrideBuilder::new("/");
    for pat in patterns {
        let rooted = pat.starts_with('/') || pat.starts_with("**");
        let _ = names;
        let pat = if rooted {
            pat.clone()
        } else {
            format!("**/{pat}")
        };
        let _ = b.add(&pat);
    }
    b.build().ok()
}

fn walk(
    root: &Path,
    opts: &WalkOptions,
    include: Option<&ignore::overrides::Override>,
    exclude: Option<&ignore::overrides::Override>,
) -> Vec<Input> {
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(opts.follow_symlinks)
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = match &e {
                    ignore::Error::WithPath { path, .. } => path.clone(),
                    _ => root.to_path_buf(),
                };
                out.push(Input::Error(path, e.to_string()));
                continue;
            }
        };
        let path = entry.path();
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(ex) = exclude {
            if ex
                .matched(&abs, entry.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .is_whitelist()
            {
                continue;
            }
        }
        let Some(ft) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        let wanted = is_dockerfile_name(&name)
            || include
                .map(|inc| inc.matched(&abs, false).is_whitelist())
                .unwrap_or(false);
        if !wanted {
            continue;
        }
        if ft.is_dir() {
            if entry.depth() > 0 {
                out.push(Input::Error(
                    path.to_path_buf(),
                    "is a directory, not a Dockerfile".into(),
                ));
            }
            continue;
        }
        if ft.is_symlink() && !opts.follow_symlinks {
            continue;
        }
        if ft.is_file() || ft.is_symlink() {
            out.push(Input::File(path.to_path_buf()));
        }
    }
    out
}

pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "Dockerfile",
            "Dockerfile.dev",
            "api.Dockerfile",
            "x.dockerfile",
            "Containerfile",
            "Containerfile.arm",
        ] {
            assert!(is_dockerfile_name(n), "{n}");
        }
        for n in [
            "Dockerfile.dockerignore",
            "README.md",
            "dockerfile.go",
            "Makefile",
        ] {
            assert!(!is_dockerfile_name(n), "{n}");
        }
    }
}
