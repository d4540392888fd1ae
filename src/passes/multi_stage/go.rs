//! What `go build` and `go install` produce.

use crate::model::context::BuildContext;
use crate::model::images::{version_of, ImageRef, Native, Runtime};
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
        // `go install ./...` installs every main package below the folder, each named after its
        // directory: which names is known only when CMD names one (see `installs_named`).
        Some("./...") if w[1] == "install" => Some(EVERY_MAIN_PACKAGE.to_string()),
        Some(p) if p.starts_with("./") || p.starts_with('/') => {
            let b = basename(p.trim_end_matches("/...").trim_end_matches('/'));
            (b != "." && !b.ends_with(".go"))
                .then(|| b.to_string())
                .or_else(|| bctx.go_module_name())
        }
        Some(p) if p.ends_with(".go") => Some(p.trim_end_matches(".go").to_string()),
        // An import path (`go install example.com/cmd/server@v1.2`, `app/server`): the binary is
        // named after its last element, a major-version suffix (`/v2`) skipped.
        Some(p) if w[1] == "install" && !p.contains('$') => import_path_name(p),
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

/// The name `build_output` gives the outputs of `go install ./...`, whose names it cannot know.
const EVERY_MAIN_PACKAGE: &str = "*";

/// The binary `go install <import path>` writes: the path's last element, without `@version`,
/// skipping a major-version element (`example.com/tool/v2` → `tool`).
fn import_path_name(path: &str) -> Option<String> {
    let path = path.split('@').next().unwrap_or(path).trim_end_matches('/');
    let mut parts = path.rsplit('/');
    let last = parts.next()?;
    let is_major = last.len() > 1
        && last.starts_with('v')
        && last[1..].chars().all(|c| c.is_ascii_digit());
    let name = if is_major { parts.next()? } else { last };
    (!name.is_empty() && name != "." && name != "...").then(|| name.to_string())
}

/// Whether `produced`, an output of `go install ./...` (`/go/bin/*`), is the program `wanted`
/// that CMD runs: it sits in that folder and the build put a folder of that name into the stage
/// (`COPY ./hotapp/*.go ./hotapp/`), so a main package of that name is among those installed.
pub(super) fn installs_named(produced: &str, wanted: &str, facts: &StageFacts) -> bool {
    let Some(dir) = produced.strip_suffix(&format!("/{EVERY_MAIN_PACKAGE}")) else {
        return false;
    };
    let Some(name) = wanted.strip_prefix(&format!("{dir}/")) else {
        return false;
    };
    !name.contains('/')
        && facts
            .copy_dests
            .iter()
            .any(|d| basename(d.trim_end_matches('/')) == name)
}

/// Go 1.20 and later build without cgo when no C compiler is installed ("The go command now
/// disables cgo by default on systems without a C toolchain", go.dev/doc/go1.20#cgo). The
/// official golang alpine images have none (their Dockerfile adds only ca-certificates), so a
/// build that installs no compiler there writes a static binary.
pub(super) fn cgo_off_without_compiler(img: &ImageRef, facts: &StageFacts) -> bool {
    const COMPILERS: &[&str] = &["gcc", "clang", "build-base", "musl-dev", "g++", "tcc"];
    let version_ok = match version_of(Runtime::Go, img) {
        // A floating tag (`golang:alpine`) is a current release.
        None => true,
        Some(v) => {
            let mut n = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            let (major, minor) = (n.next().unwrap_or(0), n.next().unwrap_or(0));
            (major, minor) >= (1, 20)
        }
    };
    img.name == "golang"
        && version_ok
        && !sets(facts, "CC")
        && !sets(facts, "CGO_ENABLED")
        && !facts
            .os_packages
            .iter()
            .any(|p| COMPILERS.contains(&p.split('=').next().unwrap_or(p)))
}

/// Whether the stage's ENV/ARG or any RUN sets `key` (then the build chose its own compiler or
/// cgo setting).
fn sets(facts: &StageFacts, key: &str) -> bool {
    facts.env.contains_key(key) || facts.runs.iter().any(|r| r.env.contains_key(key))
}
