// The official client's driver for siospec's client mode (client contract 1,
// harness/CLIENT-CONTRACT.md): `node client-driver.mjs URL`, the case's
// options in SIOSPEC_* variables, the application's view on stdout as one
// JSON object per line. SIOSPEC_BREAK=FAMILY (not part of the contract)
// breaks one rule, for testing siospec itself (broken/client.mjs).
import { readFileSync } from "node:fs";
import { Manager } from "socket.io-client";

const env = process.env;
const url = process.argv[2] || env.SIOSPEC_URL;
const report = (line) => process.stdout.write(JSON.stringify(line) + "\n");

// Binary travels in JSON as {"$binary": "<base64>"}, both ways.
const toJson = (v) =>
  Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)
    ? { $binary: Buffer.from(v.buffer ?? v, v.byteOffset ?? 0, v.byteLength).toString("base64") }
    : Array.isArray(v) ? v.map(toJson)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
    : v;
const fromJson = (v) =>
  v && typeof v === "object" && !Array.isArray(v) && typeof v.$binary === "string" && Object.keys(v).length === 1
    ? Buffer.from(v.$binary, "base64")
    : Array.isArray(v) ? v.map(fromJson)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x)]))
    : v;

const options = { autoConnect: false };
if (env.SIOSPEC_TRANSPORTS) options.transports = env.SIOSPEC_TRANSPORTS.split(",");
if (env.SIOSPEC_RECONNECTION) options.reconnection = env.SIOSPEC_RECONNECTION === "true";
if (env.SIOSPEC_PARSER === "msgpack") options.parser = (await import("socket.io-msgpack-parser")).default;
// engine.io-client hands `ca` to Node's https and ws; Node's own roots are
// then replaced by it, which is all a scripted server needs.
if (env.SIOSPEC_CA) options.ca = readFileSync(env.SIOSPEC_CA);

const app = {
  url,
  options,
  echo: (args) => args, // what `echo-back` carries
  answer: (ack, args) => ack(...args), // how a server's ack request is answered
  auth: env.SIOSPEC_AUTH ? JSON.parse(env.SIOSPEC_AUTH) : undefined,
  open: (nsp, opts) => manager.socket(nsp, opts),
  serverDisconnect: () => {}, // after a server DISCONNECT
  connectError: (err) => ({ message: err.message, data: err.data ?? null }),
  leave: (socket) => socket.disconnect(),
  emitWithAck: (socket, name, args, done) => socket.emit(name, ...args, done),
  // `recovered` is undefined when the CONNECT reply carried no pid.
  recovered: (socket) => socket.recovered === true,
};
if (env.SIOSPEC_BREAK) (await import("./broken/client.mjs")).breakClient(env.SIOSPEC_BREAK, app);

const manager = new Manager(url, options);
manager.on("reconnect_attempt", (attempt) => report({ event: "reconnect_attempt", attempt }));

const sockets = new Map();
function join(nsp) {
  const socket = app.open(nsp, { auth: app.auth });
  sockets.set(nsp, socket);
  socket.on("connect", () => report({ event: "connect", namespace: nsp, recovered: app.recovered(socket) }));
  socket.on("connect_error", (err) => report({ event: "connect_error", namespace: nsp, ...app.connectError(err) }));
  socket.on("disconnect", (reason) => {
    report({ event: "disconnect", namespace: nsp, reason });
    if (reason === "io server disconnect") app.serverDisconnect(socket);
  });
  socket.onAny((name, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (name === "do" && nsp === "/") return instruct(args[0]);
    report({ event: "event", namespace: nsp, name, args: toJson(args) });
    if (name === "echo") socket.emit("echo-back", ...app.echo(args));
    if (ack) app.answer(ack, args);
  });
  socket.connect();
}

// The server's instructions: {"op": "emit" | "open" | "disconnect", ...}.
function instruct(op) {
  const socket = sockets.get(op.namespace ?? "/");
  if (op.op === "open") join(op.namespace);
  else if (op.op === "disconnect" && socket) app.leave(socket);
  else if (op.op === "emit" && socket && op.ack)
    app.emitWithAck(socket, op.name, fromJson(op.args ?? []), (...args) =>
      report({ event: "ack", namespace: op.namespace ?? "/", id: op.id, args: toJson(args) }));
  else if (op.op === "emit" && socket) socket.emit(op.name, ...fromJson(op.args ?? []));
}

join(env.SIOSPEC_NAMESPACE || "/");
