//! Run settings and `dfopt.toml` configuration files.
//!
//! As with ruff, the nearest `dfopt.toml` (or `.dfopt.toml`) up the tree from a Dockerfile governs
//! it; `extend = "../dfopt.toml"` inherits another file; command-line flags override both. The
//! search stops at the repository root (the nearest folder with `.git`), skips configs anyone could
//! have planted, and `--config FILE` replaces it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where `&&` goes when dfopt breaks a command over lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinalImage {
    #[default]
    Distroless,
    Alpine,
    Slim,
}

/// The least severe finding level that makes `check` fail (exit 1); `never` only fails on errors
/// reading or parsing files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FailLevel {
    Error,
    #[default]
    Warning,
    Info,
    Never,
}

impl FailLevel {
    /// Whether a finding at `level` fails the run.
    pub fn fails_on(self, level: crate::edit::Level) -> bool {
        use crate::edit::Level;
        match self {
            FailLevel::Error => level >= Level::Error,
            FailLevel::Warning => level >= Level::Warning,
            FailLevel::Info => true,
            FailLevel::Never => false,
        }
    }
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
    /// The config file each `[transforms.<rule>]` came from (the last one that set a key): fixes
    /// of those rules carry text from configuration and are never safe.
    pub transforms_source: BTreeMap<String, PathBuf>,
    /// Files larger than this many bytes are not read (`max-file-size`; None: the default).
    pub max_file_size: Option<u64>,
    /// Merge RUNs and add cache cleanup in stages that do not ship too (`merge-build-stages`).
    pub merge_build_stages: bool,
    /// `fail-level`: what makes `check` fail.
    pub fail_level: FailLevel,
}

/// Inputs larger than this are refused unless `max-file-size` says otherwise: the largest
/// Dockerfile of the 2,094-file corpus is far below it.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

impl Settings {
    /// The size limit for inputs, in bytes.
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE)
    }

    /// Makes every fix of a rule whose data comes from `[transforms.<rule>]` unsafe, and says so
    /// in its message: text from a configuration file (a planted `dfopt.toml`, say) must never
    /// reach a Dockerfile as a safe fix.
    pub fn demote_configured_fixes(&self, findings: &mut [crate::edit::Finding]) {
        if self.transforms_source.is_empty() {
            return;
        }
        for f in findings {
            let Some(source) = self.transforms_source.get(f.rule) else {
                continue;
            };
            let Some(fix) = f.fix.as_mut() else {
                continue;
            };
            fix.safety = crate::edit::Safety::Unsafe;
            f.message.push_str(&format!(
                " (the fix uses `[transforms.{}]` from {}; unsafe: review that text)",
                f.rule,
                crate::display_path::display_path(source)
            ));
        }
    }

    pub fn rule_enabled(&self, id: &str, default_enabled: bool) -> bool {
        let selected = match &self.select {
            Some(list) => list.iter().any(|r| {
                r == id
                    || r.eq_ignore_ascii_case("all")
                    || (r.eq_ignore_ascii_case("default") && default_enabled)
            }),
            None => default_enabled,
        };
        selected
            && !self
                .ignore
                .iter()
                .any(|r| r == id || r.eq_ignore_ascii_case("all"))
    }
}

/// What the command line sets; `None` leaves the config's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub unsafe_fixes: bool,
    pub final_image: Option<FinalImage>,
    pub merge_build_stages: bool,
    pub fail_level: Option<FailLevel>,
    /// Ignore configuration files.
    pub isolated: bool,
    /// `--no-unsafe-fixes`: unsafe fixes stay off whatever the config says.
    pub no_unsafe_fixes: bool,
    /// `--config FILE`: this file governs every input; no discovery.
    pub config: Option<PathBuf>,
}

/// A config file's problem, located.
pub type ConfigError = crate::diagnostic::Diagnostic;

/// The keys of a `dfopt.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub extend: Option<String>,
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub extend_select: Option<Vec<String>>,
    /// Rules to skip in addition to those the extended config skips.
    pub extend_ignore: Option<Vec<String>>,
    pub unsafe_fixes: Option<bool>,
    /// Files larger than this many bytes are not read.
    pub max_file_size: Option<u64>,
    #[serde(rename = "final")]
    pub final_image: Option<FinalImage>,
    pub indent: Option<String>,
    pub operator_position: Option<OperatorPosition>,
    /// Glob (relative to the config's folder) → rules to skip for matching files.
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    /// Globs (relative to the config's folder) of files to skip.
    pub exclude: Option<Vec<String>>,
    pub transforms: Option<BTreeMap<String, toml::Table>>,
    pub merge_build_stages: Option<bool>,
    pub fail_level: Option<FailLevel>,
}

/// A config resolved for one folder: settings plus the path-dependent parts.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The config file that governs (None: defaults only).
    pub source: Option<PathBuf>,
    pub settings: Settings,
    /// (matcher over paths relative to `base`, rules to ignore)
    pub per_file_ignores: Vec<(globset::GlobMatcher, Vec<String>)>,
    pub exclude: Vec<globset::GlobMatcher>,
    /// The folder the globs are relative to.
    pub base: PathBuf,
}

impl Resolved {
    /// Settings for one file: adds its per-file ignores.
    pub fn settings_for(&self, file: &Path) -> std::borrow::Cow<'_, Settings> {
        if self.per_file_ignores.is_empty() {
            return std::borrow::Cow::Borrowed(&self.settings);
        }
        // Made absolute only here: most configs have no per-file ignores, and resolving a relative
        // path asks the kernel for the working directory every time.
        let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let rel = file.strip_prefix(&self.base).unwrap_or(&file);
        let extra: Vec<String> = self
            .per_file_ignores
            .iter()
            .filter(|(m, _)| m.is_match(rel))
            .flat_map(|(_, rules)| rules.iter().cloned())
            .collect();
        if extra.is_empty() {
            return std::borrow::Cow::Borrowed(&self.settings);
        }
        let mut s = self.settings.clone();
        s.ignore.extend(extra);
        std::borrow::Cow::Owned(s)
    }

    pub fn excluded(&self, file: &Path) -> bool {
        let rel = file.strip_prefix(&self.base).unwrap_or(file);
        self.exclude.iter().any(|m| m.is_match(rel))
    }
}

pub const CONFIG_NAMES: [&str; 2] = ["dfopt.toml", ".dfopt.toml"];

/// The config file that governs files in `dir` (absolute): the nearest one at or above it within
/// the discovery boundary (see [`Discovery`]), if it may be trusted (see [`untrusted_reason`]).
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    let mut found = Discovery::default();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if found.config.is_none() {
            found.config = config_in(d);
        }
        if found.git_root.is_none() && is_repo_root(d) {
            found.git_root = Some(d.to_path_buf());
            break;
        }
        cur = d.parent();
    }
    let cwd = std::env::current_dir().ok();
    found
        .governing(dir, cwd.as_deref())
        .filter(|c| untrusted_reason(c).is_none())
}

/// What the climb from a folder to `/` found: the nearest config file and the nearest repository
/// root (a folder with a `.git` folder or file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub config: Option<PathBuf>,
    pub git_root: Option<PathBuf>,
}

impl Discovery {
    /// The config that may govern files in `dir`. Discovery stops at the repository root: a
    /// `dfopt.toml` above it (planted in `/tmp` or a home folder) is never read. Outside any
    /// repository it stops at the current folder when `dir` is inside it, else at `dir` itself.
    pub fn governing(&self, dir: &Path, cwd: Option<&Path>) -> Option<PathBuf> {
        self.governing_within(dir, cwd.into_iter())
    }

    /// [`Discovery::governing`] where, outside a repository, discovery may also climb to any of
    /// `roots` (the folders named on the command line) that holds `dir`.
    pub fn governing_within<'a>(
        &self,
        dir: &Path,
        roots: impl Iterator<Item = &'a Path>,
    ) -> Option<PathBuf> {
        let config = self.config.as_ref()?;
        let config_dir = config.parent().unwrap_or(Path::new(""));
        let inside = match &self.git_root {
            Some(root) => config_dir.starts_with(root),
            None => {
                config_dir == dir
                    || roots
                        .into_iter()
                        .any(|r| dir.starts_with(r) && config_dir.starts_with(r))
            }
        };
        inside.then(|| config.clone())
    }
}

/// Whether `dir` is the root of a git repository (or worktree, or submodule).
pub fn is_repo_root(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(".git")).is_ok()
}

/// Why a discovered config file is not read, or None when it may be. A config in a folder every
/// user may write to (`/tmp`, a shared mount) could have been put there by anyone, as could a
/// config file every user may write; both are skipped with a warning. The one exception is a
/// sticky folder (like `/tmp`) holding a config owned by this user: only its owner (or root) can
/// have created or replaced it. `--config FILE` reads a file regardless.
pub fn untrusted_reason(config: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let file = std::fs::metadata(config).ok()?;
        if file.permissions().mode() & 0o002 != 0 {
            return Some("the file is writable by every user".into());
        }
        let dir = config.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = std::fs::metadata(dir.unwrap_or(Path::new("."))).ok()?;
        let mode = dir.permissions().mode();
        if mode & 0o002 != 0 {
            // SAFETY: geteuid has no preconditions.
            let me = unsafe { libc::geteuid() };
            let sticky_and_mine = mode & 0o1000 != 0 && file.uid() == me;
            if !sticky_and_mine {
                return Some("its folder is writable by every user".into());
            }
        }
    }
    #[cfg(not(unix))]
    let _ = config;
    None
}

/// The warning for a config skipped by [`untrusted_reason`].
pub fn untrusted_warning(config: &Path, reason: &str) -> String {
    format!(
        "{}:1:1: warning: not read: {reason}, so anyone could have planted it (name it with \
         --config to read it anyway)",
        crate::display_path::display_path(config)
    )
}

/// The config file in `dir` itself, if any.
pub fn config_in(dir: &Path) -> Option<PathBuf> {
    CONFIG_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Reads and validates one config file (without following `extend`).
pub fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let err = |line, col, message: String| ConfigError {
        path: path.to_path_buf(),
        line,
        col,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(1, 1, format!("cannot read: {e}")))?;
    let cfg: ConfigFile = toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| crate::syntax::line_col_of(&text, s.start))
            .unwrap_or((1, 1));
        err(line, col, e.message().trim().to_string())
    })?;
    if let Some(indent) = &cfg.indent {
        if indent.is_empty() || !indent.chars().all(|c| c == ' ' || c == '\t') {
            let (line, col) = key_position(&text, "indent");
            return Err(err(
                line,
                col,
                "`indent` must be spaces or tabs, e.g. \"    \"".into(),
            ));
        }
    }
    for (key, list) in [
        ("select", &cfg.select),
        ("ignore", &cfg.ignore),
        ("extend-select", &cfg.extend_select),
        ("extend-ignore", &cfg.extend_ignore),
    ] {
        if let Some(list) = list {
            if let Some(bad) = list.iter().find(|r| !crate::rule_ids::is_rule_id(r)) {
                let (line, col) = key_position(&text, key);
                return Err(err(
                    line,
                    col,
                    format!("`{key}`: unknown rule `{bad}` (see `dfopt rules`)"),
                ));
            }
        }
    }
    for (pattern, rules) in cfg.per_file_ignores.iter().flatten() {
        if let Some(bad) = rules.iter().find(|r| !crate::rule_ids::is_rule_id(r)) {
            let (line, col) = key_position(&text, pattern);
            return Err(err(
                line,
                col,
                format!("`per-file-ignores`: unknown rule `{bad}`"),
            ));
        }
        if let Err(e) = globset::Glob::new(pattern) {
            let (line, col) = key_position(&text, pattern);
            return Err(err(
                line,
                col,
                format!("`per-file-ignores`: bad glob `{pattern}`: {e}"),
            ));
        }
    }
    for rule in cfg.transforms.iter().flat_map(|t| t.keys()) {
        if !crate::rule_ids::RULE_IDS.contains(&rule.as_str())
            && !SHARED_DATA_TABLES.contains(&rule.as_str())
        {
            let (line, col) = key_position(&text, &format!("transforms.{rule}"));
            return Err(err(
                line,
                col,
                format!("`[transforms.{rule}]`: unknown rule `{rule}` (see `dfopt rules`)"),
            ));
        }
    }
    for pattern in cfg.exclude.iter().flatten() {
        if let Err(e) = globset::Glob::new(pattern) {
            let (line, col) = key_position(&text, pattern);
            return Err(err(
                line,
                col,
                format!("`exclude`: bad glob `{pattern}`: {e}"),
            ));
        }
    }
    Ok(cfg)
}

/// `[transforms.<name>]` tables that override data several rules share rather than one rule's
/// (`images`: the image catalogue, `transforms/images.toml`, read by `model::images`).
const SHARED_DATA_TABLES: &[&str] = &["images"];

fn key_position(text: &str, key: &str) -> (usize, usize) {
    match text.find(key) {
        Some(i) => crate::syntax::line_col_of(text, i),
        None => (1, 1),
    }
}

/// Loads `path` and everything it extends (base first), refusing cycles.
pub fn load_chain(path: &Path) -> Result<Vec<(PathBuf, ConfigFile)>, ConfigError> {
    let mut chain = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        let canon = cur.canonicalize().unwrap_or_else(|_| cur.clone());
        if chain
            .iter()
            .any(|(p, _): &(PathBuf, ConfigFile)| p == &canon)
        {
            return Err(ConfigError {
                path: cur,
                line: 1,
                col: 1,
                message: "`extend` forms a cycle".into(),
            });
        }
        let cfg = read_config_file(&cur)?;
        let next = cfg.extend.clone();
        chain.push((canon, cfg));
        match next {
            Some(rel) => {
                let base = cur.parent().unwrap_or(Path::new("."));
                let target = base.join(&rel);
                if !target.is_file() {
                    let text = std::fs::read_to_string(&cur).unwrap_or_default();
                    let (line, col) = key_position(&text, "extend");
                    return Err(ConfigError {
                        path: cur,
                        line,
                        col,
                        message: format!("`extend`: no such file `{rel}`"),
                    });
                }
                cur = target;
            }
            None => break,
        }
    }
    chain.reverse();
    Ok(chain)
}

/// Settings for files governed by `config` (None: defaults), with command-line overrides on top.
pub fn resolve(config: Option<&Path>, over: &Overrides) -> Result<Resolved, ConfigError> {
    let mut r = Resolved::default();
    if let Some(path) = config.filter(|_| !over.isolated) {
        let chain = load_chain(path)?;
        r.source = Some(path.to_path_buf());
        r.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (file, cfg) in chain {
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
            let s = &mut r.settings;
            if let Some(v) = cfg.select {
                s.select = Some(v);
            }
            if let Some(v) = cfg.extend_select {
                s.select
                    .get_or_insert_with(|| vec!["default".to_string()])
                    .extend(v);
            }
            if let Some(v) = cfg.ignore {
                s.ignore = v;
            }
            if let Some(v) = cfg.extend_ignore {
                s.ignore.extend(v);
            }
            if let Some(v) = cfg.max_file_size {
                s.max_file_size = Some(v);
            }
            if let Some(v) = cfg.unsafe_fixes {
                s.unsafe_fixes = v;
            }
            if let Some(v) = cfg.final_image {
                s.final_image = v;
            }
            if let Some(v) = cfg.indent {
                s.indent = Some(v);
            }
            if let Some(v) = cfg.operator_position {
                s.operator_position = v;
            }
            if let Some(v) = cfg.merge_build_stages {
                s.merge_build_stages = v;
            }
            if let Some(v) = cfg.fail_level {
                s.fail_level = v;
            }
            for (rule, table) in cfg.transforms.into_iter().flatten() {
                if !table.is_empty() {
                    s.transforms_source.insert(rule.clone(), file.clone());
                }
                s.transforms.entry(rule).or_default().extend(table);
            }
            for (pattern, rules) in cfg.per_file_ignores.into_iter().flatten() {
                if let Ok(g) = globset::Glob::new(&absolute_glob(&dir, &r.base, &pattern)) {
                    r.per_file_ignores.push((g.compile_matcher(), rules));
                }
            }
            for pattern in cfg.exclude.into_iter().flatten() {
                if let Ok(g) = globset::Glob::new(&absolute_glob(&dir, &r.base, &pattern)) {
                    r.exclude.push(g.compile_matcher());
                }
            }
        }
    }
    let s = &mut r.settings;
    if let Some(sel) = &over.select {
        s.select = Some(sel.clone());
    }
    s.ignore.extend(over.ignore.iter().cloned());
    s.unsafe_fixes |= over.unsafe_fixes;
    if over.no_unsafe_fixes {
        s.unsafe_fixes = false;
    }
    if let Some(f) = over.final_image {
        s.final_image = f;
    }
    s.merge_build_stages |= over.merge_build_stages;
    if let Some(f) = over.fail_level {
        s.fail_level = f;
    }
    Ok(r)
}

/// A glob written in `dir`'s config, made relative to `base` (the governing config's folder).
/// Patterns without a `/` match at any depth, as in .gitignore.
fn absolute_glob(dir: &Path, base: &Path, pattern: &str) -> String {
    let pattern = if pattern.contains('/') {
        pattern.trim_start_matches("./").to_string()
    } else {
        format!("**/{pattern}")
    };
    match dir.strip_prefix(base) {
        Ok(rel) if !rel.as_os_str().is_empty() => format!("{}/{}", rel.to_string_lossy(), pattern),
        _ => pattern,
    }
}

/// The commented default written by `dfopt init`.
pub const DEFAULT_CONFIG: &str = r#"# dfopt configuration. The nearest dfopt.toml up the tree from a Dockerfile governs it;
# command-line flags override it. `dfopt rules` lists the rules.

# Inherit another config (paths are relative to this file).
# extend = "../dfopt.toml"

# Rules to run ("ALL" for every rule); the default is the rules that are on by default.
# select = ["chain-runs"]
# extend-select = []
# Rules to skip (`ignore` replaces what an extended config skips; `extend-ignore` adds to it).
# ignore = []
# extend-ignore = []

# Files larger than this many bytes are not read (default 4 MiB).
# max-file-size = 4194304

# Also apply fixes that may change behaviour (like --unsafe-fixes).
unsafe-fixes = false

# The final image family for multi-stage rewrites: "distroless", "alpine" or "slim".
final = "distroless"

# Style of joined RUN lines: indentation of continuation lines (default: follow the file) and
# where `&&` goes: "auto" (follow the file), "leading" or "trailing".
# indent = "    "
operator-position = "auto"

# Stages that do not reach the final image keep their RUNs apart (each one a build-cache step) and
# get no cache cleanup; set this to merge and clean them too (like --merge-build-stages).
# merge-build-stages = false

# What makes `dfopt check` fail: "error", "warning" (default), "info" or "never".
# fail-level = "warning"

# Files to skip, and rules to skip for some files (globs relative to this file's folder).
# exclude = ["vendor/**"]
# [per-file-ignores]
# "legacy/**" = ["chain-runs"]

# Override the data of a rule (see transforms/<rule>.toml in dfopt's source), e.g. a registry
# mirror for the image catalogue:
# [transforms.images]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_located() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("dfopt.toml");
        std::fs::write(&p, "select = [\"chain-runs\"]\nbogus = 1\n").expect("write");
        let e = read_config_file(&p).unwrap_err();
        assert_eq!((e.line, e.col), (2, 1));
        assert!(e.message.contains("bogus"), "{}", e.message);
    }

    #[test]
    fn extend_and_overrides() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("dfopt.toml"),
            "ignore = [\"chain-runs\"]\nfinal = \"alpine\"\n",
        )
        .expect("w");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let sub = dir.path().join("sub/dfopt.toml");
        std::fs::write(&sub, "extend = \"../dfopt.toml\"\nunsafe-fixes = true\n").expect("w");
        let r = resolve(Some(&sub), &Overrides::default()).expect("resolve");
        assert_eq!(r.settings.ignore, ["chain-runs"]);
        assert!(r.settings.unsafe_fixes);
        assert_eq!(r.settings.final_image, FinalImage::Alpine);
        let r = resolve(
            Some(&sub),
            &Overrides {
                final_image: Some(FinalImage::Slim),
                ..Default::default()
            },
        )
        .expect("r");
        assert_eq!(r.settings.final_image, FinalImage::Slim);
    }

    #[test]
    fn shared_data_tables_are_accepted_and_unknown_ones_located() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("dfopt.toml");
        // The table the default config suggests (a registry mirror for the image catalogue).
        std::fs::write(
            &p,
            "[transforms.images.replace]\n\"gcr.io/distroless\" = \"mirror.example/distroless\"\n",
        )
        .expect("write");
        let cfg = read_config_file(&p).expect("[transforms.images] is accepted");
        assert!(cfg.transforms.expect("transforms").contains_key("images"));
        std::fs::write(&p, "[transforms.imagez]\nx = 1\n").expect("write");
        let e = read_config_file(&p).unwrap_err();
        assert_eq!((e.line, e.col), (1, 2), "{}", e.message);
        assert!(e.message.contains("unknown rule `imagez`"), "{}", e.message);
    }

    #[test]
    fn default_config_is_valid() {
        let cfg: ConfigFile = toml::from_str(DEFAULT_CONFIG).expect("default config parses");
        assert_eq!(cfg.final_image, Some(FinalImage::Distroless));
    }
}
