//! What `cargo build` and `cargo install` produce.

use crate::model::context::BuildContext;
use crate::model::images::Native;
use crate::model::stage_facts::{resolve, RunCmd, StageFacts};

/// The programs a `cargo build --release` or `cargo install` command writes, and how they link:
/// static for a musl target, glibc and libgcc otherwise.
pub(super) fn build_outputs(
    r: &RunCmd,
    facts: &StageFacts,
    bctx: &BuildContext,
) -> Vec<(String, Native)> {
    let w = &r.words;
    let mut produced = Vec::new();
    let target = w
        .windows(2)
        .find(|p| p[0] == "--target")
        .map(|p| p[1].clone());
    let native = if target
        .as_deref()
        .map(|t| t.contains("musl"))
        .unwrap_or(false)
    {
        Native::Static
    } else {
        Native::Cc
    };
    let names: Vec<String> = match w.windows(2).find(|p| p[0] == "--bin").map(|p| p[1].clone()) {
        Some(b) => vec![b],
        None => bctx.cargo_bins().unwrap_or_default(),
    };
    if w[1] == "install" {
        let root = facts
            .env
            .get("CARGO_HOME")
            .cloned()
            .unwrap_or_else(|| "/usr/local/cargo".into());
        for n in names {
            produced.push((format!("{root}/bin/{n}"), native));
        }
    } else if w.iter().any(|a| a == "--release" || a == "-r") {
        let tdir = facts
            .env_value(r, "CARGO_TARGET_DIR")
            .map(str::to_string)
            .unwrap_or_else(|| "target".into());
        let sub = match &target {
            Some(t) => format!("{t}/release"),
            None => "release".into(),
        };
        for n in names {
            if let Some(p) = resolve(&r.cwd, &format!("{tdir}/{sub}/{n}")) {
                produced.push((p, native));
            }
        }
    }
    produced
}
