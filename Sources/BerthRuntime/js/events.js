// `EventEmitter` as node:events has it, with `once` and `on` for the module.
import { ObjectDefineProperty, defineGlobal, nextTick } from './core.js';
import { inspect } from './inspect.js';
import { AbortError, invalidArgType, outOfRange, validateFunction } from './errors.js';

export const kCapture = Symbol('kCapture');
export const kRejection = Symbol.for('nodejs.rejection');
const kErrorMonitor = Symbol('events.errorMonitor');
let defaultMaxListeners = 10;

function checkListener(listener) {
  validateFunction(listener, 'listener');
}

// Node's validateNumber(value, name, 0): a number, not NaN, not negative.
function checkListenerLimit(value, name) {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!(value >= 0)) throw outOfRange(name, '>= 0', value);
}

// A function, not a class, so that `EventEmitter.call(this)` works for emitters written the old way.
export function EventEmitter(options) {
  EventEmitter.init.call(this, options);
}
EventEmitter.prototype._events = undefined;
EventEmitter.prototype._eventsCount = 0;
EventEmitter.prototype._maxListeners = undefined;
EventEmitter.prototype[kCapture] = false;

// berth's own emitters (a connection) pass this instead of options: their prototype carries _maxListeners and
// captureRejections, so each instance holds only its listeners.
export const kLeanEmitter = Symbol('leanEmitter');

EventEmitter.init = function init(options) {
  if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) {
    this._events = Object.create(null);
    this._eventsCount = 0;
  }
  if (options === kLeanEmitter) return;
  this._maxListeners = this._maxListeners || undefined;
  if (options?.captureRejections !== undefined) {
    if (typeof options.captureRejections !== 'boolean') {
      throw invalidArgType('options.captureRejections', 'of type boolean', options.captureRejections);
    }
    this[kCapture] = options.captureRejections;
  } else {
    this[kCapture] = EventEmitter.prototype[kCapture];
  }
};

// A listener's returned promise that rejects, on an emitter with captureRejections, reaches the emitter's
// Symbol.for('nodejs.rejection') method, or its 'error' event.
function addCatch(emitter, promise, type, args) {
  try {
    const then = promise.then;
    if (typeof then === 'function') {
      then.call(promise, undefined, (error) => nextTick(emitRejection, emitter, error, [type, args]));
    }
  } catch (error) {
    emitter.emit('error', error);
  }
}

function emitRejection(emitter, error, [type, args]) {
  if (typeof emitter[kRejection] === 'function') {
    emitter[kRejection](error, type, ...args);
    return;
  }
  const previous = emitter[kCapture];
  try {
    emitter[kCapture] = false;
    emitter.emit('error', error);
  } finally {
    emitter[kCapture] = previous;
  }
}

// As Node words it, `emit('error')` without an argument included: "Unhandled error. (undefined)".
function unhandledError(error) {
  if (error instanceof Error) return error;
  let shown;
  try { shown = inspect(error); } catch { shown = error; }
  const wrapped = new Error(`Unhandled error. (${shown})`);
  wrapped.code = 'ERR_UNHANDLED_ERROR';
  wrapped.context = error;
  return wrapped;
}

EventEmitter.prototype.emit = function emit(type, ...args) {
  const events = this._events;
  let isError = type === 'error';
  if (events !== undefined) {
    if (isError && events[kErrorMonitor] !== undefined) this.emit(kErrorMonitor, ...args);
    isError = isError && events.error === undefined;
  } else if (!isError) {
    return false;
  }
  if (isError) throw unhandledError(args[0]);
  const handler = events[type];
  if (handler === undefined) return false;
  if (typeof handler === 'function') {
    const result = handler.apply(this, args);
    if (result !== undefined && result !== null && this[kCapture]) addCatch(this, result, type, args);
  } else {
    const listeners = handler.slice();
    for (let index = 0; index < listeners.length; index++) {
      const result = listeners[index].apply(this, args);
      if (result !== undefined && result !== null && this[kCapture]) addCatch(this, result, type, args);
    }
  }
  return true;
};

// emit(type, argument) without the rest-parameter array, for the per-message 'data' event.
export function emitOne(emitter, type, argument) {
  const handler = emitter._events[type];
  if (typeof handler !== 'function') return handler === undefined ? false : emitter.emit(type, argument);
  const result = handler.call(emitter, argument);
  if (result !== undefined && result !== null && emitter[kCapture]) addCatch(emitter, result, type, [argument]);
  return true;
}

function addListener(target, type, listener, prepend) {
  checkListener(listener);
  let events = target._events;
  if (events === undefined) {
    events = target._events = Object.create(null);
    target._eventsCount = 0;
  } else if (events.newListener !== undefined) {
    target.emit('newListener', type, listener.listener ?? listener);
    events = target._events;
  }
  const existing = events[type];
  if (existing === undefined) {
    events[type] = listener;
    ++target._eventsCount;
  } else if (typeof existing === 'function') {
    events[type] = prepend ? [listener, existing] : [existing, listener];
  } else if (prepend) {
    existing.unshift(listener);
  } else {
    existing.push(listener);
  }
  return target;
}

EventEmitter.prototype.addListener = function addListener_(type, listener) {
  return addListener(this, type, listener, false);
};
EventEmitter.prototype.on = EventEmitter.prototype.addListener;
EventEmitter.prototype.prependListener = function prependListener(type, listener) {
  return addListener(this, type, listener, true);
};

function onceWrap(target, type, listener) {
  let fired = false;
  function wrapper(...args) {
    if (fired) return undefined;
    fired = true;
    target.removeListener(type, wrapper);
    return listener.apply(this, args);
  }
  wrapper.listener = listener;
  return wrapper;
}

EventEmitter.prototype.once = function once(type, listener) {
  checkListener(listener);
  this.on(type, onceWrap(this, type, listener));
  return this;
};
EventEmitter.prototype.prependOnceListener = function prependOnceListener(type, listener) {
  checkListener(listener);
  this.prependListener(type, onceWrap(this, type, listener));
  return this;
};

EventEmitter.prototype.removeListener = function removeListener(type, listener) {
  checkListener(listener);
  const events = this._events;
  if (events === undefined) return this;
  const list = events[type];
  if (list === undefined) return this;
  if (list === listener || list.listener === listener) {
    if (--this._eventsCount === 0) {
      this._events = Object.create(null);
    } else {
      delete events[type];
      if (events.removeListener !== undefined) this.emit('removeListener', type, list.listener ?? listener);
    }
  } else if (typeof list !== 'function') {
    let position = -1;
    for (let index = list.length - 1; index >= 0; index--) {
      if (list[index] === listener || list[index].listener === listener) {
        position = index;
        break;
      }
    }
    if (position < 0) return this;
    if (position === 0) list.shift();
    else list.splice(position, 1);
    if (list.length === 1) events[type] = list[0];
    if (events.removeListener !== undefined) this.emit('removeListener', type, listener);
  }
  return this;
};
EventEmitter.prototype.off = EventEmitter.prototype.removeListener;

EventEmitter.prototype.removeAllListeners = function removeAllListeners(type) {
  const events = this._events;
  if (events === undefined) return this;
  if (events.removeListener === undefined) {
    if (arguments.length === 0) {
      this._events = Object.create(null);
      this._eventsCount = 0;
    } else if (events[type] !== undefined) {
      if (--this._eventsCount === 0) this._events = Object.create(null);
      else delete events[type];
    }
    return this;
  }
  if (arguments.length === 0) {
    for (const key of Reflect.ownKeys(events)) {
      if (key !== 'removeListener') this.removeAllListeners(key);
    }
    this.removeAllListeners('removeListener');
    this._events = Object.create(null);
    this._eventsCount = 0;
    return this;
  }
  const listeners = events[type];
  if (typeof listeners === 'function') {
    this.removeListener(type, listeners);
  } else if (listeners !== undefined) {
    for (let index = listeners.length - 1; index >= 0; index--) this.removeListener(type, listeners[index]);
  }
  return this;
};

EventEmitter.prototype.setMaxListeners = function setMaxListeners(n) {
  checkListenerLimit(n, 'setMaxListeners');
  this._maxListeners = n;
  return this;
};
EventEmitter.prototype.getMaxListeners = function getMaxListeners() {
  return this._maxListeners === undefined ? defaultMaxListeners : this._maxListeners;
};

function listenersOf(target, type, unwrap) {
  const list = target._events?.[type];
  if (list === undefined) return [];
  if (typeof list === 'function') return [unwrap ? list.listener ?? list : list];
  return list.map((listener) => (unwrap ? listener.listener ?? listener : listener));
}
EventEmitter.prototype.listeners = function listeners(type) { return listenersOf(this, type, true); };
EventEmitter.prototype.rawListeners = function rawListeners(type) { return listenersOf(this, type, false); };
EventEmitter.prototype.listenerCount = function listenerCount(type, listener) {
  const list = this._events?.[type];
  if (list === undefined) return 0;
  if (typeof list === 'function') {
    return listener === undefined || list === listener || list.listener === listener ? 1 : 0;
  }
  if (listener === undefined) return list.length;
  return list.filter((item) => item === listener || item.listener === listener).length;
};
EventEmitter.prototype.eventNames = function eventNames() {
  return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : [];
};

ObjectDefineProperty(EventEmitter, 'defaultMaxListeners', {
  enumerable: true,
  get() { return defaultMaxListeners; },
  set(value) {
    checkListenerLimit(value, 'defaultMaxListeners');
    defaultMaxListeners = value;
  },
});
EventEmitter.errorMonitor = kErrorMonitor;
EventEmitter.captureRejectionSymbol = kRejection;
EventEmitter.captureRejections = false;
EventEmitter.listenerCount = (emitter, type) => emitter.listenerCount(type);

// events.once: a promise of the next `name` event's arguments; an 'error' event first rejects it.
export function once(emitter, name, options = undefined) {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise((resolve, reject) => {
    let onAbort;
    const isEventTarget = typeof emitter.addEventListener === 'function' && typeof emitter.on !== 'function';
    const cleanup = () => {
      if (isEventTarget) {
        emitter.removeEventListener(name, resolver);
      } else {
        emitter.removeListener(name, resolver);
        if (name !== 'error') emitter.removeListener('error', errorListener);
      }
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    };
    const resolver = (...args) => {
      cleanup();
      resolve(args);
    };
    const errorListener = (error) => {
      cleanup();
      reject(error);
    };
    if (isEventTarget) {
      emitter.addEventListener(name, resolver, { once: true });
    } else {
      emitter.once(name, resolver);
      if (name !== 'error') emitter.once('error', errorListener);
    }
    if (signal !== undefined) {
      onAbort = () => {
        cleanup();
        reject(new AbortError(undefined, { cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

// events.on: an async iterator of the arguments of each `event` event, until an 'error' event or `return()`.
export function on(emitter, event, options = undefined) {
  const signal = options?.signal;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const events = [];
  const waiting = [];
  let failure = null;
  let finished = false;
  const stop = () => {
    emitter.removeListener(event, eventHandler);
    emitter.removeListener('error', errorHandler);
    finished = true;
    while (waiting.length > 0) waiting.shift().resolve({ value: undefined, done: true });
  };
  const iterator = {
    next() {
      if (events.length > 0) return Promise.resolve({ value: events.shift(), done: false });
      if (failure !== null) {
        const error = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      failure = error;
      stop();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() { return this; },
  };
  function eventHandler(...args) {
    if (waiting.length > 0) waiting.shift().resolve({ value: args, done: false });
    else events.push(args);
  }
  function errorHandler(error) {
    if (waiting.length > 0) waiting.shift().reject(error);
    else failure = error;
    stop();
  }
  emitter.on(event, eventHandler);
  if (event !== 'error') emitter.on('error', errorHandler);
  signal?.addEventListener('abort', () => errorHandler(new AbortError(undefined, { cause: signal.reason })),
    { once: true });
  return iterator;
}

EventEmitter.once = once;
EventEmitter.on = on;
EventEmitter.EventEmitter = EventEmitter;
defineGlobal('EventEmitter', EventEmitter);
