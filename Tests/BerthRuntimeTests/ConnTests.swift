import Testing

import BerthJS
@testable import BerthRuntime

/// `conn`, the JavaScript half of a TCP connection, against a simulated native socket.
@Suite(.timeLimit(.minutes(2)))
struct ConnTests {
    @Test func propertiesAndEcho() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn, ctx) {
              conn.write(`hello from :${ctx.port}\\n`);
              conn.on('data', (chunk) => conn.write(chunk));
              console.log(conn.remoteAddress, conn.remotePort, conn.remoteFamily, conn.localAddress, conn.localPort,
                conn.readyState, conn.writableHighWaterMark, conn.destroyed, conn.readable, conn.writable,
                JSON.stringify(conn.address()), conn instanceof (globalThis.EventEmitterClass ?? Object));
              conn.setNoDelay(true).setKeepAlive(true, 30000);
              globalThis.conn = conn;
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(
            host.output == [
                #"192.0.2.7 50000 IPv4 192.0.2.1 7000 open 16384 false true true {"address":"192.0.2.1","family":"IPv4","port":7000} true"#
            ])
        #expect(runtime.deliver(1, "héllo") == .ok)
        #expect(host.text(1) == "hello from :7000\nhéllo")
        #expect(host.noDelay[1] == true)
        #expect(host.keepAlive[1]?.0 == true && host.keepAlive[1]?.1 == 30000)
    }

    /// write() returns false once more than 16 KiB wait, 'drain' follows when the host reports them written; what
    /// the host queued goes out unchanged after a garbage collection.
    @Test func backpressureAndDrainWithZeroCopyWrites() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', () => {
                const first = conn.write(Buffer.alloc(10000, 'a'));
                const second = conn.write('b'.repeat(10000), () => console.log('second written', conn.writableLength));
                console.log('writes', first, second, conn.writableLength, conn.writableNeedDrain, conn.bytesWritten);
              });
              conn.on('drain', () => console.log('drain', conn.writableLength));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.syncWriteLimit = 0
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, "go") == .ok)
        #expect(host.output == ["writes true false 20000 true 20000"])
        #expect(host.queuedCount(1) == 20000)
        runtime.context?.runtime.collectGarbage()
        #expect(host.flush(1, runtime, limit: 15000) == .ok)
        #expect(host.output.count == 1)
        #expect(host.flush(1, runtime) == .ok)
        #expect(host.output == ["writes true false 20000 true 20000", "second written 0", "drain 0"])
        #expect(
            host.sent[1] == Array(repeating: UInt8(ascii: "a"), count: 10000)
                + Array(repeating: UInt8(ascii: "b"), count: 10000))
    }

    /// The host keeps its own copy of what it could not send at once: transferring the chunk's ArrayBuffer away
    /// afterwards (structuredClone's transfer frees its memory) changes nothing that is sent.
    @Test func queuedBytesOutliveTheirArrayBuffer() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', () => {
                const chunk = new Uint8Array(100000).fill(0x61);
                conn.write(chunk, () => console.log('written'));
                structuredClone(undefined, { transfer: [chunk.buffer] });
                new Uint8Array(100000).fill(0x62);
                console.log('detached', chunk.length);
              });
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.syncWriteLimit = 1000
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, "go") == .ok)
        runtime.context?.runtime.collectGarbage()
        #expect(host.flush(1, runtime) == .ok)
        #expect(host.output == ["detached 0", "written"])
        #expect(host.sent[1] == Array(repeating: UInt8(ascii: "a"), count: 100000))
    }

    /// Bytes the host writes during the call count as written at once; callbacks and 'drain' still come later.
    @Test func synchronousWritesCompleteAsynchronously() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              const order = [];
              const result = conn.write(Buffer.alloc(20000), () => { order.push('callback'); });
              conn.on('drain', () => { order.push('drain'); console.log(order.join(), conn.writableLength); });
              order.push('returned ' + result + ' ' + conn.writableLength);
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(fixture.host.output == ["returned false 0,callback,drain 0"])
        #expect(fixture.host.sent[1]?.count == 20000)
    }

    /// The peer's FIN: 'end', then the connection ends its own side; 'close' comes once, last, when the host closes.
    @Test func endAfterThePeersEndThenCloseOnce() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', (chunk) => console.log('data', chunk.toString()));
              conn.on('end', () => { console.log('end', conn.readyState, conn.readable, conn.writable); conn.write('bye'); });
              conn.on('finish', () => console.log('finish'));
              conn.on('close', (hadError) => console.log('close', hadError, conn.readyState, conn.destroyed));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, "last words") == .ok)
        #expect(runtime.deliverEnd(1) == .ok)
        #expect(host.ended == [1])
        #expect(host.text(1) == "bye")
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(host.output == ["data last words", "end writeOnly false true", "finish", "close false closed true"])
    }

    @Test func errorBeforeCloseAndCloseOnce() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.write('pending', (error) => console.log('write callback', error?.code));
              conn.on('error', (error) => console.log('error', error.code, error.syscall, error.message));
              conn.on('close', (hadError) => console.log('close', hadError));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.syncWriteLimit = 0
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliverError(1, code: "ECONNRESET", message: "read ECONNRESET") == .ok)
        #expect(host.output == [])
        #expect(runtime.deliverClose(1, hadError: true) == .ok)
        #expect(runtime.deliverClose(1, hadError: true) == .ok)
        #expect(
            host.output == [
                "write callback ECONNRESET", "error ECONNRESET read read ECONNRESET", "close true",
            ])
    }

    @Test func destroyWithAnErrorEmitsErrorThenClose() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('error', (error) => console.log('error', error.message));
              conn.on('close', (hadError) => console.log('close', hadError));
              conn.on('data', () => conn.destroy(new Error('enough')));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, "x") == .ok)
        #expect(host.destroyed == [1])
        #expect(runtime.deliver(1, "ignored after destroy") == .ok)
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(host.output == ["error enough", "close true"])
    }

    /// setEncoding('utf8') yields strings; a character split across reads is decoded whole, and no empty string is
    /// emitted for a read that only starts one.
    @Test func setEncodingDecodesCharactersSplitAcrossReads() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.setEncoding('utf8');
              conn.on('data', (chunk) => console.log(typeof chunk, JSON.stringify(chunk)));
              conn.on('end', () => console.log('end'));
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        let bytes = Array("a€😀".utf8) + [0xE2]
        for slice in [bytes[0..<2], bytes[2..<4], bytes[4..<5], bytes[5..<6], bytes[6..<8], bytes[8..<9]] {
            #expect(runtime.deliver(1, Array(slice)) == .ok)
        }
        #expect(runtime.deliverEnd(1) == .ok)
        #expect(
            fixture.host.output == [
                #"string "a""#, #"string "€""#, #"string "😀""#, "string \"\u{FFFD}\"", "end",
            ])
    }

    @Test func writesAfterEndFail() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('error', (error) => console.log('error', error.code, error.message));
              conn.on('close', (hadError) => console.log('close', hadError));
              conn.end('done');
              const result = conn.write('late', (error) => console.log('callback', error.code));
              console.log('write returned', result, conn.writable, conn.writableEnded);
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(host.ended == [1])
        #expect(host.destroyed == [1])
        #expect(host.text(1) == "done")
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(
            host.output == [
                "write returned false false true", "callback ERR_STREAM_WRITE_AFTER_END",
                "error ERR_STREAM_WRITE_AFTER_END write after end", "close true",
            ])
    }

    @Test func endWithDataAndCallback() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.end('bye\\n', 'utf8', () => console.log('ended', conn.writableFinished));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        host.syncWriteLimit = 2
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(host.ended == [1])
        #expect(host.output == [])
        #expect(host.flush(1, runtime) == .ok)
        #expect(host.output == ["ended true"])
        #expect(host.text(1) == "bye\n")
    }

    /// pause() stops the host reading (TCP backpressure); data that still arrives waits and comes after resume().
    @Test func pauseAndResume() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', (chunk) => {
                console.log('data', chunk.toString(), conn.isPaused());
                if (chunk.toString() === 'one') { conn.pause(); setTimeout(() => conn.resume(), 10); }
              });
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, "one") == .ok)
        #expect(host.paused == [1])
        #expect(runtime.deliver(1, "two") == .ok)
        #expect(host.output == ["data one false"])
        host.advance(10, runtime)
        #expect(host.paused == [])
        #expect(host.output == ["data one false", "data two false"])
    }

    /// Without a 'data' listener nothing is lost: data waits (reading stops past 16 KiB) until a listener comes.
    @Test func dataWaitsForALateListener() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export async function handle(conn) {
              await new Promise((resolve) => setTimeout(resolve, 5));
              let total = 0;
              conn.on('data', (chunk) => { total += chunk.length; });
              conn.on('end', () => console.log('total', total, conn.bytesRead));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, [UInt8](repeating: 1, count: 10000)) == .ok)
        #expect(host.paused == [])
        #expect(runtime.deliver(1, [UInt8](repeating: 2, count: 10000)) == .ok)
        #expect(host.paused == [1])
        #expect(runtime.deliverEnd(1) == .ok)
        host.advance(5, runtime)
        #expect(host.output == ["total 20000 20000"])
    }

    /// setTimeout(ms) emits 'timeout' after ms without bytes either way; activity postpones it; 0 disables it.
    @Test func inactivityTimeout() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.setTimeout(1000, () => console.log('callback', conn.timeout));
              conn.on('timeout', () => console.log('timeout', conn.destroyed));
              conn.on('data', (chunk) => { if (chunk.toString() === 'off') conn.setTimeout(0); else conn.write('ok'); });
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, peer) == .ok)
        host.advance(600, runtime)
        #expect(runtime.deliver(1, "ping") == .ok)
        host.advance(900, runtime)
        #expect(host.output == [])
        host.advance(100, runtime)
        #expect(host.output == ["callback 1000", "timeout false"])
        host.advance(5000, runtime)
        #expect(host.output.count == 2)
        #expect(runtime.deliver(1, "again") == .ok)
        host.advance(1000, runtime)
        #expect(host.output == ["callback 1000", "timeout false", "timeout false"])
        #expect(runtime.deliver(1, "off") == .ok)
        host.advance(5000, runtime)
        #expect(host.output.count == 3)
        #expect(host.timers.isEmpty)
    }

    @Test func pipeAndAsyncIteration() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export async function handle(conn) {
              if (conn.remotePort === 1) { conn.pipe(conn); return; }
              const chunks = [];
              for await (const chunk of conn) chunks.push(chunk.toString());
              console.log('iterated', chunks.join('+'));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        var piped = peer
        piped.remotePort = 1
        #expect(runtime.acceptConnection(1, piped) == .ok)
        #expect(runtime.deliver(1, "echo") == .ok)
        #expect(runtime.deliverEnd(1) == .ok)
        #expect(host.text(1) == "echo")
        #expect(host.ended == [1])
        #expect(runtime.acceptConnection(2, peer) == .ok)
        #expect(runtime.deliver(2, "a") == .ok)
        #expect(runtime.deliver(2, "b") == .ok)
        #expect(runtime.deliverEnd(2) == .ok)
        #expect(host.output == ["iterated a+b"])
    }

    @Test func bytesReadAndWrittenAndReadyStates() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('data', (chunk) => {
                conn.write(chunk);
                console.log(conn.bytesRead, conn.bytesWritten, conn.readyState);
                if (chunk.toString() === 'half') { conn.end(); console.log(conn.readyState); }
              });
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.deliver(1, "abc") == .ok)
        #expect(runtime.deliver(1, "half") == .ok)
        #expect(fixture.host.output == ["3 3 open", "7 7 open", "readOnly"])
    }
}
