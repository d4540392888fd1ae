//! Transform passes: one rule per file, each with its tunable data in `transforms/<rule>.toml`.
//!
//! A rule looks at a parsed file and returns findings; a finding may carry a fix (byte-range edits
//! with a safety level). Rules never edit text themselves: the engine applies the edits, re-parses
//! and runs the rules again until nothing changes.

/// The RUNs the hygiene rules edit: moved into the model; this path stays for the rules.
pub use crate::model::runs as runtext;
pub use crate::model::runs::Memo;

use crate::analysis::Analysis;
use crate::config::Settings;
use crate::edit::{Finding, Safety};
use crate::syntax::Dockerfile;
use std::path::Path;

/// Declares the rules: one line per rule, `module::Type`, in the order they run. Each rule's file
/// declares what the rule is (`pub const META: RuleMeta`) and how it is built (`Type::new`); from
/// this list come the modules, [`RULES`] (read by `dfopt rules`, `dfopt explain`, SARIF and the
/// README table) and the builders of [`Registry`].
macro_rules! declare_rules {
    ($($module:ident :: $rule:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every rule's declaration, in the order the rules run.
        pub const RULES: &[&RuleMeta] = &[$(&$module::META),*];

        /// One builder per rule, in the order of [`RULES`].
        const BUILDERS: &[Build] = &[$(|s| boxed($module::$rule::new(s))),*];
    };
}

declare_rules! {
    chain_runs::ChainRuns,
    multi_stage::MultiStage,
    final_stage_base::FinalStageBase,
    package_cache_cleanup::PackageCacheCleanup,
    assume_yes::AssumeYes,
    apt_no_install_recommends::AptNoInstallRecommends,
    apt_get_not_apt::AptGetNotApt,
    apk_no_cache::ApkNoCache,
    pip_no_cache_dir::PipNoCacheDir,
    download_cleanup::DownloadCleanup,
    later_delete::LaterDelete,
    eol_base_image::EolBaseImage,
    exec_form_start::ExecFormStart,
}

type Build = fn(&Settings) -> Result<Box<dyn Rule>, String>;

fn boxed<R: Rule + 'static>(r: Result<R, String>) -> Result<Box<dyn Rule>, String> {
    r.map(|r| Box::new(r) as Box<dyn Rule>)
}

/// What a rule is, declared once in its file as `pub const META: RuleMeta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMeta {
    /// The rule's id, e.g. `chain-runs`.
    pub id: &'static str,
    /// A one-line summary.
    pub summary: &'static str,
    /// The fixes it offers; a test holds every emitted fix to this.
    pub fix: FixAvailability,
    /// hadolint codes this rule resolves (used to honour `# hadolint ignore=`, and by `dfopt
    /// explain DL3059`).
    pub hadolint: &'static [&'static str],
    /// Whether it runs when no `select` names it.
    pub default_enabled: bool,
    /// The level of its findings unless a finding sets its own (`Finding::with_level`).
    pub level: crate::edit::Level,
    /// Its levels in words, for `dfopt explain`.
    pub levels: &'static str,
}

/// Which fixes a rule offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixAvailability {
    /// It only reports.
    None,
    /// Every fix it offers is safe.
    Safe,
    /// Every fix it offers is unsafe.
    Unsafe,
    /// Safe fixes, and unsafe ones in the case named (e.g. "unsafe on Windows stages").
    Sometimes(&'static str),
}

impl FixAvailability {
    pub fn as_str(self) -> &'static str {
        match self {
            FixAvailability::None => "none",
            FixAvailability::Safe => "safe",
            FixAvailability::Unsafe => "unsafe",
            FixAvailability::Sometimes(_) => "sometimes",
        }
    }

    /// The declaration in words, with the case in which a `Sometimes` rule's fix is unsafe.
    pub fn describe(self) -> String {
        match self {
            FixAvailability::None => "none (reports only)".to_string(),
            FixAvailability::Sometimes(when) => format!("safe ({when})"),
            other => other.as_str().to_string(),
        }
    }

    /// Whether a rule declared so may emit a fix of `safety`.
    pub fn allows(self, safety: Safety) -> bool {
        match self {
            FixAvailability::None => false,
            FixAvailability::Safe => safety == Safety::Safe,
            FixAvailability::Unsafe => safety == Safety::Unsafe,
            FixAvailability::Sometimes(_) => true,
        }
    }
}

/// The declared rules that resolve hadolint code `code` (case-insensitive).
pub fn rules_resolving(code: &str) -> impl Iterator<Item = &'static RuleMeta> + '_ {
    RULES
        .iter()
        .copied()
        .filter(move |m| m.hadolint.iter().any(|c| c.eq_ignore_ascii_case(code)))
}

/// A declared rule by id.
pub fn rule_meta(id: &str) -> Option<&'static RuleMeta> {
    RULES.iter().copied().find(|m| m.id == id)
}

/// Everything a rule may look at for one file.
pub struct Context<'a> {
    pub doc: &'a Dockerfile,
    pub analysis: &'a Analysis,
    pub settings: &'a Settings,
    /// The file's path when it has one (a rule may read the build context beside it).
    pub path: Option<&'a Path>,
    /// Shell-parsed RUNs, shared by the passes that read them (without / with ONBUILD triggers).
    pub runs_cache: [std::cell::OnceCell<Vec<runtext::Run<'a>>>; 2],
    /// Readings kept across rounds.
    pub memo: &'a Memo,
    /// Which stages reach the final image ([`Analysis::shipping`]), indexed like the stages.
    shipping: Vec<bool>,
}

impl<'a> runtext::RunContext<'a> for Context<'a> {
    fn doc(&self) -> &'a Dockerfile {
        self.doc
    }
    fn stages(&self) -> &'a [crate::analysis::Stage] {
        &self.analysis.stages
    }
    fn settings(&self) -> &'a Settings {
        self.settings
    }
    fn memo(&self) -> &'a Memo {
        self.memo
    }
    fn runs_cache(&self) -> &[std::cell::OnceCell<Vec<runtext::Run<'a>>>; 2] {
        &self.runs_cache
    }
}

impl<'a> Context<'a> {
    pub fn new(
        doc: &'a Dockerfile,
        analysis: &'a Analysis,
        settings: &'a Settings,
        path: Option<&'a Path>,
        memo: &'a Memo,
    ) -> Self {
        Context {
            doc,
            analysis,
            settings,
            path,
            runs_cache: Default::default(),
            memo,
            shipping: analysis.shipping(doc),
        }
    }

    /// Whether stage `stage_index` reaches the final image (an unknown index counts as shipping,
    /// so that nothing is held back by mistake).
    pub fn ships(&self, stage_index: usize) -> bool {
        self.shipping.get(stage_index).copied().unwrap_or(true)
    }

    /// Whether size fixes (merged RUNs, cache cleanup, waste findings) belong in stage
    /// `stage_index`: in a stage that ships, or everywhere with `merge-build-stages`. In a build
    /// stage nothing of the size ships, and each separate RUN is its own build-cache step.
    pub fn wants_size_fixes(&self, stage_index: usize) -> bool {
        self.settings.merge_build_stages || self.ships(stage_index)
    }

    /// [`Context::wants_size_fixes`] for the stage holding byte `offset` (text before the first
    /// FROM counts as shipping).
    pub fn wants_size_fixes_at(&self, offset: usize) -> bool {
        let Some(index) = self
            .doc
            .instructions
            .iter()
            .rposition(|i| i.line_start <= offset)
        else {
            return true;
        };
        match self
            .analysis
            .stages
            .iter()
            .position(|s| s.from <= index && index < s.end)
        {
            Some(stage) => self.wants_size_fixes(stage),
            None => true,
        }
    }
}

/// A rule: one kind of problem, one kind of fix.
pub trait Rule: Send + Sync {
    /// The rule's declaration (its file's `META`).
    fn meta(&self) -> &'static RuleMeta;
    /// The rule's id, e.g. `chain-runs`.
    fn id(&self) -> &'static str {
        self.meta().id
    }
    /// A one-line summary.
    fn summary(&self) -> &'static str {
        self.meta().summary
    }
    /// Whether it runs when no `select` names it.
    fn default_enabled(&self) -> bool {
        self.meta().default_enabled
    }
    /// hadolint codes this rule resolves (used to honour `# hadolint ignore=`).
    fn hadolint_codes(&self) -> &'static [&'static str] {
        self.meta().hadolint
    }
    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>);
}

/// The rule documentation, taken from each pass file's `//!` comment at build time.
pub fn rule_doc(id: &str) -> Option<&'static str> {
    include!(concat!(env!("OUT_DIR"), "/rule_docs.rs"))
}

pub use crate::rule_ids::is_rule_id;

pub use crate::rule_data::{load, regex, LazyRegex};

/// Program names, each with a value, looked up by a command's program. The names are kept in
/// buckets by first byte: most commands run none of a rule's programs, and for them the lookup is
/// an empty bucket, not a comparison with every name.
pub struct ProgramIndex<T> {
    buckets: Vec<Vec<(String, T)>>,
}

impl<T: PartialEq> ProgramIndex<T> {
    /// The index of `entries` (a name may come with several values; a repeated pair counts once).
    pub fn new(entries: impl IntoIterator<Item = (String, T)>) -> Self {
        let mut buckets: Vec<Vec<(String, T)>> = (0..256).map(|_| Vec::new()).collect();
        for (name, value) in entries {
            let Some(bucket) = buckets.get_mut(usize::from(name.bytes().next().unwrap_or(0)))
            else {
                continue;
            };
            if !bucket.iter().any(|(n, v)| *n == name && *v == value) {
                bucket.push((name, value));
            }
        }
        ProgramIndex { buckets }
    }

    /// The values of the entries named `program`.
    pub fn get<'a>(&'a self, program: &'a str) -> impl Iterator<Item = &'a T> + 'a {
        self.buckets
            .get(usize::from(program.bytes().next().unwrap_or(0)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(move |(n, _)| n == program)
            .map(|(_, v)| v)
    }

    /// Whether an entry is named `program`.
    pub fn contains(&self, program: &str) -> bool {
        self.get(program).next().is_some()
    }
}

/// How dfopt reads one data file of `transforms/`.
#[derive(Debug, Clone, Copy)]
pub enum DataReader {
    /// Read by the rules [`Registry::new`] builds, merged with `[transforms.<id>]` from the
    /// configuration (which may give every key of the file).
    Overridable(&'static str),
    /// Read as compiled in, by this function given the file's text.
    Builtin(fn(&str) -> Result<(), String>),
}

/// Every data file in `transforms/` and how dfopt reads it: into typed structs whose tables refuse
/// unknown keys. tests/data_files.rs adds an unknown key to each file and to each of its tables,
/// and checks that the reader listed here refuses it; a file missing from this list fails it.
pub const DATA_FILES: &[(&str, DataReader)] = {
    use DataReader::{Builtin, Overridable};
    &[
        ("apk-no-cache.toml", Overridable("apk-no-cache")),
        ("apt-get-not-apt.toml", Overridable("apt-get-not-apt")),
        (
            "apt-no-install-recommends.toml",
            Overridable("apt-no-install-recommends"),
        ),
        ("assume-yes.toml", Overridable("assume-yes")),
        ("chain-runs.toml", Overridable("chain-runs")),
        (
            "consumers.toml",
            Builtin(crate::model::consumers::read_text),
        ),
        ("download-cleanup.toml", Overridable("download-cleanup")),
        ("eol-base-image.toml", Overridable("eol-base-image")),
        ("exec-form-start.toml", Overridable("exec-form-start")),
        ("final-stage-base.toml", Overridable("final-stage-base")),
        ("images.toml", Overridable("images")),
        ("later-delete.toml", Overridable("later-delete")),
        ("multi-stage.toml", Overridable("multi-stage")),
        (
            "native-libraries.toml",
            Builtin(crate::model::native_libs::read_text),
        ),
        (
            "package-cache-cleanup.toml",
            Overridable("package-cache-cleanup"),
        ),
        (
            "package-managers.toml",
            Builtin(crate::model::packages::read_text),
        ),
        (
            "packages.toml",
            Builtin(crate::model::images::read_packages_text),
        ),
        ("pip-no-cache-dir.toml", Overridable("pip-no-cache-dir")),
        (
            "python-packages.toml",
            Builtin(multi_stage::python::read_text),
        ),
        ("runtimes.toml", Builtin(read_runtimes)),
    ]
};

fn read_runtimes(text: &str) -> Result<(), String> {
    crate::model::catalogue::Catalogue::from_toml(text).map(drop)
}

/// All rules, built once per run with their data.
pub struct Registry {
    pub rules: Vec<Box<dyn Rule>>,
}

impl Registry {
    pub fn new(settings: &Settings) -> Result<Registry, String> {
        // Reading the rules' data (TOML, regex syntax checks) is most of start-up: the pool's
        // threads share it. Results stay in order, and the first failing rule is the one reported.
        use rayon::prelude::*;
        let built: Vec<Result<Box<dyn Rule>, String>> =
            BUILDERS.par_iter().map(|build| build(settings)).collect();
        let rules = built.into_iter().collect::<Result<Vec<_>, String>>()?;
        Ok(Registry { rules })
    }

    /// The rules that run under `settings`.
    pub fn enabled<'r>(
        &'r self,
        settings: &'r Settings,
    ) -> impl Iterator<Item = &'r dyn Rule> + 'r {
        self.rules
            .iter()
            .map(|r| r.as_ref())
            .filter(move |r| settings.rule_enabled(r.id(), r.default_enabled()))
    }

    pub fn get(&self, id: &str) -> Option<&dyn Rule> {
        self.rules.iter().map(|r| r.as_ref()).find(|r| r.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::ProgramIndex;

    #[test]
    fn a_program_index_finds_every_value_of_a_name_and_nothing_else() {
        let index = ProgramIndex::new(
            [
                ("apt-get", 0),
                ("apt", 0),
                ("yum", 1),
                ("dnf", 1),
                ("yum", 2),
                ("apt", 0),
            ]
            .map(|(n, v)| (n.to_string(), v)),
        );
        assert_eq!(index.get("yum").collect::<Vec<_>>(), [&1, &2]);
        assert_eq!(index.get("apt").collect::<Vec<_>>(), [&0]);
        assert!(index.contains("apt-get") && index.contains("dnf"));
        assert!(!index.contains("ap") && !index.contains("rm") && !index.contains(""));
    }
}
