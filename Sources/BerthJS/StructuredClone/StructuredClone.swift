import BerthClone
/// What the codec makes of an object, found by its QuickJS class id.
enum CloneClass: Hashable {
    case object, array, error, date, regexp, map, set, arrayBuffer
    case boolean, number, string, bigint
    case view(CloneFormat.ViewKind)
    /// Not cloneable, named for the DataCloneError message ("WeakMap", "Proxy", …).
    case refused(String)
}

/// One runtime's structured-clone codec: QuickJS values to the bytes of docs/clone-format.md and back, with the
/// intrinsics clone.js captured for it before any handler code ran. `structuredClone` and `ctx.shared`
/// both go through it. Must go before its context.
package final class StructuredClone {
    let context: JSContext
    /// What each QuickJS class id is, at the id (built-in class ids are small); nil for the ones not listed.
    private let classes: [CloneClass?]
    /// The key of the mark on berth's host objects (core.js's `kHostObject`).
    let brand: JSPropertyKey
    let lengthKey: JSPropertyKey
    /// Storage an encode or decode borrows and gives back emptied, so the common small value allocates little.
    var spareObjects: JSValueList?
    var spareAddresses: [UInt] = []
    /// View constructors at their format view kind; undefined where QuickJS lacks the type.
    let views: JSValueList
    let mapConstructor: JSRef
    let setConstructor: JSRef
    let mapSet: JSRef
    let setAdd: JSRef
    let dateValue: JSRef
    let regexpParts: JSRef
    let makeRegExp: JSRef
    let mapEntries: JSRef
    let setValues: JSRef
    let bigintHex: JSRef
    let makeBigInt: JSRef
    let primitiveOf: JSRef
    let wrap: JSRef
    let viewParts: JSRef
    let errorParts: JSRef
    let makeError: JSRef
    let dataCloneError: JSRef
    let plainError: JSRef
    package let missingValue: JSRef
    package let cloneWithOptions: JSRef

    /// Reads hooks.js's `clone` export; a missing piece is a bug in clone.js.
    package init(context: JSContext, intrinsics: borrowing JSRef) {
        self.context = context
        func required(_ value: consuming JSRef?, _ name: String) -> JSRef {
            guard let value, !value.isUndefined else { preconditionFailure("the clone intrinsics lack \(name)") }
            return value
        }
        func field(_ name: String) -> JSRef { required(intrinsics.property(name), name) }

        var classes: [UInt32: CloneClass] = [:]
        let samples = field("samples")
        let sampleClasses: [(String, CloneClass)] = [
            ("object", .object), ("array", .array), ("error", .error), ("date", .date), ("regexp", .regexp),
            ("map", .map), ("set", .set), ("arrayBuffer", .arrayBuffer), ("boolean", .boolean), ("number", .number),
            ("string", .string), ("bigint", .bigint),
        ]
        for (name, kind) in sampleClasses { classes[required(samples.property(name), name).classID] = kind }
        let refused = field("refused")
        for index in 0..<Int(refused.property("length")?.int32 ?? 0) {
            let pair = context.element(refused, index)
            let name = context.element(pair, 0).string ?? "Object"
            classes[context.element(pair, 1).classID] = .refused(name)
        }
        let views = JSValueList(context)
        let viewConstructors = field("views")
        let emptyBuffer = required(samples.property("arrayBuffer"), "arrayBuffer")
        views.append(context.undefined)
        for kind in CloneFormat.ViewKind.allCases {
            precondition(Int(kind.rawValue) == views.count, "view kinds are numbered from 1 without gaps")
            let constructor = context.element(viewConstructors, Int(kind.rawValue))
            if !constructor.isUndefined {
                var call = JSCall(context)
                call.append(emptyBuffer.duplicate())
                classes[required(call.construct(constructor), "a \(kind) sample").classID] = .view(kind)
            }
            views.append(constructor)
        }
        var table = [CloneClass?](repeating: nil, count: Int(classes.keys.max() ?? 0) + 1)
        for (id, kind) in classes { table[Int(id)] = kind }
        self.classes = table
        self.views = views
        guard let brand = context.propertyKey(field("brand")) else { preconditionFailure("the brand is no key") }
        self.brand = brand
        lengthKey = context.propertyKey("length")
        mapConstructor = field("Map")
        setConstructor = field("Set")
        mapSet = field("mapSet")
        setAdd = field("setAdd")
        dateValue = field("dateValue")
        regexpParts = field("regexpParts")
        makeRegExp = field("makeRegExp")
        mapEntries = field("mapEntries")
        setValues = field("setValues")
        bigintHex = field("bigintHex")
        makeBigInt = field("makeBigInt")
        primitiveOf = field("primitiveOf")
        wrap = field("wrap")
        viewParts = field("viewParts")
        errorParts = field("errorParts")
        makeError = field("makeError")
        dataCloneError = field("dataCloneError")
        plainError = field("plainError")
        missingValue = field("missingValue")
        cloneWithOptions = field("cloneWithOptions")
    }

    /// What the codec makes of an object of QuickJS class `id`; nil for a class it does not know.
    func kind(ofClass id: UInt32) -> CloneClass? { Int(id) < classes.count ? classes[Int(id)] : nil }

    /// The clone-format bytes of `value`; nil with an exception pending: a DataCloneError for what cannot be cloned,
    /// a RangeError for nesting deeper than the stack allows, or what a getter threw.
    package func encode(_ value: borrowing JSRef) -> [UInt8]? {
        var encoder = JSCloneEncoder(self)
        do {
            try encoder.encode(value)
        } catch {
            _ = encoder.finish()
            switch error {
            case .uncloneable(let message): _ = throwDataCloneError(message)
            case .tooDeep: _ = context.throwRangeError("The value is nested too deeply to be cloned")
            case .exception: precondition(context.hasPendingException, "the encoder failed without an exception")
            }
            return nil
        }
        return encoder.finish()
    }

    /// A new copy, in this context, of the value `bytes` hold; the exception marker when it cannot be made: corrupt
    /// bytes are a DataCloneError, and the heap limit applies to what is made.
    package func decode(_ bytes: [UInt8]) -> JSRef {
        do {
            var decoder = try JSCloneDecoder(self, bytes)
            defer { decoder.finish() }
            return try decoder.decodeAll()
        } catch {
            switch error {
            case .corrupt(let message): return throwDataCloneError("Unable to deserialize cloned data: \(message)")
            case .tooDeep: return context.throwRangeError("The value is nested too deeply to be cloned")
            case .exception:
                precondition(context.hasPendingException, "the decoder failed without an exception")
                return context.exceptionMarker
            }
        }
    }

    /// Throws `new DOMException(message, 'DataCloneError')` and returns the exception marker.
    package func throwDataCloneError(_ message: String) -> JSRef { throwResult(of: dataCloneError, message) }

    /// Throws `new Error(message)` (with a stack) and returns the exception marker.
    package func throwError(_ message: String) -> JSRef { throwResult(of: plainError, message) }

    /// Throws the error a helper makes (from `message`, when given) and returns the exception marker.
    package func throwResult(of helper: borrowing JSRef, _ message: String? = nil) -> JSRef {
        var call = JSCall(context)
        if let message { call.append(context.string(message)) }
        let error = call.call(helper)
        if error.isException { return error }
        return context.throwing(error)
    }
}
