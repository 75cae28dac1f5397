// The official client's driver in a browser (client contract 1,
// harness/CLIENT-CONTRACT.md): the same application as
// ../node/client-driver.mjs, fed by siospec's serve mode instead of a
// process per case. It asks the control server for each case (`next`),
// connects to the case's scripted server with the case's options, posts
// what the application sees as the lines a driver prints, and closes
// everything when the case is over (`end`).
"use strict";

const log = (text) => (document.getElementById("log").textContent += text + "\n");

// Binary travels in JSON as {"$binary": "<base64>"}, both ways.
const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const bytesOf = (v) => (v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
const toBase64 = (v) => btoa(Array.from(bytesOf(v), (b) => String.fromCharCode(b)).join(""));
const fromBase64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toJson = (v) =>
  isBytes(v) ? { $binary: toBase64(v) }
  : Array.isArray(v) ? v.map(toJson)
  : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
  : v;
const fromJson = (v) =>
  v && typeof v === "object" && !Array.isArray(v) && typeof v.$binary === "string" && Object.keys(v).length === 1
    ? fromBase64(v.$binary)
    : Array.isArray(v) ? v.map(fromJson)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x)]))
    : v;

// Lines are posted in order, one request at a time.
function reporter(number) {
  let queue = Promise.resolve();
  const post = (what, body) =>
    (queue = queue.then(() => fetch(`/siospec/case/${number}/${what}`, { method: "POST", body }).catch(() => {})));
  return {
    line: (line) => post("lines", JSON.stringify(line) + "\n"),
    error: (text) => post("stderr", text + "\n"),
    flushed: () => queue,
  };
}

// One case: the driver of ../node/client-driver.mjs; returns its teardown.
function runCase({ url, env }, report) {
  const options = { autoConnect: false };
  if (env.SIOSPEC_TRANSPORTS) options.transports = env.SIOSPEC_TRANSPORTS.split(",");
  if (env.SIOSPEC_RECONNECTION) options.reconnection = env.SIOSPEC_RECONNECTION === "true";
  const auth = env.SIOSPEC_AUTH ? JSON.parse(env.SIOSPEC_AUTH) : undefined;
  const manager = new io.Manager(url, options);
  manager.on("reconnect_attempt", (attempt) => report.line({ event: "reconnect_attempt", attempt }));
  const sockets = new Map();

  function join(nsp) {
    const socket = manager.socket(nsp, { auth });
    sockets.set(nsp, socket);
    // `recovered` is undefined when the CONNECT reply carried no pid.
    socket.on("connect", () => report.line({ event: "connect", namespace: nsp, recovered: socket.recovered === true }));
    socket.on("connect_error", (err) =>
      report.line({ event: "connect_error", namespace: nsp, message: err.message, data: err.data ?? null }));
    socket.on("disconnect", (reason) => report.line({ event: "disconnect", namespace: nsp, reason }));
    socket.onAny((name, ...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (name === "do" && nsp === "/") return instruct(args[0]);
      report.line({ event: "event", namespace: nsp, name, args: toJson(args) });
      if (name === "echo") socket.emit("echo-back", ...args);
      if (ack) ack(...args);
    });
    socket.connect();
  }

  function instruct(op) {
    const nsp = op.namespace ?? "/";
    const socket = sockets.get(nsp);
    if (op.op === "open") join(op.namespace);
    else if (op.op === "disconnect" && socket) socket.disconnect();
    else if (op.op === "emit" && socket && op.ack)
      socket.emit(op.name, ...fromJson(op.args ?? []), (...args) =>
        report.line({ event: "ack", namespace: nsp, id: op.id, args: toJson(args) }));
    else if (op.op === "emit" && socket) socket.emit(op.name, ...fromJson(op.args ?? []));
  }

  join(env.SIOSPEC_NAMESPACE || "/");
  return () => {
    for (const socket of sockets.values()) socket.disconnect();
    manager.engine?.close();
  };
}

async function main() {
  const cases = await (await fetch("/siospec/cases")).json();
  log(`${cases.count} cases (client contract ${cases.contract})`);
  for (;;) {
    const next = await (await fetch("/siospec/next")).json();
    if (next.done) break;
    log(`case ${next.case}: ${next.id}`);
    const report = reporter(next.case);
    const onError = (e) => report.error(`uncaught: ${e.message ?? e.reason ?? e}`);
    window.addEventListener("error", onError);
    window.addEventListener("unhandledrejection", onError);
    let teardown = () => {};
    try {
      teardown = runCase(next, report);
    } catch (e) {
      report.error(`the driver failed: ${e.stack ?? e}`);
    }
    await fetch(`/siospec/case/${next.case}/end`);
    teardown();
    window.removeEventListener("error", onError);
    window.removeEventListener("unhandledrejection", onError);
  }
  log("done");
}

main().catch((e) => log(`driver stopped: ${e}`));
