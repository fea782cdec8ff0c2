// ctx.shared benchmark: a client sends "N\n"; the handler runs N awaited set+get pairs of a small object and replies
// with the elapsed milliseconds. The peer of bench/node/store.js.
export function handle(conn, ctx) {
  conn.setEncoding("utf8");
  conn.on("data", async (text) => {
    const n = parseInt(text, 10);
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      await ctx.shared.set("bench:object", { id: i, name: "user", tags: ["a", "b"], score: 1.5 });
      await ctx.shared.get("bench:object");
    }
    conn.write(`${(performance.now() - start).toFixed(3)}\n`);
  });
  conn.on("error", () => conn.destroy());
}
