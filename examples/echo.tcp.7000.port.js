// echo.tcp.7000.port.js
export function handle(conn, ctx) {
  conn.setEncoding("utf8");
  conn.write(`hello from :${ctx.port}\n`);
  conn.on("data", (chunk) => conn.write(chunk));
  conn.on("error", () => conn.destroy());
}
