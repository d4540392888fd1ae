//! Package-manager facts (programs, install and update subcommands, cache and list paths), read
//! from `transforms/package-managers.toml`, the one place they are written down.
//!
//! Read through here so far: apk-no-cache (`programs`, `subcommands`, `cache_mounts` from `apk`),
//! apt-no-install-recommends (`programs`, `subcommands` from `apt`) and later-delete (every
//! manager's `programs`, `update`, `fills`, `cache_paths`, `list_paths`: what a RUN leaves). The
//! other rules' lists (assume-yes's managers, package-cache-cleanup's tables, chain-runs' cleanup
//! barriers, runtime's package notes) still keep their own copies.

use std::sync::OnceLock;

/// The data file, compiled in.
pub const DATA: &str = include_str!("../../transforms/package-managers.toml");

/// One package manager's facts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manager {
    pub name: String,
    pub programs: Vec<String>,
    pub install: Vec<String>,
    pub update: Vec<String>,
    pub fills: Vec<String>,
    pub cache_paths: Vec<String>,
    pub list_paths: Vec<String>,
}

/// Every manager of the data file, read once.
pub fn managers() -> Result<&'static [Manager], String> {
    static READ: OnceLock<Result<Vec<Manager>, String>> = OnceLock::new();
    READ.get_or_init(|| read(DATA))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// The manager called `name`.
pub fn manager(name: &str) -> Result<&'static Manager, String> {
    managers()?
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("transforms/package-managers.toml: no manager `{name}`"))
}

/// The manager a program runs (`/usr/bin/apt-get` is apt's), if it is one.
pub fn by_program(program: &str) -> Option<&'static Manager> {
    let name = super::script::basename(program);
    managers()
        .ok()?
        .iter()
        .find(|m| m.programs.iter().any(|p| p == name))
}

/// The file's shape: read straight into [`Manager`]s (no intermediate TOML tree: this file is
/// read at every start).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    managers: Vec<Manager>,
}

/// Reads `text` as the data file is read (`passes::DATA_FILES`: every data file's reader).
pub(crate) fn read_text(text: &str) -> Result<(), String> {
    read(text).map(drop)
}

fn read(text: &str) -> Result<Vec<Manager>, String> {
    toml::from_str::<File>(text)
        .map(|f| f.managers)
        .map_err(|e| format!("transforms/package-managers.toml: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_reads_and_names_each_program_once() {
        let all = managers().unwrap_or_else(|e| panic!("{e}"));
        let mut programs: Vec<&str> = all
            .iter()
            .flat_map(|m| m.programs.iter().map(String::as_str))
            .collect();
        let n = programs.len();
        programs.sort_unstable();
        programs.dedup();
        assert_eq!(programs.len(), n, "a program belongs to one manager");
        for m in all {
            assert!(
                !m.programs.is_empty() && !m.install.is_empty(),
                "{}",
                m.name
            );
            for p in m.cache_paths.iter().chain(&m.list_paths) {
                assert!(p.starts_with('/'), "{}: {p}", m.name);
            }
        }
    }

    #[test]
    fn programs_find_their_manager() {
        let apt = by_program("/usr/bin/apt-get").map(|m| m.name.as_str());
        assert_eq!(apt, Some("apt"));
        assert_eq!(
            by_program("zypper").map(|m| m.install.clone()),
            Some(vec!["install".to_string(), "in".to_string()])
        );
        assert!(by_program("make").is_none());
        assert!(manager("nope").is_err());
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        assert!(read("managers = 1").is_err());
        assert!(read("[[managers]]\nname = \"x\"").is_err());
        assert!(read("not toml [").is_err());
    }
}
