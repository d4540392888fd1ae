//! What `go build` and `go install` produce.

use crate::model::context::BuildContext;
use crate::model::images::Native;
use crate::model::stage_facts::{resolve, RunCmd, StageFacts};
use crate::model::start::basename;

/// The program a `go build` or `go install` command writes, and how it links: static with
/// `CGO_ENABLED=0` (or `-static` flags), glibc otherwise.
pub(super) fn build_output(
    r: &RunCmd,
    facts: &StageFacts,
    bctx: &BuildContext,
) -> Option<(String, Native)> {
    let w = &r.words;
    let cgo0 =
        facts.env_value(r, "CGO_ENABLED") == Some("0") || w.iter().any(|a| a.contains("-static"));
    let native = if cgo0 { Native::Static } else { Native::Base };
    let pkg = w[2..]
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with('-') && !is_flag_value(&w[2..], *i))
        .map(|(_, a)| a.clone())
        .next_back();
    let default_name = match pkg.as_deref() {
        None | Some(".") => bctx.go_module_name(),
        Some(p) if p.starts_with("./") || p.starts_with('/') => {
            let b = basename(p.trim_end_matches("/...").trim_end_matches('/'));
            (b != "." && !b.ends_with(".go"))
                .then(|| b.to_string())
                .or_else(|| bctx.go_module_name())
        }
        Some(p) if p.ends_with(".go") => Some(p.trim_end_matches(".go").to_string()),
        Some(_) => None,
    };
    let out = w
        .windows(2)
        .find(|p| p[0] == "-o")
        .map(|p| p[1].clone())
        .or_else(|| {
            w.iter()
                .find_map(|a| a.strip_prefix("-o=").map(str::to_string))
        });
    let path = if w[1] == "install" {
        default_name.map(|n| format!("/go/bin/{n}"))
    } else {
        match out {
            Some(o) if o.ends_with('/') => {
                default_name.and_then(|n| resolve(&r.cwd, &format!("{o}{n}")))
            }
            Some(o) => resolve(&r.cwd, &o),
            None => default_name.and_then(|n| resolve(&r.cwd, &n)),
        }
    };
    path.map(|p| (p, native))
}

fn is_flag_value(words: &[String], i: usize) -> bool {
    i > 0
        && words
            .get(i - 1)
            .map(|p| {
                matches!(
                    p.as_str(),
                    "-o" | "-ldflags"
                        | "-tags"
                        | "-gcflags"
                        | "-mod"
                        | "-p"
                        | "-trimpath=false"
                        | "-buildmode"
                )
            })
            .unwrap_or(false)
}
