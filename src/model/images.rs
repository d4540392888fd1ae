//! Image references, the language runtime a build image stands for, its version, and the image
//! catalogue (`transforms/images.toml`, `transforms/packages.toml`) the runtime images come from.

use super::catalogue::{Catalogue as RuntimeCatalogue, Date, ImageChoice};
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
        if s.contains('$') {
            return None;
        }
        ImageRef::parse_with_variables(s)
    }

    /// Like [`ImageRef::parse`], but a reference may name build arguments
    /// (`node:${NODE_VERSION}`), as the runtime catalogue's ARG patterns need.
    pub fn parse_with_variables(s: &str) -> Option<ImageRef> {
        if s.is_empty() || s.contains(char::is_whitespace) {
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
    /// The programs the image has on PATH, from the catalogue's `image_programs` (empty when it
    /// does not list the image).
    pub programs: Vec<String>,
}

/// The runtime images of the multi-stage and final-stage-base passes: the runtime catalogue
/// (`transforms/runtimes.toml`, [`super::catalogue`]) picks the image by the same-version policy;
/// `transforms/images.toml`, merged with `[transforms.images]` from the config, gives the tag of
/// distroless images, image replacements (private mirrors, digest pins) and the day support is
/// judged on.
#[derive(Debug)]
pub struct Catalogue {
    runtimes: std::sync::Arc<RuntimeCatalogue>,
    data: ImagesData,
    today: Date,
}

/// `transforms/images.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesData {
    /// The day support windows are judged on ("YYYY-MM-DD"); empty: today.
    today: String,
    tags: Tags,
    /// Image → the reference written instead (a mirror, a digest pin).
    #[serde(default)]
    replace: std::collections::BTreeMap<String, String>,
}

/// The `[tags]` table: the tags of distroless images.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Tags {
    nonroot: String,
    root: String,
}

/// Merges `over` into `base` key by key (tables recursively): `[transforms.images.replace]` adds
/// to the replacements instead of replacing them all.
fn deep_merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => deep_merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

impl Catalogue {
    pub fn load(settings: &Settings) -> Result<Catalogue, String> {
        let over = settings.transforms.get("images");
        // The data file alone, as nearly every run reads it, straight from its text; should that
        // fail, the error comes from the reading below, worded as ever.
        let data = match over {
            None => crate::rule_data::builtin_data(|| toml::from_str::<ImagesData>(IMAGES)).ok(),
            Some(_) => None,
        };
        let data = match data {
            Some(data) => data,
            None => {
                let mut table: toml::Table =
                    toml::from_str(IMAGES).map_err(|e| format!("transforms/images.toml: {e}"))?;
                let mut data: ImagesData =
                    crate::rule_data::from_table(&table, "transforms/images.toml")?;
                if let Some(over) = over {
                    deep_merge(&mut table, over);
                    data = crate::rule_data::from_table(&table, "[transforms.images]")?;
                }
                data
            }
        };
        let today = match data.today.trim() {
            "" => Date::today(),
            s => Date::parse(s)
                .ok_or_else(|| format!("[transforms.images]: `today`: `{s}` is not YYYY-MM-DD"))?,
        };
        Ok(Catalogue {
            runtimes: RuntimeCatalogue::builtin()?,
            data,
            today,
        })
    }

    /// The runtime catalogue itself.
    pub fn runtimes(&self) -> &RuntimeCatalogue {
        &self.runtimes
    }

    /// The day support windows are judged on.
    pub fn today(&self) -> Date {
        self.today
    }

    /// The distroless tag for an image that runs as root or not.
    fn tag(&self, root: bool) -> &str {
        if root {
            &self.data.tags.root
        } else {
            &self.data.tags.nonroot
        }
    }

    /// The configured replacement of an image (mirror, digest pin), else the image itself.
    fn replaced(&self, image: &str) -> String {
        self.data
            .replace
            .get(image)
            .map_or(image, String::as_str)
            .to_string()
    }

    /// Appends `:tag` unless the image already pins a tag or digest.
    fn tagged(&self, image: &str, root: bool) -> String {
        let r = ImageRef::parse(image);
        match r {
            Some(r) if r.tag.is_some() || r.digest.is_some() => image.to_string(),
            _ => {
                let t = self.tag(root);
                if t.starts_with('@') {
                    format!("{image}{t}")
                } else {
                    format!("{image}:{t}")
                }
            }
        }
    }

    /// A catalogue answer as the passes use it.
    pub fn choice(&self, picked: ImageChoice, root: bool) -> Choice {
        let family = match picked.family.as_str() {
            "distroless" => FinalImage::Distroless,
            "alpine" => FinalImage::Alpine,
            _ => FinalImage::Slim,
        };
        let image = self.replaced(&picked.image);
        let interpreted = matches!(picked.runtime.as_str(), "node" | "python" | "java");
        let distroless = family == FinalImage::Distroless;
        let name = self.runtimes.runtime_name(&picked.runtime).to_string();
        let mut runs = if !interpreted {
            format!("runs on `{image}`")
        } else if picked.version.is_empty() {
            format!("runs on `{image}`, whose {name} version follows the build image's tag")
        } else {
            format!("runs on `{image}` ({name} {})", picked.version)
        };
        if let Some(d) = picked.supported_until {
            runs.push_str(&format!(", supported until {d}"));
        }
        if picked.shell == "none" {
            runs.push_str(", which has no shell");
        }
        if picked.libc == "musl" {
            runs.push_str(", which has musl, not glibc");
        }
        Choice {
            image: if distroless {
                self.tagged(&image, root)
            } else {
                image
            },
            family,
            interpreter_entrypoint: distroless && interpreted,
            has_shell: picked.shell != "none",
            nonroot: distroless && !root,
            note: Some(runs),
            python: (distroless && picked.runtime == "python").then(|| picked.version.clone()),
            programs: self.runtimes.programs(&picked.image).to_vec(),
        }
    }

    /// The runtime image for an interpreted runtime (node, python, java) at `version`, for the
    /// preferred family: the catalogue's ladder (same version or refuse).
    pub fn for_runtime(
        &self,
        rt: Runtime,
        version: &str,
        family: FinalImage,
        root: bool,
    ) -> Result<Choice, String> {
        let picked = self
            .runtimes
            .final_image(rt.name(), version, family, self.today)
            .map_err(|r| r.reason)?;
        Ok(self.choice(picked, root))
    }

    /// The runtime image for a build image's FROM as written (floating tags, ARG-based tags).
    pub fn for_build(
        &self,
        build_from: &str,
        arg_default: &dyn Fn(&str) -> Option<String>,
        family: FinalImage,
        root: bool,
    ) -> Result<Choice, String> {
        let picked = self
            .runtimes
            .final_image_for_build(build_from, arg_default, family, self.today)
            .map_err(|r| r.reason)?;
        Ok(self.choice(picked, root))
    }

    /// The runtime image for a compiled program.
    pub fn for_native(
        &self,
        native: Native,
        family: FinalImage,
        root: bool,
    ) -> Result<Choice, String> {
        if family == FinalImage::Alpine && native != Native::Static {
            return Err(
                "the program links glibc dynamically and alpine has musl: build it static (CGO_ENABLED=0 for Go, a musl target for Rust) or use `--final distroless`".to_string(),
            );
        }
        let picked = self
            .runtimes
            .final_image(native.key(), "", family, self.today)
            .map_err(|r| r.reason)?;
        Ok(self.choice(picked, root))
    }

    /// Whether `image` (a FROM reference) is one of the catalogue's runtime images.
    pub fn is_catalogue_image(&self, image: &str) -> bool {
        let Some(r) = ImageRef::parse(image) else {
            return false;
        };
        let tag = r.tag_lower();
        r.repo
            .to_ascii_lowercase()
            .starts_with("gcr.io/distroless/")
            || r.repo
                .to_ascii_lowercase()
                .starts_with("cgr.dev/chainguard/")
            || (r.is_official()
                && (tag.contains("alpine") || tag.contains("slim") || tag.contains("jre")))
    }
}

/// `transforms/packages.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PackagesData {
    /// Debian package name → the Alpine package with the same contents.
    apt_to_apk: std::collections::BTreeMap<String, String>,
}

/// `transforms/packages.toml`, read once (a broken file reads as no renames; a test checks it
/// reads).
fn packages_data() -> Result<&'static PackagesData, String> {
    static READ: std::sync::OnceLock<Result<PackagesData, String>> = std::sync::OnceLock::new();
    READ.get_or_init(|| read_packages(PACKAGES))
        .as_ref()
        .map_err(Clone::clone)
}

fn read_packages(text: &str) -> Result<PackagesData, String> {
    toml::from_str::<PackagesData>(text).map_err(|e| format!("transforms/packages.toml: {e}"))
}

/// Reads `text` as `transforms/packages.toml` is read (`passes::DATA_FILES`: every data file's
/// reader).
pub(crate) fn read_packages_text(text: &str) -> Result<(), String> {
    read_packages(text).map(drop)
}

/// apt → apk names (`transforms/packages.toml`).
pub fn apk_name(apt: &str) -> String {
    packages_data()
        .ok()
        .and_then(|d| d.apt_to_apk.get(apt))
        .map_or(apt, String::as_str)
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
    fn the_packages_data_reads() {
        let data = packages_data().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            data.apt_to_apk.get("libpq-dev").map(String::as_str),
            Some("postgresql-dev")
        );
        assert_eq!(apk_name("libpq-dev"), "postgresql-dev");
        assert_eq!(apk_name("not-a-renamed-package"), "not-a-renamed-package");
    }

    fn settings_on(day: &str, extra: &str) -> Settings {
        let mut s = Settings::default();
        let over: toml::Table = toml::from_str(&format!("today = \"{day}\"\n{extra}")).unwrap();
        s.transforms.insert("images".into(), over);
        s
    }

    #[test]
    fn same_version_or_refuse() {
        let c = Catalogue::load(&settings_on("2026-11-29", "")).unwrap();
        let ch = c
            .for_runtime(Runtime::Node, "22", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "gcr.io/distroless/nodejs22-debian13:nonroot");
        assert!(ch.interpreter_entrypoint && !ch.has_shell);
        // Node 18, 20 and 21 are past their end of life on that day: no image, a reason.
        for v in ["18", "20", "21"] {
            let why = c
                .for_runtime(Runtime::Node, v, FinalImage::Distroless, false)
                .unwrap_err();
            assert!(why.contains("end of life"), "{v}: {why}");
        }
        // Distroless has no Python 3.12: the ladder goes to the official slim image.
        let ch = c
            .for_runtime(Runtime::Python, "3.12", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "python:3.12-slim");
        assert!(ch.has_shell && !ch.interpreter_entrypoint);
        let ch = c
            .for_runtime(Runtime::Python, "3.13", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "gcr.io/distroless/python3-debian13:nonroot");
        assert_eq!(ch.python.as_deref(), Some("3.13"));
        let ch = c
            .for_runtime(Runtime::Java, "8", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "eclipse-temurin:8-jre");
        let ch = c
            .for_native(Native::Static, FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "gcr.io/distroless/static-debian13:nonroot");
        let ch = c
            .for_build("node:lts", &|_| None, FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "node:lts-slim");
    }

    #[test]
    fn replacements_and_unknown_keys() {
        let s = settings_on(
            "2026-11-29",
            "[replace]\n\"gcr.io/distroless/nodejs22-debian13\" = \"mirror.example/node22@sha256:00\"\n",
        );
        let c = Catalogue::load(&s).unwrap();
        let ch = c
            .for_runtime(Runtime::Node, "22", FinalImage::Distroless, false)
            .unwrap();
        assert_eq!(ch.image, "mirror.example/node22@sha256:00");
        let mut s = Settings::default();
        s.transforms
            .insert("images".into(), toml::from_str("bogus = 1").unwrap());
        let err = Catalogue::load(&s).unwrap_err();
        assert!(
            err.starts_with("[transforms.images]: unknown key `bogus`"),
            "{err}"
        );
        // Nested tables are typed too: a misspelt tag or a replacement that is not a string.
        let s = settings_on("2026-11-29", "[tags]\nnonrot = \"x\"\n");
        let err = Catalogue::load(&s).unwrap_err();
        assert!(
            err.contains("`tags`") && err.contains("unknown key `nonrot`"),
            "{err}"
        );
        let s = settings_on("2026-11-29", "[replace]\n\"node\" = 1\n");
        let err = Catalogue::load(&s).unwrap_err();
        assert!(
            err.contains("`replace.node`") && err.contains("expected a string"),
            "{err}"
        );
    }
}
