// setTimeout, setInterval, setImmediate and their clears, over the host's timers (at least 1 ms) and the runtime's
// immediate queue. Only pending timers are kept (in `timers`), so a fired or cleared timer's callback is no
// longer reachable from the runtime.
import {
  cancelTimer as hostCancelTimer, scheduleImmediate as hostScheduleImmediate, scheduleTimer as hostScheduleTimer,
} from 'berth:host';
import { defineGlobal } from './core.js';
import { validateFunction } from './errors.js';

const timeoutMaximum = 2 ** 31 - 1;
const timers = new Map();
let lastTimerId = 0;
const kFire = Symbol('fire');

function normalizeDelay(delay) {
  const milliseconds = delay * 1;
  return milliseconds >= 1 && milliseconds <= timeoutMaximum ? milliseconds : 1;
}

export class Timeout {
  #id = ++lastTimerId;
  #callback;
  #args;
  #delay;
  #repeats;
  #cleared = false;
  #refed = true;

  constructor(callback, delay, args, repeats) {
    this.#callback = callback;
    this.#delay = delay;
    this.#args = args;
    this.#repeats = repeats;
    this.#arm();
  }

  #arm() {
    timers.set(this.#id, this);
    hostScheduleTimer(this.#id, this.#delay);
  }

  [kFire]() {
    if (!this.#repeats) {
      timers.delete(this.#id);
      const callback = this.#callback;
      const args = this.#args;
      this.#callback = undefined;
      this.#args = undefined;
      if (args.length === 0) callback.call(this);
      else callback.apply(this, args);
      return;
    }
    // A throwing interval is cleared, not run again to throw every tick.
    try {
      if (this.#args.length === 0) this.#callback.call(this);
      else this.#callback.apply(this, this.#args);
    } catch (error) {
      this.clear();
      throw error;
    }
    if (!this.#cleared && timers.get(this.#id) === this) hostScheduleTimer(this.#id, this.#delay);
  }

  clear() {
    if (this.#cleared) return;
    this.#cleared = true;
    if (timers.get(this.#id) === this) {
      timers.delete(this.#id);
      hostCancelTimer(this.#id);
    }
    this.#callback = undefined;
    this.#args = undefined;
  }

  // Restarts the countdown of a pending timer; a fired timeout dropped its callback, so it stays done.
  refresh() {
    if (!this.#cleared && this.#callback !== undefined) this.#arm();
    return this;
  }
  ref() { this.#refed = true; return this; }
  unref() { this.#refed = false; return this; }
  hasRef() { return this.#refed; }
  close() { this.clear(); return this; }
  [Symbol.toPrimitive]() { return this.#id; }
}

export class Immediate {
  #id = ++lastTimerId;
  #callback;
  #args;
  #refed = true;

  constructor(callback, args) {
    this.#callback = callback;
    this.#args = args;
    timers.set(this.#id, this);
    hostScheduleImmediate(this.#id);
  }

  [kFire]() {
    timers.delete(this.#id);
    const callback = this.#callback;
    const args = this.#args;
    this.#callback = undefined;
    this.#args = undefined;
    if (args.length === 0) callback.call(this);
    else callback.apply(this, args);
  }

  clear() {
    if (timers.get(this.#id) === this) {
      timers.delete(this.#id);
      hostCancelTimer(this.#id);
    }
    this.#callback = undefined;
    this.#args = undefined;
  }
  ref() { this.#refed = true; return this; }
  unref() { this.#refed = false; return this; }
  hasRef() { return this.#refed; }
  get [Symbol.toStringTag]() { return 'Immediate'; }
}

export function fireTimer(id) {
  const timer = timers.get(id);
  if (timer !== undefined) timer[kFire]();
}

function clearTimer(timer) {
  if (timer === undefined || timer === null) return;
  if (timer instanceof Timeout || timer instanceof Immediate) {
    timer.clear();
    return;
  }
  if (typeof timer === 'number' || typeof timer === 'string') {
    const known = timers.get(+timer);
    if (known instanceof Timeout) known.clear();
  }
}

function setTimeout(callback, delay, ...args) {
  validateFunction(callback, 'callback');
  return new Timeout(callback, normalizeDelay(delay), args, false);
}
function setInterval(callback, delay, ...args) {
  validateFunction(callback, 'callback');
  return new Timeout(callback, normalizeDelay(delay), args, true);
}
function setImmediate(callback, ...args) {
  validateFunction(callback, 'callback');
  return new Immediate(callback, args);
}
function clearTimeout(timer) { clearTimer(timer); }
function clearInterval(timer) { clearTimer(timer); }
function clearImmediate(immediate) { if (immediate instanceof Immediate) immediate.clear(); }

// A timer for berth's own use (socket timeouts, AbortSignal.timeout): unref'd, and `callback(target)` instead
// of user arguments. At least 1 ms, as Node's: a timer armed while timers run then waits for the next turn.
export function internalTimer(callback, delay, target) {
  return new Timeout(callback, Math.max(delay, 1), [target], false).unref();
}

defineGlobal('setTimeout', setTimeout);
defineGlobal('setInterval', setInterval);
defineGlobal('setImmediate', setImmediate);
defineGlobal('clearTimeout', clearTimeout);
defineGlobal('clearInterval', clearInterval);
defineGlobal('clearImmediate', clearImmediate);
