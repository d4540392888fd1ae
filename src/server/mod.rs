//! `dfopt server`: a Language Server over standard input and output.
//!
//! It offers what `dfopt check` and `dfopt fix` do, inside the editor: diagnostics (rule id as the
//! code, a link to the rule's documentation), a quick fix per fixable finding, the
//! `source.fixAll.dfopt` action that applies exactly what `dfopt fix` applies, and the rule's
//! documentation on hover. Settings come from the nearest `dfopt.toml`, as for the CLI, with the
//! client's `initializationOptions` in the place of the flags.
//!
//! Built on `lsp-server` and `lsp-types`, the crates rust-analyzer is built on (and ruff's first
//! server was): `lsp-server` is a small synchronous scaffold that frames messages and leaves the
//! loop to us. dfopt checks a Dockerfile in a few milliseconds on one thread, so an async runtime
//! (`tower-lsp`) would add dependencies and threads and buy nothing; a plain loop also makes
//! debouncing and the shutdown sequence easy to follow.
//!
//! The loop never ends on bad input: a malformed message is logged and skipped, a request with
//! bad parameters gets an error response, and a panic in a handler is caught and reported (as the
//! CLI reports a panic for its file and goes on). It exits with 0 after `shutdown` then `exit`,
//! and with 1 on `exit` without `shutdown` or when the client goes away.

mod convert;
mod handlers;
mod settings;

pub use convert::{path_to_uri, uri_to_path, LineIndex};
pub use handlers::{minimal_edit, FIX_ALL_KIND};

use handlers::State;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, HoverProviderCapability,
    InitializeParams, InitializeResult, PositionEncodingKind, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions, Uri,
};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How long after the last change a document is checked: typing a word sends a change per key,
/// and the diagnostics of a half-typed word are noise. Opening a document is checked at once.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Runs the server until the client says `exit` or goes away, and returns the process exit code.
/// It reads standard input and writes its messages for the client to `out` (the CLI's standard
/// output, which the CLI holds locked).
pub fn run(out: &mut dyn std::io::Write) -> i32 {
    let (server_side, io_side) = Connection::memory();
    let Connection {
        sender: to_server,
        receiver: from_server,
    } = io_side;
    // Unlike `Connection::stdio`, whose reader stops at the first message it cannot parse, this
    // one skips a malformed message: its framing has been read, so the next one starts after it.
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            match Message::read(&mut input) {
                Ok(Some(message)) => {
                    let is_exit =
                        matches!(&message, Message::Notification(n) if n.method == "exit");
                    if to_server.send(message).is_err() || is_exit {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    eprintln!("dfopt server: skipped a malformed message: {e}");
                }
                Err(_) => break,
            }
        }
    });
    let server = std::thread::spawn(move || serve(&server_side));
    // Ends when the server returns and drops its side, after the last message it sent.
    for message in &from_server {
        if message.write(&mut &mut *out).is_err() {
            break;
        }
    }
    server.join().unwrap_or(1)
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::from(FIX_ALL_KIND),
            ]),
            resolve_provider: Some(false),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Serves one client on `connection`; returns the exit code.
pub fn serve(connection: &Connection) -> i32 {
    let mut server = Server {
        state: State::default(),
        pending: HashMap::new(),
        outbox: Vec::new(),
    };
    // Before `initialize`, requests get "not initialized" and notifications other than `exit`
    // are dropped, as the specification says.
    loop {
        let message = match connection.receiver.recv() {
            Ok(m) => m,
            Err(_) => return 1,
        };
        match message {
            Message::Request(req) if req.method == "initialize" => {
                let response = match serde_json::from_value::<InitializeParams>(req.params) {
                    Ok(params) => {
                        server.initialize(params);
                        let result = InitializeResult {
                            capabilities: capabilities(),
                            server_info: Some(ServerInfo {
                                name: "dfopt".to_string(),
                                version: Some(env!("CARGO_PKG_VERSION").to_string()),
                            }),
                        };
                        Response::new_ok(req.id, result)
                    }
                    Err(e) => {
                        Response::new_err(req.id, ErrorCode::InvalidParams as i32, e.to_string())
                    }
                };
                let ok = response.error.is_none();
                let _ = connection.sender.send(response.into());
                if ok {
                    break;
                }
            }
            Message::Request(req) => {
                let _ = connection.sender.send(
                    Response::new_err(
                        req.id,
                        ErrorCode::ServerNotInitialized as i32,
                        "the server is not initialized".to_string(),
                    )
                    .into(),
                );
            }
            Message::Notification(n) if n.method == "exit" => return 1,
            _ => {}
        }
    }
    server.flush_warnings();
    server.send_all(connection);
    let mut shutting_down = false;
    loop {
        let received = match server.next_deadline() {
            Some(deadline) => connection
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .map(Some)
                .or_else(|e| if e.is_timeout() { Ok(None) } else { Err(()) }),
            None => connection.receiver.recv().map(Some).map_err(|_| ()),
        };
        match received {
            Err(()) => return 1,
            Ok(None) => {}
            Ok(Some(Message::Request(req))) => {
                if shutting_down {
                    server.respond_err(
                        req.id,
                        ErrorCode::InvalidRequest,
                        "the server is shutting down".to_string(),
                    );
                } else if req.method == "shutdown" {
                    shutting_down = true;
                    server.outbox.push(Response::new_ok(req.id, ()).into());
                } else {
                    server.request(req);
                }
            }
            Ok(Some(Message::Notification(n))) => {
                if n.method == "exit" {
                    server.send_all(connection);
                    return if shutting_down { 0 } else { 1 };
                }
                if !shutting_down {
                    server.notification(n);
                }
            }
            // The server sends no requests, so there is nothing to match a response to.
            Ok(Some(Message::Response(_))) => {}
        }
        server.publish_due();
        server.send_all(connection);
    }
}

struct Server {
    state: State,
    /// Documents changed and not checked since, with the time to check them.
    pending: HashMap<Uri, Instant>,
    outbox: Vec<Message>,
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

impl Server {
    fn initialize(&mut self, params: InitializeParams) {
        #[allow(deprecated)] // root_uri / root_path: older clients send only these
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(params.root_uri.clone())
            .and_then(|u| uri_to_path(u.as_str()))
            .or(params.root_path.as_ref().map(std::path::PathBuf::from));
        self.state.rules.root = root;
        if let Some(options) = &params.initialization_options {
            self.state.apply_client_options(options);
        }
        // Build the rules now, and compile what a check needs, so that the first diagnostics do
        // not wait for them.
        self.state.warm_up();
    }

    fn send_all(&mut self, connection: &Connection) {
        for message in self.outbox.drain(..) {
            let _ = connection.sender.send(message);
        }
    }

    fn respond_err(&mut self, id: RequestId, code: ErrorCode, message: String) {
        self.outbox
            .push(Response::new_err(id, code as i32, message).into());
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.outbox
            .push(Notification::new(method.to_string(), params).into());
    }

    fn flush_warnings(&mut self) {
        for message in std::mem::take(&mut self.state.warnings) {
            self.notify(
                "window/showMessage",
                lsp_types::ShowMessageParams {
                    typ: lsp_types::MessageType::WARNING,
                    message,
                },
            );
        }
    }

    fn log_error(&mut self, message: String) {
        eprintln!("dfopt server: {message}");
        self.notify(
            "window/logMessage",
            lsp_types::LogMessageParams {
                typ: lsp_types::MessageType::ERROR,
                message,
            },
        );
    }

    fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let method = req.method.clone();
        match catch_unwind(AssertUnwindSafe(|| self.dispatch_request(req))) {
            Ok(Ok(response)) => self.outbox.push(response.into()),
            Ok(Err((code, message))) => self.respond_err(id, code, message),
            Err(payload) => {
                let what = panic_text(payload.as_ref());
                self.respond_err(
                    id,
                    ErrorCode::InternalError,
                    format!("dfopt panicked in {method} ({what}); please report it"),
                );
            }
        }
    }

    fn dispatch_request(&mut self, req: Request) -> Result<Response, (ErrorCode, String)> {
        fn params<P: serde::de::DeserializeOwned>(
            req: Request,
        ) -> Result<(RequestId, P), (ErrorCode, String)> {
            serde_json::from_value(req.params)
                .map(|p| (req.id, p))
                .map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
        }
        match req.method.as_str() {
            "textDocument/codeAction" => {
                let (id, p) = params(req)?;
                Ok(Response::new_ok(id, self.state.code_actions(p)))
            }
            "textDocument/hover" => {
                let (id, p) = params(req)?;
                Ok(Response::new_ok(id, self.state.hover(p)))
            }
            method => Err((
                ErrorCode::MethodNotFound,
                format!("dfopt does not handle {method}"),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        let method = n.method.clone();
        match catch_unwind(AssertUnwindSafe(|| self.dispatch_notification(n))) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => self.log_error(format!("{method}: {message}")),
            Err(payload) => {
                let what = panic_text(payload.as_ref());
                self.log_error(format!(
                    "dfopt panicked in {method} ({what}); please report it"
                ));
            }
        }
    }

    fn dispatch_notification(&mut self, n: Notification) -> Result<(), String> {
        fn params<P: serde::de::DeserializeOwned>(n: Notification) -> Result<P, String> {
            serde_json::from_value(n.params).map_err(|e| e.to_string())
        }
        match n.method.as_str() {
            "textDocument/didOpen" => {
                if let Some(uri) = self.state.did_open(params(n)?) {
                    // Checked at once: the user waits for the first diagnostics.
                    self.pending.insert(uri, Instant::now());
                }
            }
            "textDocument/didChange" => {
                if let Some(uri) = self.state.did_change(params(n)?) {
                    self.pending.insert(uri, Instant::now() + DEBOUNCE);
                }
            }
            "textDocument/didClose" => {
                if let Some(uri) = self.state.did_close(params(n)?) {
                    self.pending.remove(&uri);
                    self.notify(
                        "textDocument/publishDiagnostics",
                        lsp_types::PublishDiagnosticsParams {
                            uri,
                            diagnostics: Vec::new(),
                            version: None,
                        },
                    );
                }
            }
            "workspace/didChangeConfiguration" => {
                let p: lsp_types::DidChangeConfigurationParams = params(n)?;
                if !p.settings.is_null() {
                    self.state.apply_client_options(&p.settings);
                    self.flush_warnings();
                }
                self.recheck_all();
            }
            // A dfopt.toml may have changed: it is read again at each check.
            "workspace/didChangeWatchedFiles" | "textDocument/didSave" => self.recheck_all(),
            _ => {}
        }
        Ok(())
    }

    fn recheck_all(&mut self) {
        let now = Instant::now();
        for uri in self.state.docs.keys() {
            self.pending.insert(uri.clone(), now);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().min().copied()
    }

    /// Publishes the diagnostics of every document whose time has come.
    fn publish_due(&mut self) {
        let now = Instant::now();
        let due: Vec<Uri> = self
            .pending
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for uri in due {
            self.pending.remove(&uri);
            match catch_unwind(AssertUnwindSafe(|| self.state.diagnostics(&uri))) {
                Ok(Some(params)) => self.notify("textDocument/publishDiagnostics", params),
                Ok(None) => {}
                Err(payload) => {
                    let what = panic_text(payload.as_ref());
                    self.log_error(format!(
                        "dfopt panicked checking {} ({what}); please report it",
                        uri.as_str()
                    ));
                }
            }
        }
    }
}
