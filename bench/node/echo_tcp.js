// Node reference: TCP echo with `net`, written as a Node programmer would.  usage: node echo_tcp.js PORT
"use strict";
const net = require("node:net");

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => socket.destroy());
});
server.listen(Number(process.argv[2]), "127.0.0.1", 4096, () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
