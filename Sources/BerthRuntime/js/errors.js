// Node's errors (worded and coded as Node words them, so handlers can test `error.code`), DOMException and
// AbortError.
import { defineGlobal, ObjectDefineProperty } from './core.js';
import { inspect } from './inspect.js';

export function nodeError(Base, code, message) {
  const error = new Base(message);
  error.code = code;
  return error;
}

function addNumericalSeparator(text) {
  let result = '';
  let index = text.length;
  const start = text[0] === '-' ? 1 : 0;
  for (; index >= start + 4; index -= 3) result = `_${text.slice(index - 3, index)}${result}`;
  return `${text.slice(0, index)}${result}`;
}

function describeReceived(value) {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name}`;
  if (typeof value === 'object') {
    const name = value.constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

// A name ending in " argument" is used as it is ("The first argument must be …"), as in Node.
export function invalidArgType(name, expected, actual) {
  const kind = name.includes('.') ? 'property' : 'argument';
  const subject = name.endsWith(' argument') ? name : `"${name}" ${kind}`;
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The ${subject} must be ${expected}.${describeReceived(actual)}`);
}

export function outOfRange(name, range, received) {
  let shown;
  if (typeof received === 'number' && Number.isInteger(received) && Math.abs(received) > 2 ** 32) {
    shown = addNumericalSeparator(String(received));
  } else if (typeof received === 'bigint') {
    shown = String(received);
    if (received > 2n ** 32n || received < -(2n ** 32n)) shown = addNumericalSeparator(shown);
    shown += 'n';
  } else {
    shown = inspect(received);
  }
  return nodeError(RangeError, 'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${shown}`);
}

export function missingArgs(...names) {
  return nodeError(TypeError, 'ERR_MISSING_ARGS',
    `The ${names.map((name) => `"${name}"`).join(' and ')} argument${names.length > 1 ? 's' : ''} ` +
      'must be specified');
}

export function validateFunction(value, name) {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

const domExceptionCodes = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
  InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15, TypeMismatchError: 17,
  SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22,
  TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};
const kDomName = Symbol('name');

export class DOMException extends Error {
  constructor(message = '', options = 'Error') {
    super(`${message}`);
    let name = options;
    if (options !== null && typeof options === 'object') {
      name = 'name' in options ? `${options.name}` : 'Error';
      if ('cause' in options) {
        ObjectDefineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
      }
    } else {
      name = `${options}`;
    }
    ObjectDefineProperty(this, kDomName, { value: name });
  }
  get name() { return this[kDomName]; }
  get code() { return domExceptionCodes[this[kDomName]] ?? 0; }
}
for (const [constant, code] of Object.entries({
  INDEX_SIZE_ERR: 1, DOMSTRING_SIZE_ERR: 2, HIERARCHY_REQUEST_ERR: 3, WRONG_DOCUMENT_ERR: 4,
  INVALID_CHARACTER_ERR: 5, NO_DATA_ALLOWED_ERR: 6, NO_MODIFICATION_ALLOWED_ERR: 7, NOT_FOUND_ERR: 8,
  NOT_SUPPORTED_ERR: 9, INUSE_ATTRIBUTE_ERR: 10, INVALID_STATE_ERR: 11, SYNTAX_ERR: 12,
  INVALID_MODIFICATION_ERR: 13, NAMESPACE_ERR: 14, INVALID_ACCESS_ERR: 15, VALIDATION_ERR: 16,
  TYPE_MISMATCH_ERR: 17, SECURITY_ERR: 18, NETWORK_ERR: 19, ABORT_ERR: 20, URL_MISMATCH_ERR: 21,
  QUOTA_EXCEEDED_ERR: 22, TIMEOUT_ERR: 23, INVALID_NODE_TYPE_ERR: 24, DATA_CLONE_ERR: 25,
})) {
  ObjectDefineProperty(DOMException, constant, { value: code, enumerable: true });
  ObjectDefineProperty(DOMException.prototype, constant, { value: code, enumerable: true });
}
defineGlobal('DOMException', DOMException);

// Node's AbortError (events.once and friends reject with it).
export class AbortError extends Error {
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options);
    this.code = 'ABORT_ERR';
    this.name = 'AbortError';
  }
}
