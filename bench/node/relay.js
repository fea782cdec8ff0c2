// Node reference: a chat relay. Every line a client sends goes to every other client, fanned out by an
// EventEmitter; presence (who is connected) is kept in a Map.  usage: node relay.js PORT
"use strict";
const net = require("node:net");
const { EventEmitter } = require("node:events");

const bus = new EventEmitter();
bus.setMaxListeners(0);
const peers = new Map();
let nextId = 0;

const server = net.createServer({ noDelay: true }, (socket) => {
  const id = ++nextId;
  peers.set(id, { address: socket.remoteAddress, port: socket.remotePort, since: Date.now() });
  const deliver = (line, from) => { if (from !== id) socket.write(line); };
  bus.on("line", deliver);
  socket.on("data", (chunk) => bus.emit("line", chunk, id));
  socket.on("error", () => socket.destroy());
  socket.on("close", () => {
    bus.off("line", deliver);
    peers.delete(id);
  });
});
server.listen(Number(process.argv[2]), "127.0.0.1", 4096, () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
