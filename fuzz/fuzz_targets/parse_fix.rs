//! Fuzzes the parser and the fix engine on arbitrary bytes.
//!
//! For every input that decodes as a Dockerfile's text (`dfopt::write::decode`): parsing never panics,
//! every span the parser returns is in bounds and on char boundaries, and `fix_source` (default
//! settings, then every rule with unsafe fixes) never panics; when a fix succeeds its output parses
//! and fixing it again changes nothing (a fixed point).
//!
//! Run: `cargo +nightly fuzz run parse_fix fuzz/corpus/parse_fix tests/fixtures/parser`
//! from the repository root (see fuzz/README.md). `DFOPT_FUZZ_STRICT=1` also fails on the engine's
//! internal errors (a fix whose output does not parse, or fixes that never settle).
#![no_main]

use dfopt::config::Settings;
use dfopt::engine::{fix_source, FileError};
use dfopt::passes::Registry;
use dfopt::Dockerfile;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Setup {
    default: (Registry, Settings),
    unsafe_all: (Registry, Settings),
    strict: bool,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let default = Settings::default();
        let unsafe_all = Settings {
            select: Some(vec!["ALL".into()]),
            unsafe_fixes: true,
            ..Settings::default()
        };
        Setup {
            default: (Registry::new(&default).expect("registry"), default),
            unsafe_all: (Registry::new(&unsafe_all).expect("registry"), unsafe_all),
            strict: std::env::var_os("DFOPT_FUZZ_STRICT").is_some(),
        }
    })
}

fn check_spans(doc: &Dockerfile) {
    let src = &doc.source;
    let ok = |s: dfopt::syntax::Span| {
        s.start <= s.end
            && s.end <= src.len()
            && src.is_char_boundary(s.start)
            && src.is_char_boundary(s.end)
    };
    let mut prev_end = 0;
    for ins in &doc.instructions {
        assert!(ok(ins.span), "instruction span {:?}", ins.span);
        assert!(ins.line_start >= prev_end, "instructions overlap");
        assert!(ins.line_start <= ins.span.start && ins.span.end <= ins.full_end);
        assert!(ins.full_end <= src.len() && src.is_char_boundary(ins.full_end));
        assert!(ins.start_line <= ins.end_line);
        for c in std::iter::once(&ins.command).chain(ins.trigger.as_deref()) {
            assert!(ok(c.keyword_span) && ok(c.args_span));
            for f in &c.flags {
                assert!(ok(f.span), "flag span {:?}", f.span);
            }
        }
        for h in &ins.heredocs {
            assert!(ok(h.body) && ok(h.terminator));
        }
        for l in &ins.lines {
            assert!(ok(l.span), "line span {:?}", l.span);
        }
        prev_end = ins.full_end;
    }
}

fn fix_twice(text: &str, (registry, settings): &(Registry, Settings), strict: bool) {
    match fix_source(text, registry, settings, None) {
        Ok(out) => {
            let again = Dockerfile::parse(&out.fixed);
            assert!(
                again.is_ok(),
                "fixed output does not parse: {again:?}\n{}",
                out.fixed
            );
            match fix_source(&out.fixed, registry, settings, None) {
                Ok(second) => assert_eq!(
                    second.fixed, out.fixed,
                    "not a fixed point: fixing the output changed it again"
                ),
                Err(e) => {
                    if strict {
                        panic!("fixing the fixed output failed: {e}");
                    }
                }
            }
        }
        Err(FileError::Parse(_)) => {}
        Err(e @ FileError::Internal { .. }) => {
            if strict {
                panic!("engine internal error: {e}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dfopt::write::decode(data.to_vec()) else {
        return;
    };
    let s = setup();
    if let Ok(doc) = Dockerfile::parse(&text) {
        check_spans(&doc);
    } else {
        return;
    }
    fix_twice(&text, &s.default, s.strict);
    fix_twice(&text, &s.unsafe_all, s.strict);
});
