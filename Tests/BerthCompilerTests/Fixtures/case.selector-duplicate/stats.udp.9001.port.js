export function message(msg, rinfo, ctx) {}
