//! Smoke tests: what `--probe` and `--run` ask for, and running them on both images.

use super::docker::{container_state, logs_tail, tail, Cleanup, Docker};
use super::http::http_get;
use super::{Answer, Progress, Smoke, VerifyArgs};
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokeSpec {
    Probe { port: u16, path: String },
    Run { args: Vec<String> },
}

/// Parses `http://:PORT/PATH` (a host, when given, must be empty, `localhost` or `127.0.0.1`:
/// the container's port is published on loopback).
pub fn parse_probe(spec: &str) -> Result<SmokeSpec, String> {
    let bad = |why: &str| format!("invalid --probe `{spec}`: {why} (expected http://:PORT/PATH)");
    let rest = spec
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// is supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if !matches!(host, "" | "localhost" | "127.0.0.1") {
        return Err(bad(
            "the host must be empty: the container is probed on 127.0.0.1",
        ));
    }
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the path contains whitespace"));
    }
    Ok(SmokeSpec::Probe {
        port,
        path: path.to_string(),
    })
}

/// A `--run` command as argv, read with the model's shell reader (`model::shell::argv`).
pub use crate::model::shell::argv as split_words;

/// Joins words back into a command line a POSIX shell would split the same way.
pub fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn smoke_spec(args: &VerifyArgs) -> Result<Option<SmokeSpec>, String> {
    match (&args.probe, &args.run) {
        (Some(_), Some(_)) => Err("--probe and --run cannot be used together".into()),
        (Some(p), None) => parse_probe(p).map(Some),
        (None, Some(r)) => {
            let words = split_words(r).map_err(|e| format!("invalid --run `{r}`: {e}"))?;
            Ok(Some(SmokeSpec::Run { args: words }))
        }
        (None, None) => Ok(None),
    }
}

/// Two answers agree when both answered with the same code and output.
pub fn answers_agree(a: &Answer, b: &Answer) -> bool {
    a.code.is_some() && a.error.is_none() && b.error.is_none() && a == b
}

pub(super) fn run_smoke(
    docker: &Docker,
    spec: &SmokeSpec,
    base_tag: &str,
    timeout: u64,
    cleanup: &mut Cleanup,
    progress: &Progress,
    shown: &str,
) -> Smoke {
    let timeout = Duration::from_secs(timeout.max(1));
    let mut answers = Vec::new();
    for side in ["before", "after"] {
        let image = format!("{base_tag}:{side}");
        let name = format!("{}-{side}", base_tag.replace(':', "-"));
        progress.say(&format!("{shown}: smoke test on {side} ..."));
        let a = match spec {
            SmokeSpec::Probe { port, path } => {
                probe_one(docker, &image, &name, *port, path, timeout, cleanup)
            }
            SmokeSpec::Run { args } => run_one(docker, &image, &name, args, timeout, cleanup),
        };
        answers.push(a);
    }
    let after = answers.pop().unwrap_or_default();
    let before = answers.pop().unwrap_or_default();
    let same = answers_agree(&before, &after);
    let (kind, what) = match spec {
        SmokeSpec::Probe { port, path } => ("probe", format!("GET :{port}{path}")),
        SmokeSpec::Run { args } => ("run", shell_join(args)),
    };
    Smoke {
        kind,
        what,
        before,
        after,
        same,
    }
}

fn probe_one(
    docker: &Docker,
    image: &str,
    name: &str,
    port: u16,
    path: &str,
    timeout: Duration,
    cleanup: &mut Cleanup,
) -> Answer {
    let publish = format!("127.0.0.1::{port}");
    let mut run_args = vec!["run", "-d", "--name", name, "-p", &publish];
    run_args.extend(super::docker::CONTAINER_LIMITS);
    run_args.extend(["--", image]);
    let started = docker.run(run_args);
    cleanup.containers.push(name.to_string());
    match started {
        Ok(o) if o.ok() => {}
        Ok(o) => return Answer::failed(format!("docker run failed: {}", o.stderr_tail(3))),
        Err(e) => return Answer::failed(e),
    }
    let host_port = match docker.run(["port", name, &format!("{port}/tcp")]) {
        Ok(o) if o.ok() => o
            .stdout_text()
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse::<u16>().ok()),
        _ => None,
    };
    let Some(host_port) = host_port else {
        return Answer::failed(format!("no host port published for {port}/tcp"));
    };
    let deadline = Instant::now() + timeout;
    let mut last_err = String::from("no answer");
    let mut tries = 0u32;
    while Instant::now() < deadline {
        match http_get(host_port, path, Duration::from_secs(5)) {
            Ok((status, body)) => {
                docker.rm_container(name);
                return Answer {
                    code: Some(status),
                    output: String::from_utf8_lossy(&body).to_string(),
                    error: None,
                };
            }
            Err(e) => last_err = e,
        }
        tries += 1;
        if tries % 4 == 0 {
            if let Some((false, code)) = container_state(docker, name) {
                let logs = logs_tail(docker, name);
                docker.rm_container(name);
                return Answer::failed(format!("container exited with code {code}: {logs}"));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let logs = logs_tail(docker, name);
    docker.rm_container(name);
    Answer::failed(format!(
        "no answer within {}s ({last_err}); logs: {logs}",
        timeout.as_secs()
    ))
}

fn run_one(
    docker: &Docker,
    image: &str,
    name: &str,
    args: &[String],
    timeout: Duration,
    cleanup: &mut Cleanup,
) -> Answer {
    cleanup.containers.push(name.to_string());
    let child = docker
        .cmd()
        .args([
            "run",
            "--rm",
            "--name",
            name,
            "--network",
            &docker.build_network,
        ])
        .args(super::docker::CONTAINER_LIMITS)
        .args(["--", image])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Answer::failed(format!("cannot run {}: {e}", docker.bin.display())),
    };
    // read both pipes on threads so a chatty container cannot block on a full pipe
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = so.as_mut() {
            let _ = s.read_to_end(&mut b);
        }
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = se.as_mut() {
            let _ = s.read_to_end(&mut b);
        }
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                docker.rm_container(name);
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => break None,
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    match status {
        Some(st) => {
            let code = st.code();
            // 125: the docker client itself failed (not the container's code)
            if code == Some(125) {
                return Answer::failed(format!(
                    "docker run failed: {}",
                    tail(&String::from_utf8_lossy(&stderr), 3)
                ));
            }
            Answer {
                code,
                output: String::from_utf8_lossy(&stdout).to_string(),
                error: None,
            }
        }
        None => Answer::failed(format!("did not finish within {}s", timeout.as_secs())),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: i32, out: &str) -> Answer {
        Answer {
            code: Some(code),
            output: out.into(),
            error: None,
        }
    }

    #[test]
    fn probe_specs() {
        assert_eq!(
            parse_probe("http://:3000/"),
            Ok(SmokeSpec::Probe {
                port: 3000,
                path: "/".into()
            })
        );
        assert_eq!(
            parse_probe("http://:8080"),
            Ok(SmokeSpec::Probe {
                port: 8080,
                path: "/".into()
            })
        );
        assert_eq!(
            parse_probe("http://localhost:8000/a/b?c=1"),
            Ok(SmokeSpec::Probe {
                port: 8000,
                path: "/a/b?c=1".into()
            })
        );
        for bad in [
            "https://:3000/",
            ":3000/",
            "http://example.com:3000/",
            "http://:x/",
            "http://:0/",
            "http://:70000/",
            "http:///",
            "http://:3000/a b",
            "",
        ] {
            let e = parse_probe(bad);
            assert!(e.is_err(), "{bad} should be refused");
            assert!(e.unwrap_err().contains("expected http://:PORT/PATH"));
        }
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words("node -e 'console.log(1)'").unwrap(),
            ["node", "-e", "console.log(1)"]
        );
        assert_eq!(split_words(r#"a "b c" d\ e"#).unwrap(), ["a", "b c", "d e"]);
        assert_eq!(split_words(r#""x\"y" ''"#).unwrap(), ["x\"y", ""]);
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("end\\").is_err());
        for line in ["python -c 'print(6 * 7)'", "a 'it'\\''s' '' b=c"] {
            let w = split_words(line).unwrap();
            assert_eq!(split_words(&shell_join(&w)).unwrap(), w);
        }
        assert_eq!(
            shell_join(&split_words("python -c 'print(1)'").unwrap()),
            "python -c 'print(1)'"
        );
    }

    #[test]
    fn smoke_arguments() {
        let mut a = VerifyArgs {
            paths: vec!["Dockerfile".into()],
            ..Default::default()
        };
        assert_eq!(smoke_spec(&a), Ok(None));
        a.run = Some("--version".into());
        assert_eq!(
            smoke_spec(&a),
            Ok(Some(SmokeSpec::Run {
                args: vec!["--version".into()]
            }))
        );
        a.probe = Some("http://:1/".into());
        assert!(smoke_spec(&a).is_err());
        a.run = None;
        a.probe = Some("ftp://x".into());
        assert!(smoke_spec(&a).is_err());
    }

    #[test]
    fn comparing_answers() {
        assert!(answers_agree(&answer(200, "a"), &answer(200, "a")));
        assert!(!answers_agree(&answer(200, "a"), &answer(200, "b")));
        assert!(!answers_agree(&answer(200, "a"), &answer(500, "a")));
        let none = Answer {
            code: None,
            output: String::new(),
            error: Some("timeout".into()),
        };
        assert!(!answers_agree(&none, &none));
        assert!(!answers_agree(&answer(0, ""), &none));
    }
}
