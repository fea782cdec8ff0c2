// café
export function handle(conn, ctx) {}
