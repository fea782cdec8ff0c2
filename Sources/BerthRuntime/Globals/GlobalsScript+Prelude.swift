import BerthJS
extension GlobalsScript {
    /// The native functions, Node-style errors, the tick queue and DOMException, which the other parts use.
    static let prelude = #"""
        const {
          print: hostPrint, now: hostNow, randomFill: hostRandomFill, scheduleTimer: hostScheduleTimer,
          scheduleImmediate: hostScheduleImmediate, cancelTimer: hostCancelTimer, write: hostWrite, end: hostEnd,
          destroy: hostDestroy, pause: hostPause, resume: hostResume, setNoDelay: hostSetNoDelay,
          setKeepAlive: hostSetKeepAlive, send: hostSend, encodeUTF8, decodeUTF8, utf8Length, writeUTF8,
          fault: hostFault, settle: hostSettle, promiseState: hostPromiseState, registerBuffer: hostRegisterBuffer,
        } = host;

        const ObjectDefineProperty = Object.defineProperty;
        const hasOwn = Object.hasOwn;
        const resolvedPromise = Promise.resolve();

        function defineGlobal(name, value) {
          ObjectDefineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
        }

        // Marks berth's host objects (conn, ctx, ctx.shared, timers, AbortSignal, …), on the object or its
        // prototype: the structured-clone codec refuses what carries the mark, naming it by `description`.
        const kHostObject = Symbol('berth.hostObject');
        function brandHostObject(target, description) {
          ObjectDefineProperty(target, kHostObject, { value: description });
        }

        function isThenable(value) {
          return value !== null && (typeof value === 'object' || typeof value === 'function') &&
            typeof value.then === 'function';
        }

        // Errors worded and coded as Node's are, so handlers can test `error.code`.
        function nodeError(Base, code, message) {
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
        function invalidArgType(name, expected, actual) {
          const kind = name.includes('.') ? 'property' : 'argument';
          const subject = name.endsWith(' argument') ? name : `"${name}" ${kind}`;
          return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE',
            `The ${subject} must be ${expected}.${describeReceived(actual)}`);
        }

        function outOfRange(name, range, received) {
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

        function missingArgs(...names) {
          return nodeError(TypeError, 'ERR_MISSING_ARGS',
            `The ${names.map((name) => `"${name}"`).join(' and ')} argument${names.length > 1 ? 's' : ''} ` +
              'must be specified');
        }

        function validateFunction(value, name) {
          if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
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
        function reportFault(error, origin, connection = -1) {
          hostFault(error, origin, connection);
        }

        // The tick queue: callbacks that must run after the current operation, before any I/O (Node's
        // process.nextTick). Entries are four slots (function, target, a, b) in one array; one microtask drains it,
        // including what it queues.
        const tickQueue = [];
        let tickHead = 0;
        let tickScheduled = false;

        function nextTick(fn, target, a, b) {
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
              if (target instanceof Socket) Socket.fault(target, error, 'a callback');
              else reportFault(error, 'a callback');
            }
          }
          tickQueue.length = 0;
          tickHead = 0;
        }

        function callCallback(target, callback, argument) {
          callback.call(target, argument);
        }

        const domExceptionCodes = {
          IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
          NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
          InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15, TypeMismatchError: 17,
          SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22,
          TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
        };
        const kDomName = Symbol('name');

        class DOMException extends Error {
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
        class AbortError extends Error {
          constructor(message = 'The operation was aborted', options = undefined) {
            super(message, options);
            this.code = 'ABORT_ERR';
            this.name = 'AbortError';
          }
        }
        """#
}
