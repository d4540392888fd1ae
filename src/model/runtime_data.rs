//! What dfopt knows about build images and what their apps need at run time: which images stand for
//! which runtime, build-only packages and ENV keys, native modules, the tools a HEALTHCHECK may
//! use. The data is `transforms/multi-stage.toml`, overridable under `[transforms.multi-stage]`;
//! the multi-stage and final-stage-base rules read the same table.

use super::images::{ImageRef, Runtime};
use crate::config::Settings;
use std::collections::BTreeMap;

const DATA: &str = include_str!("../../transforms/multi-stage.toml");
/// The table's name under `[transforms]` in dfopt.toml, and in its error messages.
const ID: &str = "multi-stage";

/// `transforms/multi-stage.toml`, as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    node_images: Vec<String>,
    go_images: Vec<String>,
    rust_images: Vec<String>,
    java_images: Vec<String>,
    python_images: Vec<String>,
    build_only_packages: Vec<String>,
    build_only_suffixes: Vec<String>,
    /// Packages distroless images already hold (documentation in the data file; no rule reads it
    /// yet).
    #[serde(rename = "distroless_provides")]
    _distroless_provides: Vec<String>,
    build_env: Vec<String>,
    asset_dirs: Vec<String>,
    native_node_modules: Vec<String>,
    native_python_packages: Vec<String>,
    python_modules: BTreeMap<String, String>,
    shell_tools: Vec<String>,
}

/// The tunable data of the multi-stage passes.
pub struct RuntimeData {
    pub images: Vec<(Runtime, Vec<String>)>,
    pub build_only: Vec<String>,
    pub build_only_suffixes: Vec<String>,
    pub build_env: Vec<String>,
    pub asset_dirs: Vec<String>,
    pub native_node: Vec<String>,
    pub native_python: Vec<String>,
    pub python_modules: Vec<(String, String)>,
    pub shell_tools: Vec<String>,
}

impl RuntimeData {
    pub fn load(settings: &Settings) -> Result<RuntimeData, String> {
        let d: Data = crate::rule_data::load(DATA, ID, settings)?;
        Ok(RuntimeData {
            images: vec![
                (Runtime::Node, d.node_images),
                (Runtime::Go, d.go_images),
                (Runtime::Rust, d.rust_images),
                (Runtime::Java, d.java_images),
                (Runtime::Python, d.python_images),
            ],
            build_only: d.build_only_packages,
            build_only_suffixes: d.build_only_suffixes,
            build_env: d.build_env,
            asset_dirs: d.asset_dirs,
            native_node: d.native_node_modules,
            native_python: d.native_python_packages,
            python_modules: d.python_modules.into_iter().collect(),
            shell_tools: d.shell_tools,
        })
    }

    pub fn runtime_of(&self, img: &ImageRef) -> Option<Runtime> {
        self.images
            .iter()
            .find(|(_, names)| names.contains(&img.name))
            .map(|(rt, _)| *rt)
    }

    /// A package only the build needs (a compiler, a fetcher, headers).
    pub fn build_only_pkg(&self, p: &str) -> bool {
        self.build_only.iter().any(|b| b == p)
            || self
                .build_only_suffixes
                .iter()
                .any(|s| p.ends_with(s.as_str()))
    }
}
