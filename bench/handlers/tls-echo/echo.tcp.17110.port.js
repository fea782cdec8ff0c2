// TCP echo over TLS, the berth peer of bench/node/tls_echo.js and of HAProxy in front of bench/c/echo_tcp.c: the same
// code as handlers/echo-tcp; the manifest's `tls` makes the broker terminate TLS. bench/run.py serves a copy of this
// folder with a certs/ directory it makes (openssl, self-signed), so this folder alone does not validate.
export function handle(conn, ctx) {
  conn.setNoDelay(true);
  conn.on("data", (chunk) => conn.write(chunk));
  conn.on("error", () => conn.destroy());
}
