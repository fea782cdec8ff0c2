// Supporting code: not an entry point (it is in a subfolder), imported by uptime.tcp.7443.port.js.
export function formatDuration(milliseconds) {
  const seconds = Math.floor(milliseconds / 1000);
  const parts = [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  let rest = seconds;
  const out = [];
  for (const [size, unit] of parts) {
    if (rest >= size || (unit === "s" && out.length === 0)) {
      out.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return out.join(" ");
}
