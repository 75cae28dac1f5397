// Deliberately broken variants of ../client-driver.mjs, for testing siospec
// itself: SIOSPEC_BREAK=FAMILY breaks ONE rule of the client, by changing
// the driver's application hooks or patching the official engine.io-client
// in this process. harness/tests/client_node.rs runs the client catalogue
// against each family and checks that exactly the family's cases fail.
import { Socket as Engine, transports } from "engine.io-client";
import { Manager, Socket } from "socket.io-client";
import { Encoder } from "socket.io-parser";
import msgpackParser from "socket.io-msgpack-parser";
import notepack from "notepack.io";

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
  // Accepts any certificate (run with --tls): a wrong name, an expired one.
  "tls-verify": (app) => {
    app.options.rejectUnauthorized = false;
  },
  // Opens its upgrade's WebSocket as ws:// even from an https session (run
  // with --tls): the upgrade fails and the session stays on polling.
  wss: () => {
    const uri = transports.websocket.prototype.uri;
    transports.websocket.prototype.uri = function () {
      return uri.call(this).replace(/^wss:/, "ws:");
    };
  },
  // Probes a WebSocket from polling even when the handshake's `upgrades`
  // offers none (when its own transports allow WebSocket).
  upgrade: () => {
    const filter = Engine.prototype._filterUpgrades;
    Engine.prototype._filterUpgrades = function (upgrades) {
      return this.transport?.name === "polling" && this.transports.includes("websocket")
        ? ["websocket"]
        : filter.call(this, upgrades);
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
  // Sends PINGs of its own on a WebSocket, as a v3 client does.
  ping: () => {
    const onOpen = Engine.prototype.onOpen;
    Engine.prototype.onOpen = function () {
      onOpen.call(this);
      const timer = setInterval(() => {
        if (this.transport?.name === "websocket") this._sendPacket("ping");
      }, 100);
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
  // Crashes on input it cannot parse or does not expect instead of closing
  // or ignoring it: an unparsable packet, a Socket.IO packet that does not
  // decode, a close packet on a WebSocket, a second open packet, a packet
  // longer than maxPayload in a polling payload.
  malformed: () => {
    const onPacket = Engine.prototype._onPacket;
    Engine.prototype._onPacket = function (packet) {
      if (packet.type === "error") throw new Error("broken driver: unparsable packet");
      if (packet.type === "close" && this.transport?.name === "websocket")
        throw new Error("broken driver: close packet on the WebSocket");
      if (packet.type === "open" && this.readyState === "open") throw new Error("broken driver: second open packet");
      return onPacket.call(this, packet);
    };
    Manager.prototype.ondata = function (data) {
      this.decoder.add(data); // no catch: a parse error is thrown
    };
    const polling = transports.polling.prototype;
    const onData = polling.onData;
    polling.onData = function (data) {
      const max = this.socket._maxPayload;
      if (typeof data === "string" && max > 0 && data.split("\x1e").some((p) => p.length > max))
        throw new Error("broken driver: a packet over maxPayload");
      return onData.call(this, data);
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
  // Sends the whole write buffer in one POST, whatever maxPayload says.
  "max-payload": () => {
    Engine.prototype._getWritablePackets = function () {
      return this.writeBuffer;
    };
  },
  // Never notices a server that stops pinging (no pingInterval +
  // pingTimeout timer).
  "ping-timeout": () => {
    Engine.prototype._resetPingTimeout = function () {};
  },
  // POSTs binary as `b` followed by hex instead of base64.
  "base64-post": () => {
    const polling = transports.polling.prototype;
    const doWrite = polling.doWrite;
    polling.doWrite = function (data, fn) {
      if (typeof data === "string")
        data = data
          .split("\x1e")
          .map((p) => (p.startsWith("b") ? "b" + Buffer.from(p.slice(1), "base64").toString("hex") : p))
          .join("\x1e");
      return doWrite.call(this, data, fn);
    };
  },
  // Polls once more, while its next GET is pending, after a payload of ten
  // events or more (as if to catch up; instructions do not count).
  "overlap-get": () => {
    const polling = transports.polling.prototype;
    const onData = polling.onData;
    polling.onData = function (data) {
      const many =
        typeof data === "string" && data.split("\x1e").filter((p) => !p.startsWith('42["do"')).length >= 10;
      onData.call(this, data);
      if (many && this.readyState === "open") this.doPoll();
    };
  },
  // Sends more than four waiting packets as one POST each, all at once,
  // the last first: whether the server sees the POSTs overlap or one after
  // another, what they carry is out of order.
  "overlap-post": () => {
    const polling = transports.polling.prototype;
    const write = polling.write;
    polling.write = function (packets) {
      if (packets.length <= 4) return write.call(this, packets);
      for (const packet of [...packets].reverse()) write.call(this, [packet]);
    };
  },
  // Drops what follows a NOOP in a polling payload.
  noop: () => {
    const polling = transports.polling.prototype;
    const onData = polling.onData;
    polling.onData = function (data) {
      if (typeof data === "string") {
        const packets = data.split("\x1e");
        const at = packets.indexOf("6");
        if (at !== -1) data = packets.slice(0, at + 1).join("\x1e");
      }
      return onData.call(this, data);
    };
  },
  // Ignores a close packet in a polling payload, and polls on.
  "poll-after-close": () => {
    const polling = transports.polling.prototype;
    const onData = polling.onData;
    polling.onData = function (data) {
      if (typeof data === "string") data = data.split("\x1e").filter((p) => p !== "1").join("\x1e") || "6";
      return onData.call(this, data);
    };
  },
  // Loses the first message that arrives after the upgrade.
  "upgrade-loss": () => {
    const onPacket = Engine.prototype._onPacket;
    Engine.prototype._onPacket = function (packet) {
      if (this.siospecDrop && packet.type === "message") {
        this.siospecDrop = false;
        return;
      }
      return onPacket.call(this, packet);
    };
    const probe = Engine.prototype._probe;
    Engine.prototype._probe = function (name) {
      this.once("upgrade", () => {
        this.siospecDrop = true;
      });
      return probe.call(this, name);
    };
  },
  // Sends its last message before the upgrade once more after it.
  "upgrade-dup": () => {
    const probe = Engine.prototype._probe;
    Engine.prototype._probe = function (name) {
      let last = null;
      const remember = (packet) => {
        if (packet.type === "message") last = packet;
      };
      this.on("packetCreate", remember);
      this.once("upgrade", () => {
        this.off("packetCreate", remember);
        if (last) this.writeBuffer.unshift({ ...last });
      });
      return probe.call(this, name);
    };
  },
  // Takes its own `2probe` for answered: upgrades without the server's
  // `3probe`.
  probe: () => {
    const ws = transports.websocket.prototype;
    const write = ws.write;
    ws.write = function (packets) {
      write.call(this, packets);
      // Before any answer can be read, once the prober listens.
      if (packets.some((p) => p.type === "ping" && p.data === "probe"))
        queueMicrotask(() => this.onPacket({ type: "pong", data: "probe" }));
    };
  },
  // Reconnects every 2.5 s, without the exponential backoff (a first
  // attempt later than the 1.5 s the defaults allow).
  backoff: (app) => {
    Object.assign(app.options, { reconnectionDelay: 2500, reconnectionDelayMax: 2500, randomizationFactor: 0 });
  },
  // Reconnects only the main namespace after the transport drops.
  namespaces: () => {
    const onclose = Socket.prototype.onclose;
    Socket.prototype.onclose = function (reason, description) {
      onclose.call(this, reason, description);
      if (this.nsp !== "/" && reason === "transport close") this.destroy();
    };
  },
  // Tries the namespace again by itself after a CONNECT_ERROR.
  "connect-error-retry": () => {
    const onpacket = Socket.prototype.onpacket;
    Socket.prototype.onpacket = function (packet) {
      onpacket.call(this, packet);
      if (packet.type === 4 && packet.nsp === this.nsp) setTimeout(() => this.connect(), 500);
    };
  },
  // Never resets its reconnection attempt count (nor its backoff).
  attempts: () => {
    const reconnect = Manager.prototype.reconnect;
    Manager.prototype.reconnect = function () {
      this.backoff.reset = () => {};
      return reconnect.call(this);
    };
  },
  // Sends the auth with the first CONNECT only, not a reconnection's.
  "auth-once": () => {
    const send = Socket.prototype._sendConnectPacket;
    Socket.prototype._sendConnectPacket = function (data) {
      const first = !this.siospecSent;
      this.siospecSent = true;
      return send.call(this, first ? data : undefined);
    };
  },
  // Takes a close packet from the server for the end: no reconnection.
  "close-final": () => {
    const onclose = Manager.prototype.onclose;
    Manager.prototype.onclose = function (reason, description) {
      if (description?.description === "transport closed by the server") this.skipReconnect = true;
      return onclose.call(this, reason, description);
    };
  },
  // Connection state recovery. Sends another pid than the server's.
  "recovery-pid": () => {
    const send = Socket.prototype._sendConnectPacket;
    Socket.prototype._sendConnectPacket = function (data) {
      const pid = this._pid;
      if (pid) this._pid = `${pid}-broken`;
      try {
        return send.call(this, data);
      } finally {
        this._pid = pid;
      }
    };
  },
  // Keeps the first offset instead of the latest.
  "recovery-offset": () => {
    const emitEvent = Socket.prototype.emitEvent;
    Socket.prototype.emitEvent = function (args) {
      const first = this._lastOffset;
      emitEvent.call(this, args);
      if (first !== undefined) this._lastOffset = first;
    };
  },
  // Sends pid and offset without the auth.
  "recovery-auth": () => {
    const send = Socket.prototype._sendConnectPacket;
    Socket.prototype._sendConnectPacket = function (data) {
      return send.call(this, this._pid ? undefined : data);
    };
  },
  // Drops the events that came before the CONNECT reply of a restored session.
  "recovery-missed": () => {
    const emitBuffered = Socket.prototype.emitBuffered;
    Socket.prototype.emitBuffered = function () {
      if (this.recovered) this.receiveBuffer = [];
      return emitBuffered.call(this);
    };
  },
  // Delivers the missed events of a restore without taking their offsets.
  "recovery-restored-offset": () => {
    const emitBuffered = Socket.prototype.emitBuffered;
    Socket.prototype.emitBuffered = function () {
      const before = this._lastOffset;
      emitBuffered.call(this);
      this._lastOffset = before;
    };
  },
  // Reports no session as recovered.
  "recovery-recovered": (app) => {
    app.recovered = () => false;
  },
  // Reports every session with a pid as recovered, a new one too.
  "recovery-not-recovered": (app) => {
    app.recovered = (socket) => socket._pid !== undefined;
  },
  // Tracks offsets without a pid and sends the last one on reconnection.
  "recovery-no-pid": () => {
    const emitEvent = Socket.prototype.emitEvent;
    Socket.prototype.emitEvent = function (args) {
      emitEvent.call(this, args);
      if (!this._pid && typeof args[args.length - 1] === "string") this.siospecOffset = args[args.length - 1];
    };
    const send = Socket.prototype._sendConnectPacket;
    Socket.prototype._sendConnectPacket = function (data) {
      return send.call(this, !this._pid && this.siospecOffset ? { offset: this.siospecOffset, ...data } : data);
    };
  },
  // With SIOSPEC_PARSER=msgpack: every packet with bytes is followed by
  // each Buffer as a binary message of its own, as default-parser
  // attachments are.
  "msgpack-attachments": () => {
    const encode = msgpackParser.Encoder.prototype.encode;
    const buffers = (v, out) => {
      if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) out.push(v);
      else if (Array.isArray(v)) v.forEach((x) => buffers(x, out));
      else if (v && typeof v === "object") Object.values(v).forEach((x) => buffers(x, out));
      return out;
    };
    msgpackParser.Encoder.prototype.encode = function (packet) {
      return [...encode.call(this, packet), ...buffers(packet.data, [])];
    };
  },
  // With SIOSPEC_PARSER=msgpack: `undefined` in event data is refused.
  "msgpack-undefined": () => {
    const decode = notepack.decode;
    notepack.decode = function (buffer) {
      const v = decode(buffer);
      if (v && Array.isArray(v.data) && v.data.some((x) => x === undefined)) {
        throw new Error("undefined refused (broken: msgpack-undefined)");
      }
      return v;
    };
  },
  // With SIOSPEC_PARSER=msgpack: the decoder delivers what it should refuse,
  // a BINARY_EVENT map read as an EVENT and a text message read as the
  // default parser's text packet.
  "msgpack-lenient": () => {
    msgpackParser.Decoder.prototype.add = function (obj) {
      let p;
      if (typeof obj === "string") {
        const type = Number(obj[0]);
        p = { type, nsp: "/", data: JSON.parse(obj.slice(1)) };
      } else {
        p = notepack.decode(obj);
      }
      if (p.type === 5 || p.type === 6) p.type -= 3;
      this.emit("decoded", p);
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
