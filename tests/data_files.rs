//! Every data file in transforms/ is read into typed structs that refuse unknown keys (issue 11).
//!
//! For each file, and for each kind of table in it (the top level, each table, the tables of an
//! array of tables, the entries of a map: the first of each path pattern), a key no struct
//! declares is added, with a copy of a value next to it so that only its name is wrong, and the
//! file is given to the reader dfopt reads it with (`dfopt::passes::DATA_FILES`): built-in files to their reader, the files a user may
//! override as the whole of `[transforms.<id>]` to the rules [`Registry::new`] builds. The reader
//! must refuse it with an error naming the key.
//!
//! So a data file added without a reader in `DATA_FILES`, a table read as a map that is not listed
//! in [`OPEN_MAPS`], or rule data read through an untyped `toml::Table` (checked in the source)
//! fails the test.

use dfopt::config::Settings;
use dfopt::passes::{DataReader, Registry, DATA_FILES};
use std::collections::BTreeSet;
use std::path::Path;

/// The key added: no data file has it.
const UNKNOWN: &str = "dfopt_unknown_key";

/// Tables of the data files whose keys are names (packages, versions, images), not fields: any key
/// is accepted there, so the unknown key goes into their entries instead. As `file`, `path`, where a
/// path's `*` is any key of a map and `[]` any table of an array.
const OPEN_MAPS: &[(&str, &str)] = &[
    ("apt-get-not-apt.toml", "map"),
    ("images.toml", "replace"),
    ("multi-stage.toml", "python_modules"),
    ("native-libraries.toml", "dev"),
    ("packages.toml", "apt_to_apk"),
    ("python-packages.toml", "depends_on"),
    ("python-packages.toml", "native_libs"),
    ("runtimes.toml", "distros"),
    ("runtimes.toml", "image_programs"),
    ("runtimes.toml", "policy.arg_patterns"),
    ("runtimes.toml", "policy.arg_patterns.*"),
    ("runtimes.toml", "policy.floating"),
    ("runtimes.toml", "policy.ladder"),
    ("runtimes.toml", "runtimes"),
    ("runtimes.toml", "runtimes.*.codenames"),
    ("runtimes.toml", "runtimes.*.versions"),
];

/// Non-test source files that may hold untyped TOML, and why.
const UNTYPED_TOML_ALLOWED: &[&str] = &[
    // The config file's `[transforms.<rule>]` tables, typed by the rule that reads them.
    "src/config.rs",
    // Users' Cargo.toml and pyproject.toml: not rule data.
    "src/model/context.rs",
    // Merges `[transforms.<rule>]` over the data file before reading it into the rule's struct.
    "src/rule_data.rs",
    // Merges `[transforms.images]` table by table before reading it into its struct.
    "src/model/images.rs",
];

/// One step of a path into a TOML document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The tables of `table` to add the unknown key to, each with its path pattern (the first table
/// of a pattern stands for the others: the entries of a map, the tables of an array), and in
/// `open_seen` the [`OPEN_MAPS`] met.
fn sites(
    file: &str,
    table: &toml::Table,
    steps: Vec<Step>,
    pattern: String,
    out: &mut Vec<(Vec<Step>, String)>,
    open_seen: &mut BTreeSet<String>,
) {
    let open = OPEN_MAPS.contains(&(file, pattern.as_str()));
    if open {
        open_seen.insert(pattern.clone());
    } else {
        out.push((steps.clone(), pattern.clone()));
    }
    for (key, value) in table {
        let name = if open { "*" } else { key.as_str() };
        let child = if pattern.is_empty() {
            name.to_string()
        } else {
            format!("{pattern}.{name}")
        };
        let mut at = steps.clone();
        at.push(Step::Key(key.clone()));
        match value {
            toml::Value::Table(t) => sites(file, t, at, child, out, open_seen),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item {
                        let mut at = at.clone();
                        at.push(Step::Index(i));
                        sites(file, t, at, format!("{child}[]"), out, open_seen);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The table at `steps` in `table`.
fn table_at<'t>(table: &'t mut toml::Table, steps: &[Step]) -> &'t mut toml::Table {
    let Some((Step::Key(key), mut rest)) = steps.split_first() else {
        return table;
    };
    let mut value = table
        .get_mut(key)
        .unwrap_or_else(|| panic!("no `{key}` in the document"));
    if let Some((Step::Index(i), after)) = rest.split_first() {
        value = match value {
            toml::Value::Array(items) => items.get_mut(*i).expect("the table"),
            other => panic!("`{key}` is not an array: {other:?}"),
        };
        rest = after;
    }
    match value {
        toml::Value::Table(t) => table_at(t, rest),
        other => panic!("`{key}` is not a table: {other:?}"),
    }
}

/// Reads `doc` as file `file` the way dfopt does.
fn read(file: &str, reader: DataReader, doc: toml::Table) -> Result<(), String> {
    match reader {
        DataReader::Builtin(read) => {
            let text = toml::to_string(&doc).unwrap_or_else(|e| panic!("{file}: {e}"));
            read(&text)
        }
        DataReader::Overridable(id) => {
            let mut settings = Settings::default();
            settings.transforms.insert(id.to_string(), doc);
            Registry::new(&settings).map(drop)
        }
    }
}

fn transforms_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms")
}

#[test]
fn every_data_file_has_a_reader() {
    let files: BTreeSet<String> = std::fs::read_dir(transforms_dir())
        .expect("transforms/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    let listed: Vec<&str> = DATA_FILES.iter().map(|(name, _)| *name).collect();
    let listed_set: BTreeSet<String> = listed.iter().map(|n| n.to_string()).collect();
    assert_eq!(listed.len(), listed_set.len(), "a file listed twice");
    assert_eq!(
        files, listed_set,
        "transforms/*.toml and passes::DATA_FILES differ"
    );
}

#[test]
fn every_data_file_and_table_refuses_an_unknown_key() {
    let mut failures = Vec::new();
    let mut open_maps_seen = BTreeSet::new();
    for &(file, reader) in DATA_FILES {
        let text = std::fs::read_to_string(transforms_dir().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        if let Err(e) = read(file, reader, doc.clone()) {
            failures.push(format!("{file} as written: refused: {e}"));
            continue;
        }
        let mut found = Vec::new();
        let mut open_seen = BTreeSet::new();
        sites(
            file,
            &doc,
            Vec::new(),
            String::new(),
            &mut found,
            &mut open_seen,
        );
        open_maps_seen.extend(open_seen.into_iter().map(|open| (file, open)));
        let mut patterns = BTreeSet::new();
        for (steps, pattern) in found {
            if !patterns.insert(pattern.clone()) {
                continue;
            }
            let mut changed = doc.clone();
            let table = table_at(&mut changed, &steps);
            let value = table
                .values()
                .next()
                .cloned()
                .unwrap_or(toml::Value::Boolean(true));
            table.insert(UNKNOWN.to_string(), value);
            let at = if pattern.is_empty() {
                "the top level".to_string()
            } else {
                format!("`{pattern}`")
            };
            match read(file, reader, changed) {
                Ok(()) => failures.push(format!("{file}: an unknown key at {at} is accepted")),
                Err(e) if !(e.contains(UNKNOWN) && e.contains("unknown")) => failures.push(
                    format!("{file}: the error for an unknown key at {at} does not name it: {e}"),
                ),
                Err(_) => {}
            }
        }
    }
    for &(file, open) in OPEN_MAPS {
        if !open_maps_seen.contains(&(file, open.to_string())) {
            failures.push(format!(
                "OPEN_MAPS: {file} has no `{open}` (delete the entry)"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rule data read as `toml::Table` would take any key: outside [`UNTYPED_TOML_ALLOWED`], the
/// non-test code names neither `toml::Table` nor `toml::Value`.
#[test]
fn rule_data_is_not_read_untyped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pending = vec![root.join("src")];
    let mut offenders = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .expect("under the crate")
                .to_string_lossy()
                .replace('\\', "/");
            if UNTYPED_TOML_ALLOWED.contains(&rel.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                if ["toml::Table", "toml::Value", "use toml::"]
                    .iter()
                    .any(|t| line.contains(t))
                {
                    offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "untyped TOML outside {UNTYPED_TOML_ALLOWED:?}:\n{}",
        offenders.join("\n")
    );
}
