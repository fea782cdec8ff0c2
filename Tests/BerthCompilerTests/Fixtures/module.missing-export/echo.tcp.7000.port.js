export function handler(conn, ctx) {}
