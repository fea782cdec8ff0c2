// UDP echo, the berth peer of bench/node/echo_udp.js and bench/c/echo_udp.c.
export function message(msg, rinfo, ctx) {
  ctx.reply(msg, rinfo);
}
