//! The configuration and compiled rules that govern each folder, resolved once per folder.

use crate::config::{resolve, Discovery, Overrides, Resolved};
use crate::diagnostic::Diagnostic;
use crate::discover::absolute_from;
use crate::display_path::display_path;
use crate::passes::Registry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Config and rules for the files of one folder.
pub(super) struct FolderRules {
    pub(super) resolved: Resolved,
    pub(super) registry: Arc<Registry>,
}

/// Resolves configs per folder, once each.
pub(super) struct ConfigCache {
    overrides: Overrides,
    by_config: HashMap<Option<PathBuf>, Result<Arc<FolderRules>, String>>,
    /// Rules compiled once per distinct `[transforms]` data: a monorepo's many configs share them.
    registries: HashMap<String, Arc<Registry>>,
    by_dir: HashMap<PathBuf, Option<PathBuf>>,
    /// What the climb found above each absolute folder looked at, so that sibling folders do not
    /// test their shared parents again.
    by_abs_dir: HashMap<PathBuf, Discovery>,
    /// Warnings not yet printed (configs skipped as untrusted), each config once.
    pub(super) warnings: Vec<String>,
    warned: std::collections::HashSet<PathBuf>,
    cwd: Option<PathBuf>,
    /// The paths named on the command line, from which [`ConfigCache::roots`] are made.
    paths: Vec<PathBuf>,
    /// The absolute folders named on the command line (a file's folder for a file): outside a
    /// repository, discovery climbs no higher than the current folder or these. Made when first
    /// needed (a config found outside any repository and above the folder it governs): telling
    /// a folder from a file takes a `stat` per path, and a run names thousands of files.
    roots: std::cell::OnceCell<Vec<PathBuf>>,
}

/// Folders remembered by each [`ConfigCache`] table before it starts over: a monorepo can have a
/// folder per Dockerfile, and the walk visits a folder's files together, so a small table keeps
/// nearly every hit while memory stays flat (100,000 files in 71,670 folders took 13 MB more
/// without a bound).
const FOLDER_CACHE_LIMIT: usize = 4096;

fn bounded_insert<V>(map: &mut HashMap<PathBuf, V>, key: PathBuf, value: V) {
    if map.len() >= FOLDER_CACHE_LIMIT {
        map.clear();
    }
    map.insert(key, value);
}

impl ConfigCache {
    /// An empty cache for a run with these command-line overrides.
    pub(super) fn new(overrides: Overrides, paths: &[PathBuf]) -> Self {
        ConfigCache {
            overrides,
            by_config: HashMap::new(),
            registries: HashMap::new(),
            by_dir: HashMap::new(),
            by_abs_dir: HashMap::new(),
            warnings: Vec::new(),
            warned: std::collections::HashSet::new(),
            cwd: std::env::current_dir().ok(),
            paths: paths
                .iter()
                .filter(|p| p.as_os_str() != "-")
                .cloned()
                .collect(),
            roots: std::cell::OnceCell::new(),
        }
    }

    /// The absolute folders named on the command line (see the field).
    fn roots(&self) -> &[PathBuf] {
        self.roots.get_or_init(|| {
            self.paths
                .iter()
                .filter_map(|p| {
                    let abs = absolute_from(p, self.cwd.as_deref()).ok()?;
                    Some(if abs.is_dir() {
                        abs
                    } else {
                        abs.parent()?.to_path_buf()
                    })
                })
                .collect()
        })
    }

    /// [`crate::config::find_config`] with every folder on the way up remembered.
    fn config_above(&mut self, abs: &Path) -> Option<PathBuf> {
        let found = self.discover(abs);
        // The roots are made only should the iterator reach them (after the current folder).
        let roots = self.cwd.iter().map(PathBuf::as_path).chain(
            std::iter::once(())
                .flat_map(|()| self.roots())
                .map(PathBuf::as_path),
        );
        let config = found.governing_within(abs, roots)?;
        match crate::config::untrusted_reason(&config) {
            None => Some(config),
            Some(reason) => {
                if self.warned.insert(config.clone()) {
                    self.warnings
                        .push(crate::config::untrusted_warning(&config, &reason));
                }
                None
            }
        }
    }

    /// The nearest config and repository root at or above `abs`, climbing until a repository
    /// root or a folder already known.
    fn discover(&mut self, abs: &Path) -> Discovery {
        let mut visited: Vec<(&Path, Option<PathBuf>, bool)> = Vec::new();
        let mut cur = Some(abs);
        let mut found = loop {
            let Some(d) = cur else {
                break Discovery::default();
            };
            if let Some(known) = self.by_abs_dir.get(d) {
                break known.clone();
            }
            let config = crate::config::config_in(d);
            let repo_root = crate::config::is_repo_root(d);
            visited.push((d, config, repo_root));
            if repo_root {
                break Discovery::default();
            }
            cur = d.parent();
        };
        // Back down: each folder's answer is its own config, else its parent's.
        for (d, config, repo_root) in visited.into_iter().rev() {
            if repo_root {
                found.git_root = Some(d.to_path_buf());
            }
            if config.is_some() {
                found.config = config;
            }
            bounded_insert(&mut self.by_abs_dir, d.to_path_buf(), found.clone());
        }
        found
    }

    pub(super) fn get(&mut self, file: &Path) -> Result<Arc<FolderRules>, String> {
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let config = if self.overrides.isolated {
            None
        } else if let Some(named) = &self.overrides.config {
            Some(named.clone())
        } else {
            match self.by_dir.get(&dir) {
                Some(c) => c.clone(),
                None => {
                    let abs =
                        absolute_from(&dir, self.cwd.as_deref()).unwrap_or_else(|_| dir.clone());
                    let c = self.config_above(&abs);
                    bounded_insert(&mut self.by_dir, dir, c.clone());
                    c
                }
            }
        };
        let overrides = &self.overrides;
        let registries = &mut self.registries;
        self.by_config
            .entry(config.clone())
            .or_insert_with(|| {
                let resolved = resolve(config.as_deref(), overrides).map_err(|mut e| {
                    e.path = PathBuf::from(display_path(&e.path));
                    e.to_string()
                })?;
                let key = format!("{:?}", resolved.settings.transforms);
                let registry = match registries.get(&key) {
                    Some(r) => r.clone(),
                    None => {
                        let r =
                            Arc::new(Registry::new(&resolved.settings).map_err(
                                |e| match &config {
                                    Some(p) => {
                                        Diagnostic::whole_file(display_path(p), e).to_string()
                                    }
                                    None => format!("error: {e}"),
                                },
                            )?);
                        registries.insert(key, r.clone());
                        r
                    }
                };
                Ok(Arc::new(FolderRules { resolved, registry }))
            })
            .clone()
    }
}
