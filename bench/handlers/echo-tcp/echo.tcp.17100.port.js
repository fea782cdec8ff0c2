// TCP echo, the berth peer of bench/node/echo_tcp.js and bench/c/echo_tcp.c.
export function handle(conn, ctx) {
  conn.setNoDelay(true);
  conn.on("data", (chunk) => conn.write(chunk));
  conn.on("error", () => conn.destroy());
}
