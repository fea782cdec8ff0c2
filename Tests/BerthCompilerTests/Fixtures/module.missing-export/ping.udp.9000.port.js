export function handle(msg, rinfo, ctx) {}
