import { secret } from "../outside.js";

export function handle(conn, ctx) {}
