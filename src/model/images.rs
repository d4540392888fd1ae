//! Image references, the language runtime a build image stands for, its version, and the image
//! catalogue (`transforms/images.toml`, `transforms/packages.toml`) the runtime images come from.

use crate::config::{FinalImage, Settings};

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
