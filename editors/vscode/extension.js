// Starts `dfopt server` for Dockerfiles. The server does the work (diagnostics, quick fixes,
// source.fixAll.dfopt, hover); this file only tells VS Code how to run it and what to send it.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function options() {
  const config = vscode.workspace.getConfiguration("dfopt");
  const init = {
    unsafeFixes: config.get("unsafeFixes", false),
    ignore: config.get("ignore", []),
  };
  const select = config.get("select", null);
  if (Array.isArray(select)) {
    init.select = select;
  }
  return init;
}

async function activate(context) {
  const command = vscode.workspace.getConfiguration("dfopt").get("path", "dfopt");
  const serverOptions = {
    run: { command, args: ["server"], transport: TransportKind.stdio },
    debug: { command, args: ["server"], transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "dockerfile" },
      { scheme: "untitled", language: "dockerfile" },
      { scheme: "file", pattern: "**/{Dockerfile,Dockerfile.*,*.Dockerfile,Containerfile,Containerfile.*}" },
    ],
    initializationOptions: options(),
    // dfopt.toml is read again at each check; tell the server when one changes.
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{dfopt,.dfopt}.toml"),
    },
  };
  client = new LanguageClient("dfopt", "dfopt", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (client && event.affectsConfiguration("dfopt")) {
        client.sendNotification("workspace/didChangeConfiguration", {
          settings: { dfopt: options() },
        });
      }
    })
  );
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
