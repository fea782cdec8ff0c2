import fs from "node:fs";
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";

export function handle(conn, ctx) {}
