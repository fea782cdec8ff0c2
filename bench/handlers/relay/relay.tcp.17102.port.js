// The relay of examples/relay.tcp.4000.port.js: presence counted in ctx.shared, lines fanned out by publish/subscribe.
export async function handle(conn, ctx) {
  conn.setNoDelay(true);
  const n = ((await ctx.shared.get("relay:peers")) ?? 0) + 1;
  await ctx.shared.set("relay:peers", n);

  const off = ctx.shared.subscribe("relay:line", (line) => conn.write(line));
  conn.on("data", (buf) => ctx.shared.publish("relay:line", buf));
  conn.on("error", () => conn.destroy());

  conn.on("close", async () => {
    off();
    await ctx.shared.set("relay:peers", (await ctx.shared.get("relay:peers")) - 1);
  });
}
