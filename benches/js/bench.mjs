// The official JavaScript parsers (engine.io-parser 5.2.3, socket.io-parser
// 4.2.7, pinned by package-lock.json) timed over the inputs the Rust benches
// use, as written by `codec-inputs`. A warm-up, then timed rounds of a fixed
// iteration count measured with process.hrtime.bigint; the median round is
// reported. Prints JSON: { node, quick, results: { "<group>/<case>": ns/op } }.
//
//   node bench.mjs INPUTS.json [--quick] [--only KEY,KEY…] [--ms N]
//
// --only times just those keys (codec-figures alternates such runs with its
// own, to pair the JavaScript ratio of the issue-8 figures); --ms sets the
// measurement time per case.
//
// Every input is checked first: decoded without error, and encoded back to
// the same text (the work credited is the work done).

import { readFileSync } from "node:fs";
import { strict as assert } from "node:assert";
import * as eio from "engine.io-parser";
import * as sio from "socket.io-parser";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = flag("--only")?.split(",");
const inputsPath = args.find((a, i) => !a.startsWith("--") && !["--only", "--ms"].includes(args[i - 1]));
if (!inputsPath) {
  console.error("usage: node bench.mjs INPUTS.json [--quick]");
  process.exit(2);
}
const inputs = JSON.parse(readFileSync(inputsPath, "utf8"));

// Milliseconds of warm-up and of measurement per case.
const WARMUP_MS = quick ? 50 : 200;
const MEASURE_MS = Number(flag("--ms") ?? (quick ? 150 : 700));
const ROUND_MS = quick ? 5 : 20;

let sink = 0;

function nowNs() {
  return process.hrtime.bigint();
}

// ns/op of fn(): warm-up, calibrate a round to ~ROUND_MS, then rounds until
// MEASURE_MS is spent; the median round.
function measure(fn) {
  const warmEnd = nowNs() + BigInt(WARMUP_MS * 1e6);
  let calls = 0;
  while (nowNs() < warmEnd) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
  }
  let n = 1;
  for (;;) {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) fn();
    const dt = Number(nowNs() - t0) / 1e6;
    if (dt >= ROUND_MS || n >= 1 << 30) break;
    n = dt <= 0 ? n * 10 : Math.max(n + 1, Math.ceil((n * ROUND_MS) / dt));
  }
  const rounds = [];
  const end = nowNs() + BigInt(MEASURE_MS * 1e6);
  do {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) fn();
    rounds.push(Number(nowNs() - t0) / n);
  } while (nowNs() < end || rounds.length < 5);
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)];
}

const results = {};
function run(key, fn) {
  if (only && !only.includes(key)) return;
  results[key] = measure(fn);
  process.stderr.write(`${key.padEnd(40)} ${results[key].toFixed(1)} ns\n`);
}

const b64 = (s) => Buffer.from(s, "base64");

// ---- Engine.IO packets (protocol 4 only: the v3 parser ships inside engine.io).
for (const c of inputs.eio) {
  if (c.v3) continue;
  const wire = c.text !== undefined ? c.text : b64(c.binary);
  const packet = eio.decodePacket(wire, "nodebuffer");
  assert.notEqual(packet.type, "error", c.name);
  let encoded;
  eio.encodePacket(packet, c.supportsBinary, (out) => (encoded = out));
  assert.deepEqual(typeof encoded === "string" ? encoded : Buffer.from(encoded), wire, c.name);

  run(`eio_decode/${c.name}`, () => {
    sink += eio.decodePacket(wire, "nodebuffer").type.length;
  });
  run(`eio_encode/${c.name}`, () => {
    eio.encodePacket(packet, c.supportsBinary, (out) => {
      sink += out.length;
    });
  });
}

// ---- Polling payloads (protocol 4).
for (const c of inputs.payloads) {
  if (c.v3) continue;
  const packets = eio.decodePayload(c.body, "nodebuffer");
  assert.equal(packets.length, c.packets, c.name);
  assert.ok(packets.every((p) => p.type !== "error"), c.name);
  let encoded;
  eio.encodePayload(packets, (out) => (encoded = out));
  assert.equal(encoded, c.body, c.name);

  run(`payload_decode/${c.name}`, () => {
    sink += eio.decodePayload(c.body, "nodebuffer").length;
  });
  run(`payload_encode/${c.name}`, () => {
    eio.encodePayload(packets, (out) => {
      sink += out.length;
    });
  });
}

// ---- Socket.IO packets: Decoder#add of the text and each attachment;
// Encoder#encode of the decoded packet.
for (const c of inputs.sio) {
  const attachments = c.attachments.map(b64);
  const decoder = new sio.Decoder();
  let last = null;
  decoder.on("decoded", (p) => {
    last = p;
  });
  const decodeOnce = () => {
    decoder.add(c.text);
    for (const a of attachments) decoder.add(a);
  };
  decodeOnce();
  assert.ok(last, `${c.name}: decoded`);
  const packet = last;
  const encoder = new sio.Encoder();
  const encoded = encoder.encode(packet);
  assert.equal(encoded[0], c.text, `${c.name}: encode(decode(x)) == x`);
  assert.equal(encoded.length - 1, attachments.length, `${c.name}: attachments`);

  run(`sio_decode/${c.name}`, () => {
    last = null;
    decodeOnce();
    sink += last.type;
  });
  run(`sio_encode/${c.name}`, () => {
    sink += encoder.encode(packet).length;
  });
}

process.stdout.write(
  JSON.stringify({ node: process.version, quick, sink: sink > 0, results }, null, 1) + "\n",
);
