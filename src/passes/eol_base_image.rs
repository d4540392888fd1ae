//! ## eol-base-image
//!
//! **What it does**: reports each `FROM` whose image runs a language runtime past its end of life
//! (Node.js, Python, Java, Go), or whose image is no longer published (the `openjdk`,
//! `adoptopenjdk` and `java` images, distroless Debian 11 and Debian 12 images). It reads the
//! version from the tag (`node:14-alpine`, `node:fermium`, `python:3.8-slim-buster`,
//! `openjdk:8-jre`, `eclipse-temurin:19`, `golang:1.15`) or from a distroless name
//! (`gcr.io/distroless/nodejs18-debian12`), after putting in the defaults of global `ARG`s
//! (`FROM node:${NODE_VERSION}`). A `FROM` that names an earlier stage is not an image and is
//! skipped; floating tags (`node:lts`, `python:3`, `latest`) are never reported.
//!
//! **Why is this bad**: a runtime past its end of life gets no security fixes, and an image that is
//! no longer published gets no fixes of its operating system either: every rebuild ships the same
//! known vulnerabilities.
//!
//! **Example**
//! ```dockerfile
//! ARG NODE_VERSION=14
//! FROM node:${NODE_VERSION}-alpine
//! ```
//! is reported: `node:14-alpine` runs Node.js 14, past its end of life (2023-04-30).
//!
//! **Fix safety**: no fix: moving to a supported release is a change of the program's platform
//! that only its authors can test. The support windows and their sources are in
//! `transforms/runtimes.toml`. Off by default (enable with `--select eol-base-image`): its findings
//! depend on the calendar, so an unchanged file would start failing `dfopt check` on the day a
//! runtime reaches its end of life. Set `today` under `[transforms.eol-base-image]` in `dfopt.toml`
//! (`"YYYY-MM-DD"`) to judge against a fixed day.

use crate::edit::Level;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::Finding;
use crate::model::catalogue::{Catalogue, Date};
use crate::syntax::Keyword;
use std::collections::HashMap;

const DATA: &str = include_str!("../../transforms/eol-base-image.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "eol-base-image",
    summary: "a FROM runs a runtime past its end of life, or an image no longer published",
    fix: FixAvailability::None,
    hadolint: &[],
    default_enabled: false,
    level: Level::Error,
    levels: "error (no more security fixes, or an image that no longer pulls)",
};
const ID: &str = META.id;

/// `transforms/eol-base-image.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    /// The day support windows are judged on; empty: today.
    today: String,
}

pub struct EolBaseImage {
    catalogue: std::sync::Arc<Catalogue>,
    today: Date,
}

impl EolBaseImage {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let data: Data = super::load(DATA, ID, settings)?;
        let today = match data.today.trim() {
            "" => Date::today(),
            s => Date::parse(s).ok_or_else(|| {
                format!("[transforms.{ID}]: `today`: `{s}` is not YYYY-MM-DD")
            })?,
        };
        Ok(EolBaseImage {
            catalogue: Catalogue::builtin()?,
            today,
        })
    }
}

impl Rule for EolBaseImage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let args = global_args(ctx);
        for stage in &ctx.analysis.stages {
            if stage.parent.is_some() {
                continue;
            }
            let Some(image) = expand(&stage.base, &args) else {
                continue;
            };
            let Some(ins) = ctx.doc.instructions.get(stage.from) else {
                continue;
            };
            if let Some(note) = self.catalogue.end_of_life(&image, self.today) {
                let mut message = note.message;
                if image != stage.base {
                    message.push_str(&format!(" (`{}` with the ARG defaults)", stage.base));
                }
                out.push(Finding::new(ID, ins.span, message));
            }
        }
    }
}

/// The defaults of the ARGs declared before the first FROM: the only ones a FROM can use.
fn global_args(ctx: &Context<'_>) -> HashMap<String, String> {
    let mut args = HashMap::new();
    for ins in ctx.doc.instructions.iter().take(ctx.analysis.preamble_end) {
        if ins.kind() != Keyword::Arg {
            continue;
        }
        for word in crate::syntax::lex::parse_words(&ins.command.args, ctx.doc.escape) {
            if let Some((k, v)) = word.split_once('=') {
                args.insert(k.to_string(), v.to_string());
            }
        }
    }
    args
}

/// `$NAME`, `${NAME}` and `${NAME:-default}` put in; `None` when a variable has no value (the
/// image is then decided at build time).
fn expand(text: &str, args: &HashMap<String, String>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, default, len) = if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            let body = &inner[..close];
            match body.split_once(":-").or_else(|| body.split_once('-')) {
                Some((n, d)) => (n, Some(d), close + 2),
                None => (body, None, close + 2),
            }
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], None, n)
        };
        if name.is_empty() {
            return None;
        }
        let value = args
            .get(name)
            .filter(|v| !v.is_empty())
            .map(String::as_str)
            .or(default)?;
        out.push_str(value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::passes::Memo;
    use crate::syntax::Dockerfile;

    fn findings(src: &str) -> Vec<String> {
        let mut settings = Settings::default();
        let mut table = toml::Table::new();
        table.insert("today".into(), toml::Value::String("2026-11-29".into()));
        settings.transforms.insert(ID.into(), table);
        let rule = EolBaseImage::new(&settings).expect("rule");
        let doc = Dockerfile::parse(src).expect("parse");
        let analysis = Analysis::new(&doc);
        let memo = Memo::default();
        let ctx = Context::new(&doc, &analysis, &settings, None, &memo);
        let mut out = Vec::new();
        rule.check(&ctx, &mut out);
        out.into_iter()
            .map(|f| format!("{}: {}", doc.text(f.span), f.message))
            .collect()
    }

    #[test]
    fn reports_runtimes_past_their_end_of_life() {
        let f = findings("FROM node:14-alpine AS build\nRUN npm ci\nFROM node:24-alpine\n");
        assert_eq!(
            f,
            ["FROM node:14-alpine AS build: `node:14-alpine` runs Node.js 14, past its end of life (2023-04-30)"]
        );
        assert_eq!(findings("FROM python:3.8-slim-buster\n").len(), 1);
        assert_eq!(findings("FROM golang:1.15\n").len(), 1);
        assert!(findings("FROM python:3.12-slim\nFROM golang:1.26\n").is_empty());
    }

    #[test]
    fn reports_images_no_longer_published() {
        let f = findings("FROM openjdk:8-jre\n");
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("no longer published"), "{f:?}");
        let f = findings("FROM gcr.io/distroless/nodejs18-debian12\n");
        assert!(
            f[0].contains("no longer published") && f[0].contains("Node.js 18"),
            "{f:?}"
        );
    }

    #[test]
    fn resolves_arg_defaults_and_skips_stage_names_and_floating_tags() {
        let f = findings(
            "ARG NODE_VERSION=14\nARG PY\nFROM node:${NODE_VERSION}-alpine AS deps\nFROM deps AS build\nFROM python:${PY}\nFROM node:lts\nFROM python:3\n",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].contains("Node.js 14") && f[0].contains("ARG defaults"),
            "{f:?}"
        );
        assert_eq!(findings("FROM node:${V:-12}\n").len(), 1);
    }

    #[test]
    fn today_is_a_setting() {
        let mut settings = Settings::default();
        let mut table = toml::Table::new();
        table.insert("today".into(), toml::Value::String("not a date".into()));
        settings.transforms.insert(ID.into(), table);
        assert!(EolBaseImage::new(&settings).is_err());
    }
}
