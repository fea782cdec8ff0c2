// The web platform globals: Event, EventTarget, AbortController/AbortSignal, TextEncoder/TextDecoder, crypto,
// performance, atob/btoa and queueMicrotask.
import { decodeUTF8, encodeUTF8, now as hostNow, randomFill as hostRandomFill } from 'berth:host';
import { ObjectDefineProperty, defineGlobal, isThenable, reportFault, resolvedPromise } from './core.js';
import { constructorName, inspect, kInspect } from './inspect.js';
import { DOMException, invalidArgType, missingArgs, nodeError, outOfRange, validateFunction } from './errors.js';
import { base64Alphabet, base64Slice, hexTable } from './buffer.js';
import { internalTimer } from './timers.js';

const timeOrigin = hostNow();
export const performance = {
  now() { return hostNow() - timeOrigin; },
  timeOrigin: Date.now(),
  toJSON() { return { timeOrigin: this.timeOrigin }; },
};
defineGlobal('performance', performance);

let setEventState;
let eventIsDispatching;
let stopsImmediately;

export class Event {
  #type;
  #bubbles;
  #cancelable;
  #composed;
  #defaultPrevented = false;
  #timeStamp = performance.now();
  #target = null;
  #currentTarget = null;
  #dispatching = false;
  #stopImmediate = false;
  #trusted = false;

  constructor(type, options = undefined) {
    if (arguments.length === 0) throw missingArgs('type');
    this.#type = `${type}`;
    this.#bubbles = !!options?.bubbles;
    this.#cancelable = !!options?.cancelable;
    this.#composed = !!options?.composed;
  }

  static {
    setEventState = (event, target, dispatching, trusted) => {
      event.#target = target ?? event.#target;
      event.#currentTarget = dispatching ? target : null;
      event.#dispatching = dispatching;
      if (trusted !== undefined) event.#trusted = trusted;
    };
    eventIsDispatching = (event) => event.#dispatching;
    stopsImmediately = (event) => event.#stopImmediate;
  }

  get type() { return this.#type; }
  get bubbles() { return this.#bubbles; }
  get cancelable() { return this.#cancelable; }
  get composed() { return this.#composed; }
  get defaultPrevented() { return this.#cancelable && this.#defaultPrevented; }
  get timeStamp() { return this.#timeStamp; }
  get target() { return this.#target; }
  get currentTarget() { return this.#currentTarget; }
  get srcElement() { return this.#target; }
  get isTrusted() { return this.#trusted; }
  get eventPhase() { return this.#dispatching ? Event.AT_TARGET : Event.NONE; }
  get returnValue() { return !this.defaultPrevented; }
  get cancelBubble() { return this.#stopImmediate; }
  composedPath() { return this.#dispatching ? [this.#currentTarget] : []; }
  preventDefault() { this.#defaultPrevented = true; }
  stopPropagation() {}
  stopImmediatePropagation() { this.#stopImmediate = true; }
  [kInspect](depth) {
    const shown = { type: this.#type, defaultPrevented: this.defaultPrevented, cancelable: this.#cancelable,
      timeStamp: this.#timeStamp };
    return `${constructorName(this) ?? 'Event'} ${inspect(shown, { depth })}`;
  }
}
for (const [name, value] of [['NONE', 0], ['CAPTURING_PHASE', 1], ['AT_TARGET', 2], ['BUBBLING_PHASE', 3]]) {
  ObjectDefineProperty(Event, name, { value, enumerable: true });
}

function listenerOptions(options) {
  if (typeof options === 'boolean') return { capture: options, once: false, passive: false, signal: undefined };
  return { capture: !!options?.capture, once: !!options?.once, passive: !!options?.passive,
    signal: options?.signal };
}

export class EventTarget {
  #listeners = new Map();

  addEventListener(type, listener, options = undefined) {
    if (arguments.length < 2) throw missingArgs('type', 'listener');
    if (listener === null || listener === undefined) return;
    const { capture, once, passive, signal } = listenerOptions(options);
    if (signal !== undefined && signal.aborted) return;
    type = `${type}`;
    let list = this.#listeners.get(type);
    if (list === undefined) {
      list = [];
      this.#listeners.set(type, list);
    }
    if (list.some((record) => record.callback === listener && record.capture === capture)) return;
    list.push({ callback: listener, capture, once, passive, removed: false });
    if (signal !== undefined) {
      signal.addEventListener('abort', () => this.removeEventListener(type, listener, { capture }),
        { once: true });
    }
  }

  removeEventListener(type, listener, options = undefined) {
    const list = this.#listeners.get(`${type}`);
    if (list === undefined) return;
    const capture = typeof options === 'boolean' ? options : !!options?.capture;
    const index = list.findIndex((record) => record.callback === listener && record.capture === capture);
    if (index < 0) return;
    list[index].removed = true;
    list.splice(index, 1);
    if (list.length === 0) this.#listeners.delete(`${type}`);
  }

  dispatchEvent(event) {
    if (!(event instanceof Event)) throw invalidArgType('event', 'an instance of Event', event);
    if (eventIsDispatching(event)) throw new DOMException('The event is already being dispatched',
      'InvalidStateError');
    const list = this.#listeners.get(event.type);
    setEventState(event, this, true);
    try {
      if (list !== undefined) {
        for (const record of list.slice()) {
          if (record.removed) continue;
          if (record.once) this.removeEventListener(event.type, record.callback, { capture: record.capture });
          try {
            const callback = record.callback;
            let result;
            if (typeof callback === 'function') result = callback.call(this, event);
            else if (typeof callback?.handleEvent === 'function') result = callback.handleEvent(event);
            if (isThenable(result)) {
              result.then(undefined, (error) => reportFault(error, `an async '${event.type}' event listener`));
            }
          } catch (error) {
            reportFault(error, `an '${event.type}' event listener`);
          }
          if (stopsImmediately(event)) break;
        }
      }
    } finally {
      setEventState(event, this, false);
    }
    return !event.defaultPrevented;
  }
}

const kConstruct = Symbol('construct');
let abortSignal;

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #onabort = null;
  #onabortListener = null;

  constructor(token) {
    if (token !== kConstruct) throw nodeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
    super();
  }

  static {
    abortSignal = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason;
      const event = new Event('abort');
      setEventState(event, undefined, false, true);
      signal.dispatchEvent(event);
    };
  }

  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }

  get onabort() { return this.#onabort; }
  set onabort(handler) {
    this.#onabort = typeof handler === 'function' || (handler !== null && typeof handler === 'object') ?
      handler : null;
    if (this.#onabort !== null && this.#onabortListener === null) {
      this.#onabortListener = (event) => {
        const current = this.#onabort;
        if (typeof current === 'function') return current.call(this, event);
        return undefined;
      };
      this.addEventListener('abort', this.#onabortListener);
    } else if (this.#onabort === null && this.#onabortListener !== null) {
      this.removeEventListener('abort', this.#onabortListener);
      this.#onabortListener = null;
    }
  }

  static abort(reason = new DOMException('This operation was aborted', 'AbortError')) {
    const signal = new AbortSignal(kConstruct);
    abortSignal(signal, reason);
    return signal;
  }

  static timeout(delay) {
    if (typeof delay !== 'number') throw invalidArgType('delay', 'of type number', delay);
    if (!Number.isInteger(delay) || delay < 0 || delay > 2 ** 32 - 1) throw outOfRange('delay',
      '>= 0 and <= 4294967295', delay);
    const signal = new AbortSignal(kConstruct);
    internalTimer((target) => {
      abortSignal(target, new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, delay, signal);
    return signal;
  }

  static any(signals) {
    const signal = new AbortSignal(kConstruct);
    for (const source of signals) {
      if (!(source instanceof AbortSignal)) throw invalidArgType('signals', 'an instance of AbortSignal',
        source);
      if (source.aborted) {
        abortSignal(signal, source.reason);
        return signal;
      }
    }
    for (const source of signals) {
      source.addEventListener('abort', () => abortSignal(signal, source.reason), { once: true });
    }
    return signal;
  }

  get [Symbol.toStringTag]() { return 'AbortSignal'; }
  [kInspect](depth) {
    return `AbortSignal ${inspect({ aborted: this.#aborted }, { depth })}`;
  }
}

export class AbortController {
  #signal = new AbortSignal(kConstruct);
  get signal() { return this.#signal; }
  abort(reason = new DOMException('This operation was aborted', 'AbortError')) {
    abortSignal(this.#signal, reason);
  }
  get [Symbol.toStringTag]() { return 'AbortController'; }
  [kInspect](depth) {
    return `AbortController { signal: ${this.#signal[kInspect](depth)} }`;
  }
}

defineGlobal('Event', Event);
defineGlobal('EventTarget', EventTarget);
defineGlobal('AbortSignal', AbortSignal);
defineGlobal('AbortController', AbortController);

// A streaming UTF-8 decoder: the bytes of a character cut at the end of a chunk wait for the next one. Output
// is WHATWG's (one U+FFFD per maximal invalid subsequence); with `fatal`, invalid input throws instead.
function utf8SequenceLength(lead) {
  return lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ?
    4 : 0;
}
function isContinuationAt(lead, position, byte) {
  if (position === 1) {
    if (lead === 0xe0) return byte >= 0xa0 && byte <= 0xbf;
    if (lead === 0xed) return byte >= 0x80 && byte <= 0x9f;
    if (lead === 0xf0) return byte >= 0x90 && byte <= 0xbf;
    if (lead === 0xf4) return byte >= 0x80 && byte <= 0x8f;
  }
  return byte >= 0x80 && byte <= 0xbf;
}
function invalidEncodedData() {
  return nodeError(TypeError, 'ERR_ENCODING_INVALID_ENCODED_DATA',
    'The encoded data was not valid for encoding utf-8');
}

export class Utf8StreamDecoder {
  #fatal;
  #pending = new Uint8Array(4);
  #pendingCount = 0;

  constructor(fatal) { this.#fatal = fatal; }

  // Length of the valid but unfinished character at the end of bytes[start, end), or 0.
  static #unfinishedTail(bytes, start, end) {
    for (let back = 1; back <= 3 && end - back >= start; back++) {
      const byte = bytes[end - back];
      if (byte >= 0x80 && byte <= 0xbf) continue;
      const needed = utf8SequenceLength(byte);
      if (needed <= back) return 0;
      for (let position = 1; position < back; position++) {
        if (!isContinuationAt(byte, position, bytes[end - back + position])) return 0;
      }
      return back;
    }
    return 0;
  }

  decode(bytes, flush) {
    let text = '';
    let start = 0;
    const end = bytes.length;
    if (this.#pendingCount > 0) {
      const pending = this.#pending;
      const needed = utf8SequenceLength(pending[0]);
      while (this.#pendingCount < needed && start < end && isContinuationAt(pending[0], this.#pendingCount,
        bytes[start])) {
        pending[this.#pendingCount++] = bytes[start++];
      }
      if (this.#pendingCount === needed) {
        text += decodeUTF8(pending, 0, needed, false);
        this.#pendingCount = 0;
      } else if (start < end || flush) {
        this.#pendingCount = 0;
        if (this.#fatal) throw invalidEncodedData();
        text += '\ufffd';
      } else {
        return text;
      }
    }
    const tail = flush ? 0 : Utf8StreamDecoder.#unfinishedTail(bytes, start, end);
    if (end - tail > start) {
      const decoded = decodeUTF8(bytes, start, end - tail, this.#fatal);
      if (decoded === undefined) throw invalidEncodedData();
      text += decoded;
    }
    for (let index = end - tail; index < end; index++) this.#pending[this.#pendingCount++] = bytes[index];
    return text;
  }

  get pendingCount() { return this.#pendingCount; }
  reset() { this.#pendingCount = 0; }
}

export class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return encodeUTF8(`${input}`, false); }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw invalidArgType('dest', 'an instance of Uint8Array',
      destination);
    source = `${source}`;
    let read = 0;
    let written = 0;
    const capacity = destination.length;
    while (read < source.length) {
      let code = source.codePointAt(read);
      const units = code > 0xffff ? 2 : 1;
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
      const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      if (written + size > capacity) break;
      if (size === 1) {
        destination[written] = code;
      } else if (size === 2) {
        destination[written] = 0xc0 | (code >> 6);
        destination[written + 1] = 0x80 | (code & 0x3f);
      } else if (size === 3) {
        destination[written] = 0xe0 | (code >> 12);
        destination[written + 1] = 0x80 | ((code >> 6) & 0x3f);
        destination[written + 2] = 0x80 | (code & 0x3f);
      } else {
        destination[written] = 0xf0 | (code >> 18);
        destination[written + 1] = 0x80 | ((code >> 12) & 0x3f);
        destination[written + 2] = 0x80 | ((code >> 6) & 0x3f);
        destination[written + 3] = 0x80 | (code & 0x3f);
      }
      read += units;
      written += size;
    }
    return { read, written };
  }
  get [Symbol.toStringTag]() { return 'TextEncoder'; }
}

export class TextDecoder {
  #decoder;
  #fatal;
  #ignoreBOM;
  #bomChecked = false;

  constructor(label = 'utf-8', options = undefined) {
    const encoding = `${label}`.trim().toLowerCase();
    if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'unicode-1-1-utf-8') {
      throw nodeError(RangeError, 'ERR_ENCODING_NOT_SUPPORTED', `The "${label}" encoding is not supported`);
    }
    this.#fatal = !!options?.fatal;
    this.#ignoreBOM = !!options?.ignoreBOM;
    this.#decoder = new Utf8StreamDecoder(this.#fatal);
  }

  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }

  decode(input = undefined, options = undefined) {
    let bytes;
    if (input === undefined) bytes = new Uint8Array(0);
    else if (input instanceof Uint8Array) bytes = input;
    else if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' &&
      input instanceof SharedArrayBuffer)) bytes = new Uint8Array(input);
    else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset,
      input.byteLength);
    else throw invalidArgType('input', 'an instance of ArrayBuffer or ArrayBufferView', input);
    const stream = !!options?.stream;
    let text;
    try {
      text = this.#decoder.decode(bytes, !stream);
    } catch (error) {
      this.#decoder.reset();
      this.#bomChecked = false;
      throw error;
    }
    if (!this.#ignoreBOM && !this.#bomChecked && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#bomChecked = true;
    }
    if (!stream) this.#bomChecked = false;
    return text;
  }
  get [Symbol.toStringTag]() { return 'TextDecoder'; }
}
defineGlobal('TextEncoder', TextEncoder);
defineGlobal('TextDecoder', TextDecoder);

const integerArrayTypes = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, BigInt64Array, BigUint64Array];
export const crypto = {
  getRandomValues(array) {
    if (!integerArrayTypes.some((Type) => array instanceof Type)) {
      throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw new DOMException(
        `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy ` +
          'available via this API (65536)',
        'QuotaExceededError');
    }
    hostRandomFill(array);
    return array;
  },
  randomUUID() {
    const bytes = new Uint8Array(16);
    hostRandomFill(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let text = '';
    for (let index = 0; index < 16; index++) {
      if (index === 4 || index === 6 || index === 8 || index === 10) text += '-';
      text += hexTable[bytes[index]];
    }
    return text;
  },
};
defineGlobal('crypto', crypto);

function btoa(input) {
  if (arguments.length === 0) throw missingArgs('input');
  input = `${input}`;
  const bytes = new Uint8Array(input.length);
  for (let index = 0; index < input.length; index++) {
    const code = input.charCodeAt(index);
    if (code > 0xff) throw new DOMException('Invalid character', 'InvalidCharacterError');
    bytes[index] = code;
  }
  return base64Slice(bytes, 0, bytes.length, base64Alphabet, true);
}

// WHATWG forgiving-base64: ASCII whitespace is ignored; '=' may only end the input, at most two of them, and
// only when they complete a group of four. Errors are worded as Node words them.
function atob(input) {
  if (arguments.length === 0) throw missingArgs('input');
  input = `${input}`;
  let digits = '';
  let equals = 0;
  for (let index = 0; index < input.length; index++) {
    const code = input.charCodeAt(index);
    if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) continue;
    if (code === 0x3d) {
      equals++;
      if (equals > 2) throw new DOMException('Invalid character', 'InvalidCharacterError');
      continue;
    }
    if (equals > 0 || code > 0x7f || base64Alphabet.indexOf(input[index]) < 0) {
      throw new DOMException('Invalid character', 'InvalidCharacterError');
    }
    digits += input[index];
  }
  if (digits.length % 4 === 1) {
    throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  }
  if (equals > 0 && (digits.length + equals) % 4 !== 0) {
    throw new DOMException('Invalid character', 'InvalidCharacterError');
  }
  let output = '';
  let accumulator = 0;
  let bits = 0;
  for (let index = 0; index < digits.length; index++) {
    accumulator = (accumulator << 6) | base64Alphabet.indexOf(digits[index]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      output += String.fromCharCode((accumulator >>> bits) & 0xff);
    }
  }
  return output;
}
defineGlobal('btoa', btoa);
defineGlobal('atob', atob);

function queueMicrotask(callback) {
  validateFunction(callback, 'callback');
  resolvedPromise.then(() => {
    try {
      callback();
    } catch (error) {
      reportFault(error, 'a queueMicrotask callback');
    }
  });
}
defineGlobal('queueMicrotask', queueMicrotask);
