//! Property test for the hygiene passes' shell reader (`dfopt::model::script::parse`): scripts are
//! generated from a small grammar (lists, `if`, `for`, `while`, `case`, function bodies, subshells,
//! groups) together with the simple commands they contain and the nesting depth of each. The reader
//! must find exactly those commands, in order, at those depths, and every word must point at its
//! own text. (It found that a command right after `then if` was given the outer depth.)

use dfopt::model::script;
use proptest::prelude::*;

/// A generated script and the (command line, depth) pairs it contains.
#[derive(Debug, Clone)]
struct Gen {
    text: String,
    cmds: Vec<(String, usize)>,
}

const SIMPLE: &[&str] = &[
    "apt-get install -y curl",
    "apt-get update",
    "echo hi",
    "rm -rf /var/lib/apt/lists/*",
    "pip install --no-cache-dir flask",
    "apk add --no-cache git",
    "make -j4",
    "true",
];

fn simple() -> impl Strategy<Value = Gen> {
    prop::sample::select(SIMPLE).prop_map(|c| Gen {
        text: c.to_string(),
        cmds: vec![(c.to_string(), 0)],
    })
}

fn deeper(g: &Gen) -> Vec<(String, usize)> {
    g.cmds.iter().map(|(c, d)| (c.clone(), d + 1)).collect()
}

fn script() -> impl Strategy<Value = Gen> {
    simple().prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            // a list: a OP b
            (
                inner.clone(),
                prop::sample::select(&[" && ", "; ", " || ", " | ", "\n"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| Gen {
                    text: format!("{}{op}{}", a.text, b.text),
                    cmds: a.cmds.into_iter().chain(b.cmds).collect(),
                }),
            // if A; then B; else C; fi
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, b, c)| Gen {
                text: format!("if {}; then {}; else {}; fi", a.text, b.text, c.text),
                cmds: [deeper(&a), deeper(&b), deeper(&c)].concat(),
            }),
            // case WORD in p1|p2) A ;; (p3) B ;; *) C ;; esac
            (
                inner.clone(),
                inner.clone(),
                inner.clone(),
                prop::sample::select(&[";;", ";&", ";;&"][..])
            )
                .prop_map(|(a, b, c, t)| Gen {
                    text: format!(
                        "case \"$(uname -m)\" in amd64|arm64) {} {t} (i386) {} ;; *) {} ;; esac",
                        a.text, b.text, c.text
                    ),
                    cmds: [deeper(&a), deeper(&b), deeper(&c)].concat(),
                }),
            // for x in 1 2; do A; done and while A; do B; done
            inner.clone().prop_map(|a| Gen {
                text: format!("for x in 1 2; do {}; done", a.text),
                cmds: deeper(&a),
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Gen {
                text: format!("while {}; do {}; done", a.text, b.text),
                cmds: [deeper(&a), deeper(&b)].concat(),
            }),
            // f() { A; }; f
            inner.clone().prop_map(|a| Gen {
                text: format!("_f() {{ {}; }}; _f", a.text),
                cmds: [deeper(&a), vec![("_f".to_string(), 0)]].concat(),
            }),
            // ( A ) and { A; }
            inner.clone().prop_map(|a| Gen {
                text: format!("( {} )", a.text),
                cmds: deeper(&a),
            }),
            inner.clone().prop_map(|a| Gen {
                text: format!("{{ {}; }}", a.text),
                cmds: deeper(&a),
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn reader_finds_every_command_at_its_depth(g in script()) {
        let parsed = script::parse(&g.text);
        prop_assert!(parsed.is_some(), "not parsed: {}", g.text);
        let Some(s) = parsed else { return Ok(()) };
        let got: Vec<(String, usize)> = s.cmds.iter().map(|c| (c.line(), c.depth)).collect();
        prop_assert_eq!(&got, &g.cmds, "script: {}", g.text);
        for c in &s.cmds {
            for w in &c.words {
                prop_assert_eq!(g.text.get(w.start..w.end), Some(w.text.as_str()));
            }
        }
    }
}
