//! The Docker engine, driven through its CLI: builds, image facts, containers and their cleanup.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The docker client used when `DFOPT_DOCKER` is not set (Debian's docker.io 20.10 client).
pub const DEFAULT_DOCKER: &str = "/usr/bin/docker";

/// The docker client: `$DFOPT_DOCKER`, else /usr/bin/docker, else `docker` on PATH.
pub fn docker_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DFOPT_DOCKER").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if Path::new(DEFAULT_DOCKER).exists() {
        return PathBuf::from(DEFAULT_DOCKER);
    }
    PathBuf::from("docker")
}

pub(super) struct Docker {
    pub(super) bin: PathBuf,
    /// `docker build --network`: `none` unless `verify --network` asks for another.
    pub(super) build_network: String,
}

/// Limits for every container verify starts from an image built from an untrusted Dockerfile:
/// bounded memory and processes (a fork bomb or a leak cannot take the host down) and no
/// privilege gain through set-user-ID programs.
pub(super) const CONTAINER_LIMITS: [&str; 6] = [
    "--memory",
    "1g",
    "--pids-limit",
    "512",
    "--security-opt",
    "no-new-privileges",
];

/// `docker build` for one side: the build network (no network unless asked: a RUN of an
/// untrusted Dockerfile must not reach the host's network), and `--` before the context so that a
/// folder named like an option (`-rm`) is a path.
pub(super) fn build_args(
    tag: &str,
    dockerfile: &Path,
    context: &Path,
    network: &str,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "build",
        "--progress=plain",
        "--network",
        network,
        "-t",
        tag,
        "-f",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(dockerfile.into());
    args.push("--".into());
    args.push(context.into());
    args
}

/// Output of a finished command.
pub(super) struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Out {
    pub(super) fn ok(&self) -> bool {
        self.code == Some(0)
    }
    pub(super) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }
    pub(super) fn stderr_tail(&self, n: usize) -> String {
        tail(&String::from_utf8_lossy(&self.stderr), n)
    }
}

pub(super) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Docker {
    pub(super) fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.stdin(Stdio::null());
        c
    }

    pub(super) fn run<I, S>(&self, args: I) -> Result<Out, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self
            .cmd()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        Ok(Out {
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    /// `docker info`; the error explains why there is no engine.
    pub(super) fn check_engine(&self) -> Result<String, String> {
        let out = self.run(["info"]).map_err(|e| {
            format!(
                "no Docker engine: {e} (start one with tests/lab/start-docker.sh, or set DFOPT_DOCKER)"
            )
        })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let version = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("Server Version:"))
            .map(|v| v.trim().to_string());
        match version {
            Some(v) if out.ok() && !v.is_empty() => Ok(v),
            _ => {
                // the 20.10 client prints "ERROR: Cannot connect ..." on stdout, newer ones on
                // stderr; either way keep the lines that say what is wrong
                let stderr = String::from_utf8_lossy(&out.stderr);
                let mut why: Vec<&str> = stdout
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("ERROR:"))
                    .map(str::trim)
                    .collect();
                why.extend(
                    stderr
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with("errors pretty printing info")),
                );
                why.dedup();
                let why = if why.is_empty() {
                    format!("`{} info` failed", self.bin.display())
                } else {
                    why.join(" ")
                };
                Err(format!(
                    "no Docker engine: {why} (start one with tests/lab/start-docker.sh)"
                ))
            }
        }
    }

    pub(super) fn build(&self, tag: &str, dockerfile: &Path, context: &Path) -> Result<(), String> {
        let out = self
            .cmd()
            .env(
                "DOCKER_BUILDKIT",
                std::env::var("DOCKER_BUILDKIT").unwrap_or("1".into()),
            )
            .args(build_args(tag, dockerfile, context, &self.build_network))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let mut all = String::from_utf8_lossy(&out.stdout).to_string();
            all.push_str(&String::from_utf8_lossy(&out.stderr));
            Err(tail(&all, 15))
        }
    }

    pub(super) fn inspect(&self, tag: &str) -> Result<serde_json::Value, String> {
        let out = self.run(["image", "inspect", "--format", "{{json .}}", tag])?;
        if !out.ok() {
            return Err(format!(
                "docker image inspect {tag}: {}",
                out.stderr_tail(3)
            ));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("docker image inspect {tag}: bad JSON: {e}"))
    }

    /// Whether /bin/sh runs in the image: `docker run --rm --entrypoint /bin/sh IMG -c true`.
    /// Running it (rather than listing `docker export`) follows symlinks such as the merged-/usr
    /// `/bin -> usr/bin` and costs nothing for large images. Exit 126/127 is the runtime's
    /// "not found / cannot execute".
    pub(super) fn has_shell(&self, tag: &str) -> Option<bool> {
        let out = self
            .run([
                "run",
                "--rm",
                "--network",
                "none",
                CONTAINER_LIMITS[0],
                CONTAINER_LIMITS[1],
                CONTAINER_LIMITS[2],
                CONTAINER_LIMITS[3],
                CONTAINER_LIMITS[4],
                CONTAINER_LIMITS[5],
                "--entrypoint",
                "/bin/sh",
                tag,
                "-c",
                "true",
            ])
            .ok()?;
        match out.code {
            Some(0) => Some(true),
            Some(126) | Some(127) => Some(false),
            _ => None,
        }
    }

    pub(super) fn rm_container(&self, name: &str) {
        let _ = self.run(["rm", "-f", name]);
    }

    fn rm_image(&self, tag: &str) {
        let _ = self.run(["image", "rm", "-f", tag]);
    }
}

/// Removes what a verification made, whatever happens.
pub(super) struct Cleanup<'d> {
    pub(super) docker: &'d Docker,
    pub(super) containers: Vec<String>,
    pub(super) images: Vec<String>,
    pub(super) keep_images: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for c in &self.containers {
            self.docker.rm_container(c);
        }
        if !self.keep_images {
            for i in &self.images {
                self.docker.rm_image(i);
            }
        }
    }
}

pub(super) fn facts_from_inspect(v: &serde_json::Value) -> (u64, usize, String) {
    let size = v.get("Size").and_then(|s| s.as_u64()).unwrap_or(0);
    let layers = v
        .pointer("/RootFS/Layers")
        .and_then(|l| l.as_array())
        .map(|a| a.len())
        .unwrap_or(0);
    let user = v
        .pointer("/Config/User")
        .and_then(|u| u.as_str())
        .unwrap_or("")
        .to_string();
    let user = if user.is_empty() {
        "root".to_string()
    } else {
        user
    };
    (size, layers, user)
}

pub(super) fn container_state(docker: &Docker, name: &str) -> Option<(bool, i32)> {
    let out = docker
        .run([
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            name,
        ])
        .ok()?;
    let text = out.stdout_text();
    let mut it = text.split_whitespace();
    let running = it.next()? == "true";
    let code = it.next()?.parse().ok()?;
    Some((running, code))
}

pub(super) fn logs_tail(docker: &Docker, name: &str) -> String {
    match docker.run(["logs", "--tail", "5", name]) {
        Ok(o) => {
            let mut t = String::from_utf8_lossy(&o.stdout).to_string();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            tail(&t, 5)
        }
        Err(_) => String::new(),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_facts() {
        let v: serde_json::Value = serde_json::json!({
            "Size": 745700000u64,
            "RootFS": {"Type": "layers", "Layers": ["sha256:a", "sha256:b"]},
            "Config": {"User": ""}
        });
        assert_eq!(facts_from_inspect(&v), (745_700_000, 2, "root".into()));
        let v =
            serde_json::json!({"Size": 1, "RootFS": {"Layers": []}, "Config": {"User": "65532"}});
        assert_eq!(facts_from_inspect(&v), (1, 0, "65532".into()));
        assert_eq!(
            facts_from_inspect(&serde_json::json!({})),
            (0, 0, "root".into())
        );
    }
}
