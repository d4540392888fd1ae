//! The runtime catalogue's data as written in `transforms/runtimes.toml`: typed, every table
//! rejecting unknown keys. [`super::Catalogue`] checks and answers from it.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Data {
    pub(super) runtimes: BTreeMap<String, RuntimeData>,
    pub(super) images: Vec<ImageData>,
    pub(super) unpublished: Vec<UnpublishedData>,
    pub(super) names: Vec<NameData>,
    pub(super) name_patterns: Vec<NamePatternData>,
    #[serde(default)]
    pub(super) distros: BTreeMap<String, DistroData>,
    /// The programs an image has on PATH, by image reference (`debian:13-slim`).
    #[serde(default)]
    pub(super) image_programs: BTreeMap<String, ProgramsData>,
    pub(super) policy: PolicyData,
}

/// The programs an image has on PATH, and where the list comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgramsData {
    pub(super) source: String,
    pub(super) programs: Vec<String>,
}

/// A distribution release an image tag may name (`bookworm` of `python:3.12-slim-bookworm`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DistroData {
    pub(super) name: String,
    #[serde(default)]
    pub(super) end: Option<String>,
    pub(super) source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum VersionPart {
    /// `20` of `20.11.1`.
    Major,
    /// `3.12` of `3.12.1`.
    Minor,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuntimeData {
    pub(super) name: String,
    pub(super) version_part: VersionPart,
    pub(super) older_ended: bool,
    pub(super) versions: BTreeMap<String, SupportData>,
    #[serde(default)]
    pub(super) codenames: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SupportData {
    #[serde(default)]
    pub(super) release: Option<String>,
    #[serde(default)]
    pub(super) end: Option<String>,
    /// Past its end of life, the exact date not being in the sources: why.
    #[serde(default)]
    pub(super) ended: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImageData {
    pub(super) family: String,
    pub(super) runtime: String,
    pub(super) pattern: String,
    #[serde(default)]
    pub(super) versions: Option<Vec<String>>,
    pub(super) libc: String,
    pub(super) shell: String,
    pub(super) user: String,
    #[serde(default)]
    pub(super) entrypoint: Option<Vec<String>>,
    /// The image on a named release (`python:{v}-slim-{distro}`), for the releases in
    /// `distros`.
    #[serde(default)]
    pub(super) distro_pattern: Option<String>,
    #[serde(default)]
    pub(super) distros: Vec<String>,
    pub(super) source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnpublishedData {
    pub(super) prefix: String,
    #[serde(default)]
    pub(super) suffix: Option<String>,
    #[serde(default)]
    pub(super) since: Option<String>,
    pub(super) reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NameData {
    pub(super) name: String,
    pub(super) runtime: String,
    pub(super) official: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NamePatternData {
    pub(super) regex: String,
    pub(super) runtime: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyData {
    pub(super) ladder: BTreeMap<String, Vec<String>>,
    pub(super) floating: BTreeMap<String, FloatingData>,
    pub(super) arg_patterns: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FloatingData {
    pub(super) tags: Vec<String>,
    pub(super) image: String,
    pub(super) slim: String,
    pub(super) latest_slim: String,
    /// Debian codenames a floating tag may end with (`3-bookworm`) whose slim variant exists.
    #[serde(default)]
    pub(super) distros: Vec<String>,
    /// The slim variant of `<tag>-<distro>`: `{tag}` and `{distro}` are filled in.
    #[serde(default)]
    pub(super) slim_distro: Option<String>,
    /// The slim variant of a bare `<distro>` tag.
    #[serde(default)]
    pub(super) latest_slim_distro: Option<String>,
    /// A floating alpine tag (`alpine`, `3-alpine`, `lts-alpine`) is its own final image: what
    /// the build compiled against musl runs there.
    #[serde(default)]
    pub(super) alpine: bool,
}
