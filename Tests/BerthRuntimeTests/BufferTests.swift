import Testing

/// Buffer, checked against Node 20: every expression must show the same value, or throw the same code and class.
@Suite(.timeLimit(.minutes(2)))
struct BufferTests {
    @Test func fromStringsInEveryEncoding() throws {
        try NodeComparison.expectSame(expressions: [
            "Buffer.from('héllo wörld €😀')",
            "Buffer.from('a\\ud800b')",
            "Buffer.from('68656c6c6f', 'hex')",
            "Buffer.from('6865zz6c', 'hex')",
            "Buffer.from('abc', 'hex')",
            "Buffer.from('aGVsbG8gd29ybGQ=', 'base64')",
            "Buffer.from('aGVsbG8gd29ybGQ', 'base64')",
            "Buffer.from('ab$c d\\nZm9v==x', 'base64')",
            "Buffer.from('_-8', 'base64url')",
            "Buffer.from('Zm9-_w', 'base64')",
            "Buffer.from('héllo', 'latin1')",
            "Buffer.from('héllo', 'binary')",
            "Buffer.from('héllo\\u0100', 'ascii')",
            "Buffer.from('hi€', 'utf16le')",
            "Buffer.from('hi', 'UTF-8')",
            "Buffer.from('x', 'bogus')",
            "Buffer.from('')",
        ])
    }

    @Test func fromArraysBuffersAndViews() throws {
        try NodeComparison.expectSame(expressions: [
            "Buffer.from([1, 2, 255, 256, -1, 3.7, '4'])",
            "Buffer.from(new Uint16Array([1, 256, 65535]))",
            "Buffer.from(new Uint8Array([7, 8]))",
            "(() => { const ab = new ArrayBuffer(8); new Uint8Array(ab).set([1, 2, 3, 4, 5, 6, 7, 8]); return Buffer.from(ab, 2, 3); })()",
            "(() => { const ab = new ArrayBuffer(8); const view = Buffer.from(ab, 4); new Uint8Array(ab)[4] = 9; return view; })()",
            "Buffer.from(new ArrayBuffer(4), 5)",
            "Buffer.from(new ArrayBuffer(4), 1, 4)",
            "(() => { const a = Buffer.from('abc'); const b = Buffer.from(a); a[0] = 0; return [a.toString('hex'), b.toString('hex')]; })()",
            "Buffer.from({ type: 'Buffer', data: [1, 2] })",
            "Buffer.from(new String('str'))",
            "Buffer.from(5)",
            "Buffer.from(null)",
            "Buffer.of(1, 2, 3)",
        ])
    }

    @Test func allocConcatByteLengthIsBufferCompare() throws {
        try NodeComparison.expectSame(expressions: [
            "Buffer.alloc(5)",
            "Buffer.alloc(5, 'ab')",
            "Buffer.alloc(5, 0x41)",
            "Buffer.alloc(4, 'aGk=', 'base64')",
            "Buffer.alloc(3, Buffer.from([1, 2]))",
            "Buffer.alloc(-1)",
            "Buffer.alloc('3')",
            "Buffer.allocUnsafe(3).length",
            "Buffer.allocUnsafeSlow(2).length",
            "Buffer.concat([Buffer.from('ab'), new Uint8Array([99]), Buffer.from('de')])",
            "Buffer.concat([Buffer.from('abc'), Buffer.from('def')], 4)",
            "Buffer.concat([Buffer.from('ab')], 5)",
            "Buffer.concat([])",
            "Buffer.concat(['x'])",
            "Buffer.concat('x')",
            "Buffer.byteLength('héllo €😀')",
            "Buffer.byteLength('a\\ud800')",
            "Buffer.byteLength('aGVsbG8=', 'base64')",
            "Buffer.byteLength('abcd', 'hex')",
            "Buffer.byteLength('abc', 'latin1')",
            "Buffer.byteLength('ab', 'utf16le')",
            "Buffer.byteLength(new ArrayBuffer(7))",
            "Buffer.byteLength(new Uint16Array(3))",
            "Buffer.byteLength(5)",
            "[Buffer.isBuffer(Buffer.alloc(1)), Buffer.isBuffer(new Uint8Array(1)), Buffer.isBuffer('x')]",
            "[Buffer.compare(Buffer.from('a'), Buffer.from('b')), Buffer.compare(Buffer.from('b'), Buffer.from('a')), Buffer.compare(Buffer.from('ab'), Buffer.from('a')), Buffer.compare(Buffer.from('a'), Buffer.from('a'))]",
            "Buffer.compare('a', Buffer.from('a'))",
            "[Buffer.alloc(1) instanceof Uint8Array, Buffer.from('x').constructor === Buffer, Buffer.from('x') instanceof Buffer]",
            "[Buffer.isEncoding('UTF-8'), Buffer.isEncoding('latin1'), Buffer.isEncoding('nope'), Buffer.isEncoding('')]",
            "Buffer.from('héllo').length",
        ])
    }

    @Test func toStringWriteAndViews() throws {
        try NodeComparison.expectSame(expressions: [
            "Buffer.from('héllo wörld').toString()",
            "Buffer.from('héllo wörld').toString('utf8', 1, 5)",
            "Buffer.from('héllo').toString('hex')",
            "Buffer.from('héllo').toString('base64')",
            "Buffer.from([0xfb, 0xff]).toString('base64url')",
            "Buffer.from([0xfb, 0xff, 0xfe, 0x01]).toString('base64')",
            "Buffer.from('héllo').toString('latin1')",
            "Buffer.from('héllo').toString('binary')",
            "Buffer.from([0xe9, 0x41, 0xff]).toString('ascii')",
            "Buffer.from('hi€').toString('utf16le')",
            "Buffer.from('abc').toString('utf8', -1, 100)",
            "Buffer.from('abc').toString('utf8', 2, 1)",
            "Buffer.from([0xf0, 0x9f, 0x98]).toString()",
            "Buffer.from([0xed, 0xa0, 0x80, 0x41]).toString()",
            "Buffer.from([0xc0, 0x80, 0xff, 0x61]).toString()",
            "Buffer.from([0xf0, 0x9f, 0x98, 0x80]).toString()",
            "Buffer.from('x').toString('bogus')",
            "(() => { const b = Buffer.alloc(6); const n = b.write('héllo'); return [n, b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(4); const n = b.write('a€', 1); return [n, b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(4); const n = b.write('€€', 0, 4); return [n, b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(4); const n = b.write('6162', 'hex'); return [n, b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(4); const n = b.write('6162', 1, 'hex'); return [n, b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(4); const n = b.write('YWJj', 0, 2, 'base64'); return [n, b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(4); const n = b.write('\\u00e9\\u00ff', 'latin1'); return [n, b.toString('hex')]; })()",
            "Buffer.alloc(2).write('abc', 3)",
            "Buffer.alloc(2).write(5)",
            "(() => { const b = Buffer.from('hello'); const s = b.slice(1, 3); s[0] = 0x45; return [b.toString(), s.toString(), Buffer.isBuffer(s)]; })()",
            "(() => { const b = Buffer.from('hello'); const s = b.subarray(-3); s[0] = 0x4c; return [b.toString(), s.toString(), Buffer.isBuffer(s)]; })()",
            "Buffer.from('hello').subarray(3, 1).length",
            "Buffer.from('hello').slice(-2, -1).toString()",
            "(() => { const b = Buffer.alloc(5); return b.subarray(1, 4).byteOffset - b.byteOffset; })()",
            "Buffer.from([1, 2, 3]).map((x) => x * 2)",
            "Buffer.from('hi').toJSON()",
            "JSON.stringify({ b: Buffer.from([1, 2]) })",
            "Buffer.from([1, 2, 3, 4]).swap16()",
            "Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).swap32()",
            "Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).swap64()",
            "Buffer.from([1, 2, 3]).swap16()",
        ])
    }

    @Test func equalsCompareIndexOfIncludesCopyFill() throws {
        try NodeComparison.expectSame(expressions: [
            "[Buffer.from('abc').equals(Buffer.from('abc')), Buffer.from('abc').equals(new Uint8Array([97, 98, 99])), Buffer.from('abc').equals(Buffer.from('abd'))]",
            "Buffer.from('abc').equals('abc')",
            "Buffer.from('abcd').compare(Buffer.from('bc'), 0, 2, 1, 3)",
            "[Buffer.from('b').compare(Buffer.from('a')), Buffer.from('a').compare(Buffer.from('b')), Buffer.from('a').compare(Buffer.from('a'))]",
            "Buffer.from('abc').compare(Buffer.from('abc'), 5)",
            "Buffer.from('abc').compare(Buffer.from('abc'), 1.5)",
            "Buffer.from('hello world').indexOf('o')",
            "Buffer.from('hello world').indexOf('o', 5)",
            "Buffer.from('hello world').indexOf('o', -4)",
            "Buffer.from('hello world').indexOf(Buffer.from('wor'))",
            "Buffer.from('hello world').indexOf(new Uint8Array([108, 100]))",
            "Buffer.from('hello world').indexOf(111)",
            "Buffer.from('hello world').indexOf(111 + 256)",
            "Buffer.from('hello world').indexOf('xyz')",
            "Buffer.from('hello world').indexOf('')",
            "Buffer.from('hello world').indexOf('', 20)",
            "Buffer.from('hello world').indexOf('', 3)",
            "Buffer.from('hello world').indexOf('6f', 0, 'hex')",
            "Buffer.from('hello world').indexOf('o', 'latin1')",
            "Buffer.from('hello world').indexOf('o', 100)",
            "Buffer.from('hello world').indexOf({})",
            "Buffer.from('hello world').lastIndexOf('o')",
            "Buffer.from('hello world').lastIndexOf('o', 5)",
            "Buffer.from('aaa').indexOf('aa', 1)",
            "[Buffer.from('hello world').includes('world'), Buffer.from('hello world').includes('World'), Buffer.from('hello world').includes(104, 1), Buffer.from('héllo').includes('é')]",
            "(() => { const a = Buffer.from('abcdef'); const b = Buffer.alloc(4); const n = a.copy(b, 1, 2, 5); return [n, b.toString('hex')]; })()",
            "(() => { const a = Buffer.from('abcdef'); const n = a.copy(a, 2, 0, 4); return [n, a.toString()]; })()",
            "(() => { const a = Buffer.from('abcdef'); const b = Buffer.alloc(3); const n = a.copy(b); return [n, b.toString()]; })()",
            "Buffer.from('ab').copy(Buffer.alloc(1), 5)",
            "Buffer.from('ab').copy('x')",
            "Buffer.alloc(5).fill('ab')",
            "Buffer.alloc(5).fill('€')",
            "Buffer.alloc(5).fill(0x141)",
            "Buffer.alloc(5).fill('a', 1, 3)",
            "Buffer.alloc(4).fill('6162', 'hex')",
            "Buffer.alloc(4).fill(Buffer.from([1, 2, 3]))",
            "Buffer.alloc(3).fill('')",
            "Buffer.alloc(3).fill(1, 4)",
        ])
    }

    @Test func readingAndWritingNumbers() throws {
        try NodeComparison.expectSame(expressions: [
            "(() => { const b = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xfe, 0x80, 0x7f]); return [b.readUInt8(0), b.readInt8(8), b.readUInt16LE(0), b.readUInt16BE(0), b.readInt16LE(8), b.readInt16BE(8), b.readUInt32LE(0), b.readUInt32BE(0), b.readInt32LE(8), b.readInt32BE(8), b.readUint32LE(4), b.readUint16BE(10), b.readUInt8()]; })()",
            "(() => { const b = Buffer.alloc(12); return [b.writeUInt8(255, 0), b.writeInt8(-2, 1), b.writeUInt16LE(0xbeef, 2), b.writeUInt16BE(0xbeef, 4), b.writeInt16LE(-2, 6), b.writeInt16BE(-300, 8), b.writeUint8(7, 10), b.toString('hex')]; })()",
            "(() => { const b = Buffer.alloc(16); b.writeUInt32LE(0xdeadbeef, 0); b.writeUInt32BE(0xdeadbeef, 4); b.writeInt32LE(-123456, 8); b.writeInt32BE(-123456, 12); return b.toString('hex'); })()",
            "Buffer.alloc(2).readUInt16LE(1)",
            "Buffer.alloc(1).readUInt16LE(0)",
            "Buffer.alloc(2).readUInt8(0.5)",
            "Buffer.alloc(2).readUInt8('0')",
            "Buffer.alloc(2).readInt32BE(-1)",
            "Buffer.alloc(2).writeUInt8(256)",
            "Buffer.alloc(2).writeUInt8('1')",
            "Buffer.alloc(4).writeInt32LE(2 ** 31)",
            "Buffer.alloc(2).writeInt8(-129, 0)",
            "Buffer.alloc(4).writeUInt32BE(-1)",
            "(() => { const b = Buffer.alloc(32); b.writeBigUInt64LE(0x0102030405060708n, 0); b.writeBigUInt64BE(0xfffffffffffffffen, 8); b.writeBigInt64LE(-2n, 16); b.writeBigInt64BE(-(2n ** 63n), 24); return [b.toString('hex'), b.readBigUInt64LE(0), b.readBigUInt64BE(8), b.readBigInt64LE(16), b.readBigInt64BE(24), b.readBigUint64LE(0), b.readBigInt64BE(8)]; })()",
            "Buffer.alloc(8).writeBigInt64LE(2n ** 63n)",
            "Buffer.alloc(8).writeBigUInt64LE(-1n)",
            "Buffer.alloc(8).writeBigUInt64LE(1)",
            "Buffer.alloc(4).readBigInt64LE(0)",
            "(() => { const b = Buffer.alloc(24); b.writeFloatLE(1.5, 0); b.writeFloatBE(-0.25, 4); b.writeDoubleLE(Math.PI, 8); b.writeDoubleBE(-1e300, 16); return [b.toString('hex'), b.readFloatLE(0), b.readFloatBE(4), b.readDoubleLE(8), b.readDoubleBE(16)]; })()",
            "Buffer.from([0, 0, 0xc0, 0x7f]).readFloatLE(0)",
            "(() => { const b = Buffer.alloc(4); b.writeFloatBE(3.4e39); return [b.toString('hex'), b.readFloatBE()]; })()",
            "(() => { const b = Buffer.alloc(8); return [b.writeDoubleLE(0.1), b.readDoubleLE(0)]; })()",
            "Buffer.alloc(4).writeFloatLE('1')",
            "(() => { const b = Buffer.from([1, 2, 3, 4, 5, 0xf6]); return [b.readUIntLE(0, 6), b.readUIntBE(1, 3), b.readIntBE(3, 3), b.readIntLE(3, 3), b.readUIntBE(0, 1)]; })()",
            "(() => { const b = Buffer.alloc(6); b.writeUIntBE(0x123456, 0, 3); b.writeIntLE(-2, 3, 3); return b.toString('hex'); })()",
            "Buffer.alloc(6).readUIntLE(0, 7)",
        ])
    }

    /// UTF-16 needles match only whole two-byte units at even offsets: 'b' is 62 00, which [00 62 00] holds at 1.
    @Test func utf16SearchesMatchOnlyAtEvenOffsets() throws {
        try NodeComparison.expectSame(expressions: [
            "Buffer.from([0, 0x62, 0]).indexOf('b', 'ucs2')",
            "Buffer.from([0, 0x62, 0]).lastIndexOf('b', 'ucs2')",
            "Buffer.from([0x61, 0x62, 0, 0x63, 0]).includes('b', 'utf16le')",
            "Buffer.from([0x61, 0x62, 0, 0x62, 0]).indexOf('b', 'ucs2')",
            "Buffer.from([0x61, 0x62, 0, 0x62, 0]).lastIndexOf('b', 'ucs2')",
            "Buffer.from('ff').indexOf(Buffer.from('f'), 1, 'ucs2')",
            "Buffer.from([0, 0x62, 0, 0]).indexOf(Buffer.from([0x62, 0]), 0, 'ucs2')",
            "Buffer.from([0, 0x62, 0, 0x62, 0, 0]).indexOf(Buffer.from([0x62, 0, 7]), 0, 'ucs2')",
            "Buffer.from('aaaaa').indexOf('b', 'ucs2')",
            "Buffer.from('aaaa').indexOf('aaaa', 'ucs2')",
            "Buffer.from('\\u039a\\u0391abc\\u03a3', 'ucs2').indexOf('bc', 0, 'ucs2')",
            "Buffer.from('abcabc', 'ucs2').lastIndexOf('b', 7, 'ucs2')",
            "Buffer.from('abcabc', 'ucs2').indexOf('b', 3, 'ucs2')",
            "Buffer.from('abcabc', 'ucs2').indexOf('', 3, 'ucs2')",
        ])
    }

    /// The offset is converted with unary plus: null and [] are 0, so lastIndexOf searches only from the start.
    @Test func searchOffsetsConvertAsNodeDoes() throws {
        try NodeComparison.expectSame(expressions: [
            "Buffer.from('abcdef').lastIndexOf('b', null)",
            "Buffer.from('abcdef').lastIndexOf('b', [])",
            "Buffer.from('abcdef').lastIndexOf('b', {})",
            "Buffer.from('abcdef').lastIndexOf(0x62, null)",
            "Buffer.from('abcdef').lastIndexOf(Buffer.from('a'), null)",
            "Buffer.from('abcdef').indexOf('b', null)",
            "Buffer.from('abcdef').indexOf('b', [2])",
            "Buffer.from('abcdef').lastIndexOf('b', '1')",
            "Buffer.from('abcdef').indexOf('c', 1.9)",
            "Buffer.from('abcdef').lastIndexOf('', 100)",
            "Buffer.from('abcdef').lastIndexOf('a', -7)",
            "Buffer.from('abcdef').indexOf('a', -(2 ** 40))",
            "Buffer.from('abcdef').lastIndexOf('f', 2 ** 40)",
            "Buffer.from('abc').lastIndexOf('abcd')",
        ])
    }

    /// toString and indexOf take only a missing encoding for UTF-8; from, write and fill take null (and more).
    @Test func encodingArgumentsAsEachMethodTakesThem() throws {
        try NodeComparison.expectSame(messages: [
            "Buffer.from('ab').toString(null)",
            "Buffer.from('ab').toString('')",
            "Buffer.from('ab').toString(null, 0, 0)",
            "Buffer.from('ab').toString({})",
            "Buffer.from('ab').toString(undefined, 1)",
            "Buffer.from('ab').indexOf('b', 0, null)",
            "Buffer.from('ab').indexOf(Buffer.from('b'), 0, null)",
            "Buffer.from('ab').indexOf(Buffer.from('b'), 0, 'bogus')",
            "Buffer.from('6162', null)",
            "Buffer.from('6162', 5)",
            "Buffer.from('6162', '')",
            "Buffer.alloc(2).fill('6162', 0, 2, null)",
            "Buffer.alloc(2).fill('6162', 0, 2, 5)",
            "Buffer.alloc(2).fill('6162', 0, 2, 'bogus')",
            "Buffer.alloc(2, 'ab', true)",
            "(() => { const b = Buffer.alloc(2); b.write('6162', 0, 2, null); return b; })()",
            "(() => { const b = Buffer.alloc(2); b.write('6162', 0, 2, ''); return b; })()",
            "(() => { const b = Buffer.alloc(2); b.write('6162', 0, 2, 5); return b; })()",
            "Buffer.byteLength('6162', null)",
            "Buffer.byteLength('6162', 5)",
        ])
    }

    /// Variable-width readers and writers have no default offset; byteLength is checked as Node checks it.
    @Test func variableWidthIntegersNeedAnOffset() throws {
        try NodeComparison.expectSame(messages: [
            "Buffer.alloc(8).readIntBE(undefined, 2)",
            "Buffer.alloc(8).readIntLE()",
            "Buffer.alloc(8).readUIntBE(undefined, 6)",
            "Buffer.alloc(8).readUIntLE(0)",
            "Buffer.alloc(8).writeIntBE(1, undefined, 2)",
            "Buffer.alloc(8).writeIntLE(1, undefined, 1)",
            "Buffer.alloc(8).writeUIntBE(1, undefined, 6)",
            "Buffer.alloc(8).writeUIntLE(1)",
            "Buffer.alloc(8).readIntBE(0, 1.5)",
            "Buffer.alloc(8).readIntBE(0, NaN)",
            "Buffer.alloc(8).readIntBE(0, Infinity)",
            "Buffer.alloc(8).readIntBE(0, '2')",
            "Buffer.alloc(8).writeUIntLE(1, 0, 0)",
            "Buffer.alloc(8).writeUIntLE(1, 0, 6.5)",
            "Buffer.alloc(8).writeIntBE(1, 0, null)",
        ])
    }

    /// fill checks as Node's _fill does: the encoding first (even for an empty range), then integer offsets in
    /// range, then the real byte length; an empty range returns before the value is encoded.
    @Test func fillChecksAsNodeDoes() throws {
        try NodeComparison.expectSame(messages: [
            "Buffer.alloc(4).fill('a', 0, 0, NaN)",
            "Buffer.alloc(4).fill('a', 0, 0, false)",
            "Buffer.alloc(4).fill('a', 0, 0, 'foo')",
            "Buffer.alloc(4).fill('zz', 1, 1, 'hex')",
            "Buffer.alloc(4).fill('zz', 'hex')",
            "Buffer.alloc(4).fill(1, 'x')",
            "Buffer.alloc(4).fill('a', 1.5)",
            "Buffer.alloc(4).fill('a', 0, 2.5)",
            "Buffer.alloc(4).fill('a', 0, 5)",
            "Buffer.alloc(4).fill('a', -1)",
            "Buffer.alloc(4).fill(1, 0, { [Symbol.toPrimitive]() { return 1; } })",
            "(() => { const b = Buffer.from('w00t'); Object.defineProperty(b, 'length', { value: 1337 }); return b.fill(''); })()",
            "Buffer.alloc(4).fill('\\u0409', 'latin1')",
            "Buffer.alloc(4).fill('\\u0409')",
            "Buffer.alloc(4).fill(true, 1)",
            "Buffer.alloc(4).fill({ valueOf() { return 258; } })",
            "Buffer.alloc(5).fill(new Uint16Array([0x102]))",
            "Buffer.alloc(4).fill(Buffer.alloc(0))",
            "Buffer.alloc(4, 'zz', 'hex')",
            "Buffer.alloc(3, 'abcd', 'base64')",
        ])
    }

    /// Buffer.from refuses what Node refuses, with Node's message: valueOf is followed only to a string or object.
    @Test func fromRefusesWithNodesMessage() throws {
        try NodeComparison.expectSame(messages: [
            "Buffer.from({})",
            "Buffer.from(new Boolean(true))",
            "Buffer.from(new Number(1), 'hex')",
            "Buffer.from({ valueOf() { return null; } })",
            "Buffer.from({ valueOf: null })",
            "Buffer.from(Object.create(null))",
            "Buffer.from({ [Symbol.toPrimitive]() { return 1; } })",
            "Buffer.from(Symbol('s'))",
            "Buffer.from(5n)",
            "Buffer.from((one, two) => {})",
            "Buffer.from(undefined)",
            "Buffer.from(new String('str'))",
            "Buffer.from({ valueOf() { return 'ab'; } }, 'hex')",
            "Buffer.from({ valueOf() { return [1, 2]; } })",
        ])
    }

    /// write and concat check offsets and lengths as Node's validateOffset does; array-likes are taken as Node's
    /// fromObject takes them; parent and offset are there.
    @Test func writeConcatAndArrayLikesAsNode() throws {
        try NodeComparison.expectSame(messages: [
            "Buffer.alloc(4).write('ab', 1.5)",
            "Buffer.alloc(4).write('ab', 0, 1.5)",
            "Buffer.alloc(4).write(5)",
            "Buffer.alloc(4).write(5, -1)",
            "Buffer.alloc(4).write(5, 'hex')",
            "Buffer.concat([Buffer.from('ab')], 1.5)",
            "Buffer.concat([Buffer.from('ab')], -1)",
            "Buffer.concat([Buffer.from('ab'), 'x'], 1)",
            "Buffer.concat([Buffer.from('ab'), Buffer.from('cd')], 3)",
            "Buffer.from({ length: 'x' })",
            "Buffer.from({ buffer: new ArrayBuffer(2) })",
            "Buffer.from(new DataView(new ArrayBuffer(2)))",
            "Buffer.from({ length: 2, 0: 'a', 1: '7' })",
            "Buffer.from(new Float64Array([1.5, 300]))",
            "Buffer.alloc(128).offset",
            "Buffer.alloc(5).parent instanceof ArrayBuffer",
            "Object.keys(Buffer.alloc(2))",
        ])
        try NodeComparison.expectSame(expressions: ["Buffer.from(new BigInt64Array([1n]))"])
    }

    /// Each `Uint` spelling is the very function of its `UInt` name, as in Node.
    @Test func uintAliasesAreTheSameFunctions() throws {
        try NodeComparison.expectSame(expressions: [
            """
            ['UInt8', 'UInt16LE', 'UInt16BE', 'UInt32LE', 'UInt32BE', 'UIntLE', 'UIntBE', 'BigUInt64LE', 'BigUInt64BE']
              .flatMap((name) => ['read', 'write'].map((verb) => Buffer.prototype[verb + name] ===
                Buffer.prototype[verb + name.replace('UInt', 'Uint')]))
            """
        ])
    }

    /// Node's RangeError messages: bounds for up to 4 bytes, powers of two above; an integer before a range.
    @Test func rangeErrorsWordedAsNode() throws {
        try NodeComparison.expectSame(messages: [
            "Buffer.alloc(4).writeInt8(200)",
            "Buffer.alloc(4).writeInt8(-129)",
            "Buffer.alloc(4).writeUInt8(256)",
            "Buffer.alloc(4).writeInt16LE(-40000)",
            "Buffer.alloc(4).writeUInt16BE(65536)",
            "Buffer.alloc(4).writeInt32BE(2 ** 31)",
            "Buffer.alloc(4).writeUInt32LE(2 ** 60)",
            "Buffer.alloc(4).writeUInt32LE(Infinity)",
            "Buffer.alloc(8).writeIntBE(128, 0, 1)",
            "Buffer.alloc(8).writeIntLE(-8388609, 0, 3)",
            "Buffer.alloc(8).writeUIntBE(2 ** 32, 0, 4)",
            "Buffer.alloc(8).writeIntLE(2 ** 40, 0, 5)",
            "Buffer.alloc(8).writeUIntBE(-1, 0, 6)",
            "Buffer.alloc(8).writeUIntBE(2 ** 48, 0, 6)",
            "Buffer.alloc(4).writeInt8(1.5)",
            "Buffer.alloc(4).writeInt8(NaN)",
            "Buffer.alloc(4).readInt32LE(1.5)",
            "Buffer.alloc(4).readInt8(NaN)",
            "Buffer.alloc(4).readUInt16BE(Infinity)",
            "Buffer.alloc(4).readUInt16BE(-Infinity)",
            "Buffer.alloc(4).readUInt16BE(3)",
            "Buffer.alloc(4).writeInt8(1, NaN)",
            "Buffer.alloc(4).writeInt8(1, Infinity)",
            "Buffer.alloc(4).readFloatLE(Infinity)",
            "Buffer.alloc(4).readDoubleLE(0)",
            "Buffer.alloc(8).readIntBE(Infinity, 2)",
            "Buffer.alloc(8).readIntBE(0.5, 2)",
            "Buffer.alloc(4).writeUInt16LE(1e6, 'x')",
            "Buffer.alloc(4).writeUInt8(1e6, 'x')",
            "Buffer.alloc(8).writeBigInt64LE(2n ** 63n, 'x')",
            "Buffer.alloc(8).writeBigUInt64BE(-1n)",
            "Buffer.alloc(8).readBigUInt64LE(0.5)",
            "Buffer.alloc(8).writeBigInt64BE(-5n)",
            "Buffer.from('a').indexOf(() => {})",
            "Buffer.from('a').indexOf(function named() {})",
        ])
    }
}
