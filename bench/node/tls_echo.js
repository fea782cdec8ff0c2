// Node reference: TLS echo with `tls`, written as a Node programmer would.  usage: node tls_echo.js PORT CERT KEY
"use strict";
const fs = require("node:fs");
const tls = require("node:tls");

const [port, cert, key] = process.argv.slice(2);
const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (socket) => {
  socket.setNoDelay(true);
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => socket.destroy());
});
// A failed handshake is the client's problem, not the server's: no log line each.
server.on("tlsClientError", () => {});
server.listen(Number(port), "127.0.0.1", 4096, () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
