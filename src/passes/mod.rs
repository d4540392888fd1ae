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
pub mod exec_form_start;
pub mod final_stage_base;
pub mod later_delete;
pub mod multi_stage;
pub mod package_cache_cleanup;
pub mod pip_no_cache_dir;
pub mod runtext;

use crate::analysis::Analysis;
use crate::config::Settings;
use crate::edit::{Finding, Safety};
use crate::syntax::Dockerfile;
use std::path::Path;

/// What the rules work out of a RUN's text, kept across the fixed-point rounds of one file: a
/// round after a fix re-reads every RUN, and most of them did not change.
#[derive(Default)]
pub struct Memo {
    scripts: std::cell::RefCell<TextMap<Option<std::rc::Rc<crate::model::script::Script>>>>,
    chain_facts: std::cell::RefCell<TextMap<crate::shell::ShellFacts>>,
}

/// A map keyed by RUN texts, hashed with FxHash: SipHash's resistance to chosen keys buys nothing
/// in a table that lives for one file, and it hashed each RUN's text several times slower.
type TextMap<T> = std::collections::HashMap<String, T, std::hash::BuildHasherDefault<FxHasher>>;

/// The Fx hash (rustc's): a rotate, xor and multiply per 8 bytes.
#[derive(Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

impl Memo {
    /// The shell reading of a RUN's text (see [`crate::model::script::parse`]), read once per distinct text.
    pub fn script(&self, text: &str) -> Option<std::rc::Rc<crate::model::script::Script>> {
        memoized(&self.scripts, text, || {
            crate::model::script::parse(text).map(std::rc::Rc::new)
        })
    }

    /// chain-runs' shell facts for a RUN's text, worked out once per distinct text.
    pub fn chain_facts(
        &self,
        text: &str,
        compute: impl FnOnce() -> crate::shell::ShellFacts,
    ) -> crate::shell::ShellFacts {
        memoized(&self.chain_facts, text, compute)
    }
}

/// The value kept for `key`, computed and kept on first use.
fn memoized<T: Clone>(
    map: &std::cell::RefCell<TextMap<T>>,
    key: &str,
    compute: impl FnOnce() -> T,
) -> T {
    if let Some(v) = map.borrow().get(key) {
        return v.clone();
    }
    let v = compute();
    map.borrow_mut().insert(key.to_string(), v.clone());
    v
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
        const BUILDERS: [Build; 13] = [
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
            |s| boxed(exec_form_start::ExecFormStart::new(s)),
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
