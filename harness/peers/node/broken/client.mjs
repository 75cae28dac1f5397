// Deliberately broken variants of ../client-driver.mjs, for testing siospec
// itself: SIOSPEC_BREAK=FAMILY breaks ONE rule of the client, by changing
// the driver's application hooks or patching the official engine.io-client
// in this process. harness/tests/client_node.rs runs the client catalogue
// against each family and checks that exactly the family's cases fail.
import { Socket as Engine, transports } from "engine.io-client";
import { Manager } from "socket.io-client";

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
