#!/usr/bin/env node
// The same client on vscode-jsonrpc (npm install vscode-jsonrpc), the library VS Code
// extensions use: it does the framing, ids and dispatch.
//
//   AGENTD_COMMAND="python -m agentd" node examples/node/with-vscode-jsonrpc.js hello
"use strict";
const { spawn } = require("node:child_process");
const rpc = require("vscode-jsonrpc/node");

const prompt = process.argv.slice(2).join(" ") || "hello";
const [command, ...args] = (process.env.AGENTD_COMMAND || "agentd").split(/\s+/);
const daemon = spawn(command, [...args, "serve"], { stdio: ["pipe", "pipe", "inherit"] });
const connection = rpc.createMessageConnection(
  new rpc.StreamMessageReader(daemon.stdout),
  new rpc.StreamMessageWriter(daemon.stdin),
);
const CODES = { "session.completed": 0, "session.error": 1, "session.interrupted": 130 };

async function main() {
  let turnId = null;
  let code = null;
  let separator = "";
  // A turn's end can be read before the send response's promise resolves: remember every end.
  const ends = new Map();
  let finish = () => {};
  const done = new Promise((resolve) => { finish = resolve; });
  const settle = () => {
    if (turnId !== null && ends.has(turnId)) {
      code = CODES[ends.get(turnId)];
      finish();
    }
  };
  connection.onNotification("event", ({ type, payload }) => {
    if (type === "session.stream.chunk" && payload.chunk.answerText) {
      process.stdout.write(separator + payload.chunk.answerText);
      separator = "";
    } else if (type === "session.message.appended" && payload.message.kind === "assistant") {
      separator = "\n\n";
    } else if (type in CODES) {
      ends.set(payload.turn_id, type);
      settle();
    }
  });
  connection.onRequest("session.tool.approve", () => ({ decision: "deny", message: "not in this example" }));
  connection.listen();
  const { session_id } = await connection.sendRequest("session.create", {});
  ({ turn_id: turnId } = await connection.sendRequest("session.send", { session_id, text: prompt }));
  settle();
  await done;
  process.stdout.write("\n");
  await connection.sendRequest("shutdown");
  await connection.sendNotification("exit");
  daemon.on("exit", () => process.exit(code));
}

main().catch((error) => {
  console.error(error.message);
  daemon.kill();
  process.exit(1);
});
