"""A minimal siospec testee (harness/CONTRACT.md, socket mode): python-socketio on aiohttp."""
import asyncio, signal, sys
import socketio
from aiohttp import web

sio = socketio.AsyncServer(namespaces="*")  # every CONNECT reaches `connect`, which refuses others
live = []  # GET requests in progress (long-polls, WebSockets), for close-transport

@sio.on("connect", namespace="*")
async def connect(ns, sid, environ, auth):
    if ns not in ("/", "/custom"):
        raise socketio.exceptions.ConnectionRefusedError("Invalid namespace")
    # From a task: the CONNECT reply is sent when this handler returns, and must come first.
    sio.start_background_task(sio.emit, "auth", auth or {}, to=sid, namespace=ns)

@sio.on("*", namespace="*")  # every event; the return value is the ack (a tuple: several arguments)
async def event(name, ns, sid, *args):
    emit = lambda event, data, **kw: sio.emit(event, data, namespace=ns, **kw)
    room, *rest = args or (None,)
    if name == "message": await emit("message-back", args, to=sid)
    elif name == "message-with-ack": return args
    elif name == "emit-with-ack":
        async def result(*ack): await emit("emit-with-ack-result", ack, to=sid)
        await emit("emit-with-ack", args, to=sid, callback=result)
    elif name == "join": await sio.enter_room(sid, room, namespace=ns); return "ok"
    elif name == "leave": await sio.leave_room(sid, room, namespace=ns); return "ok"
    elif name == "to-room":
        await emit("room-message", tuple(rest), room=room, skip_sid=sid); return "ok"
    elif name == "broadcast": await emit("broadcast-message", args); return "ok"
    elif name == "disconnect-me": await sio.disconnect(sid, namespace=ns)
    elif name == "close-transport":  # abort the TCP connection of the pending GET or the WebSocket
        eio_sid = sio.manager.eio_sid_from_sid(sid, ns)
        first = sio.get_environ(sid, ns)["aiohttp.request"]  # a WebSocket-only session's
        for r in live:
            if (r is first or r.query.get("sid") == eio_sid) and r.transport: r.transport.abort()

@web.middleware
async def contract(request, handler):  # the request check, and the GETs in progress
    if request.method != "GET": return await handler(request)
    if "forbidden" in request.query and "sid" not in request.query:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return web.Response(status=400, text="Forbidden by the contract")
        return web.json_response({"code": 4, "message": "Forbidden by the contract"}, status=403)
    live.append(request)
    try: return await handler(request)
    finally: live.remove(request)

async def main(host, port):
    app = web.Application(middlewares=[contract]); sio.attach(app)
    runner = web.AppRunner(app, shutdown_timeout=0.1); await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    print("listening on http://%s:%d" % runner.addresses[0][:2], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait(); await runner.cleanup()

asyncio.run(main(*(sys.argv[2] if sys.argv[1:2] == ["--addr"] else "127.0.0.1:0").rsplit(":", 1)))
