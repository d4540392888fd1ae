//! Crash safety of `dfopt fix --write` (issue 6): a run killed with SIGKILL in the middle of a
//! monorepo leaves every file either untouched or fully rewritten, and the next run leaves no
//! temporary file (`.dfopt-tmp-*`) behind.
//!
//! The default run uses 2,000 files; `DFOPT_SLOW=1` runs the 10,000-file variant the issue asks for.
//! The files are written here from small templates (no corpus file is copied).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

const TEMP_PREFIX: &str = ".dfopt-tmp-";

/// A tiny deterministic generator (xorshift) so the tree is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PKGS: &[&str] = &[
    "curl",
    "git",
    "ca-certificates",
    "jq",
    "unzip",
    "wget",
    "tzdata",
];

fn dockerfile(r: &mut Rng) -> String {
    let a = r.pick(PKGS);
    let b = r.pick(PKGS);
    let mut s = match r.below(8) {
        0 | 1 => format!(
            "FROM debian:bookworm-slim\nRUN apt-get update\n# tools\nRUN apt-get install -y {a} {b}\n\
             RUN rm -rf /var/lib/apt/lists/*\nCOPY . /app\nCMD [\"/app/run\"]\n"
        ),
        2 => format!(
            "FROM alpine:3.19\nRUN apk add --no-cache {a}\nRUN apk add --no-cache {b}\n\n\
             RUN adduser -D app\nUSER app\n"
        ),
        3 => "FROM node:20 AS build\nWORKDIR /src\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n\
              RUN npm run build\nRUN npm prune --production\n\nFROM gcr.io/distroless/nodejs20-debian12\n\
              COPY --from=build /src /app\nCMD [\"/app/server.js\"]\n"
            .into(),
        4 => "FROM gcr.io/distroless/static-debian12\nCOPY app /app\nENTRYPOINT [\"/app\"]\n".into(),
        5 => format!(
            "FROM python:3.12-slim\nRUN pip install --no-cache-dir {a}\nRUN pip install flask\n\
             # hadolint ignore=DL3059\nRUN cd /opt && touch marker\nRUN echo done\n"
        ),
        6 => "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n\
              SHELL [\"powershell\", \"-Command\"]\nRUN New-Item -ItemType Directory C:\\data\n\
              RUN Write-Host done\n"
            .into(),
        _ => format!(
            "# syntax=docker/dockerfile:1\nFROM ubuntu:22.04\nRUN <<EOF\napt-get update\nEOF\n\
             RUN echo {a} \\\n    && echo {b}\nRUN echo one\n# dfopt: ignore=chain-runs\n\
             RUN echo separate\nRUN echo two\n"
        ),
    };
    if r.below(20) == 0 {
        s = s.replace('\n', "\r\n");
    }
    s
}

/// `n` Dockerfiles in nested service folders: relative path → content.
fn generate(n: usize) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let names = [
        "Dockerfile",
        "Dockerfile.dev",
        "api.Dockerfile",
        "Containerfile",
    ];
    let mut out = BTreeMap::new();
    for i in 0..n {
        let rel = PathBuf::from(format!(
            "services/team-{}/svc-{}/{}",
            i % 13,
            i / 4,
            names[i % names.len()]
        ));
        out.insert(rel, dockerfile(&mut r).into_bytes());
    }
    out
}

/// Every file under `root` (hidden ones included), relative path → content.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                go(root, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    go(root, root, &mut out);
    out
}

fn is_temp(p: &Path) -> bool {
    p.file_name()
        .map(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
        .unwrap_or(false)
}

fn fix_write(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dfopt"))
        .args(["fix", "--write"])
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn sigkill_mid_write_leaves_files_whole_and_next_run_cleans_temp_files() {
    let slow = std::env::var_os("DFOPT_SLOW").is_some();
    let n: usize = if slow { 10_000 } else { 2_000 };
    let start = Instant::now();
    // The quick variant runs in memory (tmpfs) when it can: creating files on a busy disk costs
    // ~1.5 ms each, and a rename is just as atomic there against a killed process. The slow variant
    // uses the real temporary folder (TMPDIR), fsync and all.
    let shm = Path::new("/dev/shm");
    let tmp = if !slow && shm.is_dir() {
        tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let expected = tmp.path().join("expected");
    let victim = tmp.path().join("victim");
    let originals = generate(n);
    for d in [&expected, &victim] {
        for (rel, text) in &originals {
            let p = d.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, text).unwrap();
        }
    }
    let files: Vec<&PathBuf> = originals.keys().collect();

    eprintln!("crash_safety: trees written in {:?}", start.elapsed());
    // The fully rewritten version: one uninterrupted run on its own copy.
    let t = Instant::now();
    let full = fix_write(&expected);
    let full_time = t.elapsed();
    assert_ne!(
        full.status.code(),
        Some(101),
        "dfopt panicked: {}",
        String::from_utf8_lossy(&full.stderr)
    );
    let before = originals.clone();
    let after = snapshot(&expected);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "a full run added or removed files"
    );
    let rewritten = files.iter().filter(|f| before[**f] != after[**f]).count();
    assert!(
        rewritten > n / 2,
        "only {rewritten} of {n} files change: the test would prove little"
    );

    // The run we kill: SIGKILL as soon as the first `fixed …` line shows on stderr.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dfopt"))
        .args(["fix", "--write"])
        .arg(&victim)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && line.starts_with("fixed ") {
                let _ = tx.send(());
                sent = true;
            }
        }
    });
    // Output comes in batches of files, so the first line shows once a batch is written; if none
    // shows within the time of a full run, kill anyway (the check below says whether it still ran).
    let _ = rx.recv_timeout(full_time);
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    let _ = reader.join();
    assert!(
        still_running,
        "dfopt finished ({status}) before it could be killed: nothing was tested; use more files"
    );

    let mid = snapshot(&victim);
    let (mut untouched, mut whole, mut temps) = (0usize, 0usize, 0usize);
    let mut torn = Vec::new();
    for (rel, content) in &mid {
        if is_temp(rel) {
            temps += 1;
            continue;
        }
        match (before.get(rel), after.get(rel)) {
            (Some(b), _) if b == content => untouched += 1,
            (_, Some(a)) if a == content => whole += 1,
            (None, _) => torn.push(format!("{} (unexpected file)", rel.display())),
            _ => torn.push(rel.display().to_string()),
        }
    }
    for rel in before.keys() {
        if !mid.contains_key(rel) {
            torn.push(format!("{} (missing)", rel.display()));
        }
    }
    eprintln!(
        "crash_safety: {n} files, full run {full_time:?}, {rewritten} rewritten by it; killed mid-run: \
         {untouched} untouched (or unchanged by the fix), {whole} rewritten, {temps} temporary files left"
    );
    assert!(
        torn.is_empty(),
        "{} files are neither the original nor the full rewrite: {:?}",
        torn.len(),
        &torn[..torn.len().min(10)]
    );
    assert!(
        mid != before,
        "the killed run had not written anything yet: nothing was tested"
    );

    // A crash can leave a temporary file in any folder; plant two more, as a killed run would.
    for (i, rel) in [files[0], files[n - 1]].into_iter().enumerate() {
        let dir = victim.join(rel).parent().unwrap().to_path_buf();
        fs::write(
            dir.join(format!("{TEMP_PREFIX}4294967294-plant{i}")),
            "partial",
        )
        .unwrap();
    }

    // The next full run completes the job and removes every stale temporary file.
    let t = Instant::now();
    let second = fix_write(&victim);
    eprintln!(
        "crash_safety: second run {:?}, total {:?}",
        t.elapsed(),
        start.elapsed()
    );
    assert_ne!(
        second.status.code(),
        Some(101),
        "dfopt panicked: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let end = snapshot(&victim);
    let left: Vec<_> = end.keys().filter(|p| is_temp(p)).collect();
    let wrong: Vec<_> = after
        .iter()
        .filter(|(rel, a)| end.get(*rel) != Some(*a))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        wrong.is_empty(),
        "after the second run {} files differ from the full rewrite: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert!(
        left.is_empty(),
        "the second run left {} temporary files behind (remove_stale_temp_files is not called \
         on the walk?): {:?}",
        left.len(),
        &left[..left.len().min(10)]
    );
}
