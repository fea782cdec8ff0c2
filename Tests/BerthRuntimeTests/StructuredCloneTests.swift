import BerthPlan
import BerthStore
import Testing

import BerthClone
import BerthJS
@testable import BerthRuntime

/// One conformance case: `make` is a JavaScript expression for the value (it may use `conn` and `ctx`), `check` the
/// body of a function of the original `o` and the copy `c` that returns true when the copy is right (or a string
/// saying what is wrong).
struct CloneCase: Sendable, CustomTestStringConvertible {
    var name: String
    var make: String
    var check: String
    var testDescription: String { name }

    init(_ name: String, _ make: String, _ check: String) { (self.name, self.make, self.check) = (name, make, check) }
}

/// A kind that cannot be cloned and the DataCloneError message that names it.
struct RefusedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var make: String
    var message: String
    var testDescription: String { name }

    init(_ name: String, _ make: String, _ message: String) {
        (self.name, self.make, self.message) = (name, make, message)
    }
}

/// How a value is copied: by the global, or by storing it in ctx.shared and reading it back.
enum CloneRoute: String, Sendable, CaseIterable {
    case structuredClone
    case sharedStore

    /// JavaScript statements that set `c` to the copy of `o`.
    var copy: String {
        switch self {
        case .structuredClone: "const c = structuredClone(o);"
        case .sharedStore: "await ctx.shared.set('value', o); const c = await ctx.shared.get('value');"
        }
    }
}

/// The HTML structured-clone algorithm as `structuredClone` and `ctx.shared` implement it, case by case, through both
/// routes; and the codec's behaviour at its edges (depth, corrupt bytes).
@Suite(.timeLimit(.minutes(2)))
struct StructuredCloneTests {
    static let cases: [CloneCase] = [
        // Primitives.
        CloneCase("undefined and null", "[undefined, null]", "return c[0] === undefined && c[1] === null && 0 in c"),
        CloneCase("booleans", "[true, false]", "return c[0] === true && c[1] === false"),
        CloneCase(
            "numbers", "[0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 0.5, 1e300, -Infinity, Infinity, NaN]",
            "return c.every((x, i) => Object.is(x, o[i]))"),
        CloneCase(
            "BigInt", "[0n, 1n, -1n, 255n, 256n, -(2n ** 64n), 2n ** 200n + 12345n, -(16n ** 99n)]",
            "return c.every((x, i) => typeof x === 'bigint' && x === o[i])"),
        CloneCase(
            "strings", "['', 'ascii', 'caf\\u00e9 \\u00ff', '\\u4e2d\\u6587', 'emoji \\u{1F600}', 'nul\\u0000nul']",
            "return c.every((x, i) => x === o[i])"),
        CloneCase(
            "lone surrogates",
            """
            ['\\uD800', '\\uDC00', 'a\\uD800b', '\\uDC00\\uD800', '\\uD83D\\uDE00\\uD83D',
             'x'.repeat(40) + '\\uDFFF']
            """,
            """
            return c.every((x, i) => x.length === o[i].length &&
              Array.from(x, (_, k) => x.charCodeAt(k)).join() === Array.from(o[i], (_, k) => o[i].charCodeAt(k)).join())
            """),
        CloneCase("a long string", "'0123456789'.repeat(100000) + '\\u00e9'", "return c === o && c.length === 1000001"),

        // Objects and arrays.
        CloneCase(
            "plain object", "({ a: 1, b: 'two', c: { d: [3] } })",
            "return c !== o && c.a === 1 && c.b === 'two' && c.c.d[0] === 3 && c.c !== o.c"),
        CloneCase(
            "property order", "({ b: 1, a: 2, 10: 3, 2: 4, [Symbol('s')]: 5, z: 6 })",
            "return Object.keys(c).join() === '2,10,b,a,z' && Object.getOwnPropertySymbols(c).length === 0"),
        CloneCase(
            "only own enumerable string keys",
            """
            (() => {
              const object = Object.create({ inherited: 1 });
              object.own = 2;
              Object.defineProperty(object, 'hidden', { value: 3, enumerable: false });
              object[Symbol('s')] = 4;
              return object;
            })()
            """,
            """
            return Object.getPrototypeOf(c) === Object.prototype && !('inherited' in c) && c.own === 2 &&
              !('hidden' in c) && Reflect.ownKeys(c).join() === 'own'
            """),
        CloneCase(
            "getters run and become data", "({ get g() { return 42; } })",
            "const d = Object.getOwnPropertyDescriptor(c, 'g'); return d.value === 42 && d.writable && d.enumerable"),
        CloneCase(
            "unusual keys",
            "JSON.parse('{\"__proto__\": 1, \"\\u00e9\": 2, \"\\u00c3\\u00a9\": 3, \"\": 4, \"07\": 5}')",
            """
            return Object.getPrototypeOf(c) === Object.prototype && Object.hasOwn(c, '__proto__') &&
              c.__proto__ === 1 && c['\\u00e9'] === 2 && c['\\u00c3\\u00a9'] === 3 && c[''] === 4 && c['07'] === 5 &&
              Object.keys(c).length === 5
            """),
        CloneCase(
            "lone surrogate keys", "({ '\\uD800': 1, 'k\\uDC00': 2 })",
            "return c['\\uD800'] === 1 && c['k\\uDC00'] === 2 && c['\\uFFFD'] === undefined"),
        CloneCase(
            "null prototype", "Object.assign(Object.create(null), { x: 1 })",
            "return Object.getPrototypeOf(c) === Object.prototype && c.x === 1"),
        CloneCase(
            "class instance becomes a plain object",
            """
            (() => {
              class Point {
                #secret = 1;
                constructor() { this.x = 1; this.y = 2; }
                get sum() { return this.x + this.y; }
                norm() { return 0; }
              }
              return new Point();
            })()
            """,
            """
            return Object.getPrototypeOf(c) === Object.prototype && c.x === 1 && c.y === 2 && c.sum === undefined &&
              c.norm === undefined && Object.keys(c).join() === 'x,y'
            """),
        CloneCase(
            "arrays", "[1, 'two', [3], { four: 4 }]",
            "return Array.isArray(c) && c.length === 4 && c[0] === 1 && c[2][0] === 3 && c[3].four === 4"),
        CloneCase(
            "sparse array with extra properties and length",
            "(() => { const a = [1, , 3]; a[9] = 'nine'; a.length = 12; a.extra = 'x'; a[-1] = 'minus'; return a; })()",
            """
            return Array.isArray(c) && c.length === 12 && !(1 in c) && c[2] === 3 && c[9] === 'nine' &&
              !(10 in c) && c.extra === 'x' && c[-1] === 'minus' && Object.keys(c).join() === '0,2,9,extra,-1'
            """),
        CloneCase(
            "huge sparse array", "(() => { const a = []; a[4294967294] = 'last'; return a; })()",
            "return c.length === 4294967295 && c[4294967294] === 'last' && Object.keys(c).length === 1"),
        CloneCase("empty array", "[]", "return Array.isArray(c) && c.length === 0"),
        CloneCase(
            "array whose only holes trail", "(() => { const a = ['x', 'y']; a.length = 5; return a; })()",
            "return c.length === 5 && c[1] === 'y' && !(2 in c) && Object.keys(c).join() === '0,1'"),
        CloneCase("array of holes", "new Array(3)", "return c.length === 3 && Object.keys(c).length === 0"),

        // Identity.
        CloneCase(
            "shared references stay shared", "(() => { const s = { n: 1 }; return { a: s, b: s, list: [s, s] }; })()",
            "return c.a === c.b && c.list[0] === c.a && c.list[1] === c.a && c.a !== o.a"),
        CloneCase(
            "cycles", "(() => { const o = { name: 'o' }; o.self = o; o.list = [o]; o.list.push(o.list); return o; })()",
            "return c.self === c && c.list[0] === c && c.list[1] === c.list && c !== o"),
        CloneCase(
            "Map keys keep their identity",
            "(() => { const k = { key: true }; return { k, m: new Map([[k, 'v'], ['k', k]]) }; })()",
            "const [first] = c.m.keys(); return first === c.k && c.m.get(c.k) === 'v' && c.m.get('k') === c.k"),
        CloneCase(
            "a Map and a Set that contain themselves",
            "(() => { const m = new Map(); m.set(m, m); const s = new Set(); s.add(s); return [m, s]; })()",
            "return c[0].get(c[0]) === c[0] && c[1].has(c[1]) && c[0] !== o[0]"),

        // Built-in objects.
        CloneCase(
            "Date", "[new Date(1700000000123), new Date(-1), new Date(NaN)]",
            """
            return c.every((d) => d instanceof Date) && c[0].getTime() === 1700000000123 && c[1].getTime() === -1 &&
              Number.isNaN(c[2].getTime())
            """),
        CloneCase(
            "RegExp keeps source and flags, not lastIndex",
            """
            (() => {
              const r = /a[b-c]+\\/\\u{1F600}/dgimsuy;
              r.lastIndex = 3;
              r.extra = 1;
              return [r, /x/u, new RegExp('')];
            })()
            """,
            """
            return c[0] instanceof RegExp && c[0].source === o[0].source && c[0].flags === 'dgimsuy' &&
              c[0].lastIndex === 0 && c[0].extra === undefined && c[1].flags === 'u' && c[2].source === '(?:)' &&
              c[0].test('abc/\\u{1F600}')
            """),
        CloneCase(
            "Map and Set keep their order", "[new Map([[3, 'c'], [1, 'a'], [NaN, 'n']]), new Set(['z', 1, -0, 'a'])]",
            """
            return c[0] instanceof Map && [...c[0].keys()].join() === '3,1,NaN' && c[0].get(NaN) === 'n' &&
              c[1] instanceof Set && [...c[1]].join() === 'z,1,0,a' && c[1].has(0)
            """),
        CloneCase(
            "ArrayBuffer",
            "(() => { const b = new ArrayBuffer(5); new Uint8Array(b).set([1, 2, 3, 4, 5]); return b; })()",
            """
            return c instanceof ArrayBuffer && c !== o && c.byteLength === 5 &&
              new Uint8Array(c).join() === '1,2,3,4,5'
            """
        ),
        CloneCase(
            "every typed array",
            """
            [new Int8Array([-1, 2]), new Uint8Array([255, 1]), new Uint8ClampedArray([300, -5]), new Int16Array([-300]),
             new Uint16Array([65535]), new Int32Array([-5, 7]), new Uint32Array([4294967295]),
             new Float32Array([1.5, -0]), new Float64Array([Math.PI, NaN]), new BigInt64Array([-(2n ** 63n), 5n]),
             new BigUint64Array([2n ** 64n - 1n]),
             ...(typeof Float16Array === 'function' ? [new Float16Array([0.5])] : [])]
            """,
            """
            return c.every((x, i) => Object.getPrototypeOf(x) === Object.getPrototypeOf(o[i]) &&
              x.length === o[i].length && x.every((v, k) => Object.is(v, o[i][k])))
            """),
        CloneCase(
            "DataView",
            "(() => { const b = new ArrayBuffer(8); const v = new DataView(b, 2, 4); v.setInt16(0, -2); return v; })()",
            "return c instanceof DataView && c.byteOffset === 2 && c.byteLength === 4 && c.getInt16(0) === -2"),
        CloneCase(
            "views of one buffer stay views of one buffer",
            """
            (() => {
              const b = new ArrayBuffer(16);
              const x = new Uint8Array(b, 4, 8);
              x.set([1, 2, 3]);
              return { x, y: new DataView(b, 1, 6), z: new Float64Array(b, 8, 1), b };
            })()
            """,
            """
            return c.x.buffer === c.y.buffer && c.y.buffer === c.z.buffer && c.z.buffer === c.b &&
              c.b.byteLength === 16 && c.x.byteOffset === 4 && c.x.length === 8 && c.y.byteOffset === 1 &&
              c.y.byteLength === 6 && c.z.byteOffset === 8 && c.x[2] === 3 && c.b !== o.b
            """),
        CloneCase(
            "a Buffer arrives as a Uint8Array", "Buffer.from('hello')",
            """
            return Object.getPrototypeOf(c) === Uint8Array.prototype && !Buffer.isBuffer(c) &&
              new TextDecoder().decode(c) === 'hello'
            """),
        CloneCase(
            "errors keep name, message, stack and prototype",
            """
            [new Error('e'), new EvalError('ev'), new RangeError('r'), new ReferenceError('rf'), new SyntaxError('s'),
             new TypeError('t'), new URIError('u')]
            """,
            """
            return c.every((e, i) => Object.getPrototypeOf(e) === Object.getPrototypeOf(o[i]) && e.name === o[i].name &&
              e.message === o[i].message && e.stack === o[i].stack && typeof e.stack === 'string' &&
              e instanceof Error && !Object.keys(e).length)
            """),
        CloneCase(
            "other errors become Error",
            """
            (() => {
              class MyError extends TypeError { constructor() { super('mine'); this.code = 'E_MINE'; } }
              const renamed = new Error('renamed');
              renamed.name = 'Custom';
              return [new MyError(), renamed, new AggregateError([], 'agg'), new Error()];
            })()
            """,
            """
            return Object.getPrototypeOf(c[0]) === TypeError.prototype && c[0].message === 'mine' &&
              c[0].code === undefined && Object.getPrototypeOf(c[1]) === Error.prototype && c[1].name === 'Error' &&
              c[1].message === 'renamed' && c[2].name === 'Error' && c[2].message === 'agg' &&
              !Object.hasOwn(c[3], 'message') && c[3].message === ''
            """),
        CloneCase(
            "DOMException", "new DOMException('gone', 'AbortError')",
            """
            return c instanceof DOMException && c instanceof Error && c.name === 'AbortError' && c.code === 20 &&
              c.message === 'gone' && c.stack === o.stack
            """),
        CloneCase(
            "wrapper objects",
            """
            [new Boolean(false), new Number(-0), new String('s\\uD800'), Object(-12345678901234567890n),
             new Number(NaN)]
            """,
            """
            return c[0] instanceof Boolean && c[0].valueOf() === false && c[1] instanceof Number &&
              Object.is(c[1].valueOf(), -0) && c[2] instanceof String && c[2].valueOf() === 's\\uD800' &&
              typeof c[3] === 'object' && c[3].valueOf() === -12345678901234567890n && Number.isNaN(c[4].valueOf())
            """),
        CloneCase(
            "a wrapper object twice is one object", "(() => { const n = new Number(7); return [n, n]; })()",
            "return c[0] === c[1] && c[0].valueOf() === 7"),
    ]

    static let refused: [RefusedCase] = [
        RefusedCase("function", "function handler() {}", "function handler could not be cloned"),
        RefusedCase("arrow function in an object", "({ f: () => 1 })", "function f could not be cloned"),
        RefusedCase("class", "class Thing {}", "function Thing could not be cloned"),
        RefusedCase("symbol", "Symbol('tag')", "Symbol(tag) could not be cloned"),
        RefusedCase("symbol inside", "[1, Symbol.iterator]", "Symbol(Symbol.iterator) could not be cloned"),
        RefusedCase("WeakMap", "new WeakMap()", "#<WeakMap> could not be cloned"),
        RefusedCase("WeakSet", "new WeakSet()", "#<WeakSet> could not be cloned"),
        RefusedCase("WeakRef", "new WeakRef({})", "#<WeakRef> could not be cloned"),
        RefusedCase(
            "FinalizationRegistry", "new FinalizationRegistry(() => {})",
            "#<FinalizationRegistry> could not be cloned"),
        RefusedCase("Promise", "Promise.resolve(1)", "#<Promise> could not be cloned"),
        RefusedCase("Proxy", "new Proxy({}, {})", "#<Proxy> could not be cloned"),
        RefusedCase("Proxy of an array", "new Proxy([], {})", "#<Proxy> could not be cloned"),
        RefusedCase("generator", "(function* () {})()", "#<Generator> could not be cloned"),
        RefusedCase("iterator", "new Map().entries()", "#<Map Iterator> could not be cloned"),
        RefusedCase("SharedArrayBuffer", "new SharedArrayBuffer(4)", "#<SharedArrayBuffer> could not be cloned"),
        RefusedCase(
            "view of a SharedArrayBuffer", "new Uint8Array(new SharedArrayBuffer(4))",
            "#<SharedArrayBuffer> could not be cloned"),
        RefusedCase("conn", "conn", "#<Socket> could not be cloned"),
        RefusedCase("conn deep inside", "{ list: [1, { conn }] }", "#<Socket> could not be cloned"),
        RefusedCase("ctx", "ctx", "ctx could not be cloned"),
        RefusedCase("ctx.shared", "ctx.shared", "ctx.shared could not be cloned"),
        RefusedCase("ctx.signal", "ctx.signal", "#<AbortSignal> could not be cloned"),
        RefusedCase("AbortController", "new AbortController()", "#<AbortController> could not be cloned"),
        RefusedCase(
            "a timer", "(() => { const t = setTimeout(() => {}, 1000); clearTimeout(t); return t; })()",
            "#<Timeout> could not be cloned"),
        RefusedCase("an EventTarget", "new EventTarget()", "#<EventTarget> could not be cloned"),
        RefusedCase("TextEncoder", "new TextEncoder()", "#<TextEncoder> could not be cloned"),
    ]

    /// Runs `body` inside `handle(conn, ctx)` of a handler with a store, returning what it printed and the faults.
    static func run(_ body: String, heapLimit: Int = 16 << 20, store: InProcessSharedStore? = nil) throws -> (
        output: [String], errors: [String]
    ) {
        let fixture = try HandlerFixture([
            "t.tcp.7000.port.js": "export async function handle(conn, ctx) {\n\(body)\n}\n"
        ])
        let runtime = try fixture.runtime(
            "t.tcp.7000.port.js", heapLimit: heapLimit, budget: 5000,
            store: store ?? InProcessSharedStore(maxBytes: 64 << 20) {})
        defer { runtime.unload() }
        _ = runtime.acceptConnection(1, peer)
        return (fixture.host.output, fixture.host.errors)
    }

    @Test(arguments: cases, CloneRoute.allCases)
    func valuesAreCopied(_ clone: CloneCase, route: CloneRoute) throws {
        let (output, errors) = try Self.run(
            """
            const o = (\(clone.make));
            \(route.copy)
            let verdict;
            try { verdict = ((o, c) => { \(clone.check) })(o, c); } catch (error) { verdict = `check threw ${error}`; }
            console.log(verdict === true ? 'ok' : `wrong: ${verdict}`);
            """)
        #expect(errors == [])
        #expect(output == ["ok"])
    }

    @Test(arguments: refused)
    func refusedKindsThrowDataCloneError(_ refused: RefusedCase) throws {
        let (output, errors) = try Self.run(
            """
            const describe = (error) => [error?.name, error?.code, error instanceof DOMException,
              error instanceof Error, error?.message].join('|');
            const value = (\(refused.make));
            try { structuredClone(value); console.log('cloned'); } catch (error) { console.log(describe(error)); }
            await ctx.shared.set('key', 'before');
            await ctx.shared.set('key', value).then(
              () => console.log('stored'), (error) => console.log(describe(error)));
            console.log(await ctx.shared.get('key'));
            ctx.shared.subscribe('channel', () => console.log('delivered'));
            try {
              ctx.shared.publish('channel', value);
              console.log('published');
            } catch (error) {
              console.log(describe(error));
            }
            """)
        let expected = "DataCloneError|25|true|true|\(refused.message)"
        #expect(errors == [])
        #expect(output == [expected, expected, "before", expected])
    }

    @Test func dataCloneErrorIsADOMException() throws {
        let (output, _) = try Self.run(
            """
            try { structuredClone(() => {}); } catch (error) {
              console.log(Object.getPrototypeOf(error) === DOMException.prototype,
                error.code === DOMException.DATA_CLONE_ERR, typeof error.stack);
            }
            """)
        #expect(output == ["true true string"])
    }

    @Test func structuredCloneArguments() throws {
        let (output, errors) = try Self.run(
            """
            const show = (fn) => {
              try { return String(fn()); } catch (error) { return `${error.name} ${error.code}`; }
            };
            console.log(show(() => structuredClone()));
            console.log(show(() => structuredClone(undefined)), show(() => structuredClone(1, null)),
              show(() => structuredClone(2, {})), show(() => structuredClone(3, { transfer: [] })));
            console.log(show(() => structuredClone(1, 5)), show(() => structuredClone(1, { transfer: 5 })),
              show(() => structuredClone(1, { transfer: [{}] })));
            const buffer = new Uint8Array([1, 2, 3]).buffer;
            console.log(show(() => structuredClone(1, { transfer: [buffer, buffer] })));
            const moved = structuredClone({ view: new Uint8Array(buffer) }, { transfer: [buffer] });
            console.log(moved.view.join(), buffer.byteLength, moved.view.buffer !== buffer);
            console.log(show(() => structuredClone(buffer)), show(() => structuredClone(1, { transfer: [buffer] })));
            console.log(structuredClone.name, structuredClone.length, typeof globalThis.structuredClone);
            """)
        #expect(errors == [])
        #expect(
            output == [
                "TypeError ERR_MISSING_ARGS",
                "undefined 1 2 3",
                "TypeError ERR_INVALID_ARG_TYPE TypeError undefined DataCloneError 25",
                "DataCloneError 25",
                "1,2,3 0 true",
                "DataCloneError 25 DataCloneError 25",
                "structuredClone 1 function",
            ])
    }

    @Test func gettersThatThrowPropagate() throws {
        let (output, errors) = try Self.run(
            """
            const value = { get bad() { throw new RangeError('from a getter'); } };
            try { structuredClone(value); } catch (error) { console.log(error.name, error.message); }
            await ctx.shared.set('k', value).catch((error) => console.log('rejected', error.name));
            try { ctx.shared.publish('c', value); } catch (error) { console.log('threw', error.name); }
            """)
        #expect(errors == [])
        #expect(output == ["RangeError from a getter", "rejected RangeError", "threw RangeError"])
    }

    /// Getters run during the walk may clone, or change the value being walked: the keys were listed before (a
    /// property deleted meanwhile is written as undefined, one added is not written).
    @Test func gettersMayCloneAndMutate() throws {
        let (output, errors) = try Self.run(
            """
            const shared = { n: 1 };
            const value = {
              a: shared,
              get inner() { return structuredClone({ deep: { shared: shared } }); },
              get removes() {
                delete this.later;
                this.added = 1;
                for (let i = 0; i < 100; i++) this.list.push({});
                return 2;
              },
              later: 'gone',
              list: [],
              b: shared,
            };
            const copy = structuredClone(value);
            console.log(copy.a === copy.b, copy.inner.deep.shared !== copy.a, copy.inner.deep.shared.n, copy.removes,
              copy.later, 'added' in copy, copy.list.length);
            """)
        #expect(errors == [])
        #expect(output == ["true true 1 2 undefined false 100"])
    }

    /// Nesting deeper than the stack allows is a RangeError, never a crash; shallower nesting works.
    @Test func deepNestingIsAnErrorNotACrash() throws {
        let (output, errors) = try Self.run(
            """
            let object = {};
            for (let i = 0; i < 500; i++) object = { object };
            console.log(structuredClone(object).object.object !== undefined);
            let array = [];
            for (let i = 0; i < 100000; i++) array = [array];
            try {
              structuredClone(array);
              console.log('cloned');
            } catch (error) {
              console.log(error.name, error.message);
            }
            await ctx.shared.set('deep', array).catch((error) => console.log('rejected', error.name));
            let map = new Map();
            for (let i = 0; i < 100000; i++) map = new Map([[1, map]]);
            try { structuredClone(map); } catch (error) { console.log(error.name); }
            try { await ctx.shared.get('deepBytes'); } catch (error) { console.log('decoding', error.name); }
            try { await ctx.shared.get('deepViews'); } catch (error) { console.log('decoding views', error.name); }
            """, heapLimit: 256 << 20, store: Self.storeWithDeepValue())
        #expect(errors == [])
        #expect(
            output == [
                "true", "RangeError The value is nested too deeply to be cloned", "rejected RangeError", "RangeError",
                "decoding RangeError", "decoding views RangeError",
            ])
    }

    /// A store holding, at "deepBytes", arrays nested 200,000 deep (more than any encoder here writes), and at
    /// "deepViews", corrupt bytes nesting views in views.
    static func storeWithDeepValue() throws -> InProcessSharedStore {
        let store = InProcessSharedStore(maxBytes: 64 << 20) {}
        var bytes = CloneFormat.header
        for _ in 0..<200_000 { bytes += [0x11, 0x01, 0x01, 0x09, 0x01, 0x30] }
        bytes.append(0x00)
        try store.set("deepBytes", bytes)
        try store.set(
            "deepViews", CloneFormat.header + [UInt8](repeating: 0x17, count: 100_000).flatMap { [$0, 0x02] })
        return store
    }

    /// Bytes from another process or from Redis may be anything: decoding them throws, it never crashes.
    @Test func corruptBytesThrow() throws {
        let store = InProcessSharedStore(maxBytes: 1 << 20) {}
        let header = CloneFormat.header
        let corrupt: [[UInt8]] = [
            [], [1, 2, 3], [0x42, 0x53, 0x43, 0x02, 0x00], header, header + [0x00, 0x00], header + [0x7F],
            header + [0x07, 0x05, 0x41], header + [0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], header + [0x08, 0x00],
            header + [0x10, 0x01, 0x09, 0x01, 0x61], header + [0x10, 0x01, 0x04, 0x02, 0x00],
            header + [0x11, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00], header + [0x17, 0x63, 0x16, 0x00, 0x00, 0x00],
            header + [0x17, 0x02, 0x10, 0x00, 0x00, 0x00], header + [0x17, 0x02, 0x08, 0x00, 0x00, 0x00],
            header + [0x17, 0x02, 0x16, 0x02, 0x01, 0x02, 0x00, 0x05],
            header + [0x17, 0x09, 0x16, 0x03, 1, 2, 3, 0, 1],
            header + [0x06, 0x02, 0x01, 0x01], header + [0x13, 0x09, 0x01, 0x28, 0x09, 0x00],
            header + [0x13, 0x09, 0x01, 0x61, 0x09, 0x01, 0x51], header + [0x19, 0x02], header + [0x1C, 0x04, 0x02],
            header + [0x18, 0x04, 0x02, 0x00, 0x00], header + [0x14, 0x01, 0x08, 0x05, 0x00],
            header + [0x12], header + [0x15, 0x02, 0x00],
        ]
        for (index, bytes) in corrupt.enumerated() { try store.set("bad\(index)", bytes) }
        let (output, errors) = try Self.run(
            """
            const seen = [];
            for (let index = 0; index < \(corrupt.count); index++) {
              try { await ctx.shared.get(`bad${index}`); seen.push(`${index} decoded`); }
              catch (error) { seen.push(error.name); }
            }
            console.log(seen.join());
            """, store: store)
        #expect(errors == [])
        let names = output.first?.split(separator: ",").map(String.init) ?? []
        #expect(names.count == corrupt.count)
        for (index, name) in names.enumerated() {
            #expect(["DataCloneError", "RangeError", "SyntaxError"].contains(name), "case \(index): \(name)")
        }
    }

    /// What a handler stores or receives is its own: mutating it changes nothing anywhere else.
    @Test func copiesAreIsolated() throws {
        let (output, errors) = try Self.run(
            """
            const value = { list: [1], bytes: new Uint8Array([1]), map: new Map([['k', { n: 1 }]]) };
            await ctx.shared.set('v', value);
            value.list.push(2); value.bytes[0] = 9; value.map.get('k').n = 2; value.added = true;
            const first = await ctx.shared.get('v');
            first.list.push(3); first.bytes[0] = 7; first.map.get('k').n = 3;
            const second = await ctx.shared.get('v');
            console.log(JSON.stringify(second.list), second.bytes[0], second.map.get('k').n, 'added' in second,
              first !== second, first.list !== second.list);
            const copy = structuredClone(value);
            copy.list.push(4);
            console.log(value.list.length, copy.list.length);
            """)
        #expect(errors == [])
        #expect(output == ["[1] 1 1 false true true", "2 3"])
    }
}
