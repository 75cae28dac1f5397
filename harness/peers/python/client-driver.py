# python-socketio's client driver for siospec's client mode (client contract 1,
# harness/CLIENT-CONTRACT.md): `.venv/bin/python client-driver.py URL`, the
# case's options in SIOSPEC_* variables, the application's view on stdout as
# one JSON object per line. socketio.AsyncClient on aiohttp, every other
# setting at its default. What the library has no public API for is left
# out: joining a namespace after connect() (`open`), leaving one namespace
# alone (`disconnect` leaves them all) and reconnection attempts (no event).
import asyncio
import base64
import json
import os
import sys

import socketio

env = os.environ
url = sys.argv[1] if len(sys.argv) > 1 else env["SIOSPEC_URL"]


def report(line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


# Binary travels in JSON as {"$binary": "<base64>"}, both ways.
def to_json(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$binary": base64.b64encode(v).decode()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def from_json(v):
    if isinstance(v, dict) and list(v) == ["$binary"] and isinstance(v["$binary"], str):
        return base64.b64decode(v["$binary"])
    if isinstance(v, list):
        return [from_json(x) for x in v]
    if isinstance(v, dict):
        return {k: from_json(x) for k, x in v.items()}
    return v


options = {}
if env.get("SIOSPEC_RECONNECTION"):
    options["reconnection"] = env["SIOSPEC_RECONNECTION"] == "true"
if env.get("SIOSPEC_PARSER") == "msgpack":
    options["serializer"] = "msgpack"
sio = socketio.AsyncClient(**options)


@sio.on("connect", namespace="*")
def on_connect(nsp):
    report({"event": "connect", "namespace": nsp})


@sio.on("connect_error", namespace="*")
def on_connect_error(nsp, err=None):
    # A CONNECT_ERROR's {"message", "data"}, or the Engine.IO failure's text.
    err = err if isinstance(err, dict) else {"message": str(err)}
    report({"event": "connect_error", "namespace": nsp,
            "message": err.get("message"), "data": to_json(err.get("data"))})


@sio.on("disconnect", namespace="*")
def on_disconnect(nsp, reason):
    report({"event": "disconnect", "namespace": nsp, "reason": reason})


@sio.on("*", namespace="*")
async def on_any(name, nsp, *args):
    if name == "do" and nsp == "/":
        return await instruct(args[0])
    report({"event": "event", "namespace": nsp, "name": name, "args": to_json(args)})
    if name == "echo":
        await sio.emit("echo-back", tuple(args), namespace=nsp)
    return tuple(args)  # the ACK's arguments, when the server asked for one


# The server's instructions: {"op": "emit" | "disconnect", ...}.
async def instruct(op):
    nsp = op.get("namespace", "/")
    if op.get("op") == "disconnect" and nsp in sio.namespaces:
        await sio.disconnect()
    elif op.get("op") == "emit" and nsp in sio.namespaces:
        done = None
        if op.get("ack"):
            def done(*args):
                report({"event": "ack", "namespace": nsp, "id": op.get("id"), "args": to_json(args)})
        await sio.emit(op["name"], tuple(from_json(op.get("args", []))), namespace=nsp, callback=done)


async def main():
    transports = env["SIOSPEC_TRANSPORTS"].split(",") if env.get("SIOSPEC_TRANSPORTS") else None
    auth = json.loads(env["SIOSPEC_AUTH"]) if env.get("SIOSPEC_AUTH") else None
    try:
        await sio.connect(url, auth=auth, transports=transports,
                          namespaces=[env.get("SIOSPEC_NAMESPACE") or "/"])
    except socketio.exceptions.ConnectionError as e:
        print(f"connect: {e}", file=sys.stderr)
    await asyncio.Event().wait()  # siospec ends the process


asyncio.run(main())
