import { table } from "./lib/table.js";

export function handle(conn, ctx) {
  conn.end(`${table.length}\n`);
}
