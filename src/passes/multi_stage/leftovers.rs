//! What a build leaves outside the folders the runtime stage copies, and how it installed OS
//! packages: the multi-stage planners ask these before they move an app.

use crate::model::stage_facts::{within, StageFacts};
use crate::model::start::basename;

/// The first folder on the stage's ENV PATH inside `/root` or `/home` that no copied folder
/// covers.
pub(super) fn home_dir_on_path(facts: &StageFacts, copies: &[String]) -> Option<String> {
    let path = facts.env.get("PATH")?;
    path.split(':')
        .map(|d| d.trim_end_matches('/'))
        .filter(|d| !d.contains('$'))
        .find(|d| {
            (within(d, "/root") || within(d, "/home")) && !copies.iter().any(|c| within(d, c))
        })
        .map(str::to_string)
}

/// Whether an apt install of the stage takes recommended packages (no `--no-install-recommends`,
/// no `APT::Install-Recommends` option).
pub(super) fn installs_recommends(facts: &StageFacts) -> bool {
    facts.runs.iter().any(|r| {
        let w = &r.words;
        matches!(
            w.first().map(|p| basename(p)),
            Some("apt-get" | "apt")
        ) && w.iter().any(|a| a == "install")
            && !w
                .iter()
                .any(|a| a == "--no-install-recommends" || a.contains("Install-Recommends"))
    })
}
