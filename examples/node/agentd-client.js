#!/usr/bin/env node
// Drive agentd from Node: spawn it, speak JSON-RPC with LSP framing (Content-Length headers)
// over its stdio, stream one answer to stdout. No dependencies: this is what vscode-jsonrpc
// does for you (see with-vscode-jsonrpc.js for the same client on that library).
//
//   node examples/node/agentd-client.js "what is in the README?"
//   AGENTD_COMMAND="python -m agentd" node examples/node/agentd-client.js hello
//
// Exit status: 0 completed, 1 failed, 130 interrupted (Ctrl-C interrupts the turn).
"use strict";
const { spawn } = require("node:child_process");

const prompt = process.argv.slice(2).join(" ");
if (!prompt) {
  console.error("usage: agentd-client.js PROMPT");
  process.exit(2);
}
const [command, ...args] = (process.env.AGENTD_COMMAND || "agentd").split(/\s+/);
const daemon = spawn(command, [...args, "serve"], { stdio: ["pipe", "pipe", "inherit"] });
process.stdout.on("error", () => process.exit(141)); // e.g. piped into head

// -- framing: Content-Length: N\r\n\r\n<N bytes of UTF-8 JSON> -------------------------------
let buffer = Buffer.alloc(0);
function write(message) {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  daemon.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
  daemon.stdin.write(body);
}
daemon.stdout.on("data", (data) => {
  buffer = Buffer.concat([buffer, data]);
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const header = buffer.subarray(0, end).toString("ascii");
    const length = Number(/content-length:\s*(\d+)/i.exec(header)[1]);
    if (buffer.length < end + 4 + length) return;
    const body = buffer.subarray(end + 4, end + 4 + length).toString("utf8");
    buffer = buffer.subarray(end + 4 + length);
    dispatch(JSON.parse(body));
  }
});

// -- JSON-RPC: requests by id, events, requests from agentd ---------------------------------
let nextId = 1;
const pending = new Map();
function request(method, params) {
  const id = nextId++;
  write({ jsonrpc: "2.0", id, method, params });
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
const eventHandlers = [];
function dispatch(message) {
  if (message.method === "event") {
    for (const handler of eventHandlers) handler(message.params);
  } else if (message.method && message.id !== undefined) {
    // a request from agentd (session.tool.approve under approval_policy "ask"): deny here
    write({ jsonrpc: "2.0", id: message.id, result: { decision: "deny", message: "not in this example" } });
  } else if (pending.has(message.id)) {
    const { resolve, reject } = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) reject(new Error(`${message.error.message} (${message.error.data?.reason})`));
    else resolve(message.result);
  }
}

// -- one turn ------------------------------------------------------------------------------
const CODES = { "session.completed": 0, "session.error": 1, "session.interrupted": 130 };

async function main() {
  await request("initialize", { processId: process.pid, clientInfo: { name: "agentd-node-example" } });
  const { session_id } = await request("session.create", {});
  let turnId = null;
  let code = null;
  let separator = "";
  let printed = false;
  // Events can arrive in the same read as the send response, before its promise resolves:
  // remember every turn's end, and look it up once the turn id is known.
  const ends = new Map();
  let finish = () => {};
  const done = new Promise((resolve) => { finish = resolve; });
  const settle = () => {
    const end = ends.get(turnId);
    if (turnId === null || end === undefined) return;
    code = CODES[end.type];
    if (end.type === "session.error") console.error(`[error:${end.payload.kind}] ${end.payload.message}`);
    finish();
  };
  eventHandlers.push(({ type, payload }) => {
    if (type === "session.stream.chunk" && payload.chunk.answerText) {
      process.stdout.write(separator + payload.chunk.answerText);
      separator = "";
      printed = true;
    } else if (type === "session.message.appended" && payload.message.kind === "assistant" && printed) {
      separator = "\n\n"; // each model round is its own message
    } else if (type in CODES) {
      ends.set(payload.turn_id, { type, payload });
      settle();
    }
  });
  process.on("SIGINT", () => request("session.interrupt", { session_id }));
  ({ turn_id: turnId } = await request("session.send", { session_id, text: prompt }));
  settle();
  await done;
  process.stdout.write("\n");
  await request("shutdown");
  write({ jsonrpc: "2.0", method: "exit" });
  daemon.on("exit", () => process.exit(code));
}

main().catch((error) => {
  console.error(`agentd-client.js: ${error.message}`);
  daemon.kill();
  process.exit(1);
});
