import { helper } from "./lib/helper.js";

export function handle(conn, ctx) {
  helper(conn);
}
