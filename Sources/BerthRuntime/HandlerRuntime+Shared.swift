import BerthJS
import BerthStore

/// `structuredClone` and ctx.shared's native side: values cross as clone-format bytes, encoded before anything is
/// stored or published (so a DataCloneError leaves the store as it was) and decoded afresh for every reader.
extension HandlerRuntime {
    /// Runs the natives behind `structuredClone` and ctx.shared (the globals script's `host.structuredClone`, …).
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
        // The globals script makes ctx.shared only with a store, and checks that keys and channels are strings.
        guard let store, let name = arguments.string(0) else {
            return context.throwTypeError("ctx.shared is not available")
        }
        switch native {
        case .sharedGet:
            guard let bytes = store.get(name) else { return context.undefined }
            return cloner.decode(bytes)
        case .sharedSet:
            guard let bytes = cloner.encode(arguments.value(1)) else { return context.exceptionMarker }
            do { try store.set(name, bytes) } catch { return cloner.throwError(error.description) }
        case .sharedDelete:
            store.delete(name)
        case .sharedSubscribe:
            guard let id = arguments.int(1) else { return context.throwTypeError("a subscription needs a number") }
            let subscription = store.subscribe(channel: name, owner: storeOwner, origin: sharedOrigin) {
                [weak self] message in self?.deliverShared(id, message)
            }
            sharedSubscriptions[id] = (subscription, name, currentOwner)
        case .sharedPublish:
            guard let bytes = cloner.encode(arguments.value(1)) else { return context.exceptionMarker }
            do { try store.publish(channel: name, bytes, origin: sharedOrigin) } catch {
                return cloner.throwError(error.description)
            }
        default:
            preconditionFailure("\(native) is no clone native")
        }
        return context.undefined
    }

    /// Who publishes or subscribes now: this handler and the connection being handled, if any.
    private var sharedOrigin: SharedStore.Origin? {
        activeConnection.map { SharedStore.Origin(owner: storeOwner, connection: $0) }
    }
}
