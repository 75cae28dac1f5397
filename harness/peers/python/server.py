#!/usr/bin/env python3
"""siospec testee: python-socketio / python-engineio (asyncio, aiohttp).

Follows harness/CONTRACT.md on one port: Socket.IO at /socket.io/ (socket
mode) and a bare Engine.IO echo server at /engine.io/ (engine mode). Library
defaults throughout unless `--profile suite` is given. stdout carries exactly
one line, `listening on http://ADDR`; everything else goes to stderr.
Run it with the interpreter of .venv (created by ./setup), see README.md.
"""
import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from importlib import metadata

import engineio
import socketio
from aiohttp import web

FORBIDDEN = "Forbidden by the contract"
NAMESPACES = ("/", "/custom")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--addr", default="127.0.0.1:0",
                   help="HOST:PORT to listen on (default 127.0.0.1:0; port 0 = a free port)")
    p.add_argument("--profile", choices=["suite"],
                   help="the official suites' configuration (pingInterval 300 ms, "
                   "pingTimeout 200 ms, maxPayload 1e6, CORS origin *)")
    p.add_argument("--parser", choices=["default", "msgpack"], default="default",
                   help="the Socket.IO parser: msgpack is serializer='msgpack'")
    p.add_argument("--exit-on-stdin-close", action="store_true",
                   help="exit when standard input reaches EOF")
    p.add_argument("--verbose", action="store_true",
                   help="turn on python-socketio's and python-engineio's own logs (stderr)")
    args = p.parse_args()
    host, _, port = args.addr.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        p.error(f"--addr must be HOST:PORT, got {args.addr!r}")
    args.host, args.port = host.strip("[]"), int(port)
    return args


args = parse_args()

# Without a profile every option keeps the library default (ping_interval 25 s,
# ping_timeout 20 s, max_http_buffer_size 1e6, same-origin CORS only).
opts = {"async_mode": "aiohttp", "logger": args.verbose}
if args.profile == "suite":
    # python-socketio has no connect timeout (connectTimeout): an Engine.IO
    # session that never sends CONNECT is kept, so there is nothing to set.
    opts.update(ping_interval=0.3, ping_timeout=0.2,
                max_http_buffer_size=1_000_000, cors_allowed_origins="*")

# ------------------------------------------------------------ socket mode

# namespaces="*" accepts a CONNECT to any namespace so that the connect handler
# can refuse the unknown ones with the contract's message; python-socketio's
# own refusal would be CONNECT_ERROR "Unable to connect" (a bare string).
serializer = "msgpack" if args.parser == "msgpack" else "default"
sio = socketio.AsyncServer(namespaces="*", engineio_logger=args.verbose,
                           serializer=serializer, **opts)


def on(event):
    """Register a handler on every namespace; it is called as (ns, sid, *args)."""
    return sio.on(event, namespace="*")


@on("connect")
async def connect(ns, sid, environ, auth):
    if ns not in NAMESPACES:
        raise socketio.exceptions.ConnectionRefusedError("Invalid namespace")
    # python-socketio sends the CONNECT reply only after this handler returns,
    # so an emit from here would reach the client before it: emit from a task,
    # which starts after the reply is queued.
    sio.start_background_task(sio.emit, "auth", {} if auth is None else auth,
                              to=sid, namespace=ns)


# A handler's return value is the ack (a tuple = several arguments); it is
# sent only when the client asked for one. A tuple given as `data` to emit
# is likewise sent as several arguments.

@on("message")
async def message(ns, sid, *args):
    await sio.emit("message-back", args, to=sid, namespace=ns)


@on("message-with-ack")
async def message_with_ack(ns, sid, *args):
    return args


@on("emit-with-ack")
async def emit_with_ack(ns, sid, *args):
    async def result(*ack):
        await sio.emit("emit-with-ack-result", ack, to=sid, namespace=ns)
    await sio.emit("emit-with-ack", args, to=sid, namespace=ns, callback=result)


@on("join")
async def join(ns, sid, room=None, *_):
    await sio.enter_room(sid, room, namespace=ns)
    return "ok"


@on("leave")
async def leave(ns, sid, room=None, *_):
    await sio.leave_room(sid, room, namespace=ns)
    return "ok"


@on("to-room")
async def to_room(ns, sid, room=None, *args):
    await sio.emit("room-message", args, room=room, skip_sid=sid, namespace=ns)
    return "ok"


@on("broadcast")
async def broadcast(ns, sid, *args):
    await sio.emit("broadcast-message", args, namespace=ns)
    return "ok"


@on("disconnect-me")
async def disconnect_me(ns, sid, *_):
    await sio.disconnect(sid, namespace=ns)


# close-transport: python-engineio keeps no handle on a session's HTTP
# connections, so the middleware below keeps the GETs in progress: a session's
# pending long-poll carries its sid, and so does the WebSocket of an upgrade,
# which stays in progress for as long as it is open; a WebSocket-only session
# is its handshake request.
inflight = []   # aiohttp GET requests in progress (unhashable, hence a list)
doomed = set()  # Engine.IO sids whose next GET is to be dropped


@on("close-transport")
async def close_transport(ns, sid, *_):
    eio_sid = sio.manager.eio_sid_from_sid(sid, ns)
    first = sio.get_environ(sid, namespace=ns)["aiohttp.request"]
    mine = [r for r in inflight if r is first or r.query.get("sid") == eio_sid]
    if not mine:
        doomed.add(eio_sid)  # polling with no GET pending: drop the next one
    for request in mine:
        if request.transport:
            # Closes the TCP connection at once: no close frame, no packet.
            request.transport.abort()


# ------------------------------------------------------------ engine mode

eio = engineio.AsyncServer(**opts)


@eio.on("message")
async def echo(sid, data):
    # Sent back as given: python-engineio hands a text message that parses as
    # JSON over decoded (and re-encodes it on send), which siospec reports.
    await eio.send(sid, data)


# ------------------------------------------------------------ HTTP

@web.middleware
async def contract(request, handler):
    """The contract's request check, and GET tracking for close-transport."""
    if request.method != "GET":
        return await handler(request)
    query = request.query
    if "sid" not in query and "forbidden" in query:
        # python-engineio has no allowRequest hook: its connect handler runs
        # after the handshake packet is queued and can only answer 401.
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return web.Response(status=400, text=FORBIDDEN)
        body = json.dumps({"code": 4, "message": FORBIDDEN}, separators=(",", ":"))
        return web.Response(status=403, text=body, content_type="application/json")
    if query.get("sid") in doomed:
        doomed.discard(query["sid"])
        if request.transport:
            request.transport.abort()
        # Then handled as usual, like a GET whose connection just failed.
    inflight.append(request)
    try:
        return await handler(request)
    finally:
        inflight.remove(request)


def log(msg):
    print(f"[python-peer] {msg}", file=sys.stderr, flush=True)


async def main():
    app = web.Application(middlewares=[contract])
    sio.attach(app, socketio_path="socket.io")
    eio.attach(app, engineio_path="engine.io")
    # A short shutdown_timeout: open long-polls and WebSockets would otherwise
    # hold the exit for up to 60 s.
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    try:
        await site.start()
    except OSError as e:
        log(f"listen error: {e}")
        sys.exit(1)
    host, port = runner.addresses[0][:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on http://{shown}:{port}", flush=True)
    versions = " ".join(f"{p} {metadata.version(p)}" for p in
                        ("python-socketio", "python-engineio", "aiohttp"))
    log(f"{versions}; /socket.io/ and /engine.io/; options {opts}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_on_stdin_close:
        def watch_stdin():
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=watch_stdin, daemon=True).start()

    await stop.wait()
    log("shutting down")
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
