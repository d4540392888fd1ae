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

/// What `stat` said of a context file (`None` in [`ProbeCache`]: nothing there).
#[derive(Debug, Clone, Copy)]
struct Probe {
    is_file: bool,
    is_dir: bool,
    len: u64,
}

/// The context files looked up during one batch run, shared by every file and fix round of the
/// run: the Dockerfiles of a folder ask for the same files (requirements.txt, six lock files,
/// package.json…), nearly all absent, once per file and round. Only for a run that reads each
/// file once ([`ProbeCache::within`]); the language server, whose files change while it runs,
/// asks the file system every time.
#[derive(Debug, Default)]
pub struct ProbeCache {
    seen: std::sync::Mutex<std::collections::HashMap<PathBuf, Option<Probe>>>,
}

/// Paths a [`ProbeCache`] remembers before it starts over: memory stays flat however many
/// folders a run covers, and the walk visits a folder's files together.
const PROBE_CACHE_LIMIT: usize = 4096;

std::thread_local! {
    /// The run's cache on this thread, while [`ProbeCache::within`] runs.
    static PROBES: std::cell::RefCell<Option<std::sync::Arc<ProbeCache>>> =
        const { std::cell::RefCell::new(None) };
}

impl ProbeCache {
    /// Runs `work` with context lookups on this thread going through `cache`.
    pub fn within<R>(cache: &std::sync::Arc<ProbeCache>, work: impl FnOnce() -> R) -> R {
        struct Restore(Option<std::sync::Arc<ProbeCache>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let before = self.0.take();
                PROBES.with(|p| *p.borrow_mut() = before);
            }
        }
        let _restore = Restore(PROBES.with(|p| p.borrow_mut().replace(cache.clone())));
        work()
    }

    fn lookup(&self, path: &Path) -> Option<Probe> {
        if let Some(known) = self.seen.lock().ok().and_then(|m| m.get(path).copied()) {
            return known;
        }
        let found = stat(path);
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= PROBE_CACHE_LIMIT {
                seen.clear();
            }
            seen.insert(path.to_path_buf(), found);
        }
        found
    }
}

/// `stat` of a context file (following symlinks, as `std::fs::metadata`).
fn stat(path: &Path) -> Option<Probe> {
    let m = std::fs::metadata(path).ok()?;
    Some(Probe {
        is_file: m.is_file(),
        is_dir: m.is_dir(),
        len: m.len(),
    })
}

/// [`stat`] through the run's [`ProbeCache`], when there is one.
fn probe(path: &Path) -> Option<Probe> {
    let cache = PROBES.with(|p| p.borrow().clone());
    match cache {
        Some(cache) => cache.lookup(path),
        None => stat(path),
    }
}

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
        self.read_up_to(name, MAX_CONTEXT_FILE)
    }

    pub fn has_dir(&self, name: &str) -> bool {
        self.dir
            .as_ref()
            .and_then(|d| probe(&d.join(name)))
            .is_some_and(|p| p.is_dir)
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

    /// Like [`BuildContext::read`], up to `max` bytes (lock files can be larger than other
    /// context files).
    fn read_up_to(&self, name: &str, max: u64) -> Option<String> {
        let p = self.dir.as_ref()?.join(name);
        let found = probe(&p)?;
        if !found.is_file || found.len > max {
            return None;
        }
        std::fs::read_to_string(p).ok()
    }

    /// Whether the context has this file.
    pub fn has_file(&self, name: &str) -> bool {
        self.dir
            .as_ref()
            .and_then(|d| probe(&d.join(name)))
            .is_some_and(|p| p.is_file)
    }

    /// The Python packages the build installs, as one resolved set: the requirement files named
    /// (context-relative; `requirements.txt` when `files` is empty and nothing else is named)
    /// read through their `-r`/`-c` includes, `packages` named on the `pip install` line,
    /// `[project] dependencies` of pyproject.toml when `project` (pip installs `.`), and every
    /// lock file present (poetry.lock, Pipfile.lock, uv.lock, pdm.lock, pylock.toml,
    /// requirements.lock), which list the transitive set. Names in a constraints file (`-c`)
    /// only pin versions of packages installed otherwise, so they are not in the set.
    pub fn python_requirements(
        &self,
        files: &[String],
        packages: &[String],
        project: bool,
    ) -> PythonRequirements {
        let mut reqs = PythonRequirements::default();
        for p in packages {
            if let Some(r) = parse_requirement(p) {
                reqs.add(r);
            }
        }
        let mut visited: Vec<String> = Vec::new();
        let default = ["requirements.txt".to_string()];
        let files = if files.is_empty() && packages.is_empty() && !project {
            if self.has_file("requirements.txt") {
                &default[..]
            } else {
                &[][..]
            }
        } else {
            files
        };
        for f in files {
            self.read_requirements_file(f, true, &mut visited, &mut reqs);
        }
        if project {
            self.read_pyproject(&mut reqs);
        }
        self.read_lock_files(&mut visited, &mut reqs);
        reqs
    }

    /// Reads one requirements file and, recursively, the files it includes (paths relative to
    /// the including file; each file once, so include cycles end).
    fn read_requirements_file(
        &self,
        path: &str,
        installs: bool,
        visited: &mut Vec<String>,
        reqs: &mut PythonRequirements,
    ) {
        if visited.iter().any(|v| v == path) || visited.len() >= MAX_REQUIREMENT_FILES {
            return;
        }
        visited.push(path.to_string());
        let Some(text) = self.read(path) else {
            reqs.missing.push(path.to_string());
            return;
        };
        reqs.sources.push(path.to_string());
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        // Continuation lines join first, as pip reads them.
        let joined = text.replace("\\\r\n", "").replace("\\\n", "");
        for line in joined.lines() {
            let line = strip_comment(line).trim();
            if line.is_empty() {
                continue;
            }
            if let Some((include, is_constraint)) = include_of(line) {
                match join_relative(dir, &include) {
                    Some(p) => {
                        self.read_requirements_file(&p, installs && !is_constraint, visited, reqs)
                    }
                    None => reqs.missing.push(include),
                }
                continue;
            }
            if !installs {
                continue;
            }
            let spec = line
                .strip_prefix("--editable")
                .or_else(|| line.strip_prefix("-e"))
                .map(str::trim)
                .unwrap_or(line);
            if spec.starts_with('-') {
                continue; // another option (--index-url, --hash on its own line…)
            }
            if let Some(r) = parse_requirement(spec) {
                reqs.add(r);
            }
        }
    }

    /// `[project] dependencies` and `[tool.poetry.dependencies]` of pyproject.toml.
    fn read_pyproject(&self, reqs: &mut PythonRequirements) {
        let Some(t) = self
            .read("pyproject.toml")
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        else {
            reqs.missing.push("pyproject.toml".into());
            return;
        };
        reqs.sources.push("pyproject.toml".into());
        let deps = t
            .get("project")
            .and_then(|p| p.get("dependencies"))
            .and_then(|d| d.as_array());
        for d in deps.into_iter().flatten().filter_map(|d| d.as_str()) {
            if let Some(r) = parse_requirement(d) {
                reqs.add(r);
            }
        }
        let poetry = t
            .get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("dependencies"))
            .and_then(|d| d.as_table());
        for name in poetry.into_iter().flat_map(|p| p.keys()) {
            if name != "python" {
                if let Some(r) = parse_requirement(name) {
                    reqs.add(r);
                }
            }
        }
    }

    /// Every lock file present: each lists the full, transitive set.
    fn read_lock_files(&self, visited: &mut Vec<String>, reqs: &mut PythonRequirements) {
        for (file, key) in [
            ("poetry.lock", "package"),
            ("uv.lock", "package"),
            ("pdm.lock", "package"),
            ("pylock.toml", "packages"),
        ] {
            let Some(text) = self.read_up_to(file, MAX_LOCK_FILE) else {
                continue;
            };
            let Ok(t) = toml::from_str::<toml::Table>(&text) else {
                reqs.missing.push(file.into());
                continue;
            };
            let names = t.get(key).and_then(|p| p.as_array());
            for n in names.into_iter().flatten() {
                if let Some(r) = n
                    .get("name")
                    .and_then(|n| n.as_str())
                    .and_then(parse_requirement)
                {
                    reqs.add(r);
                }
            }
            reqs.sources.push(file.into());
            reqs.locked = true;
        }
        if let Some(text) = self.read_up_to("Pipfile.lock", MAX_LOCK_FILE) {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => {
                    // `default` is what `pipenv install --deploy` installs; `develop` is not.
                    let names = v.get("default").and_then(|d| d.as_object());
                    for n in names.into_iter().flat_map(|d| d.keys()) {
                        if let Some(r) = parse_requirement(n) {
                            reqs.add(r);
                        }
                    }
                    reqs.sources.push("Pipfile.lock".into());
                    reqs.locked = true;
                }
                Err(_) => reqs.missing.push("Pipfile.lock".into()),
            }
        }
        if self.has_file("requirements.lock") {
            let before = reqs.sources.len();
            self.read_requirements_file("requirements.lock", true, visited, reqs);
            reqs.locked |= reqs.sources.len() > before;
        }
    }
}

/// Requirement files read through includes, at most: a bound on what a hostile context costs.
const MAX_REQUIREMENT_FILES: usize = 64;
/// Lock files larger than this are not read (hashes make real ones a few MB).
const MAX_LOCK_FILE: u64 = 16 << 20;

/// A Python requirement: its normalised name (PEP 503) and the extras it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub extras: Vec<String>,
}

/// The Python packages a build installs, as far as the build context tells.
#[derive(Debug, Clone, Default)]
pub struct PythonRequirements {
    /// Each package once (extras merged), in the order first seen.
    pub packages: Vec<Requirement>,
    /// Files read (context-relative).
    pub sources: Vec<String>,
    /// Files named (on the pip line or by an include) that could not be read: the set may
    /// miss packages.
    pub missing: Vec<String>,
    /// A lock file was read: the set is transitive.
    pub locked: bool,
}

impl PythonRequirements {
    fn add(&mut self, r: Requirement) {
        match self.packages.iter_mut().find(|p| p.name == r.name) {
            Some(p) => {
                for e in r.extras {
                    if !p.extras.contains(&e) {
                        p.extras.push(e);
                    }
                }
            }
            None => self.packages.push(r),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.packages.iter().any(|p| p.name == name)
    }

    /// Whether nothing was read or named.
    pub fn is_unknown(&self) -> bool {
        self.packages.is_empty() && self.sources.is_empty()
    }
}

/// A package name as PyPI compares it: lower case, runs of `-`, `_`, `.` as one `-` (PEP 503).
pub fn normalize_package(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `name[extra]>=1 ; marker`, `name @ url`, `git+https://…#egg=name`: the requirement named.
/// Paths, plain URLs and wheel files name no package dfopt can tell.
pub fn parse_requirement(spec: &str) -> Option<Requirement> {
    let spec = spec.trim();
    if let Some((_, egg)) = spec.split_once("#egg=") {
        return parse_requirement(egg.split('&').next().unwrap_or(""));
    }
    if spec.starts_with('.') || spec.starts_with('/') {
        return None;
    }
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty()
        || name.ends_with(".whl")
        || name.ends_with(".tar.gz")
        || name.ends_with(".zip")
    {
        return None;
    }
    let rest = spec[end..].trim_start();
    // `name @ url` names its package; any other URL (`https://…`, `file:.`, `git+ssh://…`) not.
    let direct = rest.starts_with('@')
        || rest
            .split_once('@')
            .is_some_and(|(b, _)| b.starts_with('['));
    if !direct && (rest.starts_with(':') || rest.starts_with('+') || spec.contains("://")) {
        return None;
    }
    let extras = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((e, _)) => e
            .split(',')
            .map(|x| normalize_package(x.trim()))
            .filter(|x| !x.is_empty())
            .collect(),
        None => Vec::new(),
    };
    Some(Requirement {
        name: normalize_package(name),
        extras,
    })
}

/// A comment starts at `#` at the line start or after whitespace (a URL fragment is not one).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// `-r file`, `--requirement=file`, `-c file`, `--constraint file`: the file, and whether it
/// is a constraints file.
fn include_of(line: &str) -> Option<(String, bool)> {
    for (opt, constraint) in [
        ("--requirement", false),
        ("--constraint", true),
        ("-r", false),
        ("-c", true),
    ] {
        if let Some(rest) = line.strip_prefix(opt) {
            let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
            if rest.is_empty()
                || (opt.starts_with("--") && !line[opt.len()..].starts_with([' ', '=', '\t']))
            {
                continue;
            }
            return Some((rest.to_string(), constraint));
        }
    }
    None
}

/// `dir/include` with `.` and `..` resolved, or `None` when it leaves the context (or is
/// absolute: a path on the machine that wrote the file).
pub fn join_relative(dir: &str, include: &str) -> Option<String> {
    if include.starts_with('/') || include.contains("://") {
        return None;
    }
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for p in include.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(files: &[(&str, &str)]) -> (tempfile::TempDir, BuildContext) {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let p = dir.path().join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(p, text).expect("write");
        }
        let ctx = BuildContext::new(Some(&dir.path().join("Dockerfile")));
        (dir, ctx)
    }

    #[test]
    fn a_run_asks_the_file_system_once_per_context_file() {
        let (dir, ctx) = context(&[("go.mod", "module example.com/app\n")]);
        let cache = std::sync::Arc::new(ProbeCache::default());
        ProbeCache::within(&cache, || {
            assert!(!ctx.has_file("package.json"));
            assert!(!ctx.has_dir("src"));
            assert_eq!(ctx.go_module_name().as_deref(), Some("app"));
        });
        std::fs::write(dir.path().join("package.json"), "{}").expect("write");
        std::fs::create_dir(dir.path().join("src")).expect("mkdir");
        // Within the run, the answers given stand; a file read is read as it is now.
        ProbeCache::within(&cache, || {
            assert!(!ctx.has_file("package.json"));
            assert!(!ctx.has_dir("src"));
            std::fs::write(dir.path().join("go.mod"), "module example.com/other\n").expect("write");
            assert_eq!(ctx.go_module_name().as_deref(), Some("other"));
        });
        // Outside any run (the language server), and in another run, the file system answers.
        assert!(ctx.has_file("package.json"));
        assert!(ctx.has_dir("src"));
        let next_run = std::sync::Arc::new(ProbeCache::default());
        ProbeCache::within(&next_run, || assert!(ctx.has_file("package.json")));
        // Remembered paths are bounded.
        for i in 0..PROBE_CACHE_LIMIT + 10 {
            cache.lookup(&dir.path().join(format!("f{i}")));
        }
        assert!(cache.seen.lock().map(|m| m.len()).unwrap_or(0) <= PROBE_CACHE_LIMIT);
    }

    fn names(r: &PythonRequirements) -> Vec<&str> {
        r.packages.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn includes_are_read_relative_to_the_including_file_and_cycles_end() {
        let (_d, ctx) = context(&[
            (
                "req/prod.txt",
                "-r base.txt\n-c ../constraints.txt\nFlask[async]>=3 # web\n",
            ),
            (
                "req/base.txt",
                "--requirement=prod.txt\nrequests \\\n  >=2\n-e git+https://x/y.git#egg=My_Lib\n",
            ),
            ("constraints.txt", "psycopg2==2.9.9\n-r req/base.txt\n"),
        ]);
        let r = ctx.python_requirements(&["req/prod.txt".into()], &["numpy==2.1".into()], false);
        assert_eq!(names(&r), vec!["numpy", "requests", "my-lib", "flask"]);
        assert_eq!(r.packages[3].extras, vec!["async"]);
        assert_eq!(
            r.sources,
            vec!["req/prod.txt", "req/base.txt", "constraints.txt"]
        );
        assert!(
            !r.contains("psycopg2"),
            "a constraint pins, it does not install"
        );
        assert!(r.missing.is_empty() && !r.locked);
    }

    #[test]
    fn lock_files_give_the_transitive_set() {
        let (_d, ctx) = context(&[
            (
                "poetry.lock",
                "[[package]]\nname = \"pandas\"\n[[package]]\nname = \"NumPy\"\n",
            ),
            (
                "Pipfile.lock",
                r#"{"default": {"lxml": {}}, "develop": {"pytest": {}}}"#,
            ),
            ("uv.lock", "[[package]]\nname = \"pydantic-core\"\n"),
            ("pylock.toml", "[[packages]]\nname = \"psycopg2\"\n"),
            ("requirements.lock", "-e file:.\nmysqlclient==2.2\n"),
        ]);
        let r = ctx.python_requirements(&[], &[], false);
        assert!(r.locked);
        assert_eq!(
            names(&r),
            vec![
                "pandas",
                "numpy",
                "pydantic-core",
                "psycopg2",
                "lxml",
                "mysqlclient"
            ]
        );
    }

    #[test]
    fn a_missing_or_escaping_include_is_reported_not_read() {
        let (_d, ctx) = context(&[(
            "requirements.txt",
            "-r ../../etc/passwd\n-r nothere.txt\nflask\n",
        )]);
        let r = ctx.python_requirements(&[], &[], false);
        assert_eq!(names(&r), vec!["flask"]);
        assert_eq!(r.missing, vec!["../../etc/passwd", "nothere.txt"]);
    }

    #[test]
    fn pyproject_dependencies_count_when_pip_installs_the_project() {
        let (_d, ctx) = context(&[(
            "pyproject.toml",
            "[project]\nname = \"app\"\ndependencies = [\"psycopg[binary]>=3\", \"uvicorn[standard]\"]\n",
        )]);
        let r = ctx.python_requirements(&[], &[], true);
        assert_eq!(names(&r), vec!["psycopg", "uvicorn"]);
        assert_eq!(r.packages[0].extras, vec!["binary"]);
    }

    #[test]
    fn requirement_specs_name_their_package() {
        let n = |s: &str| parse_requirement(s).map(|r| r.name);
        assert_eq!(
            n("Django>=4 ; python_version > '3.8'").as_deref(),
            Some("django")
        );
        assert_eq!(n("zope.interface").as_deref(), Some("zope-interface"));
        assert_eq!(n("pkg @ https://x/pkg.whl").as_deref(), Some("pkg"));
        assert_eq!(n("./local/pkg"), None);
        assert_eq!(n("https://x/y.tar.gz"), None);
        assert_eq!(join_relative("a/b", "../c.txt").as_deref(), Some("a/c.txt"));
        assert_eq!(join_relative("", "../c.txt"), None);
    }
}
