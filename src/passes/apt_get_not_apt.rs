//! ## apt-get-not-apt
//!
//! **What it does**: replaces `apt` in RUN scripts with the scriptable tool that does the same:
//! `apt install` → `apt-get install`, `apt upgrade` → `apt-get upgrade --with-new-pkgs` (the table
//! is `transforms/apt-get-not-apt.toml`).
//!
//! **Why is this bad**: `apt` is the interactive front end. Its output and options may change
//! between releases ("apt does not have a stable CLI interface. Use with caution in scripts"), so
//! a build that depends on it may break on a new base image.
//!
//! **Example**
//! ```dockerfile
//! RUN apt update && apt install -y curl
//! ```
//! becomes
//! ```dockerfile
//! RUN apt-get update && apt-get install -y curl
//! ```
//!
//! **Fix safety**: safe: each mapped command does what the `apt` one does (`apt upgrade` adds new
//! dependencies, so it becomes `apt-get upgrade --with-new-pkgs`). An `apt install` is switched
//! only when its packages are pinned (hadolint checks pins on `apt-get install` only, DL3008), and
//! gets `--no-install-recommends` in the same fix when it lacks it, which makes that fix unsafe. Unlike `apt`, `apt-get` keeps
//! downloaded `.deb` files in `/var/cache/apt/archives`; the Debian and Ubuntu images remove them
//! anyway (`/etc/apt/apt.conf.d/docker-clean`). Subcommands with no equivalent (`apt list`) and
//! the queries whose `apt-cache` counterpart prints something else (`apt show`, `apt search`,
//! `apt depends`, `apt rdepends`, `apt policy`, `apt showsrc`) are only reported; heredoc,
//! exec-form, `ONBUILD` and Windows RUNs are left alone.

use super::runtext;
use super::LazyRegex;
use super::{Context, FixAvailability, Rule, RuleMeta};
use crate::config::Settings;
use crate::edit::{Level, Edit, Finding, Fix};

const DATA: &str = include_str!("../../transforms/apt-get-not-apt.toml");
/// What this rule is: read by the registry, `dfopt rules`, `dfopt explain` and the README table.
pub const META: RuleMeta = RuleMeta {
    id: "apt-get-not-apt",
    summary: "Scripts use `apt-get`/`apt-cache`, not the interactive `apt`",
    fix: FixAvailability::Sometimes("unsafe when it adds `--no-install-recommends` to an install"),
    hadolint: &["DL3027"],
    default_enabled: true,
    level: Level::Warning,
    levels: "warning (fixable waste)",
};
const ID: &str = META.id;

/// `apt` queries whose `apt-cache` namesake prints something else: reported, never rewritten.
const QUERIES: &[&str] = &["show", "search", "depends", "rdepends", "policy", "showsrc"];

/// `transforms/apt-get-not-apt.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    /// apt subcommand → the `apt-get` command line that replaces it.
    map: std::collections::BTreeMap<String, String>,
    install: InstallData,
}

/// The `[install]` table.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallData {
    #[serde(default = "yes")]
    require_pins: bool,
    recommends_decided: Vec<LazyRegex>,
}

fn yes() -> bool {
    true
}

pub struct AptGetNotApt {
    /// (apt subcommand, replacement program, replacement subcommand words)
    map: Vec<(String, String, String)>,
    require_pins: bool,
    recommends_decided: Vec<LazyRegex>,
}

impl AptGetNotApt {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let data: Data = super::load(DATA, ID, settings)?;
        let map = data
            .map
            .into_iter()
            .map(|(sub, line)| {
                let (prog, rest) = line.split_once(' ').unwrap_or((&line, ""));
                (sub, prog.to_string(), rest.to_string())
            })
            .collect();
        Ok(AptGetNotApt {
            map,
            require_pins: data.install.require_pins,
            recommends_decided: data.install.recommends_decided,
        })
    }
}

impl Rule for AptGetNotApt {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for run in runtext::runs(ctx) {
            for c in &run.script.cmds {
                let Some(prog) = c.words.get(c.prog) else {
                    continue;
                };
                if prog.text != "apt" {
                    continue;
                }
                let sub = c.args().iter().find(|w| !w.text.starts_with('-'));
                let entry = sub.and_then(|s| self.map.iter().find(|(k, _, _)| *k == s.text));
                let (Some(sub), Some((k, new_prog, new_sub))) = (sub, entry) else {
                    out.push(Finding::new(
                        ID,
                        run.ins.span,
                        format!(
                            "`apt {}` is meant for people, not scripts, and has no `apt-get` \
                             equivalent dfopt knows{}",
                            sub.map(|s| s.text.as_str()).unwrap_or(""),
                            if sub.is_some_and(|s| QUERIES.contains(&s.text.as_str())) {
                                " (not fixed: `apt-cache` prints something else for this query)"
                            } else {
                                ""
                            }
                        ),
                    ));
                    continue;
                };
                let mut msg = format!("use `{new_prog} {new_sub}` instead of `apt {k}` in scripts");
                let installs = new_prog == "apt-get" && new_sub.starts_with("install");
                let after: Vec<&crate::model::script::Word> = c
                    .args()
                    .iter()
                    .filter(|w| w.start > sub.start && !w.text.starts_with('-'))
                    .collect();
                if installs && self.require_pins && after.iter().any(|w| !w.text.contains('=')) {
                    msg.push_str(
                        " (not fixed: `apt-get install` of unpinned packages makes hadolint ask \
                         for version pins, DL3008; pin them, then dfopt can switch the command)",
                    );
                    out.push(Finding::new(ID, run.ins.span, msg));
                    continue;
                }
                let add_norec = installs
                    && !c
                        .args()
                        .iter()
                        .any(|w| self.recommends_decided.iter().any(|r| r.is_match(&w.text)));
                let edits = (|| {
                    let mut v = vec![Edit::replace(
                        run.rt.src_span(prog.start, prog.end)?,
                        new_prog.clone(),
                    )];
                    let mut sub_text = new_sub.clone();
                    if add_norec {
                        sub_text.push_str(" --no-install-recommends");
                    }
                    if sub_text != sub.text {
                        v.push(Edit::replace(
                            run.rt.src_span(sub.start, sub.end)?,
                            sub_text,
                        ));
                    }
                    Some(v)
                })();
                let mut f = Finding::new(ID, run.ins.span, msg);
                if let Some(e) = edits {
                    f = f.with_fix(if add_norec {
                        Fix::unsafe_(e)
                    } else {
                        Fix::safe(e)
                    });
                }
                out.push(f);
            }
        }
    }
}
