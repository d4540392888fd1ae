//! Rendering verify's reports: the side-by-side table and the JSON document.

use super::{exit_code, Answer, FileReport, ImageFacts, Verdict};
use serde::Serialize;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

fn short(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', "\\n").replace('\r', "\\r");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn answer_cell(a: &Answer, kind: &str) -> String {
    match (&a.error, a.code) {
        (Some(e), _) => format!("error: {}", short(e, 60)),
        (None, Some(code)) => {
            let label = if kind == "probe" { "HTTP" } else { "exit" };
            format!("{label} {code} \"{}\"", short(&a.output, 40))
        }
        (None, None) => "no answer".to_string(),
    }
}

/// The side-by-side table for one file.
pub fn render_table(r: &FileReport) -> String {
    let mut s = String::new();
    let fixes = if r.applied.is_empty() {
        "no fixes apply".to_string()
    } else {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for a in &r.applied {
            match counts.iter_mut().find(|(n, _)| n == a) {
                Some((_, c)) => *c += 1,
                None => counts.push((a, 1)),
            }
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(n, c)| {
                if *c > 1 {
                    format!("{n} x{c}")
                } else {
                    n.to_string()
                }
            })
            .collect();
        format!("fixes: {}", list.join(", "))
    };
    s.push_str(&format!("{}  ({fixes})\n", r.path));
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let b = r.before.as_ref();
    let a = r.after.as_ref();
    let cell = |f: Option<&ImageFacts>, g: &dyn Fn(&ImageFacts) -> String| {
        f.map(g).unwrap_or_else(|| "-".to_string())
    };
    let delta = match (b, a) {
        (Some(b), Some(a)) if b.size_bytes > 0 => {
            let d = (a.size_bytes as f64 - b.size_bytes as f64) / b.size_bytes as f64 * 100.0;
            format!("{d:+.1}%")
        }
        _ => String::new(),
    };
    rows.push((
        "size".into(),
        cell(b, &|f| mb(f.size_bytes)),
        cell(a, &|f| mb(f.size_bytes)),
        delta,
    ));
    let ldelta = match (b, a) {
        (Some(b), Some(a)) => format!("{:+}", a.layers as i64 - b.layers as i64),
        _ => String::new(),
    };
    rows.push((
        "layers".into(),
        cell(b, &|f| f.layers.to_string()),
        cell(a, &|f| f.layers.to_string()),
        ldelta,
    ));
    rows.push((
        "final base".into(),
        cell(b, &|f| f.base.clone()),
        cell(a, &|f| f.base.clone()),
        String::new(),
    ));
    rows.push((
        "shell".into(),
        cell(b, &|f| yes_no(f.shell).to_string()),
        cell(a, &|f| yes_no(f.shell).to_string()),
        String::new(),
    ));
    rows.push((
        "user".into(),
        cell(b, &|f| f.user.clone()),
        cell(a, &|f| f.user.clone()),
        String::new(),
    ));
    rows.push((
        "build time".into(),
        cell(b, &|f| format!("{:.1} s", f.build_seconds)),
        cell(a, &|f| format!("{:.1} s", f.build_seconds)),
        String::new(),
    ));
    if let Some(sm) = &r.smoke {
        rows.push((
            format!("{} {}", sm.kind, sm.what),
            answer_cell(&sm.before, sm.kind),
            answer_cell(&sm.after, sm.kind),
            if sm.same { "same" } else { "DIFFERENT" }.to_string(),
        ));
    }
    // Column widths: the widest cell, and at least the header's width.
    let width = |cell: fn(&(String, String, String, String)) -> &String, header: usize| {
        rows.iter()
            .map(|r| cell(r).chars().count())
            .max()
            .unwrap_or(0)
            .max(header)
    };
    let w0 = width(|r| &r.0, 4);
    let w1 = width(|r| &r.1, 6);
    let w2 = width(|r| &r.2, 5);
    let line = |c0: &str, c1: &str, c2: &str, c3: &str| {
        let l = format!("  {c0:<w0$}  {c1:<w1$}  {c2:<w2$}  {c3}");
        format!("{}\n", l.trim_end())
    };
    s.push_str(&line("", "before", "after", ""));
    for (c0, c1, c2, c3) in &rows {
        s.push_str(&line(c0, c1, c2, c3));
    }
    if let Some(e) = &r.error {
        for l in e.lines() {
            s.push_str(&format!("  | {l}\n"));
        }
    }
    let verdict = match r.verdict {
        Verdict::Same if r.smoke.is_some() => "both build and answer the same",
        Verdict::Same => "both build (no smoke test asked: use --probe or --run)",
        Verdict::Differ => "DIFFERENT",
        Verdict::Error => "error",
    };
    s.push_str(&format!("  verdict: {verdict}\n"));
    s
}

/// The JSON document for all files.
pub fn render_json(reports: &[FileReport]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        files: &'a [FileReport],
        exit_code: i32,
    }
    let doc = Doc {
        files: reports,
        exit_code: exit_code(reports),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{error_report, Smoke};

    fn facts(size: u64, layers: usize, base: &str, shell: Option<bool>, user: &str) -> ImageFacts {
        ImageFacts {
            tag: "t".into(),
            size_bytes: size,
            layers,
            base: base.into(),
            shell,
            user: user.into(),
            build_seconds: 1.0,
        }
    }

    fn answer(code: i32, out: &str) -> Answer {
        Answer {
            code: Some(code),
            output: out.into(),
            error: None,
        }
    }

    fn sample(verdict: Verdict, same: bool) -> FileReport {
        FileReport {
            path: "tests/apps/node/Dockerfile".into(),
            changed: true,
            applied: vec!["chain-runs".into()],
            before: Some(facts(745_700_000, 12, "node:18", Some(true), "root")),
            after: Some(facts(
                116_200_000,
                8,
                "gcr.io/distroless/nodejs18-debian12",
                Some(false),
                "65532",
            )),
            smoke: Some(Smoke {
                kind: "probe",
                what: "GET :3000/".into(),
                before: answer(200, "Hello World!"),
                after: if same {
                    answer(200, "Hello World!")
                } else {
                    answer(500, "oops")
                },
                same,
            }),
            verdict,
            error: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn table_rendering() {
        let t = render_table(&sample(Verdict::Same, true));
        assert!(
            t.starts_with("tests/apps/node/Dockerfile  (fixes: chain-runs)\n"),
            "{t}"
        );
        assert!(t.contains("745.7 MB"), "{t}");
        assert!(t.contains("116.2 MB"), "{t}");
        assert!(t.contains("-84.4%"), "{t}");
        assert!(t.contains("-4"), "{t}");
        assert!(t.contains("gcr.io/distroless/nodejs18-debian12"), "{t}");
        assert!(t.contains("probe GET :3000/"), "{t}");
        assert!(t.contains("HTTP 200 \"Hello World!\""), "{t}");
        assert!(t.contains("verdict: both build and answer the same"), "{t}");
        assert!(t.lines().all(|l| l == l.trim_end()));
        let t = render_table(&sample(Verdict::Differ, false));
        assert!(t.contains("DIFFERENT"), "{t}");
        let mut e = error_report(
            "D".into(),
            "the original does not build:\nstep 3 failed".into(),
        );
        e.applied = vec![];
        let t = render_table(&e);
        assert!(t.contains("no fixes apply"), "{t}");
        assert!(t.contains("  | step 3 failed"), "{t}");
        assert!(t.contains("verdict: error"), "{t}");
    }

    #[test]
    fn json_rendering_and_exit_codes() {
        let same = sample(Verdict::Same, true);
        let differ = sample(Verdict::Differ, false);
        let err = error_report("X".into(), "boom".into());
        let j: serde_json::Value =
            serde_json::from_str(&render_json(std::slice::from_ref(&same))).unwrap();
        assert_eq!(j["exit_code"], 0);
        let f = &j["files"][0];
        assert_eq!(f["verdict"], "same");
        assert_eq!(f["before"]["size_bytes"], 745_700_000u64);
        assert_eq!(f["after"]["layers"], 8);
        assert_eq!(f["after"]["shell"], false);
        assert_eq!(f["after"]["user"], "65532");
        assert_eq!(f["smoke"]["kind"], "probe");
        assert_eq!(f["smoke"]["before"]["code"], 200);
        assert_eq!(f["smoke"]["same"], true);
        assert!(f.get("error").is_none());
        assert_eq!(exit_code(std::slice::from_ref(&same)), 0);
        assert_eq!(exit_code(&[same.clone(), differ.clone()]), 1);
        assert_eq!(exit_code(&[differ, err.clone(), same]), 2);
        let j: serde_json::Value = serde_json::from_str(&render_json(&[err])).unwrap();
        assert_eq!(j["files"][0]["error"], "boom");
        assert_eq!(j["exit_code"], 2);
    }
}
