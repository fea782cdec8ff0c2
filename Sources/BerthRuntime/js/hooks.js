import { encodeUTF8, send as hostSend, settle as hostSettle } from 'berth:host';
import { brandHostObject, isThenable, reportFault } from './core.js';
import { inspect } from './inspect.js';
import { DOMException, invalidArgType, nodeError } from './errors.js';
import { EventEmitter, on, once } from './events.js';
import { Buffer } from './buffer.js';
import { AbortController } from './web.js';
import { Socket, kOnClose, kOnData, kOnEnd, kOnError, kOnWritten, sockets } from './socket.js';
import { TLSSocket } from './tls.js';
import { makeShared } from './shared.js';

let handleFunction;
let messageFunction;
let handlerContext;
const lastAddresses = { local: '', remote: '' };

function datagramBytes(data) {
  if (typeof data === 'string') return encodeUTF8(data, false);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Buffer.concat(data.map(datagramBytes));
  throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

// ctx.reply for UDP handlers: sends from the handler's bound socket to rinfo's address and port.
function reply(data, rinfo) {
  const bytes = datagramBytes(data);
  if (rinfo === null || typeof rinfo !== 'object') throw invalidArgType('rinfo', 'of type object', rinfo);
  const { address, port } = rinfo;
  if (typeof address !== 'string') throw invalidArgType('rinfo.address', 'of type string', address);
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw nodeError(RangeError, 'ERR_SOCKET_BAD_PORT',
      `Port should be > 0 and < 65536. Received ${inspect(port)}.`);
  }
  hostSend(bytes, address, port);
}

// What the runtime gets back from the globals: the built-in modules' exports, the clone codec's intrinsics and one
// function per broker event (HandlerRuntime's GlobalsHooks reads them from this module's namespace).

export const modules = {
  'node:buffer': { Buffer, default: Buffer },
  'node:events': { EventEmitter, once, on, default: EventEmitter },
};

export { cloneIntrinsics as clone } from './clone.js';
export { fireTimer as timer } from './timers.js';
export { sharedDeliver } from './shared.js';

// One ctx per handler, frozen; `shared` when the broker gave the runtime a store.
export function createContext(name, port, protocol, hasShared) {
  const controller = new AbortController();
  const ctx = { name, port, protocol, signal: controller.signal };
  if (protocol === 'udp') ctx.reply = reply;
  if (hasShared) ctx.shared = makeShared();
  brandHostObject(ctx, 'ctx');
  handlerContext = Object.freeze(ctx);
  return controller;
}

export function start(handle, message) {
  handleFunction = handle;
  messageFunction = message;
}

export function lifecycle(kind, fn) {
  const result = fn(handlerContext);
  if (!isThenable(result)) return false;
  result.then(() => hostSettle(kind, true), (error) => hostSettle(kind, false, error));
  return true;
}

export function abort(controller, reason) {
  controller.abort(new DOMException(reason, 'AbortError'));
}

export function accept(id, remoteAddress, remotePort, remoteFamily, localAddress, localPort) {
  // Connections share equal address strings rather than each holding a copy.
  if (localAddress === lastAddresses.local) localAddress = lastAddresses.local;
  else lastAddresses.local = localAddress;
  if (remoteAddress === lastAddresses.remote) remoteAddress = lastAddresses.remote;
  else lastAddresses.remote = remoteAddress;
  const socket = new Socket(id, remoteAddress, remotePort, localAddress, localPort);
  sockets.set(id, socket);
  const result = handleFunction(socket, handlerContext);
  if (isThenable(result)) result.then(undefined, (error) => Socket.fault(socket, error, 'handle()'));
}

// A connection the broker terminated TLS on: as accept (a hook of its own, so a plain connection costs nothing
// more), with `conn` a TLSSocket holding the handshake's facts.
export function acceptTLS(id, remoteAddress, remotePort, remoteFamily, localAddress, localPort, facts) {
  if (localAddress === lastAddresses.local) localAddress = lastAddresses.local;
  else lastAddresses.local = localAddress;
  if (remoteAddress === lastAddresses.remote) remoteAddress = lastAddresses.remote;
  else lastAddresses.remote = remoteAddress;
  const socket = new TLSSocket(id, remoteAddress, remotePort, localAddress, localPort, facts);
  sockets.set(id, socket);
  const result = handleFunction(socket, handlerContext);
  if (isThenable(result)) result.then(undefined, (error) => Socket.fault(socket, error, 'handle()'));
}

export function data(id, chunk) { sockets.get(id)?.[kOnData](chunk); }
export function end(id) { sockets.get(id)?.[kOnEnd](); }
export function written(id, count) { sockets.get(id)?.[kOnWritten](count); }
export function error(id, code, message) {
  const socket = sockets.get(id);
  if (socket === undefined) return;
  const error = new Error(message);
  error.code = code;
  const syscall = message.endsWith(` ${code}`) ? message.slice(0, -code.length - 1) : '';
  if (/^[a-z_]+$/.test(syscall)) error.syscall = syscall;
  socket[kOnError](error);
}
export function close(id, hadError) { sockets.get(id)?.[kOnClose](hadError); }
export function destroy(id) { sockets.get(id)?.destroy(); }

// Does nothing: the runtime calls it to move QuickJS's next interrupt check (HandlerRuntime.shiftInterruptCheck).
export function pass() {}

export function datagram(chunk, address, family, port) {
  const result = messageFunction(chunk, { address, family, port, size: chunk.length }, handlerContext);
  if (isThenable(result)) result.then(undefined, (error) => reportFault(error, 'message()'));
}
