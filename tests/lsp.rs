//! `dfopt server` at the protocol level: the test spawns the binary and speaks JSON-RPC with
//! Content-Length framing over its standard input and output, as an editor does.

use dfopt::config::Settings;
use dfopt::passes::Registry;
use dfopt::server::{path_to_uri, LineIndex};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[path = "support/editor_samples.rs"]
mod editor_samples;
use editor_samples::{SEED, UNICODE};

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Notifications that arrived while waiting for something else, oldest first.
    backlog: Vec<Value>,
    next_id: i64,
}

impl Client {
    fn start(envs: &[(&str, &str)]) -> Client {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dfopt"));
        cmd.arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn dfopt server");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("Content-Length header")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let value: Value = serde_json::from_slice(&body).expect("server sent JSON");
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            backlog: Vec::new(),
            next_id: 1,
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to server");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let framed = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.send_raw(framed.as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self
                .incoming
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no response to {method}"));
            if message["id"] == json!(id) && message.get("method").is_none() {
                return message;
            }
            self.backlog.push(message);
        }
    }

    /// The next notification of `method` that satisfies `pred` (earlier ones that do not are
    /// dropped).
    fn wait_for(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        while !self.backlog.is_empty() {
            let message = self.backlog.remove(0);
            if message["method"] == method && pred(&message["params"]) {
                return message["params"].clone();
            }
        }
        loop {
            let message = self
                .incoming
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {method} notification"));
            if message["method"] == method && pred(&message["params"]) {
                return message["params"].clone();
            }
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Value {
        self.wait_for("textDocument/publishDiagnostics", |p| p["uri"] == uri)
    }

    fn initialize(&mut self, options: Value) -> Value {
        let response = self.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {},
                   "initializationOptions": options}),
        );
        self.notify("initialized", json!({}));
        response
    }

    fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        );
    }

    fn code_actions(&mut self, uri: &str, text: &str, only: Option<&[&str]>) -> Vec<Value> {
        let end = LineIndex::new(text).position(text.len());
        let mut context = json!({"diagnostics": []});
        if let Some(only) = only {
            context["only"] = json!(only);
        }
        let response = self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri},
                   "range": {"start": {"line": 0, "character": 0}, "end": end},
                   "context": context}),
        );
        response["result"]
            .as_array()
            .unwrap_or_else(|| panic!("code actions: {response}"))
            .clone()
    }

    /// `shutdown` then `exit`; returns the exit code.
    fn shutdown(mut self) -> i32 {
        let response = self.request("shutdown", Value::Null);
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
        self.notify("exit", Value::Null);
        self.exit_code()
    }

    fn exit_code(mut self) -> i32 {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().expect("exit code");
            }
            assert!(std::time::Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Applies an LSP workspace edit's text edits for `uri` to `text`, as a client does (positions in
/// UTF-16 against the text before the edits).
fn apply_edit(text: &str, edit: &Value, uri: &str) -> String {
    let index = LineIndex::new(text);
    let mut edits: Vec<(usize, usize, String)> = edit["changes"][uri]
        .as_array()
        .unwrap_or_else(|| panic!("edit for {uri}: {edit}"))
        .iter()
        .map(|e| {
            let range: lsp_types::Range =
                serde_json::from_value(e["range"].clone()).expect("range");
            let (a, b) = index.offsets(range);
            (a, b, e["newText"].as_str().expect("newText").to_string())
        })
        .collect();
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = String::new();
    let mut at = 0;
    for (a, b, new_text) in edits {
        assert!(a >= at, "overlapping edits");
        out.push_str(&text[at..a]);
        out.push_str(&new_text);
        at = b;
    }
    out.push_str(&text[at..]);
    out
}

/// `dfopt fix --write` (plus `args`) on a copy of `text` named `name` in a fresh folder.
fn cli_fix(text: &str, name: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    let status = Command::new(env!("CARGO_BIN_EXE_dfopt"))
        .args(["fix", "--write", "--quiet"])
        .args(args)
        .arg(&path)
        .output()
        .expect("run dfopt fix");
    assert!(status.status.success(), "{status:?}");
    std::fs::read_to_string(&path).expect("read back")
}

fn codes(diagnostics: &Value) -> Vec<String> {
    let mut v: Vec<String> = diagnostics["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn initialize_announces_capabilities_and_shutdown_exits_0() {
    let mut c = Client::start(&[]);
    let before = c.request("textDocument/hover", json!({}));
    assert_eq!(before["error"]["code"], -32002, "{before}");
    let response = c.initialize(json!(null));
    let caps = &response["result"]["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"]["change"], 1, "{caps}");
    assert_eq!(caps["textDocumentSync"]["openClose"], true);
    assert_eq!(caps["hoverProvider"], true);
    let kinds = caps["codeActionProvider"]["codeActionKinds"].to_string();
    assert!(kinds.contains("\"quickfix\"") && kinds.contains("\"source.fixAll.dfopt\""));
    assert_eq!(response["result"]["serverInfo"]["name"], "dfopt");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn exit_without_shutdown_is_1_and_so_is_a_closed_pipe() {
    let mut c = Client::start(&[]);
    c.initialize(json!({}));
    c.notify("exit", Value::Null);
    assert_eq!(c.exit_code(), 1);
    let mut c = Client::start(&[]);
    c.initialize(json!({}));
    assert_eq!(c.exit_code(), 1);
    // Requests after `shutdown` are refused; `exit` then still exits 0.
    let mut c = Client::start(&[]);
    c.initialize(json!({}));
    assert!(c.request("shutdown", Value::Null).get("error").is_none());
    let late = c.request("textDocument/hover", json!({}));
    assert_eq!(late["error"]["code"], -32600, "{late}");
    c.notify("exit", Value::Null);
    assert_eq!(c.exit_code(), 0);
}

#[test]
fn diagnostics_on_open_match_dfopt_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, SEED).expect("write");
    let uri = path_to_uri(&path);
    let mut c = Client::start(&[]);
    c.initialize(json!({}));
    c.open(&uri, "dockerfile", SEED);
    let published = c.diagnostics(&uri);
    assert_eq!(published["version"], 1);
    let diagnostics = published["diagnostics"].as_array().expect("list");
    for d in diagnostics {
        let code = d["code"].as_str().expect("code");
        assert_eq!(d["source"], "dfopt");
        assert_eq!(
            d["codeDescription"]["href"],
            format!("https://github.com/dfopt/dfopt#{code}")
        );
    }
    // The same findings at the same places as `dfopt check` (ASCII text: LSP character = col - 1).
    let out = Command::new(env!("CARGO_BIN_EXE_dfopt"))
        .args(["check", "--quiet", "Dockerfile"])
        .current_dir(dir.path())
        .output()
        .expect("dfopt check");
    let shown = "Dockerfile";
    // `PATH:LINE:COL: RULE [LEVEL] message`; the level is the diagnostic's severity.
    let mut expected: Vec<(u64, u64, String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&format!("{shown}:"))?;
            let mut parts = rest.splitn(3, [':', ' ']);
            let line: u64 = parts.next()?.parse().ok()?;
            let col: u64 = parts.next()?.parse().ok()?;
            let mut words = parts.next()?.trim_start().split(' ');
            let rule = words.next()?.to_string();
            let severity = match words.next()? {
                "[error]" => 1,
                "[warning]" => 2,
                "[info]" => 3,
                _ => return None,
            };
            Some((line - 1, col - 1, rule, severity))
        })
        .collect();
    let mut got: Vec<(u64, u64, String, u64)> = diagnostics
        .iter()
        .map(|d| {
            (
                d["range"]["start"]["line"].as_u64().expect("line"),
                d["range"]["start"]["character"].as_u64().expect("char"),
                d["code"].as_str().expect("code").to_string(),
                d["severity"].as_u64().expect("severity"),
            )
        })
        .collect();
    expected.sort();
    got.sort();
    assert!(expected.len() >= 4, "{expected:?}");
    assert_eq!(got, expected);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn changes_are_debounced_and_the_last_version_wins() {
    let uri = "file:///nonexistent-dfopt-test/Dockerfile";
    let mut c = Client::start(&[]);
    c.initialize(json!({"isolated": true}));
    c.open(uri, "dockerfile", SEED);
    assert_eq!(c.diagnostics(uri)["version"], 1);
    // Five quick edits: without a debounce each would be checked (and published) in turn.
    for version in 2..=6 {
        let text = if version == 6 {
            "FROM scratch\nCOPY a /a\n"
        } else {
            SEED
        };
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"text": text}]}),
        );
    }
    let published = c.diagnostics(uri);
    assert_eq!(published["version"], 6, "{published}");
    assert_eq!(published["diagnostics"], json!([]));
    // Incremental changes (a range) are applied too: UTF-16 positions after a whale.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 7},
               "contentChanges": [{"text": "FROM x\n# 🐳 y\nRUN a\nRUN b\n"}]}),
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 8},
               "contentChanges": [{"range": {"start": {"line": 1, "character": 5},
                                             "end": {"line": 1, "character": 6}},
                                   "text": "z"}]}),
    );
    let published = c.diagnostics(uri);
    assert_eq!(published["version"], 8);
    assert_eq!(codes(&published), ["chain-runs"]);
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 1}}),
    );
    assert_eq!(hover["result"]["range"]["start"]["line"], 2, "{hover}");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn parse_errors_are_error_diagnostics() {
    let uri = "file:///nonexistent-dfopt-test/Dockerfile";
    let mut c = Client::start(&[]);
    c.initialize(json!({"isolated": true}));
    c.open(uri, "dockerfile", "FROM a\r\nRUN <<EOF\r\necho 🐳\r\n");
    let published = c.diagnostics(uri);
    let d = &published["diagnostics"][0];
    assert_eq!(d["severity"], 1, "{published}");
    assert_eq!(d["code"], "parse-error");
    assert!(
        d["message"].as_str().unwrap_or("").contains("heredoc"),
        "{d}"
    );
    assert_eq!(d["range"]["start"]["line"], 1);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn quick_fixes_apply_one_finding_and_label_unsafe_ones() {
    let uri = "file:///nonexistent-dfopt-test/Dockerfile";
    let mut c = Client::start(&[]);
    c.initialize(json!({"isolated": true}));
    c.open(uri, "dockerfile", UNICODE);
    c.diagnostics(uri);
    let actions = c.code_actions(uri, UNICODE, Some(&["quickfix"]));
    // The library's findings on the same text, for the expected edits.
    let settings = Settings::default();
    let registry = Registry::new(&settings).expect("rules");
    let (_, found) = dfopt::check_source(UNICODE, &registry, &settings, None).expect("check");
    let fixable: Vec<_> = found.iter().filter(|f| f.fix.is_some()).collect();
    assert_eq!(actions.len(), fixable.len(), "{actions:?}");
    let mut saw_unsafe = false;
    for (action, finding) in actions.iter().zip(&fixable) {
        let fix = finding.fix.as_ref().expect("fix");
        assert_eq!(action["kind"], "quickfix");
        assert_eq!(action["diagnostics"][0]["code"], finding.rule);
        let title = action["title"].as_str().expect("title");
        assert!(title.contains(finding.rule), "{title}");
        if fix.safety == dfopt::Safety::Unsafe {
            saw_unsafe = true;
            assert!(title.contains("unsafe"), "{title}");
            assert_eq!(action["isPreferred"], false);
        } else {
            assert!(!title.contains("unsafe"), "{title}");
            assert_eq!(action["isPreferred"], true);
        }
        let (expected, _) = dfopt::edit::apply_fixes(UNICODE, [(finding.rule, fix)]);
        assert_eq!(apply_edit(UNICODE, &action["edit"], uri), expected);
    }
    assert!(saw_unsafe, "the sample has an unsafe fix");
    // A range on one line offers only the fixes of findings there.
    let narrow = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 5, "character": 4}, "end": {"line": 5, "character": 4}},
               "context": {"diagnostics": [], "only": ["quickfix"]}}),
    );
    let rules: Vec<&str> = narrow["result"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["diagnostics"][0]["code"].as_str())
        .collect();
    assert!(rules.contains(&"pip-no-cache-dir"), "{rules:?}");
    assert!(!rules.contains(&"multi-stage"), "{rules:?}");
    assert_eq!(c.shutdown(), 0);
}

/// The fix-all action's result, with `options` as initializationOptions.
fn fix_all_via_server(text: &str, options: Value) -> String {
    let uri = "file:///nonexistent-dfopt-test/Dockerfile";
    let mut c = Client::start(&[]);
    c.initialize(options);
    c.open(uri, "dockerfile", text);
    c.diagnostics(uri);
    let actions = c.code_actions(uri, text, Some(&["source.fixAll"]));
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.dfopt");
    let fixed = apply_edit(text, &actions[0]["edit"], uri);
    // Nothing left to fix: no action.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    c.diagnostics(uri);
    assert_eq!(
        c.code_actions(uri, &fixed, Some(&["source.fixAll"])),
        Vec::<Value>::new()
    );
    assert_eq!(c.shutdown(), 0);
    fixed
}

#[test]
fn fix_all_applies_exactly_what_dfopt_fix_applies() {
    let crlf = UNICODE.replace('\n', "\r\n");
    for text in [UNICODE, crlf.as_str(), SEED] {
        let safe = fix_all_via_server(text, json!({"isolated": true}));
        assert_eq!(
            safe,
            cli_fix(text, "Dockerfile", &["--isolated"]),
            "{text:?}"
        );
        assert_ne!(safe, text);
        let all = fix_all_via_server(text, json!({"isolated": true, "unsafeFixes": true}));
        assert_eq!(
            all,
            cli_fix(text, "Dockerfile", &["--isolated", "--unsafe-fixes"]),
            "{text:?}"
        );
        assert_ne!(all, safe);
    }
    assert!(fix_all_via_server(&crlf, json!({"isolated": true})).contains("\\\r\n"));
}

#[test]
fn hover_on_a_finding_shows_the_rule_documentation() {
    let uri = "file:///nonexistent-dfopt-test/Dockerfile";
    let mut c = Client::start(&[]);
    c.initialize(json!({"isolated": true, "select": ["pip-no-cache-dir"]}));
    c.open(uri, "dockerfile", UNICODE);
    let published = c.diagnostics(uri);
    assert_eq!(codes(&published), ["pip-no-cache-dir"]);
    let at = &published["diagnostics"][0]["range"]["start"];
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": at}),
    );
    let value = hover["result"]["contents"]["value"]
        .as_str()
        .expect("markdown");
    assert_eq!(hover["result"]["contents"]["kind"], "markdown");
    let doc = dfopt::passes::rule_doc("pip-no-cache-dir").expect("doc");
    assert!(value.contains(doc.trim()), "{value}");
    assert!(value.contains("safe fix"), "{value}");
    // Nowhere near a finding: nothing.
    let none = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}),
    );
    assert_eq!(none["result"], Value::Null, "{none}");
    assert_eq!(c.shutdown(), 0);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn the_nearest_dfopt_toml_governs_and_client_options_override_it() {
    let dir = tempfile::tempdir().expect("tmp");
    // A repository: config discovery climbs to its root and no further.
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    write(
        &dir.path().join("dfopt.toml"),
        "select = [\"chain-runs\"]\n",
    );
    let file = dir.path().join("app/Dockerfile");
    write(&file, SEED);
    let uri = path_to_uri(&file);
    let broken = dir.path().join("broken/Dockerfile");
    write(&dir.path().join("broken/dfopt.toml"), "bogus = 1\n");
    write(&broken, SEED);
    let broken_uri = path_to_uri(&broken);

    let mut c = Client::start(&[]);
    c.initialize(json!({}));
    c.open(&uri, "dockerfile", SEED);
    assert_eq!(codes(&c.diagnostics(&uri)), ["chain-runs"]);
    c.open(&broken_uri, "dockerfile", SEED);
    let published = c.diagnostics(&broken_uri);
    let d = &published["diagnostics"][0];
    assert_eq!(d["severity"], 1);
    assert!(
        d["message"].as_str().unwrap_or("").contains("dfopt.toml"),
        "{d}"
    );
    // An edited config applies at the next check.
    write(
        &dir.path().join("dfopt.toml"),
        "select = [\"multi-stage\"]\n",
    );
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": []}));
    assert_eq!(codes(&c.diagnostics(&uri)), ["multi-stage"]);
    assert_eq!(c.shutdown(), 0);

    let mut c = Client::start(&[]);
    let response =
        c.initialize(json!({"select": ["ALL"], "ignore": ["chain-runs", "no-such-rule"]}));
    assert!(response.get("error").is_none());
    // The unknown rule is reported to the user, not fatal.
    let message = c.wait_for("window/showMessage", |_| true);
    assert!(message["message"]
        .as_str()
        .unwrap_or("")
        .contains("no-such-rule"));
    c.open(&uri, "dockerfile", SEED);
    let got = codes(&c.diagnostics(&uri));
    assert!(!got.contains(&"chain-runs".to_string()), "{got:?}");
    assert!(got.contains(&"multi-stage".to_string()), "{got:?}");
    // Settings can change while running.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"dfopt": {"isolated": true, "select": ["chain-runs"]}}}),
    );
    assert_eq!(codes(&c.diagnostics(&uri)), ["chain-runs"]);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn only_dockerfiles_are_checked_and_closing_clears_diagnostics() {
    let mut c = Client::start(&[]);
    c.initialize(json!({"isolated": true}));
    // Neither the language nor the name says Dockerfile: ignored.
    c.open("file:///x/README.md", "markdown", SEED);
    c.open("file:///x/notes.txt", "plaintext", SEED);
    // The name says so, whatever the language id.
    c.open("file:///x/Containerfile", "plaintext", SEED);
    c.open("file:///x/api.Dockerfile", "", SEED);
    c.open("file:///x/Dockerfile.dev", "plaintext", SEED);
    // Or the language id does.
    c.open("untitled:Untitled-1", "dockerfile", SEED);
    let mut uris = Vec::new();
    for _ in 0..4 {
        let p = c.wait_for("textDocument/publishDiagnostics", |_| true);
        uris.push(p["uri"].as_str().expect("uri").to_string());
    }
    uris.sort();
    assert_eq!(
        uris,
        [
            "file:///x/Containerfile",
            "file:///x/Dockerfile.dev",
            "file:///x/api.Dockerfile",
            "untitled:Untitled-1"
        ]
    );
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///x/README.md"}, "position": {"line": 3, "character": 0}}),
    );
    assert_eq!(hover["result"], Value::Null);
    assert_eq!(
        c.code_actions("file:///x/README.md", SEED, None),
        Vec::<Value>::new()
    );
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": "file:///x/Containerfile"}}),
    );
    let cleared = c.diagnostics("file:///x/Containerfile");
    assert_eq!(cleared["diagnostics"], json!([]));
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn bad_input_never_stops_the_server() {
    let uri = "file:///nonexistent-dfopt-test/Dockerfile";
    let mut c = Client::start(&[("DFOPT_TEST_PANIC", "1")]);
    c.initialize(json!({"isolated": true}));
    // Not JSON, then not a JSON-RPC message: skipped.
    c.send_raw(b"Content-Length: 6\r\n\r\n{oops}");
    c.send_raw(b"Content-Length: 2\r\n\r\n[]");
    let unknown = c.request("dfopt/nothing", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let bad_params = c.request("textDocument/hover", json!({"textDocument": 3}));
    assert_eq!(bad_params["error"]["code"], -32602, "{bad_params}");
    c.notify("textDocument/didOpen", json!({"nope": true}));
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///never-opened", "version": 2},
               "contentChanges": [{"text": "x"}]}),
    );
    // Positions past the end of the text, and on a document that is not open.
    c.open(uri, "dockerfile", UNICODE);
    c.diagnostics(uri);
    let far = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 999, "character": 999}}),
    );
    assert!(far.get("error").is_none(), "{far}");
    let far_actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 999, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    assert!(far_actions["result"].is_array(), "{far_actions}");
    let closed = c.code_actions("file:///never-opened", "", None);
    assert!(closed.is_empty());
    // A panic while checking is reported and the server goes on.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"text": "FROM a\n# DFOPT-TEST-PANIC\n"}]}),
    );
    let logged = c.wait_for("window/logMessage", |_| true);
    assert!(
        logged["message"]
            .as_str()
            .unwrap_or("")
            .contains("panicked"),
        "{logged}"
    );
    let panicked = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(panicked["error"]["code"], -32603, "{panicked}");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": SEED}]}),
    );
    assert_eq!(c.diagnostics(uri)["version"], 3);
    assert_eq!(c.shutdown(), 0);
}
