#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the official-parser vectors in fixtures/.

Usage: fuzz/seed.py [OUT_DIR]   (default: fuzz/corpus next to this script)

Each seed is written as <sha1 of its bytes>, the libFuzzer convention, so
running the script twice adds nothing. The input formats of the targets that
take settings are those of fuzz/src/lib.rs:

* eio4_payload_chunked: [config, chunk seed] + body
* webtransport:         [config (max_payload index), chunk seed] + stream
* sio_reassembly:       [config] + frames joined by 0xFF, binary frames as b"B" + bytes
* sio_msgpack:          one msgpack frame (inputs and official encodings of sio5.msgpack)
* roundtrip:            bytes read by Gen (byte 0 picks the family)
* sio_msgpack_roundtrip: bytes read by Gen
* session_server, session_client: bytes read by Gen (a setup, then operations)

After seeding, minimise with `cargo +nightly fuzz cmin <target>` (see fuzz/README.md).
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")

# fuzz/src/lib.rs: webtransport MAX_PAYLOAD table.
WT_MAX = [1_000_000, 0, 1, 5, 10, 100, 125, 126, 127, 130, 200, 1000, 65_535, 65_536, 1 << 40]
WT_MAX_SAFE = 15  # usize::MAX stands for 9007199254740991 and beyond
# fuzz/src/lib.rs: sio_reassembly MAX_ATTACHMENTS table.
SIO_MAX_ATTACHMENTS = [10, 0, 1, 2, 3, 11, 12, 100]

HANDSHAKES = [
    '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,'
    '"pingTimeout":20000,"maxPayload":1000000}',
    '0{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2}',
    '0{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3,"x":1}',
]


def load(layer):
    with open(os.path.join(FIXTURES, layer + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def raw(form):
    """Bytes of an input form: {"text"}, {"text_hex"} or {"binary"}."""
    if "text" in form:
        return form["text"].encode("utf-8", "surrogatepass")
    if "text_hex" in form:
        return bytes.fromhex(form["text_hex"])
    return bytes.fromhex(form["binary"])


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    seeds = {}

    def add(target, data):
        seeds.setdefault(target, set()).add(bytes(data))

    for case in load("eio4.packet"):
        add("eio4_packet", raw(case["input"]))
    for h in HANDSHAKES:
        add("eio4_packet", h.encode())

    for i, case in enumerate(load("eio4.payload")):
        body = raw(case["input"])
        add("eio4_payload", body)
        config = [0x00, 0x01, 0x00, 0x01, 0x0C, 0x21, 0x10, 0x07][i % 8]
        add("eio4_payload_chunked", bytes([config, i & 0xFF]) + body)

    for case in load("eio3.packet"):
        add("eio3_packet", raw(case["input"]))

    for case in load("eio3.payload"):
        add("eio3_payload", raw(case["input"]))
        encoded = case.get("encoded") or {}
        if "binary" in encoded:
            add("eio3_binary_payload", bytes.fromhex(encoded["binary"]))
    for case in load("eio3.binary_payload"):
        add("eio3_binary_payload", raw(case["input"]))
        encoded = case.get("encoded") or {}
        if "text" in encoded:
            add("eio3_payload", encoded["text"].encode("utf-8", "surrogatepass"))

    for case in load("eio3.jsonp"):
        inp = case["input"]
        if "payload" in inp:  # a response case: its payload is a v3 payload
            payload = inp["payload"]
            if "text" in payload:
                add("eio3_payload", payload["text"].encode("utf-8", "surrogatepass"))
                add("eio3_jsonp", payload["text"].encode("utf-8", "surrogatepass"))
            else:
                add("eio3_binary_payload", bytes.fromhex(payload["binary"]))
        else:
            add("eio3_jsonp", raw(inp))
            decoded = case["outcome"].get("payload")
            if decoded and "text" in decoded:
                add("eio3_payload", decoded["text"].encode("utf-8", "surrogatepass"))

    for i, case in enumerate(load("webtransport")):
        stream = b"".join(bytes.fromhex(c) for c in case["input"]["chunks"])
        max_payload = (case.get("options") or {}).get("maxPayload", 1_000_000)
        if max_payload in WT_MAX:
            config = WT_MAX.index(max_payload)
        elif isinstance(max_payload, int) and max_payload > 1 << 40:
            config = WT_MAX_SAFE
        else:
            continue  # -1, 1.5: options the codec's usize cannot hold
        add("webtransport", bytes([config, i & 0xFF]) + stream)

    for i, case in enumerate(load("sio5.packet")):
        frames = case["input"]["frames"]
        for frame in frames:
            if "binary" not in frame:
                add("sio_packet", raw(frame))
        parts = []
        for frame in frames:
            data = raw(frame)
            parts.append(b"B" + data if "binary" in frame else data)
        if any(0xFF in p for p in parts) or any(p.startswith(b"B") for p, f in zip(parts, frames) if "binary" not in f):
            continue  # would not split back into the same frames
        max_attachments = (case.get("options") or {}).get("maxAttachments", 10)
        if max_attachments not in SIO_MAX_ATTACHMENTS:
            continue
        config = SIO_MAX_ATTACHMENTS.index(max_attachments) << 1
        add("sio_reassembly", bytes([config]) + b"\xff".join(parts))
        if i % 4 == 0:
            add("sio_reassembly", bytes([config | 1]) + b"\xff".join(parts))

    for case in load("sio5.msgpack"):
        add("sio_msgpack", raw(case["input"]))
        encoded = case.get("encoded") or {}
        if "binary" in encoded:
            add("sio_msgpack", bytes.fromhex(encoded["binary"]))

    # roundtrip reads structure from any bytes: a deterministic spread per family.
    state = hashlib.sha256(b"siospec roundtrip seeds").digest()
    for i in range(60):
        state = hashlib.sha256(state).digest()
        length = 8 + state[0] % 120
        data = bytearray()
        block = state
        while len(data) < length:
            block = hashlib.sha256(block).digest()
            data += block
        data[0] = i % 6
        add("roundtrip", data[:length])

    # The session targets draw a whole scenario from any bytes, as roundtrip does.
    for target in ["session_server", "session_client", "sio_msgpack_roundtrip"]:
        state = hashlib.sha256(target.encode()).digest()
        for i in range(48):
            state = hashlib.sha256(state).digest()
            length = 16 + state[0] % 240
            data = bytearray()
            block = state
            while len(data) < length:
                block = hashlib.sha256(block).digest()
                data += block
            add(target, data[:length])

    for target, inputs in sorted(seeds.items()):
        path = os.path.join(out_dir, target)
        os.makedirs(path, exist_ok=True)
        for data in inputs:
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(path, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(inputs)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
