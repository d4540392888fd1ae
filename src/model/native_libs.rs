//! Which run-time library packages a dynamically linked program needs, from the `-dev` packages
//! its build installed (`transforms/native-libraries.toml`, with its sources).

use super::images::Native;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../../transforms/native-libraries.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    dev: BTreeMap<String, DevPackage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevPackage {
    /// Debian packages holding the library at run time.
    runtime: Vec<String>,
    /// Distroless images (`base`, `cc`) that already ship the library.
    #[serde(default)]
    in_images: Vec<String>,
}

fn table() -> Result<&'static Table, String> {
    static TABLE: OnceLock<Result<Table, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| read(DATA))
        .as_ref()
        .map_err(Clone::clone)
}

fn read(text: &str) -> Result<Table, String> {
    toml::from_str(text).map_err(|e| format!("transforms/native-libraries.toml: {e}"))
}

/// Reads `text` as the data file is read (`passes::DATA_FILES`: every data file's reader).
pub(crate) fn read_text(text: &str) -> Result<(), String> {
    read(text).map(drop)
}

/// What a program linked the `native` way needs at run time for the development packages among
/// `installed`.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct LibraryNeeds {
    /// Packages a runtime stage has to install (Debian trixie names), in install order.
    pub install: Vec<String>,
    /// Development packages whose library only the distroless image of the program's kind ships
    /// (a Debian slim runtime stage would have to install a release-specific package for them).
    pub distroless_only: Vec<String>,
}

/// The run-time libraries behind the `-dev` packages a build installed, for a program that links
/// dynamically. `Err` names a development package the data does not know: dfopt then cannot tell
/// what the program loads at run time.
pub fn needs(installed: &[String], native: Native) -> Result<LibraryNeeds, String> {
    let mut out = LibraryNeeds::default();
    if native == Native::Static {
        return Ok(out);
    }
    let table = table()?;
    for pkg in installed {
        // `libpq-dev=15.4-1` pins a version: the name is before the `=`.
        let name = pkg.split('=').next().unwrap_or(pkg);
        if !name.ends_with("-dev") || name == "linux-libc-dev" {
            continue;
        }
        let Some(entry) = table.dev.get(name) else {
            return Err(format!(
                "the build installs {name} and the program links dynamically: dfopt cannot tell which run-time library package it needs"
            ));
        };
        if entry.in_images.iter().any(|i| i == native.key()) && entry.runtime.is_empty() {
            out.distroless_only.push(name.to_string());
        }
        for r in &entry.runtime {
            if !out.install.contains(r) {
                out.install.push(r.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_data_loads_and_names_a_library_for_each_entry_or_an_image() {
        let t = table().unwrap();
        for (dev, e) in &t.dev {
            assert!(dev.ends_with("-dev"), "{dev}");
            assert!(!e.runtime.is_empty() || !e.in_images.is_empty(), "{dev}");
        }
    }

    #[test]
    fn dev_packages_map_to_their_libraries() {
        let n = needs(
            &v(&["libsqlite3-dev", "gcc", "libpq-dev=15.4-1"]),
            Native::Base,
        )
        .unwrap();
        assert_eq!(n.install, v(&["libsqlite3-0", "libpq5"]));
        assert!(n.distroless_only.is_empty());
        let n = needs(&v(&["libssl-dev"]), Native::Cc).unwrap();
        assert_eq!(n.install, Vec::<String>::new());
        assert_eq!(n.distroless_only, v(&["libssl-dev"]));
    }

    #[test]
    fn a_static_program_needs_nothing_and_an_unknown_dev_package_is_refused() {
        assert_eq!(
            needs(&v(&["libfoo-dev"]), Native::Static).unwrap(),
            LibraryNeeds::default()
        );
        let e = needs(&v(&["libfoo-dev"]), Native::Base).unwrap_err();
        assert!(e.contains("libfoo-dev"), "{e}");
    }
}
