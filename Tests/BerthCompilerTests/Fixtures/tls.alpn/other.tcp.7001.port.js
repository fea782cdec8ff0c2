export function handle(conn, ctx) {
  conn.end();
}
