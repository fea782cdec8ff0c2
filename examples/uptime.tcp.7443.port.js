// uptime.tcp.7443.port.js: over TLS (see manifest.json), says how long the handler has been loaded, then closes.
import { formatDuration } from "./lib/format.js";

let loadedAt = 0;

export function open(ctx) {
  loadedAt = performance.now();
}

export function handle(conn, ctx) {
  conn.end(`${ctx.name} up ${formatDuration(performance.now() - loadedAt)}\n`);
}
