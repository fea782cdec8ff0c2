import { helper } from "./lib/missing.js";
import { util } from "./lib/util";

export function handle(conn, ctx) {}
