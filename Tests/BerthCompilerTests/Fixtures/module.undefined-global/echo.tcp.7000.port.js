const os = require("os");

export async function handle(conn, ctx) {
  const reply = await fetch("http://example.com/motd");
  conn.end(await reply.text());
}
