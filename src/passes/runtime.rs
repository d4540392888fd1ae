//! Shared by the multi-stage and final-stage-base passes: image references, the runtime a build
//! image stands for, the image catalogue (`transforms/images.toml`, `transforms/packages.toml`) and
//! what the build context beside the Dockerfile says (package.json, go.mod, Cargo.toml, …).

use crate::config::{FinalImage, Settings};
use crate::shell;
use crate::syntax::{lex, Dockerfile, Form, Instruction, Keyword};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const IMAGES: &str = include_str!("../../transforms/images.toml");
pub const PACKAGES: &str = include_str!("../../transforms/packages.toml");

/// `registry/path/name:tag@digest`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the tag (`docker.io/library/node`, `node`).
    pub repo: String,
    /// The last path component, lower-cased (`node`).
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(s: &str) -> Option<ImageRef> {
        if s.is_empty() || s.contains('$') || s.contains(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        // A `:` after the last `/` is a tag; one before it belongs to a registry port.
        let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (repo, tag) = match rest[slash..].find(':') {
            Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_string())),
            None => (rest, None),
        };
        let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        Some(ImageRef {
            repo: repo.to_string(),
            name,
            tag,
            digest,
        })
    }

    /// Official-library images only (`node`, `library/node`, `docker.io/library/node`).
    pub fn is_official(&self) -> bool {
        let r = self.repo.to_ascii_lowercase();
        !r.contains('/')
            || r == format!("library/{}", self.name)
            || r.ends_with(&format!("docker.io/library/{}", self.name))
    }

    pub fn tag_lower(&self) -> String {
        self.tag.as_deref().unwrap_or("").to_ascii_lowercase()
    }
}

/// The language runtime a build image stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Node,
    Go,
    Rust,
    Java,
    Python,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Node => "node",
            Runtime::Go => "go",
            Runtime::Rust => "rust",
            Runtime::Java => "java",
            Runtime::Python => "python",
        }
    }
}

/// The leading number of a tag component: `18` of `18.17-bullseye`.
fn leading_number(s: &str) -> Option<u32> {
    let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    d.parse().ok()
}

/// The runtime version a build image's tag names: Node major (`18`), Python minor (`3.11`), Java
/// feature version (`17`), Go/Rust version as written. `None` when the tag does not say
/// (`latest`, `lts`, no tag).
pub fn version_of(rt: Runtime, image: &ImageRef) -> Option<String> {
    let tag = image.tag_lower();
    match rt {
        Runtime::Node => leading_number(&tag).map(|n| n.to_string()),
        Runtime::Python => {
            let mut parts = tag.split(['.', '-']);
            let major = parts.next().and_then(leading_number)?;
            let minor = parts.next().and_then(|p| p.parse::<u32>().ok())?;
            Some(format!("{major}.{minor}"))
        }
        Runtime::Java => java_version(&image.name, &tag).map(|n| n.to_string()),
        Runtime::Go | Runtime::Rust => {
            let v: String = tag
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            (!v.is_empty()).then_some(v)
        }
    }
}

/// `eclipse-temurin:17-jdk` → 17, `maven:3.9-eclipse-temurin-21` → 21, `gradle:8-jdk17` → 17,
/// `openjdk:17-slim` → 17, `amazoncorretto:21` → 21.
fn java_version(name: &str, tag: &str) -> Option<u32> {
    for marker in [
        "temurin-",
        "openjdk-",
        "corretto-",
        "jdk-",
        "jdk",
        "sapmachine-",
        "java",
    ] {
        if let Some(i) = tag.find(marker) {
            if let Some(n) = leading_number(&tag[i + marker.len()..]) {
                return Some(n);
            }
        }
    }
    match name {
        "eclipse-temurin" | "openjdk" | "amazoncorretto" | "sapmachine" => {
            let n = leading_number(tag)?;
            // openjdk:1.8 style
            if n == 1 {
                return tag.strip_prefix("1.").and_then(leading_number);
            }
            Some(n)
        }
        _ => None,
    }
}

/// Which distroless flavour a compiled program needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// No libc at all.
    Static,
    /// glibc.
    Base,
    /// glibc + libstdc++/libgcc.
    Cc,
}

impl Native {
    pub fn key(self) -> &'static str {
        match self {
            Native::Static => "static",
            Native::Base => "base",
            Native::Cc => "cc",
        }
    }
}

/// What the runtime stage is built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The full reference with tag, e.g. `gcr.io/distroless/nodejs18-debian12:nonroot`.
    pub image: String,
    /// Family chosen.
    pub family: FinalImage,
    /// The image runs the interpreter itself (`ENTRYPOINT ["node"]`): CMD gives its arguments.
    pub interpreter_entrypoint: bool,
    /// Whether the image has a shell.
    pub has_shell: bool,
    /// The image runs as a non-root user already (distroless `:nonroot`).
    pub nonroot: bool,
    /// A remark for the finding (a version mapped to the nearest published one, …).
    pub note: Option<String>,
    /// Python minor version of the image's interpreter, for distroless python.
    pub python: Option<String>,
}

/// `transforms/images.toml`, merged with `[transforms.images]` from the config.
#[derive(Debug, Clone)]
pub struct Catalogue {
    data: toml::Table,
}

/// Merges `over` into `base` key by key (tables recursively). Unknown top-level keys are errors.
fn deep_merge(base: &mut toml::Table, over: &toml::Table, path: &str) -> Result<(), String> {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                deep_merge(b, o, &format!("{path}.{k}"))?
            }
            (None, _) if path == "transforms.images" => {
                return Err(format!("[{path}]: unknown key `{k}`"))
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

impl Catalogue {
    pub fn load(settings: &Settings) -> Result<Catalogue, String> {
        let mut data: toml::Table =
            toml::from_str(IMAGES).map_err(|e| format!("transforms/images.toml: {e}"))?;
        if let Some(over) = settings.transforms.get("images") {
            deep_merge(&mut data, over, "transforms.images")?;
        }
        Ok(Catalogue { data })
    }

    fn table(&self, path: &[&str]) -> Option<&toml::Table> {
        let mut t = &self.data;
        for p in path {
            t = t.get(*p)?.as_table()?;
        }
        Some(t)
    }

    fn str_at(&self, path: &[&str], key: &str) -> Option<String> {
        self.table(path)?.get(key)?.as_str().map(str::to_string)
    }

    fn tag(&self, key: &str) -> String {
        self.str_at(&["tags"], key)
            .unwrap_or_else(|| "nonroot".to_string())
    }

    /// Appends `:tag` unless the image already pins a tag or digest.
    fn tagged(&self, image: &str, root: bool) -> String {
        let r = ImageRef::parse(image);
        match r {
            Some(r) if r.tag.is_some() || r.digest.is_some() => image.to_string(),
            _ => {
                let t = self.tag(if root { "root" } else { "nonroot" });
                if t.starts_with('@') {
                    format!("{image}{t}")
                } else {
                    format!("{image}:{t}")
                }
            }
        }
    }

    fn unpublished_note(&self, image: &str) -> Option<String> {
        self.str_at(&["distroless", "unpublished"], image)
            .map(|why| format!("{image} is no longer published by distroless ({why})"))
    }

    /// The distroless image for a language runtime version: the exact one, else the nearest
    /// published version (said in the note). `None` when the catalogue has no entry at all.
    fn distroless_versioned(
        &self,
        rt: &str,
        version: &str,
    ) -> Option<(String, Option<String>, String)> {
        let t = self.table(&["distroless", rt])?;
        if let Some(img) = t.get(version).and_then(|v| v.as_str()) {
            let note = self.unpublished_note(img);
            return Some((img.to_string(), note, version.to_string()));
        }
        let want = version_number(version)?;
        let mut best: Option<(f64, &str, &str)> = None;
        for (k, v) in t {
            let (Some(n), Some(img)) = (version_number(k), v.as_str()) else {
                continue;
            };
            // Prefer the nearest; on a tie, the newer one.
            let d = (n - want).abs() - if n > want { 1e-6 } else { 0.0 };
            if best.map(|(bd, _, _)| d < bd).unwrap_or(true) {
                best = Some((d, k.as_str(), img));
            }
        }
        let (_, k, img) = best?;
        let mut note = format!(
            "distroless has no {rt} {version} image: {img} ({rt} {k}) is the nearest; check the app runs on it"
        );
        if let Some(u) = self.unpublished_note(img) {
            note.push_str("; ");
            note.push_str(&u);
        }
        Some((img.to_string(), Some(note), k.to_string()))
    }

    /// The runtime image for an interpreted runtime (node, python, java).
    pub fn for_runtime(
        &self,
        rt: Runtime,
        version: &str,
        family: FinalImage,
        root: bool,
    ) -> Result<Choice, String> {
        let key = rt.name();
        match family {
            FinalImage::Distroless => {
                let (img, note, got) = self
                    .distroless_versioned(key, version)
                    .ok_or_else(|| format!("the image catalogue has no distroless {key} image"))?;
                if rt == Runtime::Python && got != version {
                    return Err(format!(
                        "distroless python3 images run Debian's Python ({}), not Python {version}: a venv built for {version} would not load; use `--final slim` (python:{version}-slim) or pin the build image to python:{got}",
                        self.python_versions().join(", ")
                    ));
                }
                Ok(Choice {
                    image: self.tagged(&img, root),
                    family,
                    interpreter_entrypoint: true,
                    has_shell: false,
                    nonroot: !root,
                    note,
                    python: (rt == Runtime::Python).then(|| got.clone()),
                })
            }
            FinalImage::Alpine | FinalImage::Slim => {
                let fam = if family == FinalImage::Alpine {
                    "alpine"
                } else {
                    "slim"
                };
                let tpl = self
                    .str_at(&[fam], key)
                    .ok_or_else(|| format!("the image catalogue has no {fam} {key} image"))?;
                Ok(Choice {
                    image: tpl.replace("{v}", version),
                    family,
                    interpreter_entrypoint: false,
                    has_shell: true,
                    nonroot: false,
                    note: None,
                    python: None,
                })
            }
        }
    }

    /// The runtime image for a compiled program.
    pub fn for_native(
        &self,
        native: Native,
        family: FinalImage,
        root: bool,
    ) -> Result<Choice, String> {
        match family {
            FinalImage::Distroless => {
                let img = self.str_at(&["distroless"], native.key()).ok_or_else(|| {
                    format!("the image catalogue has no distroless {}", native.key())
                })?;
                Ok(Choice {
                    image: self.tagged(&img, root),
                    family,
                    interpreter_entrypoint: false,
                    has_shell: false,
                    nonroot: !root,
                    note: self.unpublished_note(&img),
                    python: None,
                })
            }
            FinalImage::Alpine | FinalImage::Slim => {
                let fam = if family == FinalImage::Alpine {
                    "alpine"
                } else {
                    "slim"
                };
                if family == FinalImage::Alpine && native != Native::Static {
                    return Err(
                        "the program links glibc dynamically and alpine has musl: build it static (CGO_ENABLED=0 for Go, a musl target for Rust) or use `--final distroless`".to_string(),
                    );
                }
                let img = self
                    .str_at(&[fam], native.key())
                    .or_else(|| self.str_at(&[fam], "static"))
                    .ok_or_else(|| {
                        format!(
                            "the image catalogue has no {fam} image for {}",
                            native.key()
                        )
                    })?;
                Ok(Choice {
                    image: img,
                    family,
                    interpreter_entrypoint: false,
                    has_shell: true,
                    nonroot: false,
                    note: None,
                    python: None,
                })
            }
        }
    }

    /// Python versions distroless images carry.
    pub fn python_versions(&self) -> Vec<String> {
        self.table(&["distroless", "python"])
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `image` (a FROM reference) is one of the catalogue's runtime images.
    pub fn is_catalogue_image(&self, image: &str) -> bool {
        let Some(r) = ImageRef::parse(image) else {
            return false;
        };
        let mut found = false;
        walk_strings(&self.data, &mut |s| {
            if let Some(c) = ImageRef::parse(&s.replace("{v}", "0")) {
                if c.repo == r.repo
                    && (s.contains("gcr.io/")
                        || r.tag_lower().contains("alpine")
                        || r.tag_lower().contains("slim"))
                {
                    found = true;
                }
            }
        });
        found
    }
}

fn walk_strings(t: &toml::Table, f: &mut dyn FnMut(&str)) {
    for v in t.values() {
        match v {
            toml::Value::String(s) => f(s),
            toml::Value::Table(t) => walk_strings(t, f),
            _ => {}
        }
    }
}

fn version_number(v: &str) -> Option<f64> {
    // 3.9 < 3.11: compare minor numerically.
    let mut parts = v.split('.');
    let major: f64 = parts.next()?.parse::<u32>().ok()? as f64;
    let minor = match parts.next() {
        Some(m) => m.parse::<u32>().ok()? as f64 / 1000.0,
        None => 0.0,
    };
    Some(major + minor)
}

/// apt → apk names (`transforms/packages.toml`).
pub fn apk_name(apt: &str) -> String {
    let data: Option<toml::Table> = toml::from_str(PACKAGES).ok();
    data.as_ref()
        .and_then(|d| d.get("apt_to_apk"))
        .and_then(|t| t.get(apt))
        .and_then(|v| v.as_str())
        .unwrap_or(apt)
        .to_string()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_refs() {
        let r = ImageRef::parse("registry:5000/library/node:18-alpine@sha256:ab").unwrap();
        assert_eq!(r.repo, "registry:5000/library/node");
        assert_eq!(r.name, "node");
        assert_eq!(r.tag.as_deref(), Some("18-alpine"));
        assert_eq!(r.digest.as_deref(), Some("sha256:ab"));
        assert!(ImageRef::parse("node").unwrap().is_official());
        assert!(!ImageRef::parse("bitnami/node:18").unwrap().is_official());
        assert!(ImageRef::parse("$BASE").is_none());
    }

    #[test]
    fn versions() {
        let v = |rt, s: &str| version_of(rt, &ImageRef::parse(s).unwrap());
        assert_eq!(
            v(Runtime::Node, "node:18.17-bullseye").as_deref(),
            Some("18")
        );
        assert_eq!(v(Runtime::Node, "node:lts"), None);
        assert_eq!(
            v(Runtime::Python, "python:3.11-slim").as_deref(),
            Some("3.11")
        );
        assert_eq!(v(Runtime::Python, "python:3").as_deref(), None);
        assert_eq!(
            v(Runtime::Java, "maven:3.9-eclipse-temurin-21").as_deref(),
            Some("21")
        );
        assert_eq!(v(Runtime::Java, "gradle:8-jdk17").as_deref(), Some("17"));
        assert_eq!(
            v(Runtime::Java, "eclipse-temurin:17-jdk").as_deref(),
            Some("17")
        );
        assert_eq!(v(Runtime::Java, "openjdk:1.8").as_deref(), Some("8"));
    }

    #[test]
    fn catalogue_nearest_and_overrides() {
        let s = Settings::default();
        let c = Catalogue::load(&s).unwrap();
        let ch = c
            .for_runtime(Runtime::Node, "18", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "gcr.io/distroless/nodejs18-debian12:nonroot");
        assert!(ch.note.is_some());
        let ch = c
            .for_runtime(Runtime::Node, "21", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "gcr.io/distroless/nodejs22-debian12:nonroot");
        assert!(c
            .for_runtime(Runtime::Python, "3.12", FinalImage::Distroless, false)
            .is_err());
        let ch = c
            .for_runtime(Runtime::Python, "3.12", FinalImage::Alpine, false)
            .unwrap();
        assert_eq!(ch.image, "python:3.12-alpine");

        let mut s = Settings::default();
        let over: toml::Table =
            toml::from_str("[distroless.node]\n\"22\" = \"mirror.example/node22@sha256:00\"\n")
                .unwrap();
        s.transforms.insert("images".into(), over);
        let c = Catalogue::load(&s).unwrap();
        let ch = c
            .for_runtime(Runtime::Node, "22", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "mirror.example/node22@sha256:00");
        let mut s = Settings::default();
        s.transforms
            .insert("images".into(), toml::from_str("bogus = 1").unwrap());
        assert!(Catalogue::load(&s).is_err());
    }
}

// ---- What one stage does (working directory, environment, RUN commands, packages, start) ----

/// `/a/b` + `../c` → `/a/c`. Returns `None` for paths with variables.
pub fn resolve(cwd: &str, p: &str) -> Option<String> {
    if p.contains('$') || p.is_empty() {
        return None;
    }
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{}", cwd.trim_end_matches('/'), p)
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether `path` is `dir` or inside it.
pub fn within(path: &str, dir: &str) -> bool {
    let d = dir.trim_end_matches('/');
    d.is_empty() || path == d || path.starts_with(&format!("{d}/"))
}

/// Shell-form text as argv when it is plain words (no quoting, expansion or operators).
pub fn plain_words(s: &str) -> Option<Vec<String>> {
    if s.chars().any(|c| "$;&|<>()`*?~'\"{}\\#\n\r".contains(c)) {
        return None;
    }
    let w: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    (!w.is_empty()).then_some(w)
}

/// An exec-form array as Dockerfile JSON.
pub fn json_array(args: &[String]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_else(|_| "\"\"".to_string()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// An ENV or ARG instruction's keys (and values as written).
pub fn env_pairs(ins: &Instruction, escape: char) -> Vec<(String, String)> {
    let words = lex::parse_words(&ins.command.args, escape);
    match words.first() {
        Some(w) if !w.contains('=') => {
            let rest = ins.command.args.trim_start()[w.len()..].trim().to_string();
            vec![(w.clone(), rest)]
        }
        _ => words
            .iter()
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_string(), unquote(v)),
                None => (w.clone(), String::new()),
            })
            .collect(),
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Names of variables a text refers to (`$X`, `${X}`, `${X:-y}`).
pub fn var_refs(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let mut j = i + 1;
            let braced = b.get(j) == Some(&b'{');
            if braced {
                j += 1;
            }
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.push(s[start..j].to_string());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// One top-level command of a RUN, with the directory it runs in.
#[derive(Debug, Clone)]
pub struct RunCmd {
    pub words: Vec<String>,
    pub cwd: String,
    /// Variables assigned in front of it or exported earlier in the same RUN.
    pub env: BTreeMap<String, String>,
}

/// How the container starts.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub entrypoint: Option<usize>,
    pub cmd: Option<usize>,
}

/// What a stage does.
#[derive(Debug, Clone)]
pub struct StageFacts {
    /// Working directory after each instruction index (absolute; `None` once unknown).
    pub final_workdir: Option<String>,
    /// Whether the file set WORKDIR at all.
    pub has_workdir: bool,
    pub env: BTreeMap<String, String>,
    pub env_ins: Vec<usize>,
    pub arg_ins: Vec<(usize, Vec<String>)>,
    pub runs: Vec<RunCmd>,
    /// RUNs whose text dfopt could not split (opaque to it).
    pub opaque_runs: usize,
    /// Absolute destinations of COPY/ADD.
    pub copy_dests: Vec<String>,
    /// Packages installed with apt-get/apt/apk/yum/dnf/microdnf (names without versions).
    pub os_packages: Vec<String>,
    pub start: Start,
    pub healthcheck: Option<usize>,
    /// The last USER and whether a RUN follows it.
    pub user: Option<(usize, String)>,
    pub run_after_user: bool,
    pub volumes: Vec<String>,
    pub exposed: Vec<u32>,
    pub onbuild: bool,
    pub shell_ins: bool,
    pub last_run: Option<usize>,
}

impl StageFacts {
    pub fn scan(doc: &Dockerfile, from: usize, end: usize, default_workdir: &str) -> StageFacts {
        let mut f = StageFacts {
            final_workdir: Some(default_workdir.to_string()),
            has_workdir: false,
            env: BTreeMap::new(),
            env_ins: Vec::new(),
            arg_ins: Vec::new(),
            runs: Vec::new(),
            opaque_runs: 0,
            copy_dests: Vec::new(),
            os_packages: Vec::new(),
            start: Start::default(),
            healthcheck: None,
            user: None,
            run_after_user: false,
            volumes: Vec::new(),
            exposed: Vec::new(),
            onbuild: false,
            shell_ins: false,
            last_run: None,
        };
        for idx in from + 1..end {
            let Some(ins) = doc.instructions.get(idx) else {
                break;
            };
            let c = &ins.command;
            match c.kind {
                Keyword::Workdir => {
                    f.has_workdir = true;
                    f.final_workdir = f
                        .final_workdir
                        .as_deref()
                        .and_then(|w| resolve(w, unquote(c.args.trim()).as_str()));
                }
                Keyword::Env => {
                    for (k, v) in env_pairs(ins, doc.escape) {
                        f.env.insert(k, v);
                    }
                    f.env_ins.push(idx);
                }
                Keyword::Arg => {
                    let names = env_pairs(ins, doc.escape)
                        .into_iter()
                        .map(|(k, v)| {
                            if !v.is_empty() {
                                f.env.entry(k.clone()).or_insert(v);
                            }
                            k
                        })
                        .collect();
                    f.arg_ins.push((idx, names));
                }
                Keyword::Run => {
                    f.last_run = Some(idx);
                    if f.user.is_some() {
                        f.run_after_user = true;
                    }
                    let cwd = f.final_workdir.clone().unwrap_or_else(|| "/".into());
                    let texts: Vec<String> = if ins.heredocs.is_empty() {
                        match &c.form {
                            Form::Exec(argv) => {
                                f.runs.push(RunCmd {
                                    words: argv.clone(),
                                    cwd: cwd.clone(),
                                    env: BTreeMap::new(),
                                });
                                Vec::new()
                            }
                            _ => vec![c.args.clone()],
                        }
                    } else {
                        ins.heredocs
                            .iter()
                            .map(|h| doc.text(h.body).to_string())
                            .collect()
                    };
                    for t in texts {
                        if !f.scan_shell(&t, &cwd) {
                            f.opaque_runs += 1;
                        }
                    }
                }
                Keyword::Copy | Keyword::Add => {
                    let dest = match &c.form {
                        Form::Exec(a) => a.last().cloned(),
                        _ => c.args.split_whitespace().last().map(str::to_string),
                    };
                    let cwd = f.final_workdir.clone().unwrap_or_else(|| "/".into());
                    if let Some(d) = dest.and_then(|d| resolve(&cwd, &d)) {
                        f.copy_dests.push(d);
                    }
                }
                Keyword::Cmd => f.start.cmd = Some(idx),
                Keyword::Entrypoint => {
                    f.start.entrypoint = Some(idx);
                    // ENTRYPOINT resets an earlier CMD.
                    f.start.cmd = None;
                }
                Keyword::Healthcheck => f.healthcheck = Some(idx),
                Keyword::User => {
                    f.user = Some((idx, c.args.trim().to_string()));
                    f.run_after_user = false;
                }
                Keyword::Volume => {
                    let v = match &c.form {
                        Form::Exec(a) => a.clone(),
                        _ => c.args.split_whitespace().map(str::to_string).collect(),
                    };
                    let cwd = f.final_workdir.clone().unwrap_or_else(|| "/".into());
                    f.volumes.extend(v.iter().filter_map(|p| resolve(&cwd, p)));
                }
                Keyword::Expose => {
                    for w in c.args.split_whitespace() {
                        if let Some(n) = w.split('/').next().and_then(|p| p.parse().ok()) {
                            f.exposed.push(n);
                        }
                    }
                }
                Keyword::Onbuild => f.onbuild = true,
                Keyword::Shell => f.shell_ins = true,
                _ => {}
            }
        }
        f
    }

    /// Splits a RUN's shell text into commands, following `cd` and `export`. False when opaque.
    fn scan_shell(&mut self, text: &str, cwd: &str) -> bool {
        let mut facts = shell::ShellFacts::default();
        let Some(cmds) = shell::split_top_level(text, &mut facts) else {
            return false;
        };
        let mut cwd = cwd.to_string();
        let mut exported: BTreeMap<String, String> = BTreeMap::new();
        for c in cmds {
            let mut env = exported.clone();
            let mut words: Vec<String> = Vec::new();
            let mut leading = true;
            for w in &c.words {
                if leading {
                    if let Some((k, v)) = w.split_once('=') {
                        if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            env.insert(k.to_string(), unquote(v));
                            continue;
                        }
                    }
                }
                leading = false;
                words.push(unquote(w));
            }
            match words.first().map(String::as_str) {
                Some("cd") => {
                    if let Some(d) = words.get(1).and_then(|d| resolve(&cwd, d)) {
                        cwd = d;
                    }
                }
                Some("export") => {
                    for w in &words[1..] {
                        if let Some((k, v)) = w.split_once('=') {
                            exported.insert(k.to_string(), unquote(v));
                        }
                    }
                }
                _ => {}
            }
            self.note_packages(&words);
            if !words.is_empty() {
                self.runs.push(RunCmd {
                    words,
                    cwd: cwd.clone(),
                    env,
                });
            }
        }
        true
    }

    fn note_packages(&mut self, words: &[String]) {
        let Some(first) = words.first() else {
            return;
        };
        let pm = first.rsplit('/').next().unwrap_or(first);
        let verb = match pm {
            "apt-get" | "apt" | "yum" | "dnf" | "microdnf" => "install",
            "apk" => "add",
            _ => return,
        };
        let Some(pos) = words.iter().position(|w| w == verb) else {
            return;
        };
        let mut skip_next = false;
        for w in &words[pos + 1..] {
            if skip_next {
                skip_next = false;
                continue;
            }
            if w.starts_with('-') {
                // apk's `--virtual NAME` / `-t NAME` names a group, not a package.
                skip_next = pm == "apk" && (w == "--virtual" || w == "-t");
                continue;
            }
            let name = w.split(['=', '>', '<']).next().unwrap_or(w);
            if !name.is_empty() && !name.contains('$') {
                self.os_packages.push(name.to_string());
            }
        }
    }

    /// Commands whose first word (basename) is `prog`.
    pub fn commands<'a>(&'a self, prog: &'a str) -> impl Iterator<Item = &'a RunCmd> + 'a {
        self.runs.iter().filter(move |r| {
            r.words
                .first()
                .map(|w| w.rsplit('/').next().unwrap_or(w) == prog)
                .unwrap_or(false)
        })
    }

    /// An environment value set by ENV/ARG in the stage or in front of the command.
    pub fn env_value<'a>(&'a self, run: &'a RunCmd, key: &str) -> Option<&'a str> {
        run.env
            .get(key)
            .or_else(|| self.env.get(key))
            .map(String::as_str)
    }

    /// Absolute paths that RUN commands write outside of the `allowed` folders.
    pub fn writes_outside(&self, allowed: &[String]) -> Vec<String> {
        const SCRATCH: &[&str] = &[
            "/tmp",
            "/var/tmp",
            "/var/lib/apt",
            "/var/cache",
            "/var/log",
            "/root/.cache",
            "/root/.npm",
            "/root/.m2",
            "/root/.gradle",
            "/root/.cargo",
            "/usr/local/cargo",
            "/go/pkg",
            "/root/go",
            "/etc/apt",
            "/usr/share/keyrings",
            "/etc/apk",
            "/dev/null",
            "/root/.config",
            "/root/.local",
            "/home",
            "/usr/local/share/.cache",
        ];
        let mut out = Vec::new();
        for r in &self.runs {
            let Some(first) = r.words.first() else {
                continue;
            };
            let prog = first.rsplit('/').next().unwrap_or(first);
            let args: Vec<&String> = r.words[1..]
                .iter()
                .filter(|w| !w.starts_with('-'))
                .collect();
            let targets: Vec<&String> = match prog {
                "mkdir" | "touch" => args,
                "cp" | "mv" | "ln" | "install" | "tee" => {
                    args.last().copied().into_iter().collect()
                }
                "curl" | "wget" => r
                    .words
                    .windows(2)
                    .filter(|w| matches!(w[0].as_str(), "-o" | "--output" | "-O" | "-P"))
                    .map(|w| &w[1])
                    .collect(),
                _ => Vec::new(),
            };
            for t in targets {
                let Some(p) = resolve(&r.cwd, t) else {
                    continue;
                };
                if SCRATCH.iter().any(|s| within(&p, s)) || allowed.iter().any(|a| within(&p, a)) {
                    continue;
                }
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Paths inside `dir` the build makes writable or creates (mkdir/chmod/chown), or VOLUMEs in it.
    pub fn writable_in(&self, dir: &str) -> bool {
        self.volumes.iter().any(|v| within(v, dir))
            || self.runs.iter().any(|r| {
                let prog = r.words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
                matches!(prog, Some("mkdir" | "chmod" | "chown"))
                    && r.words[1..]
                        .iter()
                        .filter(|w| !w.starts_with('-'))
                        .filter_map(|w| resolve(&r.cwd, w))
                        .any(|p| within(&p, dir))
            })
    }
}

/// The command line of an instruction as argv: exec form as is, plain shell form split.
pub fn argv_of(ins: &Instruction) -> Option<Vec<String>> {
    match &ins.command.form {
        Form::Exec(a) => Some(a.clone()),
        Form::Shell => plain_words(&ins.command.args),
        Form::Empty => Some(Vec::new()),
    }
}

/// Byte offset where an instruction's block starts: its own first line, or the comment lines
/// directly above it (no blank line between), when `prev_end` (end of the instruction before) allows.
pub fn block_start(doc: &Dockerfile, ins: &Instruction, prev_end: usize) -> usize {
    let gap = doc.source.get(prev_end..ins.line_start).unwrap_or("");
    let mut start = ins.line_start;
    let mut offset = ins.line_start;
    for line in gap.split_inclusive('\n').rev() {
        offset -= line.len();
        let t = line.trim();
        if t.starts_with('#') {
            start = offset;
        } else {
            break;
        }
    }
    start
}

#[cfg(test)]
mod facts_tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(resolve("/app", "./a/../b").as_deref(), Some("/app/b"));
        assert_eq!(resolve("/app", "/x/").as_deref(), Some("/x"));
        assert_eq!(resolve("/", ".").as_deref(), Some("/"));
        assert!(resolve("/", "$X").is_none());
        assert!(within("/app/x", "/app"));
        assert!(!within("/apple", "/app"));
        assert_eq!(var_refs("a $B ${C:-x} $$"), vec!["B", "C"]);
        assert_eq!(
            plain_words("node  index.js"),
            Some(vec!["node".into(), "index.js".into()])
        );
        assert_eq!(plain_words("node $X"), None);
    }

    #[test]
    fn scan_tracks_cd_and_packages() {
        let d = Dockerfile::parse(
            "FROM golang:1.22\nWORKDIR /src\nRUN apt-get update && apt-get install -y --no-install-recommends ffmpeg=7 git\nRUN cd cmd/app && CGO_ENABLED=0 go build -o /out/app .\nUSER 1000\nCMD [\"/out/app\"]\n",
        )
        .unwrap();
        let f = StageFacts::scan(&d, 0, d.instructions.len(), "/go");
        assert_eq!(f.os_packages, vec!["ffmpeg", "git"]);
        let gb = f.commands("go").next().unwrap();
        assert_eq!(gb.cwd, "/src/cmd/app");
        assert_eq!(gb.env.get("CGO_ENABLED").map(String::as_str), Some("0"));
        assert_eq!(f.final_workdir.as_deref(), Some("/src"));
        assert_eq!(f.start.cmd, Some(5));
        assert!(!f.run_after_user);
    }
}
