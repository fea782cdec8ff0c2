// `structuredClone`, and what the native structured-clone codec (BerthJS/StructuredClone/) needs from JavaScript: the
// intrinsics it calls for the kinds only they can read or make, captured before handler code runs.
import { detachArrayBuffer as hostDetachArrayBuffer, structuredClone as hostStructuredClone } from 'berth:host';
import { ObjectDefineProperty, brandHostObject, defineGlobal, kHostObject, resolvedPromise } from './core.js';
import { DOMException, invalidArgType, missingArgs } from './errors.js';
import { Immediate, Timeout } from './timers.js';
import {
  AbortController, AbortSignal, Event, EventTarget, TextDecoder, TextEncoder, crypto, performance,
} from './web.js';
import { Socket } from './socket.js';
import { TLSSocket } from './tls.js';

const ReflectApply = Reflect.apply;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectFunction = Object;
const ArrayFrom = Array.from;
const ErrorConstructor = Error;
const RegExpConstructor = RegExp;
const BigIntFunction = BigInt;
const objectIsPrototypeOf = Object.prototype.isPrototypeOf;
const mapForEach = Map.prototype.forEach;
const setForEach = Set.prototype.forEach;
const bigintToString = BigInt.prototype.toString;
const dateGetTime = Date.prototype.getTime;
// Indexed by the codec's wrapper kind: Boolean, Number, String, BigInt.
const primitiveReaders = [Boolean.prototype.valueOf, Number.prototype.valueOf, String.prototype.valueOf,
  BigInt.prototype.valueOf];
const errorConstructors = { __proto__: null, Error, EvalError, RangeError, ReferenceError, SyntaxError,
  TypeError, URIError };

function getterOf(target, name) { return ObjectGetOwnPropertyDescriptor(target, name)?.get; }
const regexpSource = getterOf(RegExp.prototype, 'source');
// Flag characters and the getters that read them from the regexp itself (the `flags` getter reads
// properties, which a handler may shadow), in the order `flags` lists them.
const regexpFlags = [];
for (const [flag, name] of [['d', 'hasIndices'], ['g', 'global'], ['i', 'ignoreCase'], ['m', 'multiline'],
  ['s', 'dotAll'], ['u', 'unicode'], ['v', 'unicodeSets'], ['y', 'sticky']]) {
  const get = getterOf(RegExp.prototype, name);
  if (get !== undefined) regexpFlags.push(flag, get);
}
const dataViewBuffer = getterOf(DataView.prototype, 'buffer');
const dataViewByteOffset = getterOf(DataView.prototype, 'byteOffset');
const dataViewByteLength = getterOf(DataView.prototype, 'byteLength');
const arrayBufferByteLength = getterOf(ArrayBuffer.prototype, 'byteLength');
const Uint8ArrayConstructor = Uint8Array;
// ArrayBuffer.prototype.detached where QuickJS has it; otherwise a view over a detached buffer cannot be made.
const arrayBufferDetached = getterOf(ArrayBuffer.prototype, 'detached') ?? function detached() {
  try {
    new Uint8ArrayConstructor(this, 0, 0);
    return false;
  } catch {
    return true;
  }
};

function dataCloneError(message) { return new DOMException(message, 'DataCloneError'); }

// Handed to the runtime once (the `clone` hook); the codec keeps what it needs.
export const cloneIntrinsics = {
  brand: kHostObject,
  // One instance per class the codec tells apart by QuickJS class id.
  samples: {
    object: {}, array: [], error: new Error(), date: new Date(0), regexp: /(?:)/, map: new Map(),
    set: new Set(), arrayBuffer: new ArrayBuffer(0), boolean: new Boolean(false), number: new Number(0),
    string: new String(''), bigint: ObjectFunction(0n),
  },
  // Refused kinds, named for the DataCloneError message.
  refused: [
    ['WeakMap', new WeakMap()], ['WeakSet', new WeakSet()], ['Promise', resolvedPromise],
    ['Proxy', new Proxy({}, {})], ['Symbol', ObjectFunction(Symbol())],
    ['Arguments', (function () { return arguments; })()], ['Generator', (function* () {})()],
    ['AsyncGenerator', (async function* () {})()], ['Array Iterator', [][Symbol.iterator]()],
    ['Map Iterator', new Map().entries()], ['Set Iterator', new Set().values()],
    ['String Iterator', ''[Symbol.iterator]()], ['RegExp String Iterator', ''.matchAll(/(?:)/g)],
    ...(typeof WeakRef === 'function' ? [['WeakRef', new WeakRef({})]] : []),
    ...(typeof FinalizationRegistry === 'function' ?
      [['FinalizationRegistry', new FinalizationRegistry(() => {})]] : []),
    ...(typeof SharedArrayBuffer === 'function' ? [['SharedArrayBuffer', new SharedArrayBuffer(0)]] : []),
  ],
  // Indexed by the format's view kind (docs/clone-format.md); undefined where QuickJS lacks the type.
  views: [undefined, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
    typeof Float16Array === 'function' ? Float16Array : undefined],
  Map, Set, mapSet: Map.prototype.set, setAdd: Set.prototype.add,

  dateValue(date) { return ReflectApply(dateGetTime, date, []); },
  regexpParts(regexp) {
    let flags = '';
    for (let index = 0; index < regexpFlags.length; index += 2) {
      if (ReflectApply(regexpFlags[index + 1], regexp, [])) flags += regexpFlags[index];
    }
    return [ReflectApply(regexpSource, regexp, []), flags];
  },
  makeRegExp(source, flags) { return new RegExpConstructor(source, flags); },
  // Entries as [key, value, key, value, …], read from the map's own data (no iterator a handler could patch).
  mapEntries(map) {
    const entries = [];
    ReflectApply(mapForEach, map, [(value, key) => {
      entries[entries.length] = key;
      entries[entries.length] = value;
    }]);
    return entries;
  },
  setValues(set) {
    const values = [];
    ReflectApply(setForEach, set, [(value) => { values[values.length] = value; }]);
    return values;
  },
  // Hexadecimal digits, with '-' first for a negative value.
  bigintHex(value) { return ReflectApply(bigintToString, value, [16]); },
  makeBigInt(hex, negative) {
    const magnitude = BigIntFunction(`0x${hex}`);
    return negative ? -magnitude : magnitude;
  },
  primitiveOf(wrapper, kind) { return ReflectApply(primitiveReaders[kind], wrapper, []); },
  wrap(primitive) { return ObjectFunction(primitive); },
  viewParts(view) {
    return [ReflectApply(dataViewBuffer, view, []), ReflectApply(dataViewByteOffset, view, []),
      ReflectApply(dataViewByteLength, view, [])];
  },
  // [name, message, stack, isDOMException], as the HTML algorithm reads them: a name that is not a standard
  // error's becomes "Error", the message only when it is an own data property.
  errorParts(error) {
    const isDOMException = ReflectApply(objectIsPrototypeOf, DOMException.prototype, [error]);
    let name = error.name;
    if (isDOMException) name = `${name}`;
    else if (typeof name !== 'string' || errorConstructors[name] === undefined) name = 'Error';
    const descriptor = ObjectGetOwnPropertyDescriptor(error, 'message');
    const message = descriptor !== undefined && 'value' in descriptor ? `${descriptor.value}` : undefined;
    const stack = error.stack;
    return [name, message, typeof stack === 'string' ? stack : undefined, isDOMException];
  },
  makeError(name, message, stack, isDOMException) {
    let error;
    if (isDOMException) {
      error = new DOMException(message ?? '', name);
    } else {
      const Constructor = errorConstructors[name] ?? ErrorConstructor;
      error = message === undefined ? new Constructor() : new Constructor(message);
      if (name !== Constructor.prototype.name) {
        ObjectDefineProperty(error, 'name', { value: name, writable: true, configurable: true });
      }
    }
    if (stack === undefined) delete error.stack;
    else ObjectDefineProperty(error, 'stack', { value: stack, writable: true, configurable: true });
    return error;
  },
  dataCloneError,
  plainError(message) { return new ErrorConstructor(message); },
  missingValue() { return missingArgs('value'); },
  cloneWithOptions,
};

// Objects with behaviour that lives in the runtime, which no copy could have (the HTML algorithm's platform
// objects). Handler classes are not marked: their instances clone as plain objects, as on the web.
for (const [target, description] of [
  [Socket.prototype, '#<Socket>'], [TLSSocket.prototype, '#<TLSSocket>'], [Timeout.prototype, '#<Timeout>'],
  [Immediate.prototype, '#<Immediate>'], [Event.prototype, '#<Event>'], [EventTarget.prototype, '#<EventTarget>'],
  [AbortSignal.prototype, '#<AbortSignal>'], [AbortController.prototype, '#<AbortController>'],
  [TextEncoder.prototype, '#<TextEncoder>'], [TextDecoder.prototype, '#<TextDecoder>'],
  [performance, '#<Performance>'], [crypto, '#<Crypto>'],
]) {
  brandHostObject(target, description);
}

function transferList(transfer) {
  if (transfer === null || typeof transfer !== 'object' || typeof transfer[Symbol.iterator] !== 'function') {
    throw new TypeError("Failed to execute 'structuredClone': The provided value cannot be converted to a " +
      'sequence.');
  }
  const buffers = ArrayFrom(transfer);
  for (let index = 0; index < buffers.length; index++) {
    const buffer = buffers[index];
    try {
      ReflectApply(arrayBufferByteLength, buffer, []);
    } catch {
      throw dataCloneError('Value not transferable');
    }
    if (ReflectApply(arrayBufferDetached, buffer, [])) {
      throw dataCloneError(`ArrayBuffer at index ${index} is already detached`);
    }
    if (buffers.indexOf(buffer) !== index) {
      throw dataCloneError(`ArrayBuffer at index ${index} is a duplicate of an earlier ArrayBuffer`);
    }
  }
  return buffers;
}

// structuredClone(value, options) is the native function itself; with options it calls this. A transferred
// ArrayBuffer is copied like any other, then detached: what the copy and the original show afterwards is
// what a move would show.
function cloneWithOptions(value, options) {
  if (typeof options !== 'object' && typeof options !== 'function') {
    throw invalidArgType('options', 'of type object', options);
  }
  const transfer = options.transfer === undefined ? undefined : transferList(options.transfer);
  const clone = hostStructuredClone(value);
  if (transfer !== undefined) {
    for (let index = 0; index < transfer.length; index++) hostDetachArrayBuffer(transfer[index]);
  }
  return clone;
}
defineGlobal('structuredClone', hostStructuredClone);
