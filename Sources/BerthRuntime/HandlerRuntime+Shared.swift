import BerthJS
package import BerthStore

/// `structuredClone` and ctx.shared's native side: values cross as clone-format bytes, encoded before anything is
/// stored or published (so a DataCloneError leaves the store as it was) and decoded afresh for every reader. A store
/// answer given at once is returned as is (js/shared.js wraps it in a promise); for an answer that comes later
/// the native returns a pending promise, which `sharedStore(answered:with:)` settles.
extension HandlerRuntime: SharedStoreClient {
    /// Runs the natives behind `structuredClone` and ctx.shared (exported by `berth:host` to js/shared.js, …).
    func callCloneNative(_ native: NativeFunction, _ arguments: borrowing JSNativeArguments, in context: JSContext)
        -> JSRef
    {
        guard let cloner else { preconditionFailure("\(name): a clone native called before the globals") }
        switch native {
        case .structuredClone:
            // The global itself: the common call, without options, stays native.
            if arguments.count == 0 { return cloner.throwResult(of: cloner.missingValue) }
            let options = arguments.value(1)
            if !options.isUndefined && !options.isNull {
                var call = JSCall(context)
                call.append(arguments.value(0))
                call.append(options)
                return call.call(cloner.cloneWithOptions)
            }
            guard let bytes = cloner.encode(arguments.value(0)) else { return context.exceptionMarker }
            return cloner.decode(bytes)
        case .detachArrayBuffer:
            context.detachArrayBuffer(arguments.value(0))
            return context.undefined
        case .sharedUnsubscribe:
            if let id = arguments.int(0), let subscription = sharedSubscriptions.removeValue(forKey: id) {
                store?.unsubscribe(subscription.id)
            }
            return context.undefined
        default:
            break
        }
        // js/shared.js makes ctx.shared only with a store, and checks that keys and channels are strings.
        guard let store, let name = arguments.string(0) else {
            return context.throwTypeError("ctx.shared is not available")
        }
        switch native {
        case .sharedGet, .sharedSet, .sharedDelete:
            lastStoreRequest += 1
            let request = SharedStoreRequestID(lastStoreRequest)
            let reply = SharedStoreReply(to: self, request: request)
            let answer: SharedStoreAnswer?
            if native == .sharedGet {
                answer = store.get(name, reply: reply)
            } else if native == .sharedSet {
                guard let bytes = cloner.encode(arguments.value(1)) else { return context.exceptionMarker }
                answer = store.set(name, bytes, reply: reply)
            } else {
                answer = store.delete(name, reply: reply)
            }
            guard let answer else { return awaitAnswer(request, to: "\(native.operation)(\"\(name)\")", in: context) }
            switch answer {
            case .success(let bytes): return bytes.map(cloner.decode) ?? context.undefined
            case .failure(let error): return cloner.throwError(error.message)
            }
        case .sharedSubscribe:
            guard let id = arguments.int(1) else { return context.throwTypeError("a subscription needs a number") }
            let subscription = store.subscribe(channel: name, owner: storeOwner, origin: sharedOrigin) {
                [weak self] message in self?.deliverShared(id, message)
            }
            sharedSubscriptions[id] = (subscription, name, currentOwner)
        case .sharedPublish:
            guard let bytes = cloner.encode(arguments.value(1)) else { return context.exceptionMarker }
            do { try store.publish(channel: name, bytes, origin: sharedOrigin) } catch {
                return cloner.throwError(error.message)
            }
        default:
            preconditionFailure("\(native) is no clone native")
        }
        return context.undefined
    }

    /// Who publishes or subscribes now: this handler and the connection being handled, if any.
    private var sharedOrigin: SharedStoreOrigin? {
        activeConnection.map { SharedStoreOrigin(owner: storeOwner, connection: $0.rawValue) }
    }

    /// A pending promise for `request`, kept with the work it belongs to until the store answers.
    private func awaitAnswer(_ request: SharedStoreRequestID, to operation: String, in context: JSContext) -> JSRef {
        guard let capability = context.newPromise() else { return context.exceptionMarker }
        storeRequests[request] = StoreRequest(
            operation: operation, resolve: capability.resolve.duplicate(), reject: capability.reject.duplicate(),
            owner: currentOwner)
        return capability.promise.duplicate()
    }

    /// A later answer of the store: settles the promise of its request, as one dispatch of the work that asked (a
    /// rejection nothing handles is that work's fault). An answer for a runtime that unloaded meanwhile is dropped.
    package func sharedStore(answered request: SharedStoreRequestID, with answer: SharedStoreAnswer) {
        guard let waiting = storeRequests.removeValue(forKey: request) else { return }
        dispatch(.named(waiting.operation), connection: waiting.owner.flatMap(openConnection)) { context, _ in
            guard let cloner else { return context.undefined }
            var call = JSCall(context)
            switch answer {
            case .success(let bytes):
                let value = bytes.map(cloner.decode) ?? context.undefined
                if value.isException {
                    call.append(context.takeExceptionValue())
                    return call.call(waiting.reject)
                }
                call.append(value)
                return call.call(waiting.resolve)
            case .failure(let error):
                _ = cloner.throwError(error.message)
                call.append(context.takeExceptionValue())
                return call.call(waiting.reject)
            }
        }
    }
}

/// A ctx.shared operation waiting for the store's answer: the functions that settle the promise it returned, and the
/// connection whose work it is.
final class StoreRequest {
    let operation: String
    let resolve: JSRef
    let reject: JSRef
    let owner: HandlerRuntime.WorkOwner?

    init(operation: String, resolve: consuming JSRef, reject: consuming JSRef, owner: HandlerRuntime.WorkOwner?) {
        (self.operation, self.owner) = (operation, owner)
        self.resolve = resolve
        self.reject = reject
    }
}

extension NativeFunction {
    /// The handler-facing name of a ctx.shared native, for fault messages.
    fileprivate var operation: String {
        switch self {
        case .sharedGet: "ctx.shared.get"
        case .sharedSet: "ctx.shared.set"
        case .sharedDelete: "ctx.shared.delete"
        default: "ctx.shared"
        }
    }
}
