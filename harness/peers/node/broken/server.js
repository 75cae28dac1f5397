#!/usr/bin/env node
"use strict";

// A deliberately broken variant of ../server.js, for testing siospec itself:
// `node broken/server.js --break FAMILY <server.js flags>` patches the
// official engine.io / socket.io packages so that ONE rule family is broken,
// then runs the unmodified ../server.js. siospec's tests run the catalogue
// against each family and check that the family's cases fail.
//
// Families (see FAMILIES below): handshake, errors, echo, heartbeat, close,
// upgrade, malformed, cors, limits, eio3, sio-connect, sio-connect-error, sio-order,
// sio-event, sio-binary, sio-disconnect, sio-rooms, sio-malformed, first-ping;
// on the recovery namespace (`--recovery MS`): recovery-pid, recovery-offset,
// recovery-ack-offset, recovery-order, recovery-once, recovery-expiry,
// recovery-lenient, recovery-reasons; with `--parser msgpack`:
// msgpack-lenient, msgpack-attachments, msgpack-ext, msgpack-undefined.

const http = require("http");
const path = require("path");

const argv = process.argv.slice(2);
const at = argv.indexOf("--break");
if (at === -1 || at + 1 >= argv.length) {
  process.stderr.write("usage: node broken/server.js --break FAMILY [server.js options]\n");
  process.exit(2);
}
const family = argv[at + 1];
argv.splice(at, 2);

const peer = path.join(__dirname, "..");
const req = (m) => require(path.join(peer, "node_modules", m));

function engineSocket() {
  return req("engine.io/build/socket.js").Socket;
}

// Every packet decoder a transport uses goes through this hook.
function wrapParsers(wrap) {
  const Transport = req("engine.io/build/transport.js").Transport;
  Object.defineProperty(Transport.prototype, "parser", {
    configurable: true,
    get() {
      return this._brokenParser;
    },
    set(p) {
      this._brokenParser = wrap(Object.assign({}, p, {
        encodePacket: p.encodePacket,
        decodePacket: p.decodePacket,
        encodePayload: p.encodePayload,
        decodePayload: p.decodePayload,
      }));
    },
  });
}

const FAMILIES = {
  // The open packet reports pingInterval 301 and no maxPayload.
  handshake() {
    const S = engineSocket();
    const orig = S.prototype.sendPacket;
    S.prototype.sendPacket = function (type, data, ...rest) {
      if (type === "open") {
        const h = JSON.parse(data);
        h.pingInterval += 1;
        delete h.maxPayload;
        data = JSON.stringify(h);
      }
      return orig.call(this, type, data, ...rest);
    };
  },
  // Bad and forbidden requests are answered 200 instead of 400 and 403.
  errors() {
    const orig = http.ServerResponse.prototype.writeHead;
    http.ServerResponse.prototype.writeHead = function (status, ...rest) {
      const h = rest[rest.length - 1];
      if ((status === 400 || status === 403) && h && typeof h === "object" && /json/.test(JSON.stringify(h))) status = 200;
      return orig.call(this, status, ...rest);
    };
  },
  // Echoed text messages get a trailing "!".
  echo() {
    const S = engineSocket();
    const orig = S.prototype.send;
    S.prototype.send = function (data, ...rest) {
      if (typeof data === "string") data += "!";
      return orig.call(this, data, ...rest);
    };
  },
  // The ping timeout never fires.
  heartbeat() {
    engineSocket().prototype.resetPingTimeout = function () {};
  },
  // A close packet from the client is ignored.
  close() {
    const noClose = (pkt) => (pkt && pkt.type === "close" ? { type: "noop" } : pkt);
    wrapParsers((p) => {
      const dp = p.decodePayload;
      p.decodePayload = (data, ...rest) => {
        // v3's decoder reports packets to a callback, v4's returns an array.
        const last = rest.length - 1;
        if (last >= 0 && typeof rest[last] === "function") {
          const cb = rest[last];
          rest[last] = (pkt, ...more) => cb(noClose(pkt), ...more);
          return dp(data, ...rest);
        }
        const out = dp(data, ...rest);
        return Array.isArray(out) ? out.map(noClose) : out;
      };
      return p;
    });
  },
  // No noop ends the pending poll during an upgrade (only then: the noop
  // that ends the pending poll when the session closes is another rule).
  upgrade() {
    const S = engineSocket();
    const maybe = S.prototype._maybeUpgrade;
    S.prototype._maybeUpgrade = function (...args) {
      this.transport._brokenSocket = this;
      return maybe.apply(this, args);
    };
    const P = req("engine.io/build/transports/polling.js").Polling;
    const orig = P.prototype.send;
    P.prototype.send = function (packets) {
      if (!(this._brokenSocket && this._brokenSocket.upgrading)) return orig.call(this, packets);
      const kept = packets.filter((p) => p.type !== "noop");
      if (kept.length) return orig.call(this, kept);
    };
  },
  // Undecodable Engine.IO packets are ignored instead of closing the session.
  malformed() {
    wrapParsers((p) => {
      const dp = p.decodePacket;
      p.decodePacket = (...args) => {
        const pkt = dp(...args);
        return pkt && pkt.type === "error" ? { type: "noop" } : pkt;
      };
      const dl = p.decodePayload;
      p.decodePayload = (data, ...rest) => {
        const out = dl(data, ...rest);
        return Array.isArray(out) ? out.map((x) => (x.type === "error" ? { type: "noop" } : x)) : out;
      };
      return p;
    });
  },
  // No CORS headers, no preflight answer.
  // CORS enabled, but every answer allows another origin than the one asking
  // (a server without CORS at all does not offer the feature: UNSUPPORTED).
  cors() {
    const set = http.ServerResponse.prototype.setHeader;
    http.ServerResponse.prototype.setHeader = function (name, value) {
      if (/^access-control-allow-origin$/i.test(name)) return set.call(this, name, "http://elsewhere.example");
      return set.call(this, name, value);
    };
  },
  // maxPayload not enforced (100 MB) although 1e6 is announced.
  limits() {
    argv.push("--max-payload", "100000000");
    const S = engineSocket();
    const orig = S.prototype.sendPacket;
    S.prototype.sendPacket = function (type, data, ...rest) {
      if (type === "open") {
        const h = JSON.parse(data);
        if ("maxPayload" in h) h.maxPayload = 1000000;
        data = JSON.stringify(h);
      }
      return orig.call(this, type, data, ...rest);
    };
  },
  // v3 length prefixes are counted in bytes instead of characters, plus one.
  eio3() {
    const v3 = req("engine.io/build/parser-v3/index.js");
    const orig = v3.encodePayload;
    v3.encodePayload = (packets, supportsBinary, cb) =>
      orig(packets, supportsBinary, (out) => cb(typeof out === "string" ? out.replace(/^(\d+):/, (m, n) => `${Number(n) + 1}:`) : out));
  },
  // The CONNECT reply carries an extra key.
  "sio-connect"() {
    const S = req("socket.io/dist/socket.js").Socket;
    const orig = S.prototype.packet;
    S.prototype.packet = function (packet, ...rest) {
      if (packet.type === 0 && packet.data && packet.data.sid) packet.data = Object.assign({}, packet.data, { extra: 1 });
      return orig.call(this, packet, ...rest);
    };
  },
  // CONNECT_ERROR carries its message as a plain string, as in protocol 4,
  // not the object protocol 5 requires.
  "sio-connect-error"() {
    const C = req("socket.io/dist/client.js").Client;
    const orig = C.prototype._packet;
    C.prototype._packet = function (packet, ...rest) {
      if (packet.type === 4 && packet.data && typeof packet.data.message === "string") {
        packet = Object.assign({}, packet, { data: packet.data.message });
      }
      return orig.call(this, packet, ...rest);
    };
  },
  // An event reaches the client before the CONNECT reply of its namespace
  // (protocol 5), which the official client tolerates by holding it.
  "sio-order"() {
    const S = req("socket.io/dist/socket.js").Socket;
    const orig = S.prototype._onconnect;
    S.prototype._onconnect = function (...args) {
      if (this.conn.protocol !== 3) this.packet({ type: 2, data: ["early"] });
      return orig.apply(this, args);
    };
  },
  // Acks carry an extra argument.
  "sio-event"() {
    const S = req("socket.io/dist/socket.js").Socket;
    const orig = S.prototype.ack;
    S.prototype.ack = function (id) {
      const f = orig.call(this, id);
      return (...args) => f(...args, "extra");
    };
  },
  // Binary attachments are sent in reverse order.
  "sio-binary"() {
    const E = req("socket.io-parser").Encoder;
    const orig = E.prototype.encode;
    E.prototype.encode = function (obj) {
      const out = orig.call(this, obj);
      if (out.length > 2) return [out[0], ...out.slice(1).reverse()];
      return out;
    };
  },
  // DISCONNECT packets are neither sent nor honoured.
  "sio-disconnect"() {
    const S = req("socket.io/dist/socket.js").Socket;
    const packet = S.prototype.packet;
    S.prototype.packet = function (p, ...rest) {
      if (p.type === 1) return;
      return packet.call(this, p, ...rest);
    };
    const onpacket = S.prototype._onpacket;
    S.prototype._onpacket = function (p) {
      if (p.type === 1) return;
      return onpacket.call(this, p);
    };
  },
  // Messages to a room also reach the sender.
  "sio-rooms"() {
    const S = req("socket.io/dist/socket.js").Socket;
    S.prototype.to = function (room) {
      return this.nsp.to(room);
    };
  },
  // Undecodable Socket.IO packets are dropped instead of closing the connection.
  "sio-malformed"() {
    const D = req("socket.io-parser").Decoder;
    const orig = D.prototype.add;
    D.prototype.add = function (obj) {
      try {
        return orig.call(this, obj);
      } catch (e) {
        this.reconstructor = null;
      }
    };
  },
  // The first PING goes out at once after the handshake, as engineioxide
  // (socketioxide) sends it, instead of one pingInterval later; the later
  // ones keep their interval.
  "first-ping"() {
    const S = engineSocket();
    const orig = S.prototype.schedulePing;
    S.prototype.schedulePing = function () {
      if (!this._brokenPinged) {
        this._brokenPinged = true;
        // Right after the handshake's answer, not inside it (engineioxide's
        // PING comes on the next GET).
        setTimeout(() => {
          if (this.readyState !== "open") return;
          this.hasRefreshedPingTimeout = false;
          this.sendPacket("ping");
          this.resetPingTimeout();
        }, 0);
      }
      // The next PING one pingInterval later (a pong restarts that timer).
      return orig.call(this);
    };
  },
  // socket.io-msgpack-parser's decoder takes what it should refuse: a text
  // message, a frame that is no map and type 7 are dropped, BINARY_EVENT /
  // BINARY_ACK read as EVENT / ACK, a CONNECT's non-object data ignored, an
  // EVENT's non-array data dropped, a fractional id rounded down. Nothing
  // closes the connection.
  "msgpack-lenient"() {
    const msgpack = req("notepack.io");
    const D = req("socket.io-msgpack-parser").Decoder;
    D.prototype.add = function (obj) {
      if (typeof obj === "string") return;
      const p = msgpack.decode(obj);
      if (!p || typeof p !== "object" || Array.isArray(p) || ![0, 1, 2, 3, 4, 5, 6].includes(p.type)) return;
      if (p.type === 5 || p.type === 6) p.type -= 3;
      if (p.type === 0 && (Array.isArray(p.data) || typeof p.data !== "object")) delete p.data;
      if ((p.type === 2 || p.type === 3) && !Array.isArray(p.data)) return;
      if (typeof p.id === "number") p.id = Math.floor(p.id);
      this.emit("decoded", p);
    };
  },
  // Every packet with bytes is followed by each of its Buffers as a binary
  // message of its own, as the default parser sends attachments.
  "msgpack-attachments"() {
    const E = req("socket.io-msgpack-parser").Encoder;
    const orig = E.prototype.encode;
    const buffers = (v, out) => {
      if (Buffer.isBuffer(v)) out.push(v);
      else if (Array.isArray(v)) v.forEach((x) => buffers(x, out));
      else if (v && typeof v === "object") Object.values(v).forEach((x) => buffers(x, out));
      return out;
    };
    E.prototype.encode = function (packet) {
      return [...orig.call(this, packet), ...buffers(packet.data, [])];
    };
  },
  // Bytes written as ext type 0 (how the Node client sends an ArrayBuffer)
  // are refused.
  "msgpack-ext"() {
    const orig = req("notepack.io").decode;
    const hasArrayBuffer = (v) =>
      v instanceof ArrayBuffer ||
      (Array.isArray(v) && v.some(hasArrayBuffer)) ||
      (v && typeof v === "object" && !Buffer.isBuffer(v) && Object.values(v).some(hasArrayBuffer));
    req("notepack.io").decode = function (buffer) {
      const v = orig(buffer);
      if (hasArrayBuffer(v)) throw new Error("ext type 0 refused (broken: msgpack-ext)");
      return v;
    };
  },
  // `undefined` in event data is refused.
  "msgpack-undefined"() {
    const orig = req("notepack.io").decode;
    req("notepack.io").decode = function (buffer) {
      const v = orig(buffer);
      if (v && Array.isArray(v.data) && v.data.some((x) => x === undefined)) {
        throw new Error("undefined refused (broken: msgpack-undefined)");
      }
      return v;
    };
  },
  // Connection state recovery (the Server lending /recovery; socket.io-adapter's
  // SessionAwareAdapter). The CONNECT reply's pid is the socket's public sid.
  "recovery-pid"() {
    const S = req("socket.io/dist/socket.js").Socket;
    const onconnect = S.prototype._onconnect;
    S.prototype._onconnect = function (...args) {
      // Before the reply and any disconnection, so the session is kept under it.
      if (this.pid !== undefined && !this.recovered) this.pid = this.id;
      return onconnect.apply(this, args);
    };
  },
  // Events to the whole namespace go out without their offset (they are
  // still stored with it, and replayed with it).
  "recovery-offset"() {
    const { SessionAwareAdapter: A, Adapter } = req("socket.io-adapter");
    const base = Adapter.prototype.broadcast;
    Adapter.prototype.broadcast = function (packet, opts) {
      if (this._brokenSent) {
        packet = Object.assign({}, packet, { data: this._brokenSent });
        this._brokenSent = null;
      }
      return base.call(this, packet, opts);
    };
    const orig = A.prototype.broadcast;
    A.prototype.broadcast = function (packet, opts) {
      if (opts.rooms.size === 0 && packet.type === 2 && packet.id === undefined) this._brokenSent = packet.data.slice();
      return orig.call(this, packet, opts);
    };
  },
  // Events with an ack get an offset too.
  "recovery-ack-offset"() {
    const { SessionAwareAdapter: A } = req("socket.io-adapter");
    const orig = A.prototype.broadcast;
    A.prototype.broadcast = function (packet, opts) {
      if (packet.type === 2 && packet.id !== undefined) packet.data.push("siospec-broken-offset");
      return orig.call(this, packet, opts);
    };
  },
  // The missed events are sent after the CONNECT reply instead of before.
  "recovery-order"() {
    const { SessionAwareAdapter: A } = req("socket.io-adapter");
    const late = new Map();
    const restore = A.prototype.restoreSession;
    A.prototype.restoreSession = async function (pid, offset) {
      const session = await restore.call(this, pid, offset);
      if (session) {
        late.set(session.sid, session.missedPackets);
        session.missedPackets = [];
      }
      return session;
    };
    const S = req("socket.io/dist/socket.js").Socket;
    const onconnect = S.prototype._onconnect;
    S.prototype._onconnect = function (...args) {
      const out = onconnect.apply(this, args);
      const missed = late.get(this.id);
      if (missed) {
        late.delete(this.id);
        missed.forEach((data) => this.packet({ type: 2, data }));
      }
      return out;
    };
  },
  // Recovery works only once per session (socket.io #4880's symptom).
  "recovery-once"() {
    const { SessionAwareAdapter: A } = req("socket.io-adapter");
    const restored = new Set();
    const restore = A.prototype.restoreSession;
    A.prototype.restoreSession = function (pid, offset) {
      if (restored.has(pid)) return null;
      const session = restore.call(this, pid, offset);
      if (session) restored.add(pid);
      return session;
    };
  },
  // Sessions never expire.
  "recovery-expiry"() {
    const { SessionAwareAdapter: A } = req("socket.io-adapter");
    const restore = A.prototype.restoreSession;
    A.prototype.restoreSession = function (pid, offset) {
      this.maxDisconnectionDuration = Infinity;
      return restore.call(this, pid, offset);
    };
  },
  // An unknown offset replays from the oldest stored event, and a pid is
  // found by its beginning (a longer, unknown pid restores the session).
  "recovery-lenient"() {
    const { SessionAwareAdapter: A } = req("socket.io-adapter");
    const restore = A.prototype.restoreSession;
    A.prototype.restoreSession = function (pid, offset) {
      if (typeof pid === "string" && !this.sessions.has(pid)) {
        pid = [...this.sessions.keys()].find((known) => pid.startsWith(known)) || pid;
      }
      if (this.packets.length && !this.packets.some((p) => p.id === offset)) offset = this.packets[0].id;
      return restore.call(this, pid, offset);
    };
  },
  // A socket is kept whatever the reason it left (a DISCONNECT of either side too).
  "recovery-reasons"() {
    const S = req("socket.io/dist/socket.js").Socket;
    const onclose = S.prototype._onclose;
    S.prototype._onclose = function (reason, description) {
      if (this.connected && this.server._opts.connectionStateRecovery) {
        this.adapter.persistSession({ sid: this.id, pid: this.pid, rooms: [...this.rooms], data: this.data });
      }
      return onclose.call(this, reason, description);
    };
  },
};

if (!FAMILIES[family]) {
  process.stderr.write(`unknown family ${JSON.stringify(family)}; known: ${Object.keys(FAMILIES).join(", ")}\n`);
  process.exit(2);
}
FAMILIES[family]();
process.stderr.write(`[node-peer-broken] breaking ${family}\n`);
process.argv = [process.argv[0], path.join(peer, "server.js"), ...argv];
require(path.join(peer, "server.js"));
