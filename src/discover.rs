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
/// skipping hidden entries), `-` as standard input. Collects [`discover_each`]'s stream.
pub fn discover(paths: &[PathBuf], opts: &WalkOptions) -> Vec<Input> {
    let mut out = Vec::new();
    discover_each(paths, opts, |i| {
        out.push(i);
        true
    });
    out
}

/// Streams the inputs of PATH arguments to `visit` (which returns false to stop) without holding
/// them all: folders are walked depth-first with each folder's entries sorted by name, so the
/// order is stable from run to run and memory stays flat however large the tree.
pub fn discover_each(paths: &[PathBuf], opts: &WalkOptions, mut visit: impl FnMut(Input) -> bool) {
    let include = build_globs(&opts.include, true);
    let exclude = build_globs(&opts.exclude, false);
    for p in paths {
        let go_on = if p.as_os_str() == "-" {
            visit(Input::Stdin)
        } else {
            // A symlink is judged by what it points to; anything else by its own metadata, so
            // that a file named on the command line costs one `stat`.
            let target = std::fs::symlink_metadata(p).map(|m| {
                if m.file_type().is_symlink() {
                    std::fs::metadata(p).ok()
                } else {
                    Some(m)
                }
            });
            match target {
                Err(e) => visit(Input::Error(p.clone(), io_message(&e))),
                Ok(Some(m)) if m.is_dir() => {
                    walk(p, opts, include.as_ref(), exclude.as_ref(), &mut visit)
                }
                Ok(Some(m)) if m.is_file() => visit(Input::File(p.clone())),
                // Only regular files are read: a FIFO would block the run, a device (`/dev/zero`)
                // never ends; a dangling symlink is none either.
                Ok(_) => visit(Input::Error(p.clone(), "not a regular file".into())),
            }
        };
        if !go_on {
            return;
        }
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
    visit: &mut impl FnMut(Input) -> bool,
) -> bool {
    // Asked once: `std::path::absolute` of a relative path asks the kernel every time.
    let cwd = if include.is_some() || exclude.is_some() {
        std::env::current_dir().ok()
    } else {
        None
    };
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(opts.follow_symlinks)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = match &e {
                    ignore::Error::WithPath { path, .. } => path.clone(),
                    _ => root.to_path_buf(),
                };
                if !visit(Input::Error(path, e.to_string())) {
                    return false;
                }
                continue;
            }
        };
        let Some(ft) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        let path = entry.path();
        let matches_include = || {
            include
                .map(|inc| {
                    inc.matched(
                        absolute_from(path, cwd.as_deref()).unwrap_or_else(|_| path.to_path_buf()),
                        false,
                    )
                    .is_whitelist()
                })
                .unwrap_or(false)
        };
        if !(is_dockerfile_name(&name) || matches_include()) {
            continue;
        }
        if let Some(ex) = exclude {
            let abs = absolute_from(path, cwd.as_deref()).unwrap_or_else(|_| path.to_path_buf());
            if ex.matched(&abs, ft.is_dir()).is_whitelist() {
                continue;
            }
        }
        // Folders are never files to process (a Go package `internal/dockerfile/` is walked, not
        // read), and the walk skips what is not a regular file: FIFOs, sockets, devices, and
        // symlinks unless followed (then the target's type counts).
        if !ft.is_file() {
            continue;
        }
        let input = Input::File(path.to_path_buf());
        if !visit(input) {
            return false;
        }
    }
    true
}

/// [`std::path::absolute`] with the current folder already known (`cwd`, as
/// [`std::env::current_dir`] gave it): the same path, without asking the kernel for the current
/// folder once per path. Without `cwd`, or for an empty path, it is `std::path::absolute` itself.
pub fn absolute_from(path: &Path, cwd: Option<&Path>) -> std::io::Result<PathBuf> {
    match cwd {
        // `absolute` keeps a relative path's components after the current folder's (dropping
        // `.` ones, keeping `..` and a trailing `/`): so does it for the joined, absolute path.
        Some(cwd) if path.is_relative() && !path.as_os_str().is_empty() => {
            std::path::absolute(cwd.join(path))
        }
        _ => std::path::absolute(path),
    }
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
    fn absolute_from_a_known_folder_is_std_absolute() {
        let cwd = std::env::current_dir().expect("current folder");
        for p in [
            ".",
            "./",
            "a",
            "a/",
            "./a/b",
            "a/./b/",
            "a/../b",
            "..",
            "../x/./y",
            ".//a//b",
            "/abs/./x/../y/",
            "//net/x",
            "",
        ] {
            let p = Path::new(p);
            let expected = std::path::absolute(p).ok();
            assert_eq!(absolute_from(p, Some(&cwd)).ok(), expected, "{p:?}");
            assert_eq!(absolute_from(p, None).ok(), expected, "{p:?}");
        }
    }

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
