export function handle(conn, ctx) {}
export function message(msg, rinfo, ctx) {}
