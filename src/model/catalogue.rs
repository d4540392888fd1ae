//! The runtime catalogue (`transforms/runtimes.toml`): support windows of language runtimes, the
//! images that carry them per family, images no longer published, and the final-image policy
//! (same version as the build image; a ladder of families; refuse with a reason).
//!
//! "Today" is always a parameter, so that what is supported can be tested on a fixed date.

use super::images::ImageRef;
use crate::config::FinalImage;
use std::collections::BTreeMap;

pub const RUNTIMES: &str = include_str!("../../transforms/runtimes.toml");

/// A calendar day. Sources that give only a month mean its last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// `2026-11-29`, or `2026-10` (the last day of that month).
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().split('-');
        let year: u16 = parts.next()?.parse().ok()?;
        let month: u8 = parts.next()?.parse().ok()?;
        if !(1..=12).contains(&month) {
            return None;
        }
        let last = days_in_month(year, month);
        let day = match parts.next() {
            Some(d) => d.parse().ok().filter(|d| (1..=last).contains(d))?,
            None => last,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The current UTC day from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days_since_epoch((secs / 86_400) as i64)
    }

    /// Howard Hinnant's `civil_from_days`.
    fn from_days_since_epoch(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

mod data;
use data::{Data, FloatingData, ImageData, VersionPart};

// ----- the API -----

/// The runtime catalogue, checked and ready to answer.
#[derive(Debug)]
pub struct Catalogue {
    data: Data,
    ends: BTreeMap<(String, String), Support>,
    /// `name_patterns`: each regex, compiled when first matched (with the runtime it names).
    name_patterns: Vec<(NamePattern, String)>,
    unpublished_since: Vec<Option<Date>>,
    distro_ends: BTreeMap<String, Date>,
}

/// What the catalogue knows about one runtime version on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Supported; until that day when the sources give it.
    Supported { until: Option<Date> },
    /// Past its end of life: since that day when the sources give it, and why.
    Ended { since: Option<Date>, why: String },
    /// Not in the catalogue.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Support {
    Until(Option<Date>),
    Ended(String),
}

/// The final image the policy picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChoice {
    /// The image reference to write in the final FROM (without the `nonroot` tag).
    pub image: String,
    /// `distroless`, `slim`, `alpine` or `chainguard`.
    pub family: String,
    /// The catalogue runtime key (`node`, `python`, `java`, `static`, …).
    pub runtime: String,
    /// The runtime version it runs (`20`, `3.12`); empty for version-less images and ARGs.
    pub version: String,
    /// `glibc`, `musl` or `none`.
    pub libc: String,
    /// `none` or `sh`.
    pub shell: String,
    pub user: String,
    /// Its ENTRYPOINT, when the sources give it.
    pub entrypoint: Option<Vec<String>>,
    /// The runtime's end of life, when known.
    pub supported_until: Option<Date>,
    pub source: String,
}

/// Why no final image was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Why an image should not be built on any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EolNote {
    /// The runtime key and version the image runs, when the catalogue can tell.
    pub runtime: Option<(String, String)>,
    /// The runtime's end of life, when it is past and the date is known.
    pub ended_on: Option<Date>,
    /// Set when the image itself is no longer published: why.
    pub unpublished: Option<String>,
    /// The whole explanation, one sentence.
    pub message: String,
}

/// A runtime version read from an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeVersion {
    pub runtime: String,
    /// As precise as the tag says (`3` of `python:3` is a prefix, not a minor).
    pub version: String,
}

/// A regex of `name_patterns`, compiled on first use.
#[derive(Debug)]
struct NamePattern {
    source: String,
    /// None should it not compile (the debug builds of the tests compile it when read).
    compiled: std::sync::OnceLock<Option<regex::Regex>>,
}

impl NamePattern {
    fn get(&self) -> Option<&regex::Regex> {
        self.compiled
            .get_or_init(|| regex::Regex::new(&self.source).ok())
            .as_ref()
    }
}

fn parse_date(s: &str, what: &str) -> Result<Date, String> {
    Date::parse(s).ok_or_else(|| format!("transforms/runtimes.toml: {what}: bad date `{s}`"))
}

fn numbers(v: &str) -> Option<Vec<u32>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

impl Catalogue {
    /// The catalogue built into dfopt, read and checked once per process (every registry and
    /// every rule that asks shares it).
    pub fn builtin() -> Result<std::sync::Arc<Catalogue>, String> {
        static BUILTIN: std::sync::OnceLock<Result<std::sync::Arc<Catalogue>, String>> =
            std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| Catalogue::from_toml(RUNTIMES).map(std::sync::Arc::new))
            .clone()
    }

    /// Reads and checks a catalogue: dates, regexes, and that every image and policy entry names
    /// a family and runtime the data knows.
    pub fn from_toml(text: &str) -> Result<Catalogue, String> {
        let data: Data =
            toml::from_str(text).map_err(|e| format!("transforms/runtimes.toml: {e}"))?;
        let mut ends = BTreeMap::new();
        for (rt, r) in &data.runtimes {
            for (v, s) in &r.versions {
                if numbers(v).is_none() {
                    return Err(format!("transforms/runtimes.toml: {rt} version `{v}`"));
                }
                if let Some(rel) = &s.release {
                    parse_date(rel, &format!("{rt} {v} release"))?;
                }
                let support = match (&s.end, &s.ended) {
                    (Some(_), Some(_)) => {
                        return Err(format!(
                            "transforms/runtimes.toml: {rt} {v}: `end` and `ended` both set"
                        ))
                    }
                    (Some(e), None) => {
                        Support::Until(Some(parse_date(e, &format!("{rt} {v} end"))?))
                    }
                    (None, Some(why)) => Support::Ended(why.clone()),
                    (None, None) => Support::Until(None),
                };
                ends.insert((rt.clone(), v.clone()), support);
            }
            for (codename, v) in &r.codenames {
                if !r.versions.contains_key(v) {
                    return Err(format!(
                        "transforms/runtimes.toml: {rt} codename {codename} names unknown version {v}"
                    ));
                }
            }
        }
        let families: Vec<&str> = data.images.iter().map(|i| i.family.as_str()).collect();
        for (pref, ladder) in &data.policy.ladder {
            for fam in ladder {
                if !families.contains(&fam.as_str()) {
                    return Err(format!(
                        "transforms/runtimes.toml: ladder {pref} names unknown family {fam}"
                    ));
                }
            }
        }
        let mut name_patterns = Vec::new();
        for p in &data.name_patterns {
            let pattern = NamePattern {
                source: p.regex.clone(),
                compiled: std::sync::OnceLock::new(),
            };
            // Compiled now only in debug builds, which every test runs: the built-in catalogue
            // is the only one read, and the same text compiles the same in the release build,
            // where compiling these two Unicode patterns was a third of reading the catalogue,
            // before any file could be processed.
            if cfg!(debug_assertions) {
                let re = regex::Regex::new(&p.regex)
                    .map_err(|e| format!("transforms/runtimes.toml: name_patterns: {e}"))?;
                let _ = pattern.compiled.set(Some(re));
            }
            name_patterns.push((pattern, p.runtime.clone()));
        }
        let unpublished_since = data
            .unpublished
            .iter()
            .map(|u| {
                u.since
                    .as_deref()
                    .map(|s| parse_date(s, &u.prefix))
                    .transpose()
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut distro_ends = BTreeMap::new();
        for (codename, d) in &data.distros {
            if d.source.trim().is_empty() {
                return Err(format!(
                    "transforms/runtimes.toml: distro {codename} cites no source"
                ));
            }
            if let Some(e) = &d.end {
                distro_ends.insert(codename.clone(), parse_date(e, codename)?);
            }
        }
        for (image, p) in &data.image_programs {
            if p.source.trim().is_empty() || p.programs.is_empty() {
                return Err(format!(
                    "transforms/runtimes.toml: image_programs {image} cites no source or lists no program"
                ));
            }
        }
        for img in &data.images {
            for d in &img.distros {
                if !data.distros.contains_key(d) {
                    return Err(format!(
                        "transforms/runtimes.toml: image {} names unknown distro {d}",
                        img.pattern
                    ));
                }
            }
        }
        Ok(Catalogue {
            data,
            ends,
            name_patterns,
            unpublished_since,
            distro_ends,
        })
    }

    /// The runtime's display name (`Node.js`), or the key itself.
    pub fn runtime_name<'a>(&'a self, runtime: &'a str) -> &'a str {
        self.data
            .runtimes
            .get(runtime)
            .map(|r| r.name.as_str())
            .unwrap_or(runtime)
    }

    /// The part of `version` the same-version policy compares: `20` of `20.11.1` for Node,
    /// `3.12` of `3.12.1` for Python, `8` of `1.8`/`8u392` for Java. `None` when the version is
    /// less precise than that (`3` for Python) or not a version.
    pub fn normalize(&self, runtime: &str, version: &str) -> Option<String> {
        let r = self.data.runtimes.get(runtime)?;
        let v = version.trim().trim_start_matches(['v', 'V']);
        let mut nums: Vec<u32> = Vec::new();
        for part in v.split('.') {
            let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            match digits.parse() {
                Ok(n) => nums.push(n),
                Err(_) => break,
            }
            if digits.len() != part.len() {
                break;
            }
        }
        if runtime == "java" && nums.first() == Some(&1) && nums.len() > 1 {
            nums.remove(0);
        }
        match r.version_part {
            VersionPart::Major => nums.first().map(|n| n.to_string()),
            VersionPart::Minor if nums.len() >= 2 => Some(format!("{}.{}", nums[0], nums[1])),
            VersionPart::Minor => None,
        }
    }

    /// The support status of a runtime version on `today`. A version less precise than the
    /// runtime's policy part (`python` `2`) is ended only when every listed version under it is.
    pub fn status(&self, runtime: &str, version: &str, today: Date) -> Status {
        let Some(r) = self.data.runtimes.get(runtime) else {
            return Status::Unknown;
        };
        let Some(wanted) = numbers(version) else {
            return Status::Unknown;
        };
        if let Some(s) = self.ends.get(&(runtime.to_string(), version.to_string())) {
            return support_on(s, today);
        }
        let under: Vec<&Support> = self
            .ends
            .iter()
            .filter(|((rt, v), _)| {
                rt == runtime && numbers(v).is_some_and(|n| n.starts_with(&wanted))
            })
            .map(|(_, s)| s)
            .collect();
        if !under.is_empty() {
            let statuses: Vec<Status> = under.iter().map(|s| support_on(s, today)).collect();
            if statuses.iter().all(|s| matches!(s, Status::Ended { .. })) {
                let since = statuses
                    .iter()
                    .filter_map(|s| match s {
                        Status::Ended { since, .. } => *since,
                        _ => None,
                    })
                    .max();
                return Status::Ended {
                    since,
                    why: format!("every {} {version}.x release line has ended", r.name),
                };
            }
            return Status::Unknown;
        }
        let oldest = r.versions.keys().filter_map(|v| numbers(v)).min();
        if r.older_ended && oldest.is_some_and(|o| wanted < o) {
            return Status::Ended {
                since: None,
                why: format!("older than every {} release line still listed", r.name),
            };
        }
        Status::Unknown
    }

    /// The final image for a runtime at `version` (any precision at least the policy part), for
    /// the `preference` family: the first family of the preference's ladder that publishes that
    /// very version. Refuses when the version is past its end of life, not in the catalogue, or
    /// published by none of the ladder's families. Version-less runtimes (`static`, `base`, `cc`)
    /// take `version` = "".
    pub fn final_image(
        &self,
        runtime: &str,
        version: &str,
        preference: FinalImage,
        today: Date,
    ) -> Result<ImageChoice, Refusal> {
        self.final_image_on(runtime, version, None, preference, today)
    }

    /// The programs `image` (a catalogue image reference, `debian:13-slim`) has on PATH, as
    /// `image_programs` lists them; empty when the data does not list the image.
    pub fn programs(&self, image: &str) -> &[String] {
        self.data
            .image_programs
            .get(image)
            .map_or(&[], |p| p.programs.as_slice())
    }

    /// The distribution release a tag names (`bookworm` of `3.12-slim-bookworm`, `jammy` of
    /// `17-jdk-jammy`), when the catalogue knows it.
    pub fn distro_in_tag(&self, tag: &str) -> Option<String> {
        tag.to_ascii_lowercase()
            .split('-')
            .find(|part| self.data.distros.contains_key(*part))
            .map(str::to_string)
    }

    /// Like [`Catalogue::final_image`], for a build image whose tag names the distribution
    /// release `distro`: a family with per-release tags (the official slim images, where OS
    /// packages are installed again) runs on that same release, so the libraries the build
    /// compiled against keep their versions; such a family is skipped when it does not publish
    /// the release, and a release past its end of life is refused, never swapped for another.
    /// Families without per-release tags (distroless, alpine) are not held to it.
    pub fn final_image_on<'a>(
        &'a self,
        runtime: &str,
        version: &str,
        distro: Option<&'a str>,
        preference: FinalImage,
        today: Date,
    ) -> Result<ImageChoice, Refusal> {
        let refuse = |reason: String| Err(Refusal { reason });
        let distro_name = |d: &'a str| self.data.distros.get(d).map_or(d, |x| x.name.as_str());
        // Set when a family would have to run on a release past its end of life.
        let mut ended_release: Option<String> = None;
        let ladder = self.ladder(preference);
        let versioned = self.data.runtimes.contains_key(runtime);
        let (v, until) = if versioned {
            let name = self.runtime_name(runtime);
            let Some(v) = self.normalize(runtime, version) else {
                // `python:2`: every release line under the prefix has ended.
                if let Status::Ended { .. } = self.status(runtime, version, today) {
                    return refuse(format!(
                        "every {name} {version}.x release line is past its end of life: no final image is chosen for it"
                    ));
                }
                return refuse(format!(
                    "{name} `{version}` does not name a release line the final image can match"
                ));
            };
            match self.status(runtime, &v, today) {
                Status::Supported { until } => (v, until),
                Status::Ended { since, why } => {
                    return refuse(match since {
                        Some(d) => format!(
                            "{name} {v} reached its end of life on {d}: no final image is chosen for it; move the build to a supported {name} release"
                        ),
                        None => format!(
                            "{name} {v} is past its end of life ({why}): no final image is chosen for it"
                        ),
                    })
                }
                Status::Unknown => {
                    return refuse(format!(
                        "{name} {v} is not in dfopt's runtime catalogue: its support cannot be checked"
                    ))
                }
            }
        } else {
            (String::new(), None)
        };
        for family in ladder {
            let found = self.data.images.iter().find(|i| {
                i.family == *family
                    && i.runtime == runtime
                    && match &i.versions {
                        None => true,
                        Some(vs) => vs.contains(&v),
                    }
            });
            if let Some(img) = found {
                // Only a family that publishes per-release tags (the official slim images) is
                // held to the build's release: it is where OS packages are installed again.
                // Distroless carries none, and alpine is another C library the user chose.
                let pattern = match distro {
                    None => &img.pattern,
                    Some(_) if img.distros.is_empty() => &img.pattern,
                    Some(d) if self.distro_ends.get(d).is_some_and(|e| today > *e) => {
                        if let Some(end) = self.distro_ends.get(d) {
                            ended_release = Some(format!(
                                "the build image's tag names {}, which reached its end of life on {end}: no {family} image is chosen on it, and dfopt does not move the app to another release",
                                distro_name(d)
                            ));
                        }
                        continue;
                    }
                    Some(d) if img.distros.iter().any(|x| x == d) => match &img.distro_pattern {
                        Some(p) => p,
                        None => continue,
                    },
                    Some(_) => continue,
                };
                let image = pattern
                    .replace("{v}", &v)
                    .replace("{distro}", distro.unwrap_or(""));
                if self.unpublished_reason(&image, today).is_some() {
                    continue;
                }
                return Ok(choice(img, image, v, until));
            }
        }
        if let Some(why) = ended_release {
            return refuse(why);
        }
        let name = self.runtime_name(runtime);
        let on = distro
            .map(|d| format!(" on {}, as the build image does", distro_name(d)))
            .unwrap_or_default();
        refuse(format!(
            "no {} image in the catalogue runs {name} {v}{on}",
            ladder.join(" or ")
        ))
    }

    /// The final image for a build stage's FROM: floating tags (`node`, `node:lts`, `python:3`)
    /// map to the slim variant of the same tag; an ARG-based tag (`node:${NODE_VERSION}`) keeps
    /// the ARG where the ladder has a pattern for it (its default, from `arg_default`, must not be
    /// past its end of life); any other tag goes through [`Catalogue::final_image`].
    pub fn final_image_for_build(
        &self,
        build_from: &str,
        arg_default: &dyn Fn(&str) -> Option<String>,
        preference: FinalImage,
        today: Date,
    ) -> Result<ImageChoice, Refusal> {
        let Some(image) = ImageRef::parse_with_variables(build_from) else {
            return Err(Refusal {
                reason: format!("`{build_from}` is not an image reference"),
            });
        };
        let Some(runtime) = self.runtime_of_name(&image) else {
            return Err(Refusal {
                reason: format!(
                    "`{}` is not a runtime image the catalogue knows",
                    image.repo
                ),
            });
        };
        let tag = image.tag.clone().unwrap_or_default();
        if let Some(arg) = leading_arg(&tag) {
            return self.final_for_arg(&runtime, arg, arg_default, preference, today);
        }
        if image.repo.contains('$') {
            return Err(Refusal {
                reason: format!("`{build_from}`: the image name itself is an ARG"),
            });
        }
        if let Some(f) = self.data.policy.floating.get(&runtime) {
            if let Some(picked) = self.floating(f, &runtime, &tag, today)? {
                return Ok(picked);
            }
        }
        match self.version_in_tag(&runtime, &image) {
            Some(v) => self.final_image(&runtime, &v, preference, today),
            None => Err(Refusal {
                reason: format!(
                    "`{build_from}` floats (no version in its tag) and the catalogue has no slim variant for that tag"
                ),
            }),
        }
    }

    /// The final image for a floating tag (no version in it): the slim variant of the same tag,
    /// or, for an alpine tag, the tag itself. `Ok(None)` when the tag is not a floating one the
    /// data describes; a refusal when its version prefix (`python:2-…`) is past its end of life.
    fn floating(
        &self,
        f: &FloatingData,
        runtime: &str,
        tag: &str,
        today: Date,
    ) -> Result<Option<ImageChoice>, Refusal> {
        let lower = tag.to_ascii_lowercase();
        let family_image = |family: &str| {
            self.data
                .images
                .iter()
                .find(|i| i.family == family && i.runtime == runtime)
        };
        let found = |family: &str, t: String| -> Result<Option<ImageChoice>, Refusal> {
            match family_image(family) {
                Some(img) => Ok(Some(choice(
                    img,
                    format!("{}:{t}", f.image),
                    String::new(),
                    None,
                ))),
                None => Err(Refusal {
                    reason: format!("no {family} image for {runtime} in the catalogue"),
                }),
            }
        };
        if tag.is_empty() || f.tags.contains(&lower) {
            let slim_tag = if tag.is_empty() || lower == "latest" {
                f.latest_slim.clone()
            } else if lower == "slim" || lower.ends_with("-slim") {
                tag.to_string()
            } else {
                f.slim.replace("{tag}", tag)
            };
            return found("slim", slim_tag);
        }
        // `<head>-<rest>`: head is a floating tag or a bare version prefix (`3`, `2`).
        let (head, rest) = match lower.split_once('-') {
            Some((h, r)) => (h.to_string(), r.to_string()),
            None => (String::new(), lower.clone()),
        };
        let head_floats = head.is_empty() || f.tags.contains(&head);
        let head_prefix = !head_floats
            && head.chars().all(|c| c.is_ascii_digit() || c == '.')
            && self.normalize(runtime, &head).is_none();
        if !head_floats && !head_prefix {
            return Ok(None);
        }
        if head_prefix {
            if let Status::Ended { since, why } = self.status(runtime, &head, today) {
                let name = self.runtime_name(runtime);
                return Err(Refusal {
                    reason: match since {
                        Some(d) => format!("{name} {head} reached its end of life on {d}: no final image is chosen for it"),
                        None => format!("{name} {head} is past its end of life ({why}): no final image is chosen for it"),
                    },
                });
            }
        }
        let alpine = rest == "alpine"
            || rest
                .strip_prefix("alpine")
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
        if alpine && f.alpine {
            return found("alpine", tag.to_string());
        }
        if f.distros.contains(&rest) {
            let template = if head.is_empty() {
                f.latest_slim_distro.as_ref()
            } else {
                f.slim_distro.as_ref()
            };
            if let Some(t) = template {
                let slim_tag = t
                    .replace("{tag}", &tag[..head.len()])
                    .replace("{distro}", &tag[tag.len() - rest.len()..]);
                return found("slim", slim_tag);
            }
        }
        Ok(None)
    }

    fn final_for_arg(
        &self,
        runtime: &str,
        arg: &str,
        arg_default: &dyn Fn(&str) -> Option<String>,
        preference: FinalImage,
        today: Date,
    ) -> Result<ImageChoice, Refusal> {
        let name = self.runtime_name(runtime).to_string();
        let var = arg_name(arg);
        let mut version = String::new();
        let mut until = None;
        if let Some(default) = arg_default(var) {
            if !default.chars().all(|c| c.is_ascii_digit() || c == '.') || default.is_empty() {
                return Err(Refusal {
                    reason: format!(
                        "ARG {var} defaults to `{default}`, not a bare version: a pattern built on it could name a tag that does not exist"
                    ),
                });
            }
            // A default less precise than the policy part (`3` for Python) still names a tag
            // that exists; only a default past its end of life is refused.
            let v = self.normalize(runtime, &default).unwrap_or(default.clone());
            match self.status(runtime, &v, today) {
                Status::Ended { since, why } => {
                    let detail = match since {
                        Some(d) => format!(" on {d}"),
                        None => format!(" ({why})"),
                    };
                    return Err(Refusal {
                        reason: format!(
                            "ARG {var} defaults to {name} {default}, which reached its end of life{detail}"
                        ),
                    });
                }
                Status::Supported { until: u } => until = u,
                Status::Unknown => {}
            }
            version = v;
        }
        let patterns = self.data.policy.arg_patterns.get(runtime);
        for family in self.ladder(preference) {
            if let Some(p) = patterns.and_then(|p| p.get(family)) {
                let img = self
                    .data
                    .images
                    .iter()
                    .find(|i| i.family == *family && i.runtime == runtime);
                if let Some(img) = img {
                    return Ok(choice(img, p.replace("{arg}", arg), version, until));
                }
            }
        }
        Err(Refusal {
            reason: format!("no ARG pattern for {name} in the catalogue"),
        })
    }

    fn ladder(&self, preference: FinalImage) -> &[String] {
        let key = match preference {
            FinalImage::Distroless => "distroless",
            FinalImage::Alpine => "alpine",
            FinalImage::Slim => "slim",
        };
        self.data
            .policy
            .ladder
            .get(key)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Why an image (`repo[:tag]`) is no longer published on `today`, if it is not.
    fn unpublished_reason(&self, image: &str, today: Date) -> Option<&str> {
        let repo = ImageRef::parse_with_variables(image)
            .map(|r| r.repo.to_ascii_lowercase())
            .unwrap_or_else(|| image.to_ascii_lowercase());
        self.data
            .unpublished
            .iter()
            .zip(&self.unpublished_since)
            .find(|(u, since)| {
                let matches = match &u.suffix {
                    Some(s) => repo.starts_with(&u.prefix) && repo.ends_with(s.as_str()),
                    None => repo == u.prefix,
                };
                matches && since.map_or(true, |d| today >= d)
            })
            .map(|(u, _)| u.reason.as_str())
    }

    /// The runtime an image name stands for (`node`, `library/python`, distroless `nodejs20-…`).
    fn runtime_of_name(&self, image: &ImageRef) -> Option<String> {
        let repo = image.repo.to_ascii_lowercase();
        if let Some(n) = self
            .data
            .names
            .iter()
            .find(|n| n.name == image.name && (!n.official || image.is_official()))
        {
            return Some(n.runtime.clone());
        }
        self.name_patterns
            .iter()
            .find(|(re, _)| re.get().is_some_and(|re| re.is_match(&repo)))
            .map(|(_, rt)| rt.clone())
    }

    /// The runtime version an image's tag (or, for distroless, its name) says, as precise as it
    /// says it; `None` for floating tags.
    fn version_in_tag(&self, runtime: &str, image: &ImageRef) -> Option<String> {
        let repo = image.repo.to_ascii_lowercase();
        for (re, rt) in &self.name_patterns {
            if rt == runtime {
                if let Some(c) = re.get().and_then(|re| re.captures(&repo)?.get(1)) {
                    return Some(c.as_str().to_string());
                }
            }
        }
        let tag = image.tag.as_deref()?.to_ascii_lowercase();
        let r = self.data.runtimes.get(runtime)?;
        for (codename, v) in &r.codenames {
            if tag == *codename || tag.starts_with(&format!("{codename}-")) {
                return Some(v.clone());
            }
        }
        if runtime == "java" {
            return java_version(&tag);
        }
        let v: String = tag
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let v = v.trim_end_matches('.');
        if v.is_empty() {
            return None;
        }
        Some(self.normalize(runtime, v).unwrap_or_else(|| v.to_string()))
    }

    /// The runtime and version an image reference runs, when the catalogue can tell.
    pub fn runtime_version(&self, image_ref: &str) -> Option<RuntimeVersion> {
        let image = ImageRef::parse_with_variables(image_ref)?;
        let runtime = self.runtime_of_name(&image)?;
        let version = self.version_in_tag(&runtime, &image)?;
        Some(RuntimeVersion { runtime, version })
    }

    /// Why a FROM on `image_ref` should change: the image is no longer published, or the
    /// runtime it runs is past its end of life on `today`. `None` when neither is known.
    pub fn end_of_life(&self, image_ref: &str, today: Date) -> Option<EolNote> {
        let unpublished = self
            .unpublished_reason(image_ref, today)
            .map(str::to_string);
        let rv = self.runtime_version(image_ref);
        let ended = rv
            .as_ref()
            .and_then(|rv| match self.status(&rv.runtime, &rv.version, today) {
                Status::Ended { since, why } => Some((since, why)),
                _ => None,
            });
        if unpublished.is_none() && ended.is_none() {
            return None;
        }
        let mut parts = Vec::new();
        if let Some(u) = &unpublished {
            parts.push(format!("`{image_ref}` is no longer published: {u}"));
        }
        if let (Some(rv), Some((since, why))) = (&rv, &ended) {
            let name = self.runtime_name(&rv.runtime);
            let runs = if unpublished.is_some() {
                "it runs".to_string()
            } else {
                format!("`{image_ref}` runs")
            };
            parts.push(match since {
                Some(d) => format!("{runs} {name} {}, past its end of life ({d})", rv.version),
                None => format!("{runs} {name} {}, past its end of life: {why}", rv.version),
            });
        }
        Some(EolNote {
            runtime: rv.map(|rv| (rv.runtime, rv.version)),
            ended_on: ended.and_then(|(since, _)| since),
            unpublished,
            message: parts.join("; "),
        })
    }
}

fn support_on(s: &Support, today: Date) -> Status {
    match s {
        Support::Until(Some(end)) if today > *end => Status::Ended {
            since: Some(*end),
            why: String::new(),
        },
        Support::Until(until) => Status::Supported { until: *until },
        Support::Ended(why) => Status::Ended {
            since: None,
            why: why.clone(),
        },
    }
}

fn choice(img: &ImageData, image: String, version: String, until: Option<Date>) -> ImageChoice {
    ImageChoice {
        image,
        family: img.family.clone(),
        runtime: img.runtime.clone(),
        version,
        libc: img.libc.clone(),
        shell: img.shell.clone(),
        user: img.user.clone(),
        entrypoint: img.entrypoint.clone(),
        supported_until: until,
        source: img.source.clone(),
    }
}

/// The ARG reference a tag starts with: `${NODE_VERSION}` of `${NODE_VERSION}-alpine`, `$V` of
/// `$V`.
fn leading_arg(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix('$')?;
    if rest.starts_with('{') {
        let close = rest.find('}')?;
        return Some(&tag[..close + 2]);
    }
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (len > 0).then(|| &tag[..len + 1])
}

/// `NODE_VERSION` of `${NODE_VERSION}`, `${NODE_VERSION:-20}`, `$NODE_VERSION`.
fn arg_name(arg: &str) -> &str {
    let inner = arg
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_else(|| arg.trim_start_matches('$'));
    inner.split([':', '-', '+']).next().unwrap_or(inner)
}

/// Java's feature version in a tag: `17` of `17-jre`, `8` of `8u392-b08-jre` or `1.8`, `21` of
/// `3.9-eclipse-temurin-21` or `8-jdk21`.
fn java_version(tag: &str) -> Option<String> {
    let leading = |s: &str| -> Option<u32> {
        let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        d.parse().ok()
    };
    for marker in [
        "temurin-",
        "openjdk-",
        "corretto-",
        "jdk-",
        "jre-",
        "jdk",
        "jre",
    ] {
        if let Some(i) = tag.find(marker) {
            if let Some(n) = leading(&tag[i + marker.len()..]) {
                return Some(n.to_string());
            }
        }
    }
    let n = leading(tag)?;
    if n == 1 {
        return tag
            .strip_prefix("1.")
            .and_then(leading)
            .map(|n| n.to_string());
    }
    Some(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    fn cat() -> std::sync::Arc<Catalogue> {
        Catalogue::builtin().expect("the built-in catalogue loads")
    }

    const TODAY: &str = "2026-11-29";

    #[test]
    fn dates_parse_months_as_their_last_day_and_the_clock_converts() {
        assert_eq!(day("2026-10").to_string(), "2026-10-31");
        assert_eq!(day("2024-02").to_string(), "2024-02-29");
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("2026-02-30").is_none());
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(
            Date::from_days_since_epoch(20_786).to_string(),
            "2026-11-29"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = RUNTIMES.replacen("[runtimes.node]", "[runtimes.node]\nbogus = 1", 1);
        assert!(Catalogue::from_toml(&text).is_err());
    }

    /// Every image the policy emits, for every runtime version and preference, runs a version
    /// that is supported on the day asked and is not an unpublished image.
    #[test]
    fn every_emitted_image_is_supported_on_the_given_day() {
        let c = cat();
        for today in ["2024-01-15", "2025-06-01", TODAY, "2028-01-01"] {
            let today = day(today);
            for (rt, r) in &c.data.runtimes {
                for v in r.versions.keys() {
                    for pref in [FinalImage::Distroless, FinalImage::Slim, FinalImage::Alpine] {
                        if let Ok(choice) = c.final_image(rt, v, pref, today) {
                            assert!(
                                matches!(c.status(rt, v, today), Status::Supported { .. }),
                                "{rt} {v} on {today}: {choice:?}"
                            );
                            assert!(c.end_of_life(&choice.image, today).is_none(), "{choice:?}");
                            assert_eq!(choice.version, *v);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn same_version_policy_for_node() {
        let c = cat();
        let t = day(TODAY);
        let pick = |v: &str, p| c.final_image("node", v, p, t).map(|c| c.image);
        for ended in ["12", "14", "16", "18", "20", "21"] {
            let r = pick(ended, FinalImage::Distroless).expect_err(ended);
            assert!(r.reason.contains("end of life"), "{r}");
        }
        assert_eq!(
            pick("22", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/nodejs22-debian13")
        );
        assert_eq!(
            pick("24.1.0", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/nodejs24-debian13")
        );
        assert_eq!(pick("22", FinalImage::Slim).as_deref(), Ok("node:22-slim"));
        assert_eq!(
            pick("24", FinalImage::Alpine).as_deref(),
            Ok("node:24-alpine")
        );
        // Node 20 was still supported in 2025: distroless dropped it from Debian 13, so slim.
        assert_eq!(
            c.final_image("node", "20", FinalImage::Distroless, day("2025-06-01"))
                .map(|c| c.image)
                .as_deref(),
            Ok("node:20-slim")
        );
    }

    #[test]
    fn same_version_policy_for_python() {
        let c = cat();
        let t = day(TODAY);
        let pick = |v: &str, p| c.final_image("python", v, p, t).map(|c| c.image);
        for ended in ["3.8", "3.9", "3.10"] {
            assert!(pick(ended, FinalImage::Distroless).is_err(), "{ended}");
        }
        assert_eq!(
            pick("3.11", FinalImage::Distroless).as_deref(),
            Ok("python:3.11-slim")
        );
        assert_eq!(
            pick("3.12.4", FinalImage::Distroless).as_deref(),
            Ok("python:3.12-slim")
        );
        assert_eq!(
            pick("3.13", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/python3-debian13")
        );
        assert_eq!(
            pick("3.13", FinalImage::Alpine).as_deref(),
            Ok("python:3.13-alpine")
        );
        // `3` is not a minor: the policy cannot match it.
        assert!(pick("3", FinalImage::Slim).is_err());
        // On 2026-01-01 3.10 was still supported.
        assert_eq!(
            c.final_image("python", "3.10", FinalImage::Distroless, day("2026-01-01"))
                .map(|c| c.image)
                .as_deref(),
            Ok("python:3.10-slim")
        );
    }

    #[test]
    fn same_version_policy_for_java() {
        let c = cat();
        let t = day(TODAY);
        let pick = |v: &str, p| c.final_image("java", v, p, t).map(|c| c.image);
        assert_eq!(
            pick("8", FinalImage::Distroless).as_deref(),
            Ok("eclipse-temurin:8-jre")
        );
        assert_eq!(
            pick("1.8", FinalImage::Slim).as_deref(),
            Ok("eclipse-temurin:8-jre")
        );
        assert_eq!(
            pick("11", FinalImage::Distroless).as_deref(),
            Ok("eclipse-temurin:11-jre")
        );
        assert_eq!(
            pick("17", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/java17-debian13")
        );
        assert_eq!(
            pick("21", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/java21-debian13")
        );
        assert_eq!(
            pick("21", FinalImage::Alpine).as_deref(),
            Ok("eclipse-temurin:21-jre-alpine")
        );
        let r = pick("19", FinalImage::Distroless).expect_err("non-LTS 19");
        assert!(r.reason.contains("superseded"), "{r}");
        assert!(pick("7", FinalImage::Slim).is_err());
    }

    #[test]
    fn version_less_runtimes_take_the_family_image() {
        let c = cat();
        let t = day(TODAY);
        let pick = |rt: &str, p| c.final_image(rt, "", p, t).map(|c| c.image);
        assert_eq!(
            pick("static", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/static-debian13")
        );
        assert_eq!(
            pick("cc", FinalImage::Slim).as_deref(),
            Ok("debian:13-slim")
        );
        assert_eq!(
            pick("static", FinalImage::Alpine).as_deref(),
            Ok("alpine:3")
        );
    }

    #[test]
    fn a_debian_release_in_the_tag_holds_the_slim_family_to_it() {
        let c = cat();
        let t = day(TODAY);
        let on = |rt: &str, v: &str, tag: &str, p: FinalImage| {
            let distro = c.distro_in_tag(tag);
            c.final_image_on(rt, v, distro.as_deref(), p, t)
                .map(|c| c.image)
        };
        assert_eq!(
            c.distro_in_tag("3.12-slim-bookworm").as_deref(),
            Some("bookworm")
        );
        assert_eq!(c.distro_in_tag("22-Trixie").as_deref(), Some("trixie"));
        assert_eq!(c.distro_in_tag("3.12-alpine3.20"), None);
        assert_eq!(
            on("python", "3.12", "3.12-slim-bookworm", FinalImage::Slim).as_deref(),
            Ok("python:3.12-slim-bookworm")
        );
        assert_eq!(
            on("node", "22", "22-bookworm", FinalImage::Slim).as_deref(),
            Ok("node:22-bookworm-slim")
        );
        // Distroless and alpine carry none of the build's OS packages: not held to the release.
        assert_eq!(
            on("node", "22", "22-bookworm", FinalImage::Distroless).as_deref(),
            Ok("gcr.io/distroless/nodejs22-debian13")
        );
        assert_eq!(
            on("python", "3.12", "3.12-bookworm", FinalImage::Alpine).as_deref(),
            Ok("python:3.12-alpine")
        );
        // A release past its end of life is refused, never swapped for a newer one.
        let ended = on("python", "3.11", "3.11-bullseye", FinalImage::Slim).unwrap_err();
        assert!(ended.reason.contains("Debian 11 (bullseye)"), "{ended}");
        assert!(ended.reason.contains("2026-08-31"), "{ended}");
        // The runtime's own end of life comes first.
        let node16 = on("node", "16", "16-bullseye", FinalImage::Slim).unwrap_err();
        assert!(node16.reason.contains("Node.js 16"), "{node16}");
        // Unknown data is rejected: an image naming a release the catalogue does not list.
        let bad = RUNTIMES.replace(
            "distros = [\"bookworm\", \"trixie\"]",
            "distros = [\"bookworm\", \"sid\"]",
        );
        assert!(Catalogue::from_toml(&bad).is_err());
    }

    #[test]
    fn floating_tags_map_to_the_slim_variant_of_the_same_tag() {
        let c = cat();
        let t = day(TODAY);
        let none = |_: &str| None;
        let pick = |from: &str| {
            c.final_image_for_build(from, &none, FinalImage::Distroless, t)
                .map(|c| c.image)
        };
        assert_eq!(pick("node").as_deref(), Ok("node:slim"));
        assert_eq!(pick("node:latest").as_deref(), Ok("node:slim"));
        assert_eq!(pick("node:lts").as_deref(), Ok("node:lts-slim"));
        assert_eq!(pick("node:lts-slim").as_deref(), Ok("node:lts-slim"));
        assert_eq!(pick("python:3").as_deref(), Ok("python:3-slim"));
        assert_eq!(
            pick("docker.io/library/python").as_deref(),
            Ok("python:slim")
        );
        // A versioned tag goes through the same-version policy.
        assert_eq!(
            pick("node:22-bookworm").as_deref(),
            Ok("gcr.io/distroless/nodejs22-debian13")
        );
        assert_eq!(
            pick("python:3.12-bookworm").as_deref(),
            Ok("python:3.12-slim")
        );
        assert_eq!(pick("maven:3.9-eclipse-temurin-21").ok(), None); // maven is not a runtime name
        assert!(pick("node:14-alpine").is_err());
        assert!(pick("eclipse-temurin").is_err());
    }

    #[test]
    fn arg_based_froms_keep_the_arg_in_the_final_from() {
        let c = cat();
        let t = day(TODAY);
        let defaults = |name: &str| match name {
            "NODE_VERSION" => Some("22".to_string()),
            "OLD_NODE" => Some("14".to_string()),
            "PY" => Some("3.12".to_string()),
            "TAG" => Some("22-alpine".to_string()),
            _ => None,
        };
        let pick = |from: &str, p| {
            c.final_image_for_build(from, &defaults, p, t)
                .map(|c| c.image)
        };
        assert_eq!(
            pick("node:${NODE_VERSION}", FinalImage::Distroless).as_deref(),
            Ok("node:${NODE_VERSION}-slim")
        );
        assert_eq!(
            pick("node:${NODE_VERSION}-bookworm", FinalImage::Alpine).as_deref(),
            Ok("node:${NODE_VERSION}-alpine")
        );
        assert_eq!(
            pick("python:$PY", FinalImage::Slim).as_deref(),
            Ok("python:$PY-slim")
        );
        // No default: the value comes from --build-arg, as for the build image.
        assert_eq!(
            pick("eclipse-temurin:${JAVA}-jdk", FinalImage::Distroless).as_deref(),
            Ok("eclipse-temurin:${JAVA}-jre")
        );
        let r = pick("node:${OLD_NODE}", FinalImage::Distroless).expect_err("node 14");
        assert!(r.reason.contains("end of life"), "{r}");
        assert!(pick("node:${TAG}", FinalImage::Distroless).is_err());
    }

    #[test]
    fn end_of_life_reads_versions_from_tags_and_names() {
        let c = cat();
        let t = day(TODAY);
        let eol = |s: &str| c.end_of_life(s, t);
        let n = eol("node:14-alpine").expect("node 14");
        assert_eq!(n.runtime, Some(("node".into(), "14".into())));
        assert_eq!(n.ended_on, Some(day("2023-04-30")));
        assert!(eol("node:fermium-alpine").is_some());
        assert!(eol("node:24-alpine").is_none());
        assert!(eol("node:lts").is_none());
        assert!(eol("python:3.8-slim-buster").is_some());
        assert!(eol("python:2").is_some());
        assert!(eol("python:3").is_none());
        assert!(eol("python:3.12").is_none());
        let j = eol("openjdk:8-jre").expect("openjdk");
        assert!(j.unpublished.is_some() && j.ended_on.is_none(), "{j:?}");
        assert!(eol("eclipse-temurin:8-jre").is_none());
        assert!(eol("eclipse-temurin:16").is_some());
        assert!(eol("golang:1.15").is_some());
        assert!(eol("golang:1.26-alpine").is_none());
        assert!(eol("golang:1.9").is_some());
        assert!(eol("golang:1").is_none());
        let d = eol("gcr.io/distroless/nodejs18-debian12").expect("distroless 18");
        assert!(d.unpublished.is_some() && d.ended_on.is_some(), "{d:?}");
        assert!(eol("gcr.io/distroless/nodejs22-debian12").is_some());
        assert!(eol("gcr.io/distroless/static-debian11").is_some());
        // Debian 12 base images: supported until a year after Debian 13's release.
        assert!(c
            .end_of_life("gcr.io/distroless/static-debian12", day("2026-08-08"))
            .is_none());
        assert!(eol("gcr.io/distroless/static-debian12").is_some());
        assert!(c
            .end_of_life("gcr.io/distroless/nodejs22-debian12", day("2025-06-01"))
            .is_none());
        assert!(eol("gcr.io/distroless/nodejs22-debian13").is_none());
        // Not the official image: its tags mean something else.
        assert!(eol("bitnami/node:14").is_none());
        assert!(eol("docker.io/library/node:14").is_some());
        // Only past the date: node 20 was fine in 2025.
        assert!(c.end_of_life("node:20", day("2026-04-30")).is_none());
        assert!(c.end_of_life("node:20", day("2026-05-01")).is_some());
    }
}
