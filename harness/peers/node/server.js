#!/usr/bin/env node
"use strict";

// Ground-truth peer for siospec: the official engine.io / socket.io Node server,
// configured by CLI flags that mirror `siospec serve`.
//
// stdout carries exactly one line, `listening on http://ADDR` (https with
// --tls-cert), once the server is listening; everything else goes to stderr.
// See README.md for the contract.

const http = require("http");
const https = require("https");
const fs = require("fs");

const USAGE = `usage: node server.js [options]

  --addr HOST:PORT          listen address (default 127.0.0.1:0; port 0 = free port)
  --mode both|socket|engine both (default): the socket.io server on /socket.io/
                            and the bare engine.io echo server on /engine.io/,
                            on one port; or only one of them
  --profile suite           the official suites' configuration (pingInterval 300,
                            pingTimeout 200, maxHttpBufferSize 1e6, cors origin "*",
                            upgradeTimeout 2000, connectTimeout 1000); explicit
                            flags override it
  --ping-interval MS        pingInterval
  --ping-timeout MS         pingTimeout
  --upgrade-timeout MS      upgradeTimeout
  --connect-timeout MS      connectTimeout (socket mode only)
  --max-payload BYTES       maxHttpBufferSize
  --allow-eio3              allowEIO3: true
  --cors-origin ORIGIN      cors: { origin: ORIGIN }
  --transports LIST         comma-separated, e.g. polling,websocket
  --parser default|msgpack  the Socket.IO parser (socket mode); msgpack is
                            socket.io-msgpack-parser
  --recovery MS             connection-state recovery on the namespace /recovery
                            (maxDisconnectionDuration MS, skipMiddlewares true);
                            / and /custom stay without it
  --redis URL               join a cluster: @socket.io/redis-adapter over the Redis
                            server at URL (redis://HOST:PORT) on / and /custom;
                            ready once its subscriptions are in place
  --tls-cert FILE           serve HTTPS and WSS (https.createServer) with this
                            certificate chain (PEM); needs --tls-key
  --tls-key FILE            the private key of --tls-cert (PEM)
  --exit-on-stdin-close     exit when stdin reaches EOF / closes
  --verbose                 log connections and events to stderr
  --help                    this text
`;

function log(...args) {
  process.stderr.write(`[node-peer] ${args.join(" ")}\n`);
}

function die(msg) {
  process.stderr.write(`server.js: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------- CLI parsing

const FLAGS = {
  "--addr": "string",
  "--mode": "string",
  "--profile": "string",
  "--ping-interval": "uint",
  "--ping-timeout": "uint",
  "--upgrade-timeout": "uint",
  "--connect-timeout": "uint",
  "--max-payload": "uint",
  "--allow-eio3": "bool",
  "--cors-origin": "string",
  "--transports": "string",
  "--parser": "string",
  "--recovery": "uint",
  "--redis": "string",
  "--tls-cert": "string",
  "--tls-key": "string",
  "--exit-on-stdin-close": "bool",
  "--verbose": "bool",
  "--help": "bool",
};

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq !== -1) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const kind = FLAGS[arg];
    if (!kind) die(`unknown argument ${JSON.stringify(argv[i])}`);
    const key = arg.slice(2);
    if (kind === "bool") {
      if (inline !== undefined) die(`${arg} takes no value`);
      out[key] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) die(`${arg} needs a value`);
      value = argv[++i];
    }
    if (kind === "uint") {
      if (!/^\d+$/.test(value)) die(`${arg} needs a non-negative integer, got ${JSON.stringify(value)}`);
      value = Number(value);
    }
    out[key] = value;
  }
  return out;
}

function parseAddr(addr) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) die(`--addr must be HOST:PORT, got ${JSON.stringify(addr)}`);
  const host = m[1] !== undefined ? m[1] : m[2];
  const port = Number(m[3]);
  if (port > 65535) die(`invalid port in --addr ${addr}`);
  return { host: host || "127.0.0.1", port };
}

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const mode = args.mode || "both";
if (!["both", "socket", "engine"].includes(mode)) die(`--mode must be both, socket or engine, got ${JSON.stringify(mode)}`);
const socketMode = mode !== "engine";
const engineMode = mode !== "socket";
if (args.parser !== undefined && !["default", "msgpack"].includes(args.parser)) die(`--parser must be default or msgpack, got ${JSON.stringify(args.parser)}`);
if (args.profile !== undefined && args.profile !== "suite") die(`--profile must be suite, got ${JSON.stringify(args.profile)}`);
const { host, port } = parseAddr(args.addr || "127.0.0.1:0");
const verbose = !!args.verbose;

// ---------------------------------------------------------------- options

// Without a profile: only explicitly given flags are set, so every other option
// keeps the engine.io / socket.io default.
const opts = {};
const FORBIDDEN_MESSAGE = "Forbidden by the contract";
if (args.profile === "suite") {
  Object.assign(opts, {
    pingInterval: 300,
    pingTimeout: 200,
    maxHttpBufferSize: 1e6,
    cors: { origin: "*" },
    upgradeTimeout: 2000,
  });
  if (socketMode) opts.connectTimeout = 1000;
}
if (args["ping-interval"] !== undefined) opts.pingInterval = args["ping-interval"];
if (args["ping-timeout"] !== undefined) opts.pingTimeout = args["ping-timeout"];
if (args["upgrade-timeout"] !== undefined) opts.upgradeTimeout = args["upgrade-timeout"];
if (args["max-payload"] !== undefined) opts.maxHttpBufferSize = args["max-payload"];
if (args["allow-eio3"]) opts.allowEIO3 = true;
// The contract's request check: a handshake whose query has `forbidden` is
// refused by allowRequest (code 4 with this message).
opts.allowRequest = (req, callback) => {
  const forbidden = new URL(req.url, "http://testee").searchParams.has("forbidden");
  callback(forbidden ? FORBIDDEN_MESSAGE : null, !forbidden);
};
if (args["cors-origin"] !== undefined) opts.cors = { origin: args["cors-origin"] };
if (args.transports !== undefined) {
  const list = args.transports.split(",").map((s) => s.trim()).filter(Boolean);
  for (const t of list) {
    if (t !== "polling" && t !== "websocket") die(`unknown transport ${JSON.stringify(t)} in --transports`);
  }
  if (list.length === 0) die("--transports must name at least one transport");
  opts.transports = list;
}
if (args["connect-timeout"] !== undefined) {
  if (socketMode) opts.connectTimeout = args["connect-timeout"];
  else log("note: --connect-timeout is ignored in engine mode");
}
// Two engines on one HTTP server: each must leave the other's WebSocket
// upgrades alone (engine.io ends upgrades outside its path by default).
opts.destroyUpgrade = false;
if (socketMode) {
  // Explicit, although it is the default: no connection-state recovery, so the
  // CONNECT reply carries only `sid` and emits carry no offset argument.
  delete opts.connectionStateRecovery;
}

// Logged as requested (socket.io adds its own keys to the object it is given).
const requestedOpts = JSON.stringify(opts);

// ---------------------------------------------------------------- server

// Same fallback handler as engine.io's own listen(): anything outside the
// engine path gets 501.
const notImplemented = (req, res) => {
  res.writeHead(501);
  res.end("Not Implemented");
};
if (Boolean(args["tls-cert"]) !== Boolean(args["tls-key"])) die("--tls-cert and --tls-key go together");
const tls = args["tls-cert"]
  ? { cert: fs.readFileSync(args["tls-cert"]), key: fs.readFileSync(args["tls-key"]) }
  : null;
const httpServer = tls ? https.createServer(tls, notImplemented) : http.createServer(notImplemented);

let closeAll = () => {};

/**
 * Drop the Engine.IO connection under a socket without sending a close packet:
 * the TCP connection is destroyed, so both sides see a transport error/close.
 *  - websocket: ws.terminate() (no close frame, TCP destroyed)
 *  - polling: destroy the TCP socket of the pending GET (the long-poll); if no
 *    GET is pending right now, destroy the next one as soon as it arrives.
 */
function dropTransport(conn) {
  const transport = conn.transport;
  if (!transport) return "none";
  if (transport.name === "websocket") {
    transport.socket.terminate();
    return "websocket-terminate";
  }
  if (transport.name === "polling") {
    const kill = () => {
      const req = transport.req;
      if (req && req.socket) req.socket.destroy();
    };
    if (transport.req) {
      kill();
      return "polling-destroy-get";
    }
    // Runs before the socket flushes into the fresh GET.
    transport.prependOnceListener("ready", kill);
    return "polling-destroy-next-get";
  }
  // webtransport or anything else: close the underlying transport abruptly.
  transport.onError("close-transport requested");
  return "transport-error";
}

function stripAck(args) {
  if (args.length && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

// What must be done before the `listening on` line: the cluster's subscriptions.
const ready = [];

// @socket.io/redis-adapter on every namespace of `io` (the adapter of a
// namespace is made when it is first used: / and /custom are made below).
// Resolves once the subscriber holds its two pattern subscriptions, read from
// Redis itself (CLIENT LIST), so that a broadcast published after the ready
// line reaches this node.
async function joinCluster(io, url) {
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => log(`redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  const subId = await sub.sendCommand(["CLIENT", "ID"]);
  io.adapter(createAdapter(pub, sub));
  io.of("/custom");
  for (let i = 0; i < 500; i++) {
    const line = await pub.sendCommand(["CLIENT", "LIST", "ID", String(subId)]);
    const psub = /\bpsub=(\d+)/.exec(line);
    if (psub && Number(psub[1]) >= 2) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the Redis subscriptions did not take within 5 s");
}

function setupSocketMode() {
  const { Server } = require("socket.io");
  // The parser, for both Servers below: a broadcast is encoded by its
  // namespace's Server.
  const parser = args.parser === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {};
  const io = new Server(httpServer, { ...opts, ...parser });
  if (args.redis !== undefined) ready.push(joinCluster(io, args.redis));

  function onConnection(socket) {
    const nsp = socket.nsp;
    if (verbose) log(`connect nsp=${nsp.name} id=${socket.id} transport=${socket.conn.transport.name}`);
    socket.on("disconnect", (reason) => {
      if (verbose) log(`disconnect nsp=${nsp.name} id=${socket.id} reason=${reason}`);
    });
    if (verbose) {
      socket.onAny((event) => log(`event nsp=${nsp.name} id=${socket.id} ${JSON.stringify(event)}`));
    }

    socket.emit("auth", socket.handshake.auth);

    socket.on("message", (...raw) => {
      const [args] = stripAck(raw);
      socket.emit("message-back", ...args);
    });

    socket.on("message-with-ack", (...raw) => {
      const [args, ack] = stripAck(raw);
      if (ack) ack(...args);
    });

    socket.on("emit-with-ack", (...raw) => {
      const [args] = stripAck(raw);
      socket.emit("emit-with-ack", ...args, (...ackArgs) => {
        socket.emit("emit-with-ack-result", ...ackArgs);
      });
    });

    socket.on("join", (...raw) => {
      const [args, ack] = stripAck(raw);
      socket.join(args[0]);
      if (ack) ack("ok");
    });

    socket.on("leave", (...raw) => {
      const [args, ack] = stripAck(raw);
      socket.leave(args[0]);
      if (ack) ack("ok");
    });

    socket.on("to-room", (...raw) => {
      const [args, ack] = stripAck(raw);
      const [room, ...rest] = args;
      socket.to(room).emit("room-message", ...rest);
      if (ack) ack("ok");
    });

    socket.on("broadcast", (...raw) => {
      const [args, ack] = stripAck(raw);
      nsp.emit("broadcast-message", ...args);
      if (ack) ack("ok");
    });

    socket.on("disconnect-me", () => {
      socket.disconnect();
    });

    socket.on("close-transport", () => {
      const how = dropTransport(socket.conn);
      if (verbose) log(`close-transport id=${socket.id} via ${how}`);
    });
  }

  io.of("/").on("connection", onConnection);
  io.of("/custom").on("connection", onConnection);
  if (args.recovery !== undefined) {
    // socket.io turns recovery on for a whole Server (its options decide the
    // pid, the offsets and the session-aware adapter), and the contract wants
    // it on /recovery only: a second Server, attached to nothing, lends that
    // namespace, and the first Server's clients join it through `io.of`,
    // which finds it in `_nsps`. Everything on /recovery is then the
    // official recovery code as a server started with the option runs it.
    const recovering = new Server({
      connectionStateRecovery: { maxDisconnectionDuration: args.recovery, skipMiddlewares: true },
      ...parser,
    });
    const nsp = recovering.of("/recovery");
    io._nsps.set("/recovery", nsp);
    nsp.on("connection", onConnection);
  }
  // Any other namespace: socket.io's default refusal,
  // CONNECT_ERROR {"message":"Invalid namespace"}.

  const previous = closeAll;
  closeAll = () => {
    previous();
    io.close();
  };
}

function setupEngineMode() {
  const engine = require("engine.io");
  const { connectTimeout, ...engineOpts } = opts;
  const server = new engine.Server(engineOpts);
  server.attach(httpServer, { path: "/engine.io", destroyUpgrade: false });
  server.on("connection", (socket) => {
    if (verbose) log(`connect id=${socket.id} transport=${socket.transport.name} protocol=${socket.protocol}`);
    socket.on("message", (data) => socket.send(data));
    socket.on("close", (reason) => {
      if (verbose) log(`close id=${socket.id} reason=${reason}`);
    });
  });
  server.on("connection_error", (err) => {
    if (verbose) log(`connection_error code=${err.code} message=${err.message}`);
  });
  const previous = closeAll;
  closeAll = () => {
    previous();
    server.close();
  };
}

if (socketMode) setupSocketMode();
if (engineMode) setupEngineMode();

// ---------------------------------------------------------------- lifecycle

let shuttingDown = false;
function shutdown(why) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`shutting down (${why})`);
  try {
    closeAll();
  } catch (e) {
    log(`error while closing: ${e && e.message}`);
  }
  httpServer.close();
  if (typeof httpServer.closeAllConnections === "function") httpServer.closeAllConnections();
  // Give the close frames a moment to leave, then go regardless of what is
  // still open.
  setTimeout(() => process.exit(0), 50);
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
if (args["exit-on-stdin-close"]) {
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.stdin.on("close", () => shutdown("stdin closed"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}

httpServer.on("error", (err) => {
  log(`listen error: ${err.message}`);
  process.exit(1);
});

Promise.all(ready).then(
  () => httpServer.listen(port, host, listening),
  (err) => {
    log(`cannot join the cluster: ${err.message}`);
    process.exit(1);
  },
);

function listening() {
  const a = httpServer.address();
  const shown = a.family === "IPv6" || a.family === 6 ? `[${a.address}]` : a.address;
  process.stdout.write(`listening on ${tls ? "https" : "http"}://${shown}:${a.port}\n`);
  log(`mode=${mode} paths=${[socketMode && "/socket.io/", engineMode && "/engine.io/"].filter(Boolean).join(",")} options=${requestedOpts}`);
}
