// What every other file of the runtime builds on: global definitions, the host-object mark, fault reporting and
// the tick queue.
import { fault as hostFault } from 'berth:host';

export const ObjectDefineProperty = Object.defineProperty;
export const hasOwn = Object.hasOwn;
export const resolvedPromise = Promise.resolve();

export function defineGlobal(name, value) {
  ObjectDefineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}

// Marks berth's host objects (conn, ctx, ctx.shared, timers, AbortSignal, …), on the object or its
// prototype: the structured-clone codec refuses what carries the mark, naming it by `description`.
export const kHostObject = Symbol('berth.hostObject');
export function brandHostObject(target, description) {
  ObjectDefineProperty(target, kHostObject, { value: description });
}

export function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof value.then === 'function';
}

// QuickJS has no Error.captureStackTrace; Node code calls it to give its own errors a stack.
if (typeof Error.captureStackTrace !== 'function') {
  ObjectDefineProperty(Error, 'captureStackTrace', {
    value: function captureStackTrace(target) {
      const { stack } = new Error();
      ObjectDefineProperty(target, 'stack', { value: stack.slice(stack.indexOf('\n') + 1), writable: true,
        configurable: true });
    },
    writable: true, configurable: true,
  });
}

// Faults are reported to the runtime, which logs them with the handler's name; `connection` is a socket id
// or -1.
export function reportFault(error, origin, connection = -1) {
  hostFault(error, origin, connection);
}

// The method by which a tick's target takes the fault of its callback (a socket destroys itself); a target without
// one leaves the fault to the current work.
export const kFault = Symbol('fault');

// The tick queue: callbacks that must run after the current operation, before any I/O (Node's
// process.nextTick). Entries are four slots (function, target, a, b) in one array; one microtask drains it,
// including what it queues.
const tickQueue = [];
let tickHead = 0;
let tickScheduled = false;

export function nextTick(fn, target, a, b) {
  tickQueue.push(fn, target, a, b);
  if (!tickScheduled) {
    tickScheduled = true;
    resolvedPromise.then(runTicks);
  }
}

function runTicks() {
  tickScheduled = false;
  while (tickHead < tickQueue.length) {
    const index = tickHead;
    tickHead += 4;
    const target = tickQueue[index + 1];
    try {
      tickQueue[index](target, tickQueue[index + 2], tickQueue[index + 3]);
    } catch (error) {
      const fault = target?.[kFault];
      if (fault !== undefined) fault.call(target, error, 'a callback');
      else reportFault(error, 'a callback');
    }
  }
  tickQueue.length = 0;
  tickHead = 0;
}

export function callCallback(target, callback, argument) {
  callback.call(target, argument);
}

