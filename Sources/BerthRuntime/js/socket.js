// `conn`: the JavaScript half of a TCP connection, a Node net.Socket over the native socket the broker owns.
// Reading is paused at the host (so TCP applies backpressure to the peer) whenever nothing consumes the data;
// written chunks stay referenced in `#writeQueue` until the host reports them written, so the host may send
// straight from their memory.
import {
  destroy as hostDestroy, encodeUTF8, end as hostEnd, now as hostNow, pause as hostPause, resume as hostResume,
  setKeepAlive as hostSetKeepAlive, setNoDelay as hostSetNoDelay, write as hostWrite,
} from 'berth:host';
import { callCallback, kFault, nextTick, reportFault } from './core.js';
import { invalidArgType, nodeError, outOfRange, validateFunction } from './errors.js';
import { EventEmitter, emitOne, kCapture, kLeanEmitter, kRejection } from './events.js';
import { decodeSlice, encodingOrThrow, fromString } from './buffer.js';
import { internalTimer } from './timers.js';
import { Utf8StreamDecoder } from './web.js';

const highWaterMark = 16384;
// What an idle connection's queues hold: one shared, frozen, empty array (a socket gets its own on first use,
// so ten thousand idle connections carry no arrays).
const noChunks = Object.freeze([]);
export const sockets = new Map();
export const kOnData = Symbol('onData');
export const kOnEnd = Symbol('onEnd');
export const kOnWritten = Symbol('onWritten');
export const kOnError = Symbol('onError');
export const kOnClose = Symbol('onClose');

// Decoders for setEncoding: 'utf8' streams split characters; base64 and utf16le carry partial units.
class StreamStringDecoder {
  #encoding;
  #utf8;
  #carry = null;

  constructor(encoding) {
    this.#encoding = encoding;
    if (encoding === 'utf8') this.#utf8 = new Utf8StreamDecoder(false);
  }

  get encoding() { return this.#encoding; }

  write(chunk) {
    switch (this.#encoding) {
      case 'utf8': return this.#utf8.decode(chunk, false);
      case 'base64': case 'base64url': return this.#grouped(chunk, 3);
      case 'utf16le': return this.#grouped(chunk, 2);
      default: return decodeSlice(chunk, this.#encoding, 0, chunk.length);
    }
  }

  end() {
    if (this.#encoding === 'utf8') return this.#utf8.decode(new Uint8Array(0), true);
    const carry = this.#carry;
    this.#carry = null;
    return carry === null ? '' : decodeSlice(carry, this.#encoding, 0, carry.length);
  }

  #grouped(chunk, unit) {
    let bytes = chunk;
    if (this.#carry !== null) {
      bytes = new Uint8Array(this.#carry.length + chunk.length);
      bytes.set(this.#carry);
      bytes.set(chunk, this.#carry.length);
      this.#carry = null;
    }
    const usable = bytes.length - (bytes.length % unit);
    if (usable < bytes.length) this.#carry = bytes.slice(usable);
    return decodeSlice(bytes, this.#encoding, 0, usable);
  }
}

function afterSyncWrite(socket, callback) {
  if (callback !== undefined) callback.call(socket, null);
  socket[kOnWritten](0);
}
function endAfterPeer(socket) {
  if (!socket.destroyed) socket.end();
}
// Set by Socket's static block: they reach its private methods from nextTick and timers.
let flushSocket;
let onSocketTimeout;

export class Socket extends EventEmitter {
  #id;
  #hostReading = true;
  #flowing = null;
  #readBuffer = noChunks;
  #readLength = 0;
  #eof = false;
  #endEmitted = false;
  #decoder = null;
  #flushScheduled = false;
  #ending = false;
  #finished = false;
  #writeQueue = noChunks;
  #writableLength = 0;
  #needDrain = false;
  #bytesRead = 0;
  #bytesWritten = 0;
  #destroyed = false;
  #closed = false;
  #error = null;
  #timeout = 0;
  #timeoutTimer = null;
  #lastActivity = 0;

  constructor(id, remoteAddress, remotePort, localAddress, localPort) {
    // kLeanEmitter: the prototype carries _maxListeners and captureRejections, not each connection.
    super(kLeanEmitter);
    this.#id = id;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.localAddress = localAddress;
    this.localPort = localPort;
  }

  // Derived, not stored: every property a connection carries costs memory per idle connection.
  get remoteFamily() { return this.remoteAddress.includes(':') ? 'IPv6' : 'IPv4'; }

  // A fault of this connection (a listener threw, a promise it returned rejected): logged, then destroyed.
  static fault(socket, error, origin) {
    reportFault(error, origin, socket.#id);
    socket.destroy();
  }

  [kFault](error, origin) {
    Socket.fault(this, error, origin);
  }

  [kRejection](error, type) {
    Socket.fault(this, error, `an async '${String(type)}' listener`);
  }

  // Reading.

  [kOnData](chunk) {
    if (this.#destroyed) return;
    this.#bytesRead += chunk.length;
    if (this.#timeout !== 0) this.#touch();
    if (this.#flowing === true && this.#readLength === 0) {
      if (this.#decoder === null) emitOne(this, 'data', chunk);
      else this.#emitData(chunk);
      return;
    }
    if (this.#readBuffer === noChunks) this.#readBuffer = [];
    this.#readBuffer.push(chunk);
    this.#readLength += chunk.length;
    if (this.#readLength >= highWaterMark || this.#flowing === false) this.#stopReading();
    if (this.#flowing === true) this.#scheduleFlush();
  }

  #emitData(chunk) {
    if (this.#decoder === null) {
      emitOne(this, 'data', chunk);
      return;
    }
    const text = this.#decoder.write(chunk);
    if (text.length > 0) emitOne(this, 'data', text);
  }

  [kOnEnd]() {
    if (this.#eof) return;
    this.#eof = true;
    this.#hostReading = false;
    if (this.#flowing === true && this.#readBuffer.length === 0) this.#emitEnd();
  }

  #emitEnd() {
    if (this.#endEmitted || this.#destroyed) return;
    this.#endEmitted = true;
    if (this.#decoder !== null) {
      const rest = this.#decoder.end();
      if (rest.length > 0) emitOne(this, 'data', rest);
    }
    this.emit('end');
    if (!this.#ending) nextTick(endAfterPeer, this);
  }

  #stopReading() {
    if (this.#hostReading && !this.#eof && !this.#destroyed) {
      this.#hostReading = false;
      hostPause(this.#id);
    }
  }

  #startReading() {
    if (!this.#hostReading && !this.#eof && !this.#destroyed) {
      this.#hostReading = true;
      hostResume(this.#id);
    }
  }

  #scheduleFlush() {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    nextTick(flushSocket, this);
  }

  #flush() {
    this.#flushScheduled = false;
    while (this.#flowing === true && this.#readBuffer.length > 0 && !this.#destroyed) {
      const chunk = this.#readBuffer.shift();
      this.#readLength -= chunk.length;
      this.#emitData(chunk);
    }
    if (this.#flowing !== true) return;
    if (this.#readLength < highWaterMark) this.#startReading();
    if (this.#eof && this.#readBuffer.length === 0) this.#emitEnd();
  }

  on(type, listener) {
    super.on(type, listener);
    if (type === 'data' && this.#flowing !== false) this.resume();
    return this;
  }

  pause() {
    this.#flowing = false;
    this.#stopReading();
    return this;
  }

  resume() {
    this.#flowing = true;
    if (this.#readLength < highWaterMark) this.#startReading();
    if (this.#readBuffer.length > 0 || (this.#eof && !this.#endEmitted)) this.#scheduleFlush();
    return this;
  }

  isPaused() { return this.#flowing === false; }

  setEncoding(encoding) {
    this.#decoder = new StreamStringDecoder(encodingOrThrow(encoding));
    return this;
  }

  // Writing.

  write(data, encoding, callback) {
    // The common case first: bytes, no encoding, no callback, an open socket.
    if (encoding === undefined && callback === undefined && data instanceof Uint8Array && !this.#ending &&
      !this.#destroyed) {
      return this.#writeChunk(data, undefined);
    }
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (callback !== undefined && callback !== null) validateFunction(callback, 'cb');
    else callback = undefined;
    let chunk;
    if (typeof data === 'string') {
      chunk = encoding === undefined || encoding === null || encoding === 'utf8' ? encodeUTF8(data, true) :
        fromString(data, encoding);
    } else if (data instanceof Uint8Array) {
      chunk = data;
    } else if (data === null) {
      throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
    } else {
      throw invalidArgType('chunk', 'of type string or an instance of Buffer or Uint8Array', data);
    }
    if (this.#ending) {
      const error = nodeError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
      if (callback !== undefined) nextTick(callCallback, this, callback, error);
      this.destroy(error);
      return false;
    }
    if (this.#destroyed) {
      const error = nodeError(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
      if (callback !== undefined) nextTick(callCallback, this, callback, error);
      return false;
    }
    return this.#writeChunk(chunk, callback);
  }

  #writeChunk(chunk, callback) {
    const length = chunk.length;
    this.#bytesWritten += length;
    if (this.#timeout !== 0) this.#touch();
    this.#writableLength += length;
    const belowMark = this.#writableLength < highWaterMark;
    if (!belowMark) this.#needDrain = true;
    const flushed = length === 0 ? 0 : hostWrite(this.#id, chunk);
    this.#writableLength -= flushed;
    if (flushed === length) {
      if (callback !== undefined || this.#needDrain || this.#ending) nextTick(afterSyncWrite, this, callback);
    } else {
      if (this.#writeQueue === noChunks) this.#writeQueue = [];
      this.#writeQueue.push({ chunk, remaining: length - flushed, callback });
    }
    return belowMark;
  }

  [kOnWritten](count) {
    this.#writableLength -= count;
    const queue = this.#writeQueue;
    while (count > 0 && queue.length > 0) {
      const entry = queue[0];
      if (count < entry.remaining) {
        entry.remaining -= count;
        break;
      }
      count -= entry.remaining;
      queue.shift();
      if (entry.callback !== undefined) entry.callback.call(this, null);
    }
    if (this.#destroyed) return;
    if (this.#needDrain && this.#writableLength === 0) {
      this.#needDrain = false;
      this.emit('drain');
    }
    if (this.#ending && !this.#finished && this.#writableLength === 0 && queue.length === 0) {
      this.#finished = true;
      this.emit('finish');
    }
  }

  end(data, encoding, callback) {
    if (typeof data === 'function') {
      callback = data;
      data = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (data !== undefined && data !== null) this.write(data, encoding);
    if (typeof callback === 'function') {
      if (this.#finished) nextTick(callCallback, this, callback, null);
      else this.once('finish', callback);
    }
    if (!this.#ending && !this.#destroyed) {
      this.#ending = true;
      hostEnd(this.#id);
      if (this.#writableLength === 0 && this.#writeQueue.length === 0) nextTick(afterSyncWrite, this,
        undefined);
    }
    return this;
  }

  destroy(error) {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    if (error !== undefined && error !== null && this.#error === null) this.#error = error;
    this.#clearTimeoutTimer();
    hostDestroy(this.#id);
    return this;
  }

  destroySoon() {
    if (this.writable) this.end();
    if (this.#finished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  [kOnError](error) {
    if (this.#error === null) this.#error = error;
    this.#destroyed = true;
    this.#clearTimeoutTimer();
  }

  [kOnClose](hadError) {
    if (this.#closed) return;
    this.#closed = true;
    this.#destroyed = true;
    this.#hostReading = false;
    sockets.delete(this.#id);
    this.#clearTimeoutTimer();
    const error = this.#error;
    const pending = this.#writeQueue;
    this.#writeQueue = noChunks;
    this.#writableLength = 0;
    for (const entry of pending) {
      if (entry.callback === undefined) continue;
      try {
        entry.callback.call(this, error ?? nodeError(Error, 'ERR_STREAM_DESTROYED',
          'Cannot call write after a stream was destroyed'));
      } catch (thrown) {
        reportFault(thrown, 'a write callback', this.#id);
      }
    }
    if (error !== null) {
      try {
        this.emit('error', error);
      } catch (thrown) {
        reportFault(thrown, this.listenerCount('error') === 0 ?
          "the connection's 'error' event, which has no listener" : "an 'error' listener", this.#id);
      }
    }
    this.emit('close', hadError || error !== null);
  }

  // Inactivity timeout: the timer checks the last activity when it fires, so traffic never touches the host
  // timer.

  setTimeout(timeout, callback) {
    if (typeof timeout !== 'number') throw invalidArgType('msecs', 'of type number', timeout);
    if (!(timeout >= 0) || !Number.isFinite(timeout)) throw outOfRange('msecs', 'a non-negative finite number',
      timeout);
    if (callback !== undefined) {
      validateFunction(callback, 'callback');
      if (timeout === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.#timeout = timeout;
    this.#clearTimeoutTimer();
    if (timeout !== 0 && !this.#destroyed) this.#touch();
    return this;
  }

  get timeout() { return this.#timeout === 0 ? undefined : this.#timeout; }

  #touch() {
    this.#lastActivity = hostNow();
    if (this.#timeoutTimer === null) this.#timeoutTimer = internalTimer(onSocketTimeout, this.#timeout, this);
  }

  #clearTimeoutTimer() {
    if (this.#timeoutTimer !== null) {
      this.#timeoutTimer.clear();
      this.#timeoutTimer = null;
    }
  }

  #timedOut() {
    this.#timeoutTimer = null;
    if (this.#destroyed || this.#timeout === 0) return;
    const idle = hostNow() - this.#lastActivity;
    // Host timers have millisecond granularity; within a millisecond counts as due.
    if (idle < this.#timeout - 1) {
      this.#timeoutTimer = internalTimer(onSocketTimeout, this.#timeout - idle, this);
      return;
    }
    try {
      this.emit('timeout');
    } catch (error) {
      Socket.fault(this, error, "a 'timeout' listener");
    }
  }

  static {
    this.prototype[kCapture] = true;
    flushSocket = (socket) => socket.#flush();
    onSocketTimeout = (socket) => socket.#timedOut();
  }

  setNoDelay(noDelay = true) {
    if (!this.#destroyed) hostSetNoDelay(this.#id, !!noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0) {
    if (!this.#destroyed) hostSetKeepAlive(this.#id, !!enable, Math.max(0, Math.trunc(+initialDelay || 0)));
    return this;
  }

  address() {
    return { address: this.localAddress, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4',
      port: this.localPort };
  }

  ref() { return this; }
  unref() { return this; }

  pipe(destination, options = undefined) {
    const ondata = (chunk) => {
      if (destination.write(chunk) === false) this.pause();
    };
    this.on('data', ondata);
    destination.on('drain', () => this.resume());
    if (options?.end !== false) this.once('end', () => destination.end());
    return destination;
  }

  async *[Symbol.asyncIterator]() {
    const queue = [];
    let ended = false;
    let failure = null;
    let wake = null;
    const notify = () => {
      const resolve = wake;
      wake = null;
      resolve?.();
    };
    const ondata = (chunk) => {
      queue.push(chunk);
      this.pause();
      notify();
    };
    const onend = () => { ended = true; notify(); };
    const onerror = (error) => { failure = error; notify(); };
    this.on('data', ondata);
    this.on('end', onend);
    this.on('close', onend);
    this.on('error', onerror);
    try {
      while (true) {
        if (queue.length > 0) {
          yield queue.shift();
          continue;
        }
        if (failure !== null) throw failure;
        if (ended) return;
        this.resume();
        await new Promise((resolve) => { wake = resolve; });
      }
    } finally {
      this.removeListener('data', ondata);
      this.removeListener('end', onend);
      this.removeListener('close', onend);
      this.removeListener('error', onerror);
      if (!ended && failure === null) this.destroy();
    }
  }

  get bytesRead() { return this.#bytesRead; }
  get bytesWritten() { return this.#bytesWritten; }
  get destroyed() { return this.#destroyed; }
  get readable() { return !this.#endEmitted && !this.#destroyed; }
  get writable() { return !this.#ending && !this.#destroyed; }
  get readyState() {
    if (this.#destroyed) return 'closed';
    const readable = !this.#endEmitted;
    const writable = !this.#ending;
    return readable && writable ? 'open' : readable ? 'readOnly' : writable ? 'writeOnly' : 'closed';
  }
  get pending() { return false; }
  get connecting() { return false; }
  get allowHalfOpen() { return false; }
  get writableLength() { return this.#writableLength; }
  get bufferSize() { return this.#writableLength; }
  get writableHighWaterMark() { return highWaterMark; }
  get readableHighWaterMark() { return highWaterMark; }
  get writableNeedDrain() { return this.#needDrain; }
  get writableEnded() { return this.#ending; }
  get writableFinished() { return this.#finished; }
  get readableEnded() { return this.#endEmitted; }
  get readableFlowing() { return this.#flowing; }
  get readableLength() { return this.#readLength; }
  get readableEncoding() { return this.#decoder?.encoding ?? null; }
  get closed() { return this.#closed; }
  get errored() { return this.#error; }
}
Socket.prototype.addListener = Socket.prototype.on;
