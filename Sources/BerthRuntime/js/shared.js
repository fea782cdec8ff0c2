// `ctx.shared`: the broker's store. Values go in and out as structured-clone bytes (the native side encodes
// before anything is stored or sent); subscriber functions stay here, known to the runtime by number.
import {
  sharedDelete as hostSharedDelete, sharedGet as hostSharedGet, sharedPublish as hostSharedPublish,
  sharedSet as hostSharedSet, sharedSubscribe as hostSharedSubscribe, sharedUnsubscribe as hostSharedUnsubscribe,
} from 'berth:host';
import { brandHostObject, isThenable, reportFault } from './core.js';
import { invalidArgType, validateFunction } from './errors.js';

// Captured before handler code runs, which may replace the globals.
const ObjectFreeze = Object.freeze;
const MapConstructor = Map;

const sharedSubscribers = new MapConstructor();
let lastSubscription = 0;

// Settled promises made without an async function's frame: get and set are the hot path.
const promiseResolve = Promise.resolve.bind(Promise);
const promiseReject = Promise.reject.bind(Promise);

export function makeShared() {
  const shared = {
    get(key) {
      if (typeof key !== 'string') return promiseReject(invalidArgType('key', 'of type string', key));
      try {
        return promiseResolve(hostSharedGet(key));
      } catch (error) {
        return promiseReject(error);
      }
    },
    set(key, value) {
      if (typeof key !== 'string') return promiseReject(invalidArgType('key', 'of type string', key));
      try {
        return promiseResolve(hostSharedSet(key, value));
      } catch (error) {
        return promiseReject(error);
      }
    },
    delete(key) {
      if (typeof key !== 'string') return promiseReject(invalidArgType('key', 'of type string', key));
      return promiseResolve(hostSharedDelete(key));
    },
    subscribe(channel, fn) {
      if (typeof channel !== 'string') throw invalidArgType('channel', 'of type string', channel);
      validateFunction(fn, 'fn');
      const id = ++lastSubscription;
      sharedSubscribers.set(id, fn);
      hostSharedSubscribe(channel, id);
      let subscribed = true;
      return function unsubscribe() {
        if (!subscribed) return;
        subscribed = false;
        sharedSubscribers.delete(id);
        hostSharedUnsubscribe(id);
      };
    },
    publish(channel, message) {
      if (typeof channel !== 'string') throw invalidArgType('channel', 'of type string', channel);
      hostSharedPublish(channel, message);
    },
  };
  brandHostObject(shared, 'ctx.shared');
  return ObjectFreeze(shared);
}

// A delivery from the store: the subscriber runs with the runtime's own copy; what it throws is a fault of
// this handler only.
export function sharedDeliver(id, message) {
  const fn = sharedSubscribers.get(id);
  if (fn === undefined) return;
  const result = fn(message);
  if (isThenable(result)) {
    result.then(undefined, (error) => reportFault(error, 'an async ctx.shared subscriber'));
  }
}
