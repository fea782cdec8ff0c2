// `Buffer`: a Uint8Array subclass with the Node API handlers use; UTF-8 goes through native code.
import { decodeUTF8, encodeUTF8, registerBuffer as hostRegisterBuffer, utf8Length, writeUTF8 } from 'berth:host';
import { ObjectDefineProperty, defineGlobal } from './core.js';
import { bytesHex, inspect, kInspect } from './inspect.js';
import { invalidArgType, nodeError, outOfRange } from './errors.js';

class FastBuffer extends Uint8Array {}
hostRegisterBuffer(FastBuffer, Uint8Array);

const kMaxLength = 2 ** 32;
const uint8Subarray = Uint8Array.prototype.subarray;
const typedArrayByteLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype),
  'byteLength').get;
const float32Array = new Float32Array(1);
const float32Bytes = new Uint8Array(float32Array.buffer);
const float64Array = new Float64Array(1);
const float64Bytes = new Uint8Array(float64Array.buffer);
export const hexTable = Array.from({ length: 256 }, (_, byte) => (byte < 16 ? '0' : '') + byte.toString(16));
export const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64UrlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// Both alphabets decode (as in Node); -1 marks bytes that are not base64 digits.
const base64Values = new Int8Array(256).fill(-1);
for (let index = 0; index < 64; index++) {
  base64Values[base64Alphabet.charCodeAt(index)] = index;
  base64Values[base64UrlAlphabet.charCodeAt(index)] = index;
}

// Node's getEncodingOps: the encoding that `${encoding}` names (null names "null"), or undefined.
function lookupEncoding(encoding) {
  switch (`${encoding}`.toLowerCase()) {
    case 'utf8': case 'utf-8': return 'utf8';
    case 'hex': return 'hex';
    case 'base64': return 'base64';
    case 'base64url': return 'base64url';
    case 'latin1': case 'binary': return 'latin1';
    case 'ascii': return 'ascii';
    case 'ucs2': case 'ucs-2': case 'utf16le': case 'utf-16le': return 'utf16le';
    default: return undefined;
  }
}

// Node's normalizeEncoding: undefined, null and '' mean UTF-8.
function normalizeEncoding(encoding) {
  if (encoding === undefined || encoding === null || encoding === '' || encoding === 'utf8') return 'utf8';
  return lookupEncoding(encoding);
}

function unknownEncoding(encoding) {
  return nodeError(TypeError, 'ERR_UNKNOWN_ENCODING',
    `Unknown encoding: ${typeof encoding === 'string' ? encoding : inspect(encoding)}`);
}

export function encodingOrThrow(encoding) {
  const normalized = normalizeEncoding(encoding);
  if (normalized === undefined) throw unknownEncoding(encoding);
  return normalized;
}

// toString and indexOf take only a missing encoding for UTF-8: null and '' are unknown.
function namedEncodingOrThrow(encoding) {
  const named = encoding === undefined ? 'utf8' : lookupEncoding(encoding);
  if (named === undefined) throw unknownEncoding(encoding);
  return named;
}

function base64ByteLength(text) {
  let length = text.length;
  if (length > 0 && text.charCodeAt(length - 1) === 0x3d) length--;
  if (length > 1 && text.charCodeAt(length - 1) === 0x3d) length--;
  return (length * 3) >>> 2;
}

function byteLengthOf(text, encoding) {
  switch (encoding) {
    case 'utf8': return utf8Length(text);
    case 'latin1': case 'ascii': return text.length;
    case 'utf16le': return text.length * 2;
    case 'hex': return text.length >>> 1;
    default: return base64ByteLength(text);
  }
}

// Writes `text` into bytes [offset, offset + length) of `target`; returns the number of bytes written.
function writeString(target, text, offset, length, encoding) {
  switch (encoding) {
    case 'utf8':
      return writeUTF8(text, target, offset, length);
    case 'latin1': case 'ascii': {
      const count = Math.min(text.length, length);
      for (let index = 0; index < count; index++) target[offset + index] = text.charCodeAt(index);
      return count;
    }
    case 'utf16le': {
      const count = Math.min(text.length, length >>> 1);
      for (let index = 0; index < count; index++) {
        const code = text.charCodeAt(index);
        target[offset + index * 2] = code & 0xff;
        target[offset + index * 2 + 1] = code >>> 8;
      }
      return count * 2;
    }
    case 'hex': {
      const count = Math.min(text.length >>> 1, length);
      for (let index = 0; index < count; index++) {
        const byte = Number.parseInt(text.slice(index * 2, index * 2 + 2), 16);
        if (Number.isNaN(byte) || !/^[0-9a-fA-F]{2}$/.test(text.slice(index * 2, index * 2 + 2))) return index;
        target[offset + index] = byte;
      }
      return count;
    }
    default: {
      // base64 and base64url: non-digits are skipped, the first '=' ends the data.
      let written = 0;
      let accumulator = 0;
      let bits = 0;
      for (let index = 0; index < text.length && written < length; index++) {
        const code = text.charCodeAt(index);
        if (code === 0x3d) break;
        const value = code < 256 ? base64Values[code] : -1;
        if (value < 0) continue;
        accumulator = (accumulator << 6) | value;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          target[offset + written++] = (accumulator >>> bits) & 0xff;
        }
      }
      return written;
    }
  }
}

function latin1Slice(bytes, start, end, mask) {
  let text = '';
  for (let index = start; index < end; index += 4096) {
    const chunk = bytes.subarray(index, Math.min(end, index + 4096));
    text += String.fromCharCode.apply(null, mask === 0xff ? chunk : Array.from(chunk, (byte) => byte & mask));
  }
  return text;
}

export function base64Slice(bytes, start, end, alphabet, pad) {
  let text = '';
  let index = start;
  for (; index + 2 < end; index += 3) {
    const triple = (bytes[index] << 16) | (bytes[index + 1] << 8) | bytes[index + 2];
    text += alphabet[triple >>> 18] + alphabet[(triple >>> 12) & 63] + alphabet[(triple >>> 6) & 63] +
      alphabet[triple & 63];
  }
  if (end - index === 1) {
    const value = bytes[index] << 16;
    text += alphabet[value >>> 18] + alphabet[(value >>> 12) & 63] + (pad ? '==' : '');
  } else if (end - index === 2) {
    const value = (bytes[index] << 16) | (bytes[index + 1] << 8);
    text += alphabet[value >>> 18] + alphabet[(value >>> 12) & 63] + alphabet[(value >>> 6) & 63] + (pad ?
      '=' : '');
  }
  return text;
}

export function decodeSlice(bytes, encoding, start, end) {
  switch (encoding) {
    case 'utf8': return decodeUTF8(bytes, start, end, false);
    case 'latin1': return latin1Slice(bytes, start, end, 0xff);
    case 'ascii': return latin1Slice(bytes, start, end, 0x7f);
    case 'hex': {
      let text = '';
      for (let index = start; index < end; index++) text += hexTable[bytes[index]];
      return text;
    }
    case 'base64': return base64Slice(bytes, start, end, base64Alphabet, true);
    case 'base64url': return base64Slice(bytes, start, end, base64UrlAlphabet, false);
    default: {
      let text = '';
      for (let index = start; index +
        1 < end; index += 2) text += String.fromCharCode(bytes[index] | (bytes[index + 1] << 8));
      return text;
    }
  }
}

// Node's validateOffset: a number, an integer, in [0, maximum].
function checkIndex(value, name, maximum = kMaxLength) {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > maximum) throw outOfRange(name, `>= 0 && <= ${maximum}`, value);
}

function validateSize(size) {
  if (typeof size !== 'number') throw invalidArgType('size', 'of type number', size);
  if (!(size >= 0 && size <= kMaxLength)) throw outOfRange('size', `>= 0 && <= ${kMaxLength}`, size);
}

// A non-string or empty encoding means UTF-8 here, as in Node's Buffer.from.
export function fromString(text, encoding) {
  const normalized = typeof encoding === 'string' && encoding.length > 0 ? encodingOrThrow(encoding) : 'utf8';
  if (normalized === 'utf8') return encodeUTF8(text, true);
  const buffer = new FastBuffer(byteLengthOf(text, normalized));
  const written = writeString(buffer, text, 0, buffer.length, normalized);
  return written === buffer.length ? buffer : new FastBuffer(buffer.buffer, 0, written);
}

function fromArrayBuffer(arrayBuffer, byteOffset, length) {
  const size = arrayBuffer.byteLength;
  let offset = 0;
  if (byteOffset !== undefined) {
    offset = +byteOffset;
    if (Number.isNaN(offset)) offset = 0;
    offset = Math.trunc(offset);
  }
  if (offset > size || offset < 0) throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS',
    '"offset" is outside of buffer bounds');
  let count = size - offset;
  if (length !== undefined) {
    count = +length;
    count = Number.isNaN(count) || count < 0 ? 0 : Math.trunc(count);
    if (count > size - offset) throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS',
      '"length" is outside of buffer bounds');
  }
  return new FastBuffer(arrayBuffer, offset, count);
}

function fromArrayLike(list) {
  const length = list.length >>> 0;
  const buffer = new FastBuffer(length);
  for (let index = 0; index < length; index++) buffer[index] = list[index];
  return buffer;
}

export function Buffer(argument, encodingOrOffset, length) {
  if (typeof argument === 'number') {
    if (typeof encodingOrOffset === 'string') throw invalidArgType('string', 'of type string', argument);
    return Buffer.alloc(argument);
  }
  return Buffer.from(argument, encodingOrOffset, length);
}
Buffer.prototype = FastBuffer.prototype;
ObjectDefineProperty(FastBuffer.prototype, 'constructor', { value: Buffer, writable: true,
  configurable: true });
Object.setPrototypeOf(Buffer, Uint8Array);
Buffer.poolSize = 8192;

function isAnyArrayBuffer(value) {
  return value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' &&
    value instanceof SharedArrayBuffer);
}

Buffer.from = function from(value, encodingOrOffset, length) {
  if (typeof value === 'string') return fromString(value, encodingOrOffset);
  if (typeof value === 'object' && value !== null) {
    if (isAnyArrayBuffer(value)) return fromArrayBuffer(value, encodingOrOffset, length);
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      if (value instanceof Uint8Array) {
        const copy = new FastBuffer(value.length);
        copy.set(value);
        return copy;
      }
      // Each element converts as a byte does; a BigInt element throws, as in Node.
      const copy = new FastBuffer(value.length);
      for (let index = 0; index < value.length; index++) copy[index] = value[index];
      return copy;
    }
    // Only a string or object that valueOf returns is used (new Boolean(true) is refused, as in Node).
    const primitive = value.valueOf?.();
    if (primitive !== undefined && primitive !== null && primitive !== value &&
      (typeof primitive === 'string' || typeof primitive === 'object')) {
      return Buffer.from(primitive, encodingOrOffset, length);
    }
    // Node's fromObject: what has a length, or an ArrayBuffer as `buffer` (a DataView), is array-like,
    // and empty unless its length is a number.
    if (value.length !== undefined || isAnyArrayBuffer(value.buffer)) {
      return typeof value.length === 'number' ? fromArrayLike(value) : new FastBuffer(0);
    }
    if (value.type === 'Buffer' && Array.isArray(value.data)) return fromArrayLike(value.data);
    if (typeof value[Symbol.toPrimitive] === 'function') {
      const converted = value[Symbol.toPrimitive]('string');
      if (typeof converted === 'string') return fromString(converted, encodingOrOffset);
    }
  }
  throw invalidArgType('first argument',
    'of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object', value);
};

Buffer.of = function of(...items) { return fromArrayLike(items); };

Buffer.alloc = function alloc(size, fill, encoding) {
  validateSize(size);
  const buffer = new FastBuffer(size);
  if (fill !== undefined && fill !== 0 && size > 0) buffer.fill(fill, 0, size, encoding);
  return buffer;
};
Buffer.allocUnsafe = function allocUnsafe(size) {
  validateSize(size);
  return new FastBuffer(size);
};
Buffer.allocUnsafeSlow = Buffer.allocUnsafe;

Buffer.isBuffer = function isBuffer(value) { return value instanceof Buffer; };
Buffer.isEncoding = function isEncoding(encoding) {
  return typeof encoding === 'string' && encoding.length !== 0 && normalizeEncoding(encoding) !== undefined;
};

Buffer.byteLength = function byteLength(value, encoding) {
  if (typeof value !== 'string') {
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer ||
        (typeof SharedArrayBuffer === 'function' &&
          value instanceof SharedArrayBuffer)) return value.byteLength;
    throw invalidArgType('string', 'of type string or an instance of Buffer or ArrayBuffer', value);
  }
  return byteLengthOf(value, normalizeEncoding(encoding) ?? 'utf8');
};

function compareBytes(a, aStart, aEnd, b, bStart, bEnd) {
  const count = Math.min(aEnd - aStart, bEnd - bStart);
  for (let index = 0; index < count; index++) {
    const left = a[aStart + index];
    const right = b[bStart + index];
    if (left !== right) return left < right ? -1 : 1;
  }
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  return aLength < bLength ? -1 : aLength > bLength ? 1 : 0;
}

Buffer.compare = function compare(a, b) {
  if (!(a instanceof Uint8Array)) throw invalidArgType('buf1', 'an instance of Buffer or Uint8Array', a);
  if (!(b instanceof Uint8Array)) throw invalidArgType('buf2', 'an instance of Buffer or Uint8Array', b);
  return a === b ? 0 : compareBytes(a, 0, a.length, b, 0, b.length);
};

Buffer.concat = function concat(list, totalLength) {
  if (!Array.isArray(list)) throw invalidArgType('list', 'an instance of Array', list);
  if (list.length === 0) return new FastBuffer(0);
  if (totalLength === undefined) {
    totalLength = 0;
    for (let index = 0; index < list.length; index++) {
      if (!(list[index] instanceof Uint8Array)) {
        throw invalidArgType(`list[${index}]`, 'an instance of Buffer or Uint8Array', list[index]);
      }
      totalLength += list[index].length;
    }
  } else {
    checkIndex(totalLength, 'length');
  }
  const result = new FastBuffer(totalLength);
  let position = 0;
  // Every item is checked, also past totalLength, as in Node.
  for (let index = 0; index < list.length; index++) {
    const item = list[index];
    if (!(item instanceof Uint8Array)) throw invalidArgType(`list[${index}]`,
      'an instance of Buffer or Uint8Array', item);
    const count = Math.min(item.length, totalLength - position);
    result.set(count === item.length ? item : uint8Subarray.call(item, 0, count), position);
    position += count;
  }
  return result;
};

const proto = FastBuffer.prototype;

// Node's deprecated aliases of buffer and byteOffset, still read by older code.
ObjectDefineProperty(proto, 'parent', {
  enumerable: true,
  get() { return this instanceof Buffer ? this.buffer : undefined; },
});
ObjectDefineProperty(proto, 'offset', {
  enumerable: true,
  get() { return this instanceof Buffer ? this.byteOffset : undefined; },
});

function clampIndex(value, length, fallback) {
  if (value === undefined) return fallback;
  let index = +value;
  if (Number.isNaN(index)) return 0;
  index = Math.trunc(index);
  if (index < 0) return 0;
  return index > length ? length : index;
}

proto.toString = function toString(encoding, start, end) {
  if (arguments.length === 0) return decodeUTF8(this, 0, this.length, false);
  const length = this.length;
  start = clampIndex(start, length, 0);
  end = clampIndex(end, length, length);
  if (end <= start) return '';
  return decodeSlice(this, namedEncodingOrThrow(encoding), start, end);
};
proto.toLocaleString = proto.toString;

proto.toJSON = function toJSON() {
  return { type: 'Buffer', data: Array.from(this) };
};

proto.equals = function equals(other) {
  if (!(other instanceof Uint8Array)) throw invalidArgType('otherBuffer',
    'an instance of Buffer or Uint8Array', other);
  if (this === other) return true;
  if (this.length !== other.length) return false;
  return compareBytes(this, 0, this.length, other, 0, other.length) === 0;
};

function checkRangeArgument(value, name, length, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > length) throw outOfRange(name, `>= 0 && <= ${length}`, value);
  return value;
}

proto.compare = function compare(target, targetStart, targetEnd, sourceStart, sourceEnd) {
  if (!(target instanceof Uint8Array)) throw invalidArgType('target', 'an instance of Buffer or Uint8Array',
    target);
  targetStart = checkRangeArgument(targetStart, 'targetStart', kMaxLength, 0);
  targetEnd = checkRangeArgument(targetEnd, 'targetEnd', target.length, target.length);
  sourceStart = checkRangeArgument(sourceStart, 'sourceStart', kMaxLength, 0);
  sourceEnd = checkRangeArgument(sourceEnd, 'sourceEnd', this.length, this.length);
  if (sourceStart >= sourceEnd) return targetStart >= targetEnd ? 0 : -1;
  if (targetStart >= targetEnd) return 1;
  return compareBytes(this, sourceStart, sourceEnd, target, targetStart, targetEnd);
};

proto.copy = function copy(target, targetStart, sourceStart, sourceEnd) {
  if (!(target instanceof Uint8Array)) throw invalidArgType('target', 'an instance of Buffer or Uint8Array',
    target);
  targetStart = targetStart === undefined ? 0 : Math.trunc(+targetStart) || 0;
  if (targetStart < 0) throw outOfRange('targetStart', '>= 0', targetStart);
  sourceStart = sourceStart === undefined ? 0 : Math.trunc(+sourceStart) || 0;
  if (sourceStart < 0 || sourceStart > this.length) throw outOfRange('sourceStart',
    `>= 0 && <= ${this.length}`, sourceStart);
  sourceEnd = sourceEnd === undefined ? this.length : Math.trunc(+sourceEnd) || 0;
  if (sourceEnd < 0) throw outOfRange('sourceEnd', '>= 0', sourceEnd);
  if (sourceEnd > this.length) sourceEnd = this.length;
  if (targetStart >= target.length || sourceStart >= sourceEnd) return 0;
  const count = Math.min(sourceEnd - sourceStart, target.length - targetStart);
  target.set(uint8Subarray.call(this, sourceStart, sourceStart + count), targetStart);
  return count;
};

// Node's _fill: only for a string value does a string offset or end name the encoding; the encoding is
// checked first, then the range; an empty range returns before the value is encoded.
proto.fill = function fill(value, offset, end, encoding) {
  let normalized;
  if (typeof value === 'string') {
    if (offset === undefined || typeof offset === 'string') {
      encoding = offset;
      offset = 0;
      end = this.length;
    } else if (typeof end === 'string') {
      encoding = end;
      end = this.length;
    }
    normalized = normalizeEncoding(encoding);
    if (normalized === undefined) {
      if (typeof encoding !== 'string') throw invalidArgType('encoding', 'of type string', encoding);
      throw unknownEncoding(encoding);
    }
    if (value.length === 0) {
      value = 0;
    } else if (value.length === 1 && (normalized === 'latin1' || (normalized === 'utf8' &&
      value.charCodeAt(0) < 128))) {
      value = value.charCodeAt(0);
    }
  }
  if (offset === undefined) {
    offset = 0;
    end = this.length;
  } else {
    checkIndex(offset, 'offset', kMaxLength);
    if (end === undefined) end = this.length;
    else checkIndex(end, 'end', this.length);
    if (offset >= end) return this;
  }
  // The real byte length: a `length` property defined on the buffer does not widen it.
  if (end > typedArrayByteLength.call(this)) {
    throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', 'Attempt to access memory outside buffer bounds');
  }
  let pattern;
  if (typeof value === 'number') {
    pattern = value;
  } else if (typeof value === 'string') {
    pattern = fromString(value, normalized);
  } else if (ArrayBuffer.isView(value)) {
    pattern = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  } else {
    pattern = (+value) & 255;
  }
  if (typeof pattern === 'number') {
    Uint8Array.prototype.fill.call(this, pattern, offset, end);
    return this;
  }
  if (pattern.length === 0) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE',
      `The argument 'value' is invalid. Received ${inspect(value)}`);
  }
  for (let position = offset; position < end; position += pattern.length) {
    const count = Math.min(pattern.length, end - position);
    this.set(count === pattern.length ? pattern : uint8Subarray.call(pattern, 0, count), position);
  }
  return this;
};

// Node's write: the offset and length are checked before the text, which must be a string.
proto.write = function write(text, offset, length, encoding) {
  if (offset === undefined) {
    encoding = 'utf8';
    offset = 0;
    length = this.length;
  } else if (length === undefined && typeof offset === 'string') {
    encoding = offset;
    offset = 0;
    length = this.length;
  } else {
    checkIndex(offset, 'offset', this.length);
    const remaining = this.length - offset;
    if (length === undefined) {
      length = remaining;
    } else if (typeof length === 'string') {
      encoding = length;
      length = remaining;
    } else {
      checkIndex(length, 'length', this.length);
      if (length > remaining) length = remaining;
    }
  }
  if (typeof text !== 'string') throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'argument must be a string');
  if (text.length === 0 || length === 0) return 0;
  return writeString(this, text, offset, length, encoding ? namedEncodingOrThrow(encoding) : 'utf8');
};

proto.subarray = function subarray(start, end) {
  const length = this.length;
  start = start === undefined ? 0 : Math.trunc(+start) || 0;
  end = end === undefined ? length : Math.trunc(+end) || 0;
  if (start < 0) start = Math.max(length + start, 0);
  else if (start > length) start = length;
  if (end < 0) end = Math.max(length + end, 0);
  else if (end > length) end = length;
  if (end < start) end = start;
  return new FastBuffer(this.buffer, this.byteOffset + start, end - start);
};
proto.slice = proto.subarray;

// The first (or, backwards, last) position at or after (before) `from`, a multiple of `step`, where
// `needle` starts within the first `end` bytes of `haystack`.
function searchBytes(haystack, end, needle, from, backwards, step) {
  const last = end - needle.length;
  const first = needle[0];
  const matchesAt = (index) => {
    let match = 1;
    while (match < needle.length && haystack[index + match] === needle[match]) match++;
    return match === needle.length;
  };
  if (backwards) {
    for (let index = Math.min(from, last); index >= 0; index -= step) {
      if (haystack[index] === first && matchesAt(index)) return index;
    }
    return -1;
  }
  if (step === 1) {
    for (let index = from; index <= last; index++) {
      index = Uint8Array.prototype.indexOf.call(haystack, first, index);
      if (index === -1 || index > last) return -1;
      if (matchesAt(index)) return index;
    }
    return -1;
  }
  for (let index = from; index <= last; index += step) {
    if (haystack[index] === first && matchesAt(index)) return index;
  }
  return -1;
}

// Node's IndexOfOffset: where a search of `needleLength` bytes starts, or -1 when it cannot match.
function searchStart(length, offset, needleLength, forward) {
  if (offset < 0) {
    if (offset + length >= 0) return length + offset;
    return forward || needleLength === 0 ? 0 : -1;
  }
  if (offset + needleLength <= length) return offset;
  if (needleLength === 0) return length;
  return forward ? -1 : length - 1;
}

// Node's bidirectionalIndexOf. The offset is converted with unary plus (null and [] are 0; undefined and
// {} search the whole buffer). UTF-16 needles match only at even offsets, as two-byte units.
function indexOfValue(buffer, value, byteOffset, encoding, forward) {
  if (typeof byteOffset === 'string') {
    encoding = byteOffset;
    byteOffset = undefined;
  } else if (byteOffset > 0x7fffffff) {
    byteOffset = 0x7fffffff;
  } else if (byteOffset < -0x80000000) {
    byteOffset = -0x80000000;
  }
  let offset = +byteOffset;
  offset = Number.isNaN(offset) ? (forward ? 0 : buffer.length) : Math.trunc(offset);
  const length = buffer.length;
  if (typeof value === 'number') {
    const start = searchStart(length, offset, 1, forward);
    if (start < 0 || length === 0) return -1;
    const byte = (value >>> 0) & 255;
    return forward ? Uint8Array.prototype.indexOf.call(buffer, byte, start) :
      Uint8Array.prototype.lastIndexOf.call(buffer, byte, start);
  }
  let needle;
  let normalized;
  if (typeof value === 'string') {
    normalized = namedEncodingOrThrow(encoding);
    needle = fromString(value, normalized);
  } else if (value instanceof Uint8Array) {
    normalized = encoding === undefined ? 'utf8' : lookupEncoding(encoding);
    needle = value;
  } else {
    throw invalidArgType('value', 'one of type number or string or an instance of Buffer or Uint8Array',
      value);
  }
  const start = searchStart(length, offset, needle.length, forward);
  if (needle.length === 0) return start;
  if (length === 0 || start < 0) return -1;
  if ((forward && needle.length + start > length) || needle.length > length) return -1;
  if (normalized !== 'utf16le') return searchBytes(buffer, length, needle, start, !forward, 1);
  if (length < 2 || needle.length < 2) return -1;
  const units = needle.length & ~1;
  return searchBytes(buffer, length & ~1, needle.length === units ? needle : uint8Subarray.call(needle, 0,
    units), start & ~1, !forward, 2);
}

proto.indexOf = function indexOf(value, byteOffset, encoding) {
  return indexOfValue(this, value, byteOffset, encoding, true);
};
proto.lastIndexOf = function lastIndexOf(value, byteOffset, encoding) {
  return indexOfValue(this, value, byteOffset, encoding, false);
};
proto.includes = function includes(value, byteOffset, encoding) {
  return indexOfValue(this, value, byteOffset, encoding, true) !== -1;
};

function swapBytes(buffer, size) {
  if (buffer.length % size !== 0) {
    throw nodeError(RangeError, 'ERR_INVALID_BUFFER_SIZE',
      `Buffer size must be a multiple of ${size * 8}-bits`);
  }
  for (let index = 0; index < buffer.length; index += size) {
    for (let low = index, high = index + size - 1; low < high; low++, high--) {
      const byte = buffer[low];
      buffer[low] = buffer[high];
      buffer[high] = byte;
    }
  }
  return buffer;
}
proto.swap16 = function swap16() { return swapBytes(this, 2); };
proto.swap32 = function swap32() { return swapBytes(this, 4); };
proto.swap64 = function swap64() { return swapBytes(this, 8); };

proto[kInspect] = function inspectBuffer() {
  return `<Buffer ${bytesHex(this, 50)}>`;
};

// Reading and writing numbers, checked as Node checks them: the offset must be a number, then an integer
// (NaN and fractions are not; Infinity is out of range), then in range.
function checkOffset(buffer, offset, size) {
  if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
  if (offset >= 0 && offset <= buffer.length - size && Number.isInteger(offset)) return offset;
  if (Math.floor(offset) !== offset) throw outOfRange('offset', 'an integer', offset);
  if (buffer.length - size < 0) {
    throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', 'Attempt to access memory outside buffer bounds');
  }
  throw outOfRange('offset', `>= 0 and <= ${buffer.length - size}`, offset);
}

function readBytes(buffer, offset, size, littleEndian) {
  let value = 0;
  if (littleEndian) {
    for (let index = size - 1; index >= 0; index--) value = value * 256 + buffer[offset + index];
  } else {
    for (let index = 0; index < size; index++) value = value * 256 + buffer[offset + index];
  }
  return value;
}

function writeBytes(buffer, value, offset, size, littleEndian) {
  let remaining = value;
  for (let index = 0; index < size; index++) {
    const byte = remaining % 256;
    remaining = (remaining - byte) / 256;
    buffer[littleEndian ? offset + index : offset + size - 1 - index] = byte;
  }
  return offset + size;
}

// Node words the range of up to 4 bytes with its bounds, of 5 and 6 bytes with powers of two.
function valueRange(size, minimum, maximum) {
  if (size <= 4) return `>= ${minimum} and <= ${maximum}`;
  const bits = size * 8;
  return minimum === 0 ? `>= 0 and < 2 ** ${bits}` : `>= -(2 ** ${bits - 1}) and < 2 ** ${bits - 1}`;
}

// Node converts the value with unary plus (so '1' writes 1 and a BigInt throws); NaN passes and writes 0.
// It checks an 8-bit write's offset type before the value, a wider write's after it.
function writeInteger(buffer, value, offset, size, minimum, maximum, littleEndian) {
  const number = +value;
  if (size === 1 && typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
  if (number > maximum || number < minimum) {
    throw outOfRange('value', valueRange(size, minimum, maximum), number);
  }
  offset = checkOffset(buffer, offset, size);
  const integer = Number.isNaN(number) ? 0 : Math.trunc(number);
  return writeBytes(buffer, integer < 0 ? integer + 2 ** (size * 8) : integer, offset, size, littleEndian);
}

function defineInteger(bits, signed, littleEndian) {
  const size = bits / 8;
  const suffix = bits === 8 ? '' : littleEndian ? 'LE' : 'BE';
  const base = `${signed ? 'Int' : 'UInt'}${bits}${suffix}`;
  const unsignedMaximum = 2 ** bits;
  const minimum = signed ? -(2 ** (bits - 1)) : 0;
  const maximum = signed ? 2 ** (bits - 1) - 1 : unsignedMaximum - 1;
  const read = function (offset = 0) {
    offset = checkOffset(this, offset, size);
    const value = readBytes(this, offset, size, littleEndian);
    return signed && value > maximum ? value - unsignedMaximum : value;
  };
  const write = function (value, offset = 0) {
    return writeInteger(this, value, offset, size, minimum, maximum, littleEndian);
  };
  for (const name of [base, base.replace('UInt', 'Uint')]) {
    ObjectDefineProperty(proto, `read${name}`, { value: read, writable: true, configurable: true });
    ObjectDefineProperty(proto, `write${name}`, { value: write, writable: true, configurable: true });
  }
}
for (const bits of [8, 16, 32]) {
  for (const signed of [false, true]) {
    defineInteger(bits, signed, true);
    if (bits !== 8) defineInteger(bits, signed, false);
  }
}

// Variable-width integers of 1 to 6 bytes; their offset has no default.
function checkByteLength(byteLength) {
  if (Number.isInteger(byteLength) && byteLength >= 1 && byteLength <= 6) return;
  if (Math.floor(byteLength) !== byteLength) {
    if (typeof byteLength !== 'number') throw invalidArgType('byteLength', 'of type number', byteLength);
    throw outOfRange('byteLength', 'an integer', byteLength);
  }
  throw outOfRange('byteLength', '>= 1 and <= 6', byteLength);
}
for (const littleEndian of [true, false]) {
  const suffix = littleEndian ? 'LE' : 'BE';
  const readUnsigned = function (offset, byteLength) {
    if (offset === undefined) throw invalidArgType('offset', 'of type number', offset);
    checkByteLength(byteLength);
    return readBytes(this, checkOffset(this, offset, byteLength), byteLength, littleEndian);
  };
  const readSigned = function (offset, byteLength) {
    const value = readUnsigned.call(this, offset, byteLength);
    return value >= 2 ** (byteLength * 8 - 1) ? value - 2 ** (byteLength * 8) : value;
  };
  const writeUnsigned = function (value, offset, byteLength) {
    checkByteLength(byteLength);
    return writeInteger(this, value, offset, byteLength, 0, 2 ** (byteLength * 8) - 1, littleEndian);
  };
  const writeSigned = function (value, offset, byteLength) {
    checkByteLength(byteLength);
    const maximum = 2 ** (byteLength * 8 - 1);
    return writeInteger(this, value, offset, byteLength, -maximum, maximum - 1, littleEndian);
  };
  for (const [name, value] of [[`readUInt${suffix}`, readUnsigned], [`readUint${suffix}`, readUnsigned],
    [`readInt${suffix}`, readSigned], [`writeUInt${suffix}`, writeUnsigned], [`writeUint${suffix}`,
      writeUnsigned],
    [`writeInt${suffix}`, writeSigned]]) {
    ObjectDefineProperty(proto, name, { value, writable: true, configurable: true });
  }
}

// 64-bit integers as BigInt.
for (const littleEndian of [true, false]) {
  const suffix = littleEndian ? 'LE' : 'BE';
  const halves = (buffer, offset = 0) => {
    offset = checkOffset(buffer, offset, 8);
    const first = readBytes(buffer, offset, 4, littleEndian);
    const second = readBytes(buffer, offset + 4, 4, littleEndian);
    return littleEndian ? [first, second] : [second, first];
  };
  const readUnsigned = function (offset) {
    const [low, high] = halves(this, offset);
    return (BigInt(high) << 32n) | BigInt(low);
  };
  const readSigned = function (offset) {
    const [low, high] = halves(this, offset);
    return (BigInt(high | 0) << 32n) | BigInt(low);
  };
  const writer = (signed) => function (value, offset = 0) {
    const minimum = signed ? -(2n ** 63n) : 0n;
    const maximum = signed ? 2n ** 63n : 2n ** 64n;
    if (value < minimum || value >= maximum) {
      throw outOfRange('value', signed ? '>= -(2n ** 63n) and < 2n ** 63n' : '>= 0n and < 2n ** 64n', value);
    }
    offset = checkOffset(this, offset, 8);
    // Not BigInt.asUintN: QuickJS 2025-04-26 returns it negative from 2 ** 63 up.
    // A number (not a BigInt) throws here, as in Node.
    const bits = value < 0n ? value + 2n ** 64n : value + 0n;
    const low = Number(bits & 0xffffffffn);
    const high = Number(bits >> 32n);
    writeBytes(this, littleEndian ? low : high, offset, 4, littleEndian);
    writeBytes(this, littleEndian ? high : low, offset + 4, 4, littleEndian);
    return offset + 8;
  };
  const writeUnsigned = writer(false);
  for (const [name, value] of [[`readBigUInt64${suffix}`, readUnsigned], [`readBigUint64${suffix}`,
    readUnsigned],
    [`readBigInt64${suffix}`, readSigned], [`writeBigUInt64${suffix}`, writeUnsigned],
    [`writeBigUint64${suffix}`, writeUnsigned], [`writeBigInt64${suffix}`, writer(true)]]) {
    ObjectDefineProperty(proto, name, { value, writable: true, configurable: true });
  }
}

// Floats go through a scratch Float32Array/Float64Array; the hosts berth runs on are little-endian.
for (const littleEndian of [true, false]) {
  const suffix = littleEndian ? 'LE' : 'BE';
  for (const [kind, size, array, bytes] of [['Float', 4, float32Array, float32Bytes], ['Double', 8,
    float64Array, float64Bytes]]) {
    const read = function (offset = 0) {
      offset = checkOffset(this, offset, size);
      for (let index = 0; index < size; index++) bytes[littleEndian ? index : size - 1 - index] = this[offset +
        index];
      return array[0];
    };
    const write = function (value, offset = 0) {
      array[0] = +value;
      offset = checkOffset(this, offset, size);
      for (let index = 0; index < size; index++) this[offset + index] = bytes[littleEndian ? index :
        size - 1 - index];
      return offset + size;
    };
    ObjectDefineProperty(proto, `read${kind}${suffix}`, { value: read, writable: true, configurable: true });
    ObjectDefineProperty(proto, `write${kind}${suffix}`, { value: write, writable: true, configurable: true });
  }
}

defineGlobal('Buffer', Buffer);
