#!/usr/bin/env node
"use strict";

// Reconnection after a server restart, with the official socket.io-client:
//
//   node restart-check.js URL [TRANSPORTS] [TIMEOUT_MS]
//
// Prints `connected` once the first connection is up and `reconnected` when
// the client has connected again by itself (after the test restarted the
// server on the same port); exits 0 then, 1 on timeout.

const { io } = require("socket.io-client");

const [url, transports = "websocket", timeout = "20000"] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node restart-check.js URL [TRANSPORTS] [TIMEOUT_MS]\n");
  process.exit(2);
}
const socket = io(url, {
  transports: transports.split(","),
  reconnectionDelay: 100,
  reconnectionDelayMax: 200,
});
let connects = 0;
socket.on("connect", () => {
  connects += 1;
  process.stdout.write(connects === 1 ? "connected\n" : "reconnected\n");
  if (connects === 2) {
    socket.close();
    process.exit(0);
  }
});
setTimeout(() => {
  process.stdout.write("timeout\n");
  process.exit(1);
}, Number(timeout));
