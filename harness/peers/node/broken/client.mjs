// Deliberately broken variants of ../client-driver.mjs, for testing siospec
// itself: SIOSPEC_BREAK=FAMILY breaks ONE rule of the client, by changing
// the driver's application hooks or patching the official engine.io-client
// in this process. harness/tests/client_node.rs runs the client catalogue
// against each family and checks that exactly the family's cases fail.
import { Socket as Engine, transports } from "engine.io-client";
import { Manager, Socket } from "socket.io-client";
import { Encoder } from "socket.io-parser";

const FAMILIES = {
  // Not a rule: the driver dies once its session is open (a client that
  // crashes mid-run; its stderr must reach the report).
  crash: () => {
    const onOpen = Engine.prototype.onOpen;
    Engine.prototype.onOpen = function () {
      onOpen.call(this);
      process.stderr.write("broken driver: crashing on purpose\n");
      process.exit(70);
    };
  },
  // Not a rule: the driver hangs once its session is open, its event loop
  // blocked without using the CPU, until siospec kills it.
  hang: () => {
    const onOpen = Engine.prototype.onOpen;
    Engine.prototype.onOpen = function () {
      onOpen.call(this);
      process.stderr.write("broken driver: hanging on purpose\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    };
  },
  // Probes a WebSocket from polling even when the handshake's `upgrades`
  // offers none.
  upgrade: () => {
    const filter = Engine.prototype._filterUpgrades;
    Engine.prototype._filterUpgrades = function (upgrades) {
      return this.transport?.name === "polling" ? ["websocket"] : filter.call(this, upgrades);
    };
  },
  // Handles only the first message of a polling payload (binary
  // attachments, which travel as packets of their own, pass).
  payload: () => {
    const polling = transports.polling.prototype;
    const onData = polling.onData;
    polling.onData = function (data) {
      let first = true;
      this.onPacket = function (packet) {
        if (packet.type !== "message" || typeof packet.data !== "string" || first)
          Object.getPrototypeOf(this).onPacket.call(this, packet);
        if (packet.type === "message") first = false;
      };
      try {
        return onData.call(this, data);
      } finally {
        delete this.onPacket;
      }
    };
  },
  // Takes a polling payload's `b` base64 for the bytes themselves.
  base64: () => {
    const onPacket = Engine.prototype._onPacket;
    Engine.prototype._onPacket = function (packet) {
      if (this.transport?.name === "polling" && packet.type === "message" && typeof packet.data !== "string")
        packet = { ...packet, data: Buffer.from(Buffer.from(packet.data).toString("base64")) };
      return onPacket.call(this, packet);
    };
  },
  // Sends UPGRADE without pausing polling: the old transport polls on.
  pause: () => {
    transports.polling.prototype.pause = (onPause) => onPause();
  },
  // Gives up the session when the WebSocket upgrade fails.
  "upgrade-error": () => {
    const onOpen = Engine.prototype.onOpen;
    Engine.prototype.onOpen = function () {
      onOpen.call(this);
      this.once("upgradeError", () => this.close());
    };
  },
  // Refuses an open packet with a field it does not know.
  "unknown-fields": () => {
    const known = new Set(["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
    const onHandshake = Engine.prototype.onHandshake;
    Engine.prototype.onHandshake = function (data) {
      if (Object.keys(data).some((k) => !known.has(k))) return this.close();
      return onHandshake.call(this, data);
    };
  },
  // Never answers a PING.
  heartbeat: () => {
    const send = Engine.prototype._sendPacket;
    Engine.prototype._sendPacket = function (type, ...rest) {
      if (type !== "pong") return send.call(this, type, ...rest);
    };
  },
  // Sends PINGs of its own, as a v3 client does.
  ping: () => {
    const onOpen = Engine.prototype.onOpen;
    Engine.prototype.onOpen = function () {
      onOpen.call(this);
      const timer = setInterval(() => this._sendPacket("ping"), 100);
      this.on("close", () => clearInterval(timer));
    };
  },
  // Sends no auth.
  auth: (app) => {
    app.auth = undefined;
  },
  // Loses a CONNECT_ERROR's data.
  "connect-error": (app) => {
    app.connectError = (err) => ({ message: err.message, data: null });
  },
  // Opens each further namespace on a connection of its own.
  multiplex: (app) => {
    const open = app.open;
    let first = true;
    app.open = (nsp, opts) => {
      const forceNew = !first;
      first = false;
      return forceNew ? new Manager(app.url, app.options).socket(nsp, opts) : open(nsp, opts);
    };
  },
  // Echoes the arguments in reverse order.
  echo: (app) => {
    app.echo = (args) => [...args].reverse();
  },
  // Echoes binary arguments as base64 text.
  binary: (app) => {
    const text = (v) =>
      Buffer.isBuffer(v) ? v.toString("base64")
      : Array.isArray(v) ? v.map(text)
      : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, text(x)]))
      : v;
    app.echo = (args) => args.map(text);
  },
  // Never answers a server's ack request.
  ack: (app) => {
    app.answer = () => {};
  },
  // Emits without asking for an ack when told to ask for one.
  "own-ack": (app) => {
    app.emitWithAck = (socket, name, args) => socket.emit(name, ...args);
  },
  // Connects again after the server disconnected the namespace.
  disconnect: (app) => {
    app.serverDisconnect = (socket) => socket.connect();
  },
  // Ignores the instruction to disconnect.
  leave: (app) => {
    app.leave = () => {};
  },
  // Crashes on input it cannot parse instead of closing or ignoring it.
  malformed: () => {
    const onPacket = Engine.prototype._onPacket;
    Engine.prototype._onPacket = function (packet) {
      if (packet.type === "error") throw new Error("broken driver: unparsable packet");
      return onPacket.call(this, packet);
    };
    const emit = Engine.prototype.emitReserved;
    Engine.prototype.emitReserved = function (name, ...args) {
      if (name === "data" && typeof args[0] === "string" && args[0].startsWith("2[") && !isJson(args[0].slice(1)))
        throw new Error("broken driver: invalid JSON");
      return emit.call(this, name, ...args);
    };
    // Socket.IO input it cannot decode throws out of the engine's handler
    // instead of closing with "parse error".
    Manager.prototype.ondata = function (data) {
      this.decoder.add(data);
    };
    // And packets it would ignore crash it: one for a namespace it never
    // joined, an ACK without an id, a CONNECT reply without sid.
    const ondecoded = Manager.prototype.ondecoded;
    Manager.prototype.ondecoded = function (packet) {
      if (!this.nsps[packet.nsp]) throw new Error("broken driver: packet for an unknown namespace");
      if (packet.type === 3 && packet.id === undefined) throw new Error("broken driver: ACK without id");
      if (packet.type === 0 && !packet.data?.sid) throw new Error("broken driver: CONNECT without sid");
      return ondecoded.call(this, packet);
    };
  },
  // Sends the first CONNECT for `/` whatever namespace it was asked to join.
  namespace: (app) => {
    const open = app.open;
    let first = true;
    app.open = (nsp, opts) => {
      const asked = first ? "/" : nsp;
      first = false;
      return open(asked, opts);
    };
  },
  // Takes a CONNECT_ERROR for one only when it carries data.
  "connect-error-bare": () => {
    const onpacket = Socket.prototype.onpacket;
    Socket.prototype.onpacket = function (packet) {
      if (packet.type === 4 && packet.nsp === this.nsp && !("data" in packet.data)) return;
      return onpacket.call(this, packet);
    };
  },
  // Gives every emit-with-ack the ack id 0.
  "ack-ids": () => {
    const emit = Socket.prototype.emit;
    Socket.prototype.emit = function (...args) {
      this.ids = 0;
      return emit.apply(this, args);
    };
  },
  // Keeps an ack callback after calling it: a second ACK calls it again.
  "ack-twice": () => {
    const onack = Socket.prototype.onack;
    Socket.prototype.onack = function (packet) {
      const ack = this.acks[packet.id];
      onack.call(this, packet);
      if (typeof ack === "function") this.acks[packet.id] = ack;
    };
  },
  // Closes the connection on an ACK whose id it never gave.
  "unknown-ack": () => {
    const onack = Socket.prototype.onack;
    Socket.prototype.onack = function (packet) {
      if (packet.id !== undefined && typeof this.acks[packet.id] !== "function") return this.io.engine.close();
      return onack.call(this, packet);
    };
  },
  // Sends a binary emit-with-ack as a BINARY_ACK.
  "binary-event-as-ack": () => {
    const encodeAsBinary = Encoder.prototype.encodeAsBinary;
    Encoder.prototype.encodeAsBinary = function (obj) {
      return encodeAsBinary.call(this, obj.type === 5 && obj.id != null ? { ...obj, type: 6 } : obj);
    };
  },
  // Sends the ack of a binary answer as a BINARY_EVENT.
  "binary-ack-as-event": () => {
    const encodeAsBinary = Encoder.prototype.encodeAsBinary;
    Encoder.prototype.encodeAsBinary = function (obj) {
      return encodeAsBinary.call(this, obj.type === 6 ? { ...obj, type: 5 } : obj);
    };
  },
  // Sends binary values as JSON ({"type":"Buffer","data":[...]}), without
  // attachments.
  "binary-as-json": () => {
    Encoder.prototype.encode = function (obj) {
      return [this.encodeAsString(obj)];
    };
  },
  // Sends the attachments in reverse order.
  "attachment-order": () => {
    const encodeAsBinary = Encoder.prototype.encodeAsBinary;
    Encoder.prototype.encodeAsBinary = function (obj) {
      const [header, ...buffers] = encodeAsBinary.call(this, obj);
      return [header, ...buffers.reverse()];
    };
  },
  // Makes attachments of top-level binary arguments only; nested ones go
  // as JSON.
  "nested-binary": () => {
    const isBytes = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
    Encoder.prototype.encodeAsBinary = function (obj) {
      const buffers = [];
      const data = obj.data.map((v) => (isBytes(v) ? { _placeholder: true, num: buffers.push(v) - 1 } : v));
      if (buffers.length === 0) return [this.encodeAsString({ ...obj, type: obj.type - 3, data })];
      return [this.encodeAsString({ ...obj, data, attachments: buffers.length }), ...buffers];
    };
  },
  // Sends an empty binary value as null.
  "empty-binary": () => {
    const isBytes = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
    const drop = (v) =>
      isBytes(v) ? (v.byteLength === 0 ? null : v)
      : Array.isArray(v) ? v.map(drop)
      : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, drop(x)]))
      : v;
    const encode = Encoder.prototype.encode;
    Encoder.prototype.encode = function (obj) {
      return encode.call(this, { ...obj, data: drop(obj.data) });
    };
  },
  // Writes the attachment count with one digit (10 becomes 0).
  "attachment-count": () => {
    const encodeAsString = Encoder.prototype.encodeAsString;
    Encoder.prototype.encodeAsString = function (obj) {
      return encodeAsString.call(this, obj.attachments ? { ...obj, attachments: obj.attachments % 10 } : obj);
    };
  },
  // Adds a null argument to an emit without arguments.
  "no-args": () => {
    const emit = Socket.prototype.emit;
    Socket.prototype.emit = function (ev, ...args) {
      return emit.call(this, ev, ...(args.length === 0 ? [null] : args));
    };
  },
  // Drops an event that carries its name alone.
  "name-only": () => {
    const onevent = Socket.prototype.onevent;
    Socket.prototype.onevent = function (packet) {
      if (packet.data?.length === 1) return;
      return onevent.call(this, packet);
    };
  },
  // Sends characters beyond the BMP as U+FFFD.
  unicode: () => {
    const encodeAsString = Encoder.prototype.encodeAsString;
    Encoder.prototype.encodeAsString = function (obj) {
      return encodeAsString.call(this, obj).replace(/[\u{10000}-\u{10FFFF}]/gu, "\uFFFD");
    };
  },
  // Cuts a packet's text at 64 KiB.
  large: () => {
    const encodeAsString = Encoder.prototype.encodeAsString;
    Encoder.prototype.encodeAsString = function (obj) {
      return encodeAsString.call(this, obj).slice(0, 65536);
    };
  },
  // Drops the events that arrive before the CONNECT reply.
  "early-event": () => {
    const onevent = Socket.prototype.onevent;
    Socket.prototype.onevent = function (packet) {
      if (this.connected) return onevent.call(this, packet);
    };
  },
  // Closes the whole connection when one namespace is left.
  "close-all": () => {
    Manager.prototype._destroy = function () {
      this._close();
    };
  },
};

function isJson(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function breakClient(family, app) {
  const apply = FAMILIES[family];
  if (!apply) {
    process.stderr.write(`unknown SIOSPEC_BREAK family ${family} (known: ${Object.keys(FAMILIES).join(", ")})\n`);
    process.exit(2);
  }
  apply(app);
}
