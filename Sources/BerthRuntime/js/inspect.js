// `inspect` (Node's util.inspect, the subset console needs), `format` (util.format) and `console`.
import { print as hostPrint, promiseState as hostPromiseState } from 'berth:host';
import { ObjectDefineProperty, defineGlobal, hasOwn } from './core.js';

export const kInspect = Symbol.for('nodejs.util.inspect.custom');
const breakLength = 80;
const identifierPattern = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
const arrayIndexPattern = /^(0|[1-9][0-9]*)$/;
const builtinToStringOwners = new Set([
  Object.prototype, Error.prototype, Array.prototype, Date.prototype, RegExp.prototype, Function.prototype,
  Number.prototype, String.prototype, Boolean.prototype, Symbol.prototype, BigInt.prototype,
]);

export function inspect(value, options) {
  let depth = options?.depth ?? 2;
  if (depth === null) depth = Infinity;
  const context = { depth, seen: [], circular: undefined, indentation: 0, currentDepth: 0 };
  return formatValue(context, value, 0);
}
ObjectDefineProperty(inspect, 'custom', { value: kInspect });

function quote(text) {
  let mark = "'";
  if (text.includes("'")) {
    if (!text.includes('"')) mark = '"';
    else if (!text.includes('`') && !text.includes('${')) mark = '`';
  }
  let escaped = '';
  let copied = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    let replacement;
    if (code === mark.charCodeAt(0) || code === 92) replacement = `\\${text[index]}`;
    else if (code === 10) replacement = '\\n';
    else if (code === 9) replacement = '\\t';
    else if (code === 13) replacement = '\\r';
    else if (code === 8) replacement = '\\b';
    else if (code === 12) replacement = '\\f';
    else if (code === 11) replacement = '\\v';
    else if (code < 32 || (code >= 0x7f && code <= 0x9f)) {
      replacement = `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else continue;
    escaped += text.slice(copied, index) + replacement;
    copied = index + 1;
  }
  return mark + escaped + text.slice(copied) + mark;
}

function formatNumber(value) {
  return Object.is(value, -0) ? '-0' : `${value}`;
}

function formatPrimitive(value) {
  switch (typeof value) {
    case 'string': return quote(value);
    case 'number': return formatNumber(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return value.toString();
    default: return `${value}`;
  }
}

export function constructorName(value) {
  let object = value;
  while (object !== null && object !== undefined) {
    const descriptor = Object.getOwnPropertyDescriptor(object, 'constructor');
    if (descriptor !== undefined && typeof descriptor.value === 'function' && descriptor.value.name !== '') {
      return descriptor.value.name;
    }
    object = Object.getPrototypeOf(object);
  }
  return null;
}

function visibleKeys(value, withoutIndices) {
  let keys = Object.keys(value);
  if (withoutIndices) keys = keys.filter((key) => !arrayIndexPattern.test(key));
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) keys.push(symbol);
  }
  return keys;
}

function formatValue(context, value, recurseTimes) {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return formatPrimitive(value);
  const custom = value[kInspect];
  if (typeof custom === 'function' && custom !== inspect) {
    const depth = context.depth - recurseTimes;
    const result = custom.call(value, depth, { depth }, inspect);
    if (result !== value) {
      if (typeof result !== 'string') return formatValue(context, result, recurseTimes);
      return result.replaceAll('\n', `\n${' '.repeat(context.indentation)}`);
    }
  }
  if (context.seen.includes(value)) {
    if (context.circular === undefined) context.circular = new Map();
    let index = context.circular.get(value);
    if (index === undefined) {
      index = context.circular.size + 1;
      context.circular.set(value, index);
    }
    return `[Circular *${index}]`;
  }
  return formatRaw(context, value, recurseTimes);
}

function functionBase(value, constructor, tag) {
  const source = Function.prototype.toString.call(value);
  if (source.startsWith('class') && /^class(\s|\{)/.test(source)) {
    let base = `[class ${value.name || '(anonymous)'}`;
    const parent = Object.getPrototypeOf(value);
    if (parent !== Function.prototype && parent !== null && parent.name) base += ` extends ${parent.name}`;
    return `${base}]`;
  }
  let type = 'Function';
  if (constructor === 'AsyncFunction' || constructor === 'GeneratorFunction' ||
      constructor === 'AsyncGeneratorFunction') type = constructor;
  let base = `[${type}`;
  if (constructor === null) base += ' (null prototype)';
  base += value.name === '' ? ' (anonymous)' : `: ${value.name}`;
  base += ']';
  if (constructor !== type && constructor !== null && constructor !== 'Function') base += ` ${constructor}`;
  if (tag !== '' && constructor !== tag && tag !== type) base += ` [${tag}]`;
  return base;
}

function formatError(error) {
  let headline;
  try { headline = Error.prototype.toString.call(error); } catch { headline = '[Error]'; }
  const stack = typeof error.stack === 'string' ? error.stack.replace(/\n$/, '') : '';
  return stack === '' ? `[${headline}]` : `${headline}\n${stack}`;
}

export function bytesHex(bytes, limit) {
  let text = '';
  const count = Math.min(bytes.length, limit);
  for (let index = 0; index < count; index++) {
    text += (index === 0 ? '' : ' ') + (bytes[index] < 16 ? '0' : '') + bytes[index].toString(16);
  }
  const remaining = bytes.length - count;
  if (remaining > 0) text += ` ... ${remaining} more byte${remaining > 1 ? 's' : ''}`;
  return text;
}

function formatRaw(context, value, recurseTimes) {
  const constructor = constructorName(value);
  let tag = value[Symbol.toStringTag];
  if (typeof tag !== 'string' || tag === constructor) tag = '';
  let base = '';
  let braces;
  let keys;
  let entries = [];
  let isArrayLike = false;
  const prefix = (fallback, size) => {
    let text = constructor === null ? `[${fallback}${size}: null prototype] ` : `${constructor}${size} `;
    if (tag !== '' && tag !== constructor) text += `[${tag}] `;
    return text;
  };
  if (Array.isArray(value)) {
    keys = visibleKeys(value, true);
    braces = [`${constructor !== 'Array' || tag !== '' ? prefix('Array', `(${value.length})`) : ''}[`, ']'];
    if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
    isArrayLike = true;
    entries = () => formatArray(context, value, recurseTimes);
  } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    keys = visibleKeys(value, true);
    const name = constructor ?? value[Symbol.toStringTag];
    braces = [`${name}(${value.length}) [`, ']'];
    if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
    isArrayLike = true;
    entries = () => {
      const output = [];
      const count = Math.min(value.length, 100);
      for (let index = 0; index < count; index++) output.push(formatPrimitive(value[index]));
      if (value.length > count) {
        const rest = value.length - count;
        output.push(`... ${rest} more item${rest > 1 ? 's' : ''}`);
      }
      return output;
    };
  } else if (value instanceof Map) {
    keys = visibleKeys(value, false);
    braces = [`${prefix('Map', `(${value.size})`)}{`, '}'];
    if (value.size === 0 && keys.length === 0) return `${braces[0]}}`;
    entries = () => {
      const output = [];
      context.indentation += 2;
      for (const [key, item] of value) {
        const shownKey = formatValue(context, key, recurseTimes + 1);
        output.push(`${shownKey} => ${formatValue(context, item, recurseTimes + 1)}`);
      }
      context.indentation -= 2;
      return output;
    };
  } else if (value instanceof Set) {
    keys = visibleKeys(value, false);
    braces = [`${prefix('Set', `(${value.size})`)}{`, '}'];
    if (value.size === 0 && keys.length === 0) return `${braces[0]}}`;
    entries = () => {
      const output = [];
      context.indentation += 2;
      for (const item of value) output.push(formatValue(context, item, recurseTimes + 1));
      context.indentation -= 2;
      return output;
    };
  } else {
    keys = visibleKeys(value, false);
    braces = ['{', '}'];
    if (typeof value === 'function') {
      base = functionBase(value, constructor, tag);
      if (keys.length === 0) return base;
    } else if (value instanceof RegExp) {
      base = RegExp.prototype.toString.call(value);
      if (keys.length === 0) return base;
    } else if (value instanceof Date) {
      base = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
      if (keys.length === 0) return base;
    } else if (value instanceof Error) {
      base = formatError(value);
      keys = keys.filter((key) => key !== 'stack' && key !== 'message');
      if (keys.length === 0) return base;
    } else if (value instanceof ArrayBuffer) {
      const bytes = new Uint8Array(value);
      braces[0] = `${prefix('ArrayBuffer', '')}{`;
      entries = () => [`[Uint8Contents]: <${bytesHex(bytes, 50)}>`, `byteLength: ${value.byteLength}`];
    } else if (value instanceof DataView) {
      braces[0] = `${prefix('DataView', '')}{`;
      entries = () => {
        context.indentation += 2;
        const buffer = formatValue(context, value.buffer, recurseTimes + 1);
        context.indentation -= 2;
        return [`byteLength: ${value.byteLength}`, `byteOffset: ${value.byteOffset}`, `buffer: ${buffer}`];
      };
    } else if (value instanceof Promise) {
      braces[0] = `${prefix('Promise', '')}{`;
      entries = () => {
        const state = hostPromiseState(value);
        if (state === 0) return ['<pending>'];
        context.indentation += 2;
        const result = formatValue(context, hostPromiseState(value, true), recurseTimes + 1);
        context.indentation -= 2;
        return [state === 2 ? `<rejected> ${result}` : result];
      };
    } else if (value instanceof WeakMap || value instanceof WeakSet) {
      return `${prefix(value instanceof WeakMap ? 'WeakMap' : 'WeakSet', '')}{ <items unknown> }`;
    } else if (value instanceof Number || value instanceof String || value instanceof Boolean ||
               value instanceof BigInt || value instanceof Symbol) {
      const primitive = value.valueOf();
      const type = value instanceof Number ? 'Number' : value instanceof String ? 'String'
        : value instanceof Boolean ? 'Boolean' : value instanceof BigInt ? 'BigInt' : 'Symbol';
      base = `[${type}: ${formatPrimitive(primitive)}]`;
      if (value instanceof String) keys = keys.filter((key) => typeof key === 'symbol' ||
        !arrayIndexPattern.test(key));
      if (keys.length === 0) return base;
    } else if (constructor === 'Object') {
      if (tag !== '') braces[0] = `Object [${tag}] {`;
    } else if (constructor === null) {
      braces[0] = tag === 'Module' ? '[Module: null prototype] {' :
        `[Object: null prototype] ${tag ? `[${tag}] ` : ''}{`;
    } else {
      braces[0] = `${constructor}${tag ? ` [${tag}]` : ''} {`;
    }
    if (typeof entries !== 'function' && keys.length === 0) return `${braces[0]}}`;
  }
  if (recurseTimes > context.depth) {
    if (isArrayLike && constructor === 'Array') return '[Array]';
    return `[${constructor ?? (tag || 'Object: null prototype')}]`;
  }
  context.seen.push(value);
  context.currentDepth = recurseTimes;
  let output;
  try {
    output = typeof entries === 'function' ? entries() : [];
    for (const key of keys) output.push(formatProperty(context, value, recurseTimes, key));
  } finally {
    context.seen.pop();
  }
  if (context.circular !== undefined) {
    const index = context.circular.get(value);
    if (index !== undefined) base = base === '' ? `<ref *${index}>` : `<ref *${index}> ${base}`;
  }
  return reduceToSingleString(context, output, base, braces, isArrayLike, recurseTimes, value);
}

function formatArray(context, value, recurseTimes) {
  const output = [];
  const length = value.length;
  let index = 0;
  for (; index < length && output.length < 100; index++) {
    if (!hasOwn(value, index)) {
      let end = index;
      while (end < length && !hasOwn(value, end)) end++;
      const holes = end - index;
      output.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
      index = end - 1;
      continue;
    }
    context.indentation += 2;
    output.push(formatValue(context, value[index], recurseTimes + 1));
    context.indentation -= 2;
  }
  if (index < length) {
    const rest = length - index;
    output.push(`... ${rest} more item${rest > 1 ? 's' : ''}`);
  }
  return output;
}

function formatProperty(context, value, recurseTimes, key) {
  const descriptor = Object.getOwnPropertyDescriptor(value, key) ?? { value: value[key] };
  let text;
  if (descriptor.get === undefined && descriptor.set === undefined) {
    context.indentation += 2;
    text = formatValue(context, descriptor.value, recurseTimes + 1);
    context.indentation -= 2;
  } else if (descriptor.get !== undefined) {
    text = descriptor.set !== undefined ? '[Getter/Setter]' : '[Getter]';
  } else {
    text = '[Setter]';
  }
  let name;
  if (typeof key === 'symbol') name = `[${key.toString()}]`;
  else if (identifierPattern.test(key)) name = key;
  else name = quote(key);
  return `${name}: ${text}`;
}

// Arrays of more than six short entries print in columns, as Node does: about as many columns as make the block
// square-ish (entries are ~2.5 times taller than wide), numbers right-aligned, everything else left-aligned.
function groupArrayElements(context, output, value) {
  let totalLength = 0;
  let maxLength = 0;
  let count = output.length;
  if (count > 0 && output[count - 1].startsWith('... ')) count--;
  const separatorSpace = 2;
  const lengths = [];
  for (let index = 0; index < count; index++) {
    const length = output[index].length;
    lengths.push(length);
    totalLength += length + separatorSpace;
    if (maxLength < length) maxLength = length;
  }
  const actualMax = maxLength + separatorSpace;
  if (actualMax * 3 + context.indentation < breakLength && (totalLength / actualMax > 5 || maxLength <= 6)) {
    const averageBias = Math.sqrt(actualMax - totalLength / output.length);
    const biasedMax = Math.max(actualMax - 3 - averageBias, 1);
    const columns = Math.min(
      Math.round(Math.sqrt(2.5 * biasedMax * count) / biasedMax),
      Math.floor((breakLength - context.indentation) / actualMax),
      12,
      15,
    );
    if (columns <= 1) return output;
    const widths = [];
    for (let column = 0; column < columns; column++) {
      let width = 0;
      for (let index = column; index < count; index += columns) {
        if (lengths[index] > width) width = lengths[index];
      }
      widths.push(width + separatorSpace);
    }
    let alignRight = value !== undefined;
    if (alignRight) {
      for (let index = 0; index < count; index++) {
        if (typeof value[index] !== 'number' && typeof value[index] !== 'bigint') {
          alignRight = false;
          break;
        }
      }
    }
    const rows = [];
    for (let start = 0; start < count; start += columns) {
      const end = Math.min(start + columns, count);
      let row = '';
      let index = start;
      for (; index < end - 1; index++) {
        const cell = `${output[index]}, `;
        row += alignRight ? cell.padStart(widths[index - start], ' ') : cell.padEnd(widths[index - start], ' ');
      }
      row += alignRight ? output[index].padStart(widths[index - start] - separatorSpace, ' ') : output[index];
      rows.push(row);
    }
    if (count < output.length) rows.push(output[count]);
    return rows;
  }
  return output;
}

function reduceToSingleString(context, output, base, braces, isArrayLike, recurseTimes, value) {
  const entries = output.length;
  if (isArrayLike && entries > 6) output = groupArrayElements(context, output, value);
  if (context.currentDepth - recurseTimes < 3 && entries === output.length) {
    const start = output.length + context.indentation + braces[0].length + base.length + 10;
    let total = output.length + start;
    let fits = total + output.length <= breakLength;
    for (let index = 0; fits && index < output.length; index++) {
      total += output[index].length;
      if (total > breakLength) fits = false;
    }
    if (fits && !base.includes('\n')) {
      const joined = output.join(', ');
      if (!joined.includes('\n')) return `${base ? `${base} ` : ''}${braces[0]} ${joined} ${braces[1]}`;
    }
  }
  const indentation = `\n${' '.repeat(context.indentation)}`;
  const lines = output.join(`,${indentation}  `);
  return `${base ? `${base} ` : ''}${braces[0]}${indentation}  ${lines}${indentation}${braces[1]}`;
}

function hasBuiltInToString(value) {
  let object = value;
  while (object !== null) {
    if (hasOwn(object, 'toString')) return builtinToStringOwners.has(object);
    object = Object.getPrototypeOf(object);
  }
  return true;
}

function stringifyForFormat(value) {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof TypeError && /circular/i.test(error.message)) return '[Circular]';
    throw error;
  }
}

// util.format: %s %d %i %f %j %o %O %c %%; what the format string does not consume is appended, inspected.
function format(...args) {
  const first = args[0];
  let next = 0;
  let out = '';
  if (typeof first === 'string' && args.length > 1) {
    next = 1;
    let copied = 0;
    let index = first.indexOf('%');
    while (index !== -1 && index + 1 < first.length) {
      const spec = first[index + 1];
      if (spec === '%') {
        out += first.slice(copied, index) + '%';
        copied = index + 2;
        index = first.indexOf('%', copied);
        continue;
      }
      if (next >= args.length || !'sdifjoOc'.includes(spec)) {
        index = first.indexOf('%', index + 1);
        continue;
      }
      const argument = args[next++];
      let piece;
      switch (spec) {
        case 's':
          if (typeof argument === 'number') piece = formatNumber(argument);
          else if (typeof argument === 'bigint') piece = `${argument}n`;
          else if (typeof argument === 'symbol') piece = argument.toString();
          else if (argument === null || typeof argument !== 'object' ||
            !hasBuiltInToString(argument)) piece = `${argument}`;
          else piece = inspect(argument, { depth: 0 });
          break;
        case 'd':
          piece = typeof argument === 'bigint' ? `${argument}n`
            : typeof argument === 'symbol' ? 'NaN' : formatNumber(Number(argument));
          break;
        case 'i':
          piece = typeof argument === 'bigint' ? `${argument}n`
            : typeof argument === 'symbol' ? 'NaN' : formatNumber(Number.parseInt(argument));
          break;
        case 'f':
          piece = typeof argument === 'symbol' ? 'NaN' : formatNumber(Number.parseFloat(argument));
          break;
        case 'j':
          piece = stringifyForFormat(argument);
          break;
        case 'o':
          piece = inspect(argument, { depth: 4 });
          break;
        case 'O':
          piece = inspect(argument);
          break;
        case 'c':
          piece = '';
          break;
      }
      out += first.slice(copied, index) + piece;
      copied = index + 2;
      index = first.indexOf('%', copied);
    }
    out += first.slice(copied);
  }
  for (; next < args.length; next++) {
    const value = args[next];
    if (next > 0) out += ' ';
    out += typeof value === 'string' ? value : inspect(value);
  }
  return out;
}

const logLevel = { debug: 0, info: 1, warn: 2, error: 3 };
const console = {
  log(...args) { hostPrint(logLevel.info, format(...args)); },
  info(...args) { hostPrint(logLevel.info, format(...args)); },
  debug(...args) { hostPrint(logLevel.debug, format(...args)); },
  warn(...args) { hostPrint(logLevel.warn, format(...args)); },
  error(...args) { hostPrint(logLevel.error, format(...args)); },
  trace(...args) {
    const { stack } = new Error();
    const frames = stack.slice(stack.indexOf('\n') + 1).replace(/\n$/, '');
    hostPrint(logLevel.debug, `Trace${args.length > 0 ? `: ${format(...args)}` : ''}\n${frames}`);
  },
  dir(value, options) { hostPrint(logLevel.info, inspect(value, options)); },
  assert(condition, ...args) {
    if (condition) return;
    if (typeof args[0] === 'string') args[0] = `Assertion failed: ${args[0]}`;
    else args.unshift('Assertion failed');
    hostPrint(logLevel.error, format(...args));
  },
};
defineGlobal('console', console);
