#!/usr/bin/env node
"use strict";

// Interop smoke check: drives a Socket.IO server that implements the siospec
// peer contract (see README.md) with the official socket.io-client.
//
//   node client-check.js URL [--transports polling|websocket|upgrade]
//                            [--path /socket.io] [--timeout MS] [--verbose]
//
// Prints exactly one JSON line on stdout:
//   {"ok":true,"url":...,"transports":...,"checks":[{"name":...,"ok":...,"ms":...}, ...],"ms":...}
// and exits 0 only if every check succeeded (1 if one failed, 2 on usage error).

const { io } = require("socket.io-client");
const util = require("util");

const USAGE = `usage: node client-check.js URL [options]

  URL                     server base URL, e.g. http://127.0.0.1:3000
  --transports MODE       polling    polling only
                          websocket  WebSocket only
                          upgrade    polling first, then upgrade to WebSocket (default)
  --path PATH             Socket.IO path (default /socket.io)
  --timeout MS            per-step timeout (default 5000)
  --verbose               log progress to stderr
`;

function usage(msg) {
  if (msg) process.stderr.write(`client-check.js: ${msg}\n\n`);
  process.stderr.write(USAGE);
  process.exit(2);
}

// ---------------------------------------------------------------- CLI

const argv = process.argv.slice(2);
let url;
const cfg = { transports: "upgrade", path: "/socket.io", timeout: 5000, verbose: false };
for (let i = 0; i < argv.length; i++) {
  let a = argv[i];
  let v;
  const eq = a.indexOf("=");
  if (a.startsWith("--") && eq !== -1) {
    v = a.slice(eq + 1);
    a = a.slice(0, eq);
  }
  const val = () => {
    if (v !== undefined) return v;
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  switch (a) {
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      process.exit(0);
      break;
    case "--transports":
      cfg.transports = val();
      break;
    case "--path":
      cfg.path = val();
      break;
    case "--timeout":
      cfg.timeout = Number(val());
      if (!Number.isInteger(cfg.timeout) || cfg.timeout <= 0) usage("--timeout needs a positive integer");
      break;
    case "--verbose":
      cfg.verbose = true;
      break;
    default:
      if (a.startsWith("-")) usage(`unknown option ${a}`);
      if (url) usage(`unexpected argument ${a}`);
      url = a;
  }
}
if (!url) usage("missing URL");
url = url.replace(/\/+$/, "");

const TRANSPORTS = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};
if (!TRANSPORTS[cfg.transports]) usage(`--transports must be polling, websocket or upgrade, got ${cfg.transports}`);

function log(...a) {
  if (cfg.verbose) process.stderr.write(`[client-check] ${a.join(" ")}\n`);
}

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Binary values become {$bin: hex} so that Buffer / ArrayBuffer / typed arrays
// compare equal whatever representation the client hands back.
function normalize(x) {
  if (Buffer.isBuffer(x)) return { $bin: x.toString("hex") };
  if (x instanceof ArrayBuffer) return { $bin: Buffer.from(x).toString("hex") };
  if (ArrayBuffer.isView(x)) return { $bin: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("hex") };
  if (Array.isArray(x)) return x.map(normalize);
  if (x && typeof x === "object") {
    const o = {};
    for (const k of Object.keys(x)) o[k] = normalize(x[k]);
    return o;
  }
  return x;
}

function show(x) {
  return JSON.stringify(normalize(x));
}

function expectEqual(actual, expected, what) {
  if (!util.isDeepStrictEqual(normalize(actual), normalize(expected))) {
    throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/**
 * Records every event a client socket receives (including the reserved
 * connect / connect_error / disconnect, recorded as "$connect" etc.), so a test
 * can wait for an event that arrived before it started waiting.
 */
class Client {
  constructor(name, socket) {
    this.name = name;
    this.socket = socket;
    this.queue = [];
    this.waiters = [];
    socket.onAny((event, ...args) => this.push(event, args));
    socket.on("connect", () => this.push("$connect", [socket.id]));
    socket.on("connect_error", (err) => this.push("$connect_error", [err]));
    socket.on("disconnect", (reason, details) => this.push("$disconnect", [reason, details]));
  }

  push(event, args) {
    log(`${this.name} <- ${event} ${event === "$connect_error" ? args[0].message : show(args.filter((a) => typeof a !== "function"))}`);
    const i = this.waiters.findIndex((w) => w.event === event);
    if (i !== -1) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(args);
      return;
    }
    this.queue.push({ event, args });
  }

  /** Resolves with the args of the next `event` (queued or future). */
  next(event, ms = cfg.timeout) {
    const i = this.queue.findIndex((e) => e.event === event);
    if (i !== -1) {
      const [e] = this.queue.splice(i, 1);
      return Promise.resolve(e.args);
    }
    return new Promise((resolve, reject) => {
      const w = { event, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no "${event}" within ${ms} ms`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** Throws if `event` is queued now or arrives within `ms`. */
  async none(event, ms) {
    await sleep(ms);
    const e = this.queue.find((q) => q.event === event);
    if (e) throw new Error(`${this.name}: unexpected "${event}" ${show(e.args)}`);
  }

  drop(event) {
    this.queue = this.queue.filter((e) => e.event !== event);
  }

  emitAck(event, ...args) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ack for "${event}" within ${cfg.timeout} ms`)), cfg.timeout);
      this.socket.emit(event, ...args, (...ackArgs) => {
        clearTimeout(timer);
        resolve(ackArgs);
      });
    });
  }

  close() {
    // The Manager closes its Engine.IO connection once none of its sockets is
    // connected any more.
    this.socket.disconnect();
  }
}

const clients = [];

function open(name, nsp, opts = {}) {
  const socket = io(url + nsp, {
    path: cfg.path,
    forceNew: true,
    autoConnect: false,
    ...TRANSPORTS[cfg.transports],
    ...opts,
  });
  const c = new Client(name, socket);
  // Transport each Engine.IO connection of this Manager started with.
  c.openedWith = [];
  socket.io.on("open", () => c.openedWith.push(socket.io.engine.transport.name));
  clients.push(c);
  return c;
}

function openOn(manager, name, nsp, opts = {}) {
  const socket = manager.socket(nsp, opts);
  const c = new Client(name, socket);
  clients.push(c);
  return c;
}

async function connect(c) {
  c.socket.connect();
  const [sid] = await c.next("$connect");
  const [auth] = await c.next("auth");
  return { sid, auth };
}

function engineOf(c) {
  return c.socket.io.engine;
}

/** Resolves once the Engine.IO connection uses the transport the mode ends with. */
async function settledTransport(c) {
  const engine = engineOf(c);
  if (cfg.transports !== "upgrade") return engine.transport.name;
  if (engine.transport.name === "websocket") return "websocket";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade to websocket within ${cfg.timeout} ms`)), cfg.timeout);
    engine.once("upgrade", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return engine.transport.name;
}

const EXPECTED_TRANSPORT = { polling: "polling", websocket: "websocket", upgrade: "websocket" };
const EXPECTED_FIRST_TRANSPORT = { polling: "polling", websocket: "websocket", upgrade: "polling" };

function checkOpenedWith(c, index) {
  const first = c.openedWith[index];
  if (first !== EXPECTED_FIRST_TRANSPORT[cfg.transports]) {
    throw new Error(`connection ${index} opened with ${first}, expected ${EXPECTED_FIRST_TRANSPORT[cfg.transports]}`);
  }
  return first;
}

// ---------------------------------------------------------------- checks

const results = [];
let A, A2, B, C;

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true, ms: Date.now() - t0, ...(detail !== undefined ? { detail } : {}) });
    log(`ok   ${name}`);
    return true;
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: String((e && e.message) || e) });
    log(`FAIL ${name}: ${e && e.message}`);
    return false;
  }
}

const bin = (...bytes) => Buffer.from(bytes);

async function main() {
  const t0 = Date.now();

  const connected = await check("connect", async () => {
    A = open("A", "/", { auth: { token: "abc" } });
    const { sid, auth } = await connect(A);
    expectEqual(auth, { token: "abc" }, "auth event");
    if (typeof sid !== "string" || !sid) throw new Error(`bad socket id ${sid}`);
    return { sid, engineSid: engineOf(A).id, transport: engineOf(A).transport.name };
  });

  if (connected) {
    await check("transport", async () => {
      const first = checkOpenedWith(A, 0);
      const name = await settledTransport(A);
      if (name !== EXPECTED_TRANSPORT[cfg.transports]) {
        throw new Error(`expected transport ${EXPECTED_TRANSPORT[cfg.transports]}, got ${name}`);
      }
      return { openedWith: first, transport: name };
    });

    await check("message", async () => {
      const args = [1, "2", { 3: [true] }, null, "héllo €"];
      A.socket.emit("message", ...args);
      expectEqual(await A.next("message-back"), args, "message-back");
    });

    await check("message-binary", async () => {
      const args = [bin(1, 2, 3), { nested: [bin(4, 5, 6)], text: "x" }, bin()];
      A.socket.emit("message", ...args);
      expectEqual(await A.next("message-back"), args, "message-back");
    });

    await check("message-with-ack", async () => {
      const args = [1, "2", { 3: [false] }];
      expectEqual(await A.emitAck("message-with-ack", ...args), args, "ack");
    });

    await check("message-with-ack-binary", async () => {
      const args = [bin(1, 2, 3), { b: bin(4, 5, 6) }];
      expectEqual(await A.emitAck("message-with-ack", ...args), args, "ack");
    });

    await check("emit-with-ack", async () => {
      const args = ["q", { n: 1 }, bin(7, 8)];
      const reply = ["answer", bin(9)];
      A.socket.once("emit-with-ack", (...got) => {
        const ack = got.pop();
        if (typeof ack !== "function") return;
        ack(...reply);
      });
      A.socket.emit("emit-with-ack", ...args);
      const [got] = await Promise.all([A.next("emit-with-ack"), A.next("emit-with-ack-result")]).then(
        ([g, r]) => {
          expectEqual(r, reply, "emit-with-ack-result");
          return [g];
        },
      );
      expectEqual(got.filter((x) => typeof x !== "function"), args, "server emit-with-ack");
    });

    await check("custom-namespace", async () => {
      // Second namespace multiplexed on A's Engine.IO connection.
      A2 = openOn(A.socket.io, "A2", "/custom", { auth: { token: "xyz" } });
      const { auth } = await connect(A2);
      expectEqual(auth, { token: "xyz" }, "auth event on /custom");
      if (engineOf(A2) !== engineOf(A)) throw new Error("/custom did not share the Engine.IO connection");
      A2.socket.emit("message", "on custom");
      expectEqual(await A2.next("message-back"), ["on custom"], "message-back on /custom");
    });

    await check("invalid-namespace", async () => {
      const R = open("R", "/random");
      R.socket.connect();
      const [err] = await R.next("$connect_error");
      R.close();
      if (err.message !== "Invalid namespace") throw new Error(`expected "Invalid namespace", got ${JSON.stringify(err.message)}`);
      return { message: err.message };
    });

    await check("rooms", async () => {
      B = open("B", "/");
      C = open("C", "/");
      await Promise.all([connect(B), connect(C)]);
      expectEqual(await A.emitAck("join", "room-1"), ["ok"], "join ack A");
      expectEqual(await B.emitAck("join", "room-1"), ["ok"], "join ack B");
      const args = ["hi room", bin(1, 2), { k: "v" }];
      expectEqual(await A.emitAck("to-room", "room-1", ...args), ["ok"], "to-room ack");
      expectEqual(await B.next("room-message"), args, "room-message at B");
      await Promise.all([A.none("room-message", 200), C.none("room-message", 0), A2.none("room-message", 0)]);
      expectEqual(await B.emitAck("leave", "room-1"), ["ok"], "leave ack B");
      expectEqual(await A.emitAck("to-room", "room-1", "after leave"), ["ok"], "to-room ack");
      await Promise.all([B.none("room-message", 200), A.none("room-message", 0), C.none("room-message", 0)]);
    });

    await check("broadcast", async () => {
      const args = ["hello all", { n: 1 }, bin(0xff)];
      A.socket.emit("broadcast", ...args);
      for (const c of [A, B, C]) expectEqual(await c.next("broadcast-message"), args, `broadcast-message at ${c.name}`);
      await A2.none("broadcast-message", 200); // other namespace not included
    });

    await check("close-transport-reconnect", async () => {
      const oldEngine = engineOf(A).id;
      const oldTransport = engineOf(A).transport.name;
      A.drop("$connect");
      A2.drop("$connect");
      A.drop("auth");
      A2.drop("auth");
      A.socket.emit("close-transport");
      const [reason] = await A.next("$disconnect");
      if (reason !== "transport close" && reason !== "transport error") {
        throw new Error(`unexpected disconnect reason ${JSON.stringify(reason)}`);
      }
      const [reason2] = await A2.next("$disconnect");
      // Automatic reconnection (no manual connect()).
      const [sid] = await A.next("$connect", cfg.timeout + 6000);
      await A2.next("$connect", cfg.timeout);
      expectEqual(await A.next("auth"), [{ token: "abc" }], "auth after reconnect");
      expectEqual(await A2.next("auth"), [{ token: "xyz" }], "auth after reconnect on /custom");
      const newEngine = engineOf(A).id;
      if (newEngine === oldEngine) throw new Error("Engine.IO session id did not change");
      const openedWith = checkOpenedWith(A, 1);
      const transport = await settledTransport(A);
      if (transport !== EXPECTED_TRANSPORT[cfg.transports]) {
        throw new Error(`after reconnect: expected transport ${EXPECTED_TRANSPORT[cfg.transports]}, got ${transport}`);
      }
      A.socket.emit("message", "after reconnect", bin(1));
      expectEqual(await A.next("message-back"), ["after reconnect", bin(1)], "message-back after reconnect");
      return { reason, reasonCustom: reason2, oldTransport, openedWith, transport, sid };
    });

    await check("disconnect-me", async () => {
      C.socket.emit("disconnect-me");
      const [reason] = await C.next("$disconnect");
      if (reason !== "io server disconnect") throw new Error(`unexpected disconnect reason ${JSON.stringify(reason)}`);
      await C.none("$connect", 300); // no automatic reconnection after a server disconnect
      if (C.socket.connected) throw new Error("socket reconnected");
      return { reason };
    });
  }

  for (const c of clients) {
    try {
      c.close();
    } catch (_) {
      /* ignore */
    }
  }

  await sleep(50); // let the DISCONNECT packets leave
  const ok = results.length > 0 && results.every((r) => r.ok);
  process.stdout.write(
    JSON.stringify({ ok, url, transports: cfg.transports, checks: results, ms: Date.now() - t0 }) + "\n",
  );
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  process.stdout.write(
    JSON.stringify({ ok: false, url, transports: cfg.transports, checks: results, error: String(e && e.stack) }) + "\n",
  );
  process.exit(1);
});
