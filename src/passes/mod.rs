//! Transform passes: one rule per file, each with its tunable data in `transforms/<rule>.toml`.
//!
//! A rule looks at a parsed file and returns findings; a finding may carry a fix (byte-range edits
//! with a safety level). Rules never edit text themselves: the engine applies the edits, re-parses
//! and runs the rules again until nothing changes.

pub mod apk_no_cache;
pub mod apt_get_not_apt;
pub mod apt_no_install_recommends;
pub mod assume_yes;
pub mod chain_runs;
pub mod download_cleanup;
pub mod eol_base_image;
pub mod final_stage_base;
pub mod later_delete;
pub mod multi_stage;
pub mod package_cache_cleanup;
pub mod pip_no_cache_dir;

/// The RUNs the hygiene rules edit: moved into the model; this path stays for the rules.
pub use crate::model::runs as runtext;
pub use crate::model::runs::Memo;

use crate::analysis::Analysis;
use crate::config::Settings;
use crate::edit::{Finding, Safety};
use crate::syntax::Dockerfile;
use std::path::Path;

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
        }
    }
}

/// A rule: one kind of problem, one kind of fix.
pub trait Rule: Send + Sync {
    /// The rule's id, e.g. `chain-runs`.
    fn id(&self) -> &'static str;
    /// A one-line summary.
    fn summary(&self) -> &'static str;
    /// The safety of the fixes it offers; `None` when it only reports.
    fn fix_safety(&self) -> Option<Safety>;
    /// Whether it runs when no `select` names it.
    fn default_enabled(&self) -> bool {
        true
    }
    /// hadolint codes this rule resolves (used to honour `# hadolint ignore=`).
    fn hadolint_codes(&self) -> &'static [&'static str] {
        &[]
    }
    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>);
}

/// The rule documentation, taken from each pass file's `//!` comment at build time.
pub fn rule_doc(id: &str) -> Option<&'static str> {
    include!(concat!(env!("OUT_DIR"), "/rule_docs.rs"))
}

pub use crate::rule_ids::is_rule_id;

pub use crate::rule_data::{regex, rule_data, rule_data_with, str_key, str_list, LazyRegex};

/// All rules, built once per run with their data.
pub struct Registry {
    pub rules: Vec<Box<dyn Rule>>,
}

impl Registry {
    pub fn new(settings: &Settings) -> Result<Registry, String> {
        type Build = fn(&Settings) -> Result<Box<dyn Rule>, String>;
        fn boxed<R: Rule + 'static>(r: Result<R, String>) -> Result<Box<dyn Rule>, String> {
            r.map(|r| Box::new(r) as Box<dyn Rule>)
        }
        const BUILDERS: [Build; 12] = [
            |s| boxed(chain_runs::ChainRuns::new(s)),
            |s| boxed(multi_stage::MultiStage::new(s)),
            |s| boxed(final_stage_base::FinalStageBase::new(s)),
            |s| boxed(package_cache_cleanup::PackageCacheCleanup::new(s)),
            |s| boxed(assume_yes::AssumeYes::new(s)),
            |s| boxed(apt_no_install_recommends::AptNoInstallRecommends::new(s)),
            |s| boxed(apt_get_not_apt::AptGetNotApt::new(s)),
            |s| boxed(apk_no_cache::ApkNoCache::new(s)),
            |s| boxed(pip_no_cache_dir::PipNoCacheDir::new(s)),
            |s| boxed(download_cleanup::DownloadCleanup::new(s)),
            |s| boxed(later_delete::LaterDelete::new(s)),
            |s| boxed(eol_base_image::EolBaseImage::new(s)),
        ];
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
