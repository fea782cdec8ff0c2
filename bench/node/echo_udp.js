// Node reference: UDP echo with `dgram`.  usage: node echo_udp.js PORT
"use strict";
const dgram = require("node:dgram");

const socket = dgram.createSocket("udp4");
socket.on("message", (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.bind(Number(process.argv[2]), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
