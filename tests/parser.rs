//! Parser tests: every fixture under `tests/fixtures/parser/` is parsed and dumped (instructions,
//! lines, flags, forms, heredocs with their source text, or the error with its line:col) into an insta
//! snapshot under `snapshots/`; a few cases whose bytes an editor or git could change (CRLF, BOM, no
//! final newline) are written inline. A property test then checks, on generated Dockerfile-like
//! text, that parsing never panics and that the spans it returns tile the source exactly. Inline
//! cases cover the files BuildKit's parser accepts but its build refuses (`RUNN x`, a bare `ENV`,
//! `FROM x AS`), which dfopt refuses too.

use dfopt::syntax::{Dockerfile, Form, LineKind, Span};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// The syntax tree as BuildKit's parser sees it: the snapshots show how lines split into
/// instructions, so the checks the build adds (covered by `refuses_what_the_build_rejects`) are left
/// out here.
fn dump(source: &str) -> String {
    let doc = match Dockerfile::parse_without_build_checks(source) {
        Ok(doc) => doc,
        Err(e) => return format!("ERROR {}:{}: {}\n", e.line, e.col, e.message),
    };
    let mut out = String::new();
    let t = |s: Span| format!("{:?}", doc.text(s));
    let _ = writeln!(
        out,
        "escape {:?} | bom {} | newline {:?}",
        doc.escape,
        doc.has_bom,
        doc.newline()
    );
    for d in &doc.directives {
        let _ = writeln!(
            out,
            "directive line {}: {} = {:?} (source {})",
            d.line,
            d.name,
            d.value,
            t(d.span)
        );
    }
    for ins in &doc.instructions {
        let _ = writeln!(
            out,
            "\n[{}-{}] {}",
            ins.start_line,
            ins.end_line,
            t(ins.span)
        );
        for (label, c) in std::iter::once(("command", &ins.command))
            .chain(ins.trigger.as_deref().map(|c| ("trigger", c)))
        {
            let form = match &c.form {
                Form::Empty => "empty".to_string(),
                Form::Shell => "shell".to_string(),
                Form::Exec(v) => format!("exec {v:?}"),
            };
            let _ = writeln!(
                out,
                "  {label}: {:?} ({:?}) form {form} args {:?}",
                c.keyword, c.kind, c.args
            );
            let _ = writeln!(out, "    args source {}", t(c.args_span));
            for f in &c.flags {
                let _ = writeln!(
                    out,
                    "    flag {:?} name {:?} value {:?} source {}",
                    f.text,
                    f.name(),
                    f.value(),
                    t(f.span)
                );
            }
        }
        for h in &ins.heredocs {
            let _ = writeln!(
                out,
                "  heredoc {:?} chomp {} expand {} fd {:?} body {} terminator {}",
                h.name,
                h.chomp,
                h.expand,
                h.fd,
                t(h.body),
                t(h.terminator)
            );
        }
        for l in &ins.lines {
            let kind = match l.kind {
                LineKind::Code { content, continued } => {
                    format!("code {}{}", t(content), if continued { " +" } else { "" })
                }
                LineKind::Comment => "comment".into(),
                LineKind::Blank => "blank".into(),
            };
            let _ = writeln!(out, "  line {} {kind}", t(l.span));
        }
    }
    out
}

fn snapshot(name: &str, source: &str) {
    let mut body = dump(source);
    if let Ok(doc) = Dockerfile::parse_without_build_checks(source) {
        assert_tiles(&doc);
        body.push('\n');
    }
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => true}, {
        insta::assert_snapshot!(name, body);
    });
}

#[test]
fn fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parser");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "Dockerfile"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "fixtures missing: {}", names.len());
    for path in names {
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("fixture name")
            .to_string();
        snapshot(&name, &source);
    }
}

#[test]
fn crlf_bom_and_no_final_newline() {
    snapshot(
        "inline_crlf",
        "FROM alpine\r\nRUN echo a \\\r\n  && echo b\r\nRUN <<EOF\r\nbody\r\nEOF\r\nCMD [\"sh\"]\r\n",
    );
    snapshot(
        "inline_bom_directive",
        "\u{feff}# escape=`\nFROM alpine\nRUN echo `\n  hi\n",
    );
    snapshot("inline_no_final_newline", "FROM alpine\nRUN echo a \\\n  b");
    snapshot("inline_cr_cr_lf", "FROM alpine\r\r\nRUN x\r\r\n");
    snapshot(
        "inline_unicode_spaces",
        "FROM alpine\nRUN\u{a0}echo\u{2003}<<EOF\nx\nEOF\nCOPY --from=a\u{85}/x /y\n",
    );
}

#[test]
fn lone_continuations_give_empty_spans() {
    // Found by the property below: an instruction made only of continuation characters.
    for src in [
        "\\\n\\",
        "FROM a\n\\\n\\",
        "FROM a\n`\n",
        "# escape=`\n`\n`",
    ] {
        if let Ok(doc) = Dockerfile::parse_without_build_checks(src) {
            assert_tiles(&doc);
        }
    }
}

#[test]
fn error_positions() {
    let cases = [
        ("FROM a\nRUN <<EOF\nx\n", (2, 1)),
        ("FROM a\n\nENV x\n", (3, 1)),
        ("FROM a\nCMD [\"a\", 1]\n", (2, 1)),
        ("", (1, 1)),
        ("# escape=`\n# escape=\\\nFROM a\n", (2, 1)),
        ("FROM a\nRUN a\0b\n", (2, 6)),
    ];
    for (src, pos) in cases {
        let e = Dockerfile::parse(src).expect_err(src);
        assert_eq!((e.line, e.col), pos, "{src:?}: {}", e.message);
    }
    let long = format!("FROM a\nRUN {}\n", "x".repeat(70_000));
    let e = Dockerfile::parse(&long).expect_err("line too long");
    assert_eq!((e.line, e.col), (2, 1));
}

/// BuildKit's parser accepts these, but `instructions.Parse` fails every build of them before
/// anything runs (frontend/dockerfile/instructions/parse.go), so dfopt must refuse them too, at the
/// instruction's first line.
#[test]
fn refuses_what_the_build_rejects() {
    let cases = [
        ("FROM a\nRUNN x\n", (2, 1), "unknown instruction: RUNN"),
        (
            "FROM a\nrunn x \\\n  y\n",
            (2, 1),
            "unknown instruction: runn",
        ),
        // A `\` continuation in a file whose escape is a backtick: the next line stands alone.
        (
            "# escape=`\nFROM a\nRUN echo \\\n  && x\n",
            (4, 1),
            "unknown instruction: &&",
        ),
        // A line that only a heredoc-capable instruction would have taken as a heredoc body.
        (
            "FROM a\nUSER <<INVALID\nINVALID\n",
            (3, 1),
            "unknown instruction: INVALID",
        ),
        (
            "FROM a\nENV\n",
            (2, 1),
            "ENV requires at least one argument",
        ),
        (
            "FROM a\nENV \\\n\n",
            (2, 1),
            "ENV requires at least one argument",
        ),
        (
            "FROM a\nlabel\n",
            (2, 1),
            "LABEL requires at least one argument",
        ),
        (
            "FROM a AS\n",
            (1, 1),
            "FROM requires either one or three arguments",
        ),
        (
            "FROM\n",
            (1, 1),
            "FROM requires either one or three arguments",
        ),
        (
            "FROM --platform=linux/amd64\n",
            (1, 1),
            "FROM requires either one or three arguments",
        ),
        (
            "FROM a b c\n",
            (1, 1),
            "FROM requires either one or three arguments",
        ),
        (
            "FROM a AS b c\n",
            (1, 1),
            "FROM requires either one or three arguments",
        ),
        (
            "FROM a\nRUN x\nFROM b AS 1st\n",
            (3, 1),
            "invalid name for build stage: \"1st\"",
        ),
        ("FROM a AS b$c\n", (1, 1), "invalid name for build stage"),
        // The first bad instruction is the one reported.
        ("FROM a\nENV\nRUNN x\n", (2, 1), "ENV requires"),
        // BuildKit's parser reads the whole file first: its errors win over these, wherever they are.
        (
            "FROM a\nRUNN x\nRUN <<EOF\n",
            (3, 1),
            "unterminated heredoc",
        ),
    ];
    for (src, pos, message) in cases {
        let e = Dockerfile::parse(src).expect_err(src);
        assert_eq!((e.line, e.col), pos, "{src:?}: {}", e.message);
        assert!(e.message.contains(message), "{src:?}: {}", e.message);
        // The syntax tree itself is fine: only the build refuses it.
        if !message.starts_with("unterminated") {
            assert!(
                Dockerfile::parse_without_build_checks(src).is_ok(),
                "{src:?}"
            );
        }
    }
}

/// What the build accepts around those cases: an ONBUILD trigger is only parsed when the image is
/// used as a base, stage names are case-insensitive, and flags are not FROM arguments.
#[test]
fn accepts_what_the_build_accepts() {
    for src in [
        "FROM a\nONBUILD RUNN x\n",
        "FROM a AS Build-1.x_y\n",
        "FROM a as b\nFROM b aS c\n",
        "FROM --platform=linux/amd64 a AS b\n",
        "FROM a\nENV a=1\nENV a 1\nLABEL a=b\n",
    ] {
        if let Err(e) = Dockerfile::parse(src) {
            panic!("{src:?}: {e}");
        }
    }
}

/// Walks the source in order: the gaps between instructions hold only trivia (blank lines, comments,
/// directives, a BOM), and each instruction's physical lines, line endings, heredoc bodies and
/// terminators follow one another with no gap or overlap. Concatenating every piece gives back the
/// source byte for byte.
fn assert_tiles(doc: &Dockerfile) {
    let src = doc.source.as_str();
    let valid = |s: Span| {
        s.start <= s.end
            && s.end <= src.len()
            && src.is_char_boundary(s.start)
            && src.is_char_boundary(s.end)
    };
    let mut rendered = String::with_capacity(src.len());
    let mut pos = 0usize;
    let eol_end = |from: usize| {
        let b = src.as_bytes();
        let mut i = from;
        while i < b.len() && b[i] == b'\r' {
            i += 1;
        }
        if i < b.len() && b[i] == b'\n' {
            i + 1
        } else if i == b.len() {
            i
        } else {
            from
        }
    };
    let take = |rendered: &mut String, pos: &mut usize, s: Span, what: &str| {
        assert!(valid(s), "{what}: bad span {s:?}");
        assert_eq!(s.start, *pos, "{what}: gap or overlap at {s:?}");
        rendered.push_str(&src[s.start..s.end]);
        *pos = s.end;
    };
    for ins in &doc.instructions {
        assert!(ins.line_start >= pos, "instructions out of order");
        let gap = &src[pos..ins.line_start];
        for line in gap.trim_start_matches('\u{feff}').split('\n') {
            let l = line.trim_start();
            assert!(
                l.is_empty() || l.starts_with('#'),
                "non-trivia between instructions: {line:?}"
            );
        }
        rendered.push_str(gap);
        pos = ins.line_start;
        assert!(valid(ins.span) && ins.span.start >= ins.line_start);
        assert!(ins.span.end <= ins.full_end && ins.full_end <= src.len());
        assert!(ins.start_line <= ins.end_line);
        for c in std::iter::once(&ins.command).chain(ins.trigger.as_deref()) {
            assert!(valid(c.keyword_span) && valid(c.args_span));
            assert!(c.keyword_span.start >= ins.span.start && c.args_span.end <= ins.span.end);
            for f in &c.flags {
                assert!(valid(f.span) && f.span.start >= ins.span.start);
            }
        }
        for line in &ins.lines {
            take(&mut rendered, &mut pos, line.span, "physical line");
            let end = eol_end(pos);
            rendered.push_str(&src[pos..end]);
            pos = end;
        }
        for h in &ins.heredocs {
            take(&mut rendered, &mut pos, h.body, "heredoc body");
            take(&mut rendered, &mut pos, h.terminator, "heredoc terminator");
            let end = eol_end(pos);
            rendered.push_str(&src[pos..end]);
            pos = end;
        }
        assert_eq!(pos, ins.full_end, "instruction does not end at full_end");
    }
    let tail = &src[pos..];
    for line in tail.split('\n') {
        let l = line.trim_start();
        assert!(
            l.is_empty() || l.starts_with('#'),
            "non-trivia after the last instruction: {line:?}"
        );
    }
    rendered.push_str(tail);
    assert_eq!(rendered, src, "re-rendering does not reproduce the source");
}

/// Pieces Dockerfiles are made of, with the awkward cases over-represented.
fn piece() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "FROM",
        "from",
        "RUN",
        "Run",
        "COPY",
        "ADD",
        "ENV",
        "LABEL",
        "ARG",
        "CMD",
        "ENTRYPOINT",
        "ONBUILD",
        "HEALTHCHECK",
        "SHELL",
        "VOLUME",
        "WORKDIR",
        "USER",
        "EXPOSE",
        "FOO",
        " ",
        "  ",
        "\t",
        "\n",
        "\n",
        "\n",
        "\r\n",
        "\r",
        "\\",
        "\\\n",
        "\\ \n",
        "`",
        "`\n",
        "#",
        "# c\n",
        "# escape=`\n",
        "# syntax=x\n",
        "# check=skip=all\n",
        "<<EOF",
        "<<-EOF",
        "<<'EOF'",
        "<<\"E F\"",
        "3<<EOF",
        "EOF",
        "\tEOF",
        "\nEOF\n",
        "--mount=type=cache,target=/x",
        "--link",
        "--from=a",
        "--chown=\"a b\"",
        "--",
        "[\"a\", \"b\"]",
        "[1]",
        "[\"a\"",
        "[\"\\ud800\"]",
        "[]",
        "a=b",
        "x=\"y z\"",
        "${A}",
        "${A:-b c}",
        "${",
        "$",
        "'",
        "\"",
        "\u{feff}",
        "\u{a0}",
        "\u{85}",
        "\u{2003}",
        "é",
        "日本",
        "\u{b}",
        "\u{c}",
        "NONE",
    ]);
    prop_oneof![
        8 => fixed.prop_map(str::to_string),
        1 => "[ -~]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().filter(|&c| c != '\0').take(6).collect()),
    ]
}

fn dockerfile_like() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..60).prop_map(|v| v.concat())
}

proptest! {
    // 2,000 cases by default; PROPTEST_CASES=N overrides for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn parse_never_panics_and_spans_tile_the_source(src in dockerfile_like()) {
        // The tree is checked without the build's checks, which most generated text fails (a line
        // that starts with no keyword is an unknown instruction) and which add no spans.
        let tree = Dockerfile::parse_without_build_checks(&src);
        if let Ok(doc) = &tree {
            prop_assert_eq!(&doc.source, &src);
            assert_tiles(doc);
        }
        // `parse` refuses a superset of what BuildKit's parser refuses, with the same error there.
        match (tree, Dockerfile::parse(&src)) {
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (Err(a), Ok(_)) => prop_assert!(false, "parse accepts what the parser refuses: {a}"),
            (Ok(a), Ok(b)) => prop_assert_eq!(a.instructions, b.instructions),
            (Ok(_), Err(_)) => {}
        }
    }

    #[test]
    fn parse_prefixed_valid_file(body in dockerfile_like()) {
        // With a valid first instruction most inputs parse, so the tiling check sees real work.
        let src = format!("FROM alpine\n{body}");
        if let Ok(doc) = Dockerfile::parse_without_build_checks(&src) {
            assert_tiles(&doc);
        }
    }
}
