// Node reference for the ctx.shared benchmark: an async get/set over a Map that copies values with structuredClone,
// as berth's store does. A client sends "N\n"; the server runs N awaited set+get pairs and replies with the elapsed
// milliseconds.  usage: node store.js PORT
"use strict";
const net = require("node:net");

const map = new Map();
const shared = {
  async get(key) { const v = map.get(key); return v === undefined ? undefined : structuredClone(v); },
  async set(key, value) { map.set(key, structuredClone(value)); },
};

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setEncoding("utf8");
  socket.on("data", async (text) => {
    const n = parseInt(text, 10);
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      await shared.set("bench:object", { id: i, name: "user", tags: ["a", "b"], score: 1.5 });
      await shared.get("bench:object");
    }
    socket.write(`${(performance.now() - start).toFixed(3)}\n`);
  });
  socket.on("error", () => socket.destroy());
});
server.listen(Number(process.argv[2]), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
