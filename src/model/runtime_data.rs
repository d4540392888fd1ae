//! What dfopt knows about build images and what their apps need at run time: which images stand for
//! which runtime, build-only packages and ENV keys, native modules, the tools a HEALTHCHECK may
//! use. The data is `transforms/multi-stage.toml`, overridable under `[transforms.multi-stage]`;
//! the multi-stage and final-stage-base rules read the same table.

use super::images::{ImageRef, Runtime};
use crate::config::Settings;
use crate::rule_data::{rule_data, str_list};

const DATA: &str = include_str!("../../transforms/multi-stage.toml");
/// The table's name under `[transforms]` in dfopt.toml, and in its error messages.
const ID: &str = "multi-stage";

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
        let d = rule_data(DATA, ID, settings)?;
        let python_modules = match d.get("python_modules") {
            Some(toml::Value::Table(t)) => t
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            _ => return Err("`python_modules` must be a table of strings".into()),
        };
        Ok(RuntimeData {
            images: vec![
                (Runtime::Node, str_list(&d, "node_images")?),
                (Runtime::Go, str_list(&d, "go_images")?),
                (Runtime::Rust, str_list(&d, "rust_images")?),
                (Runtime::Java, str_list(&d, "java_images")?),
                (Runtime::Python, str_list(&d, "python_images")?),
            ],
            build_only: str_list(&d, "build_only_packages")?,
            build_only_suffixes: str_list(&d, "build_only_suffixes")?,
            build_env: str_list(&d, "build_env")?,
            asset_dirs: str_list(&d, "asset_dirs")?,
            native_node: str_list(&d, "native_node_modules")?,
            native_python: str_list(&d, "native_python_packages")?,
            python_modules,
            shell_tools: str_list(&d, "shell_tools")?,
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
