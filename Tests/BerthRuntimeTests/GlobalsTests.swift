import Testing

/// The handler globals and built-in modules, checked against what Node 20 prints for the same module.
@Suite(.timeLimit(.minutes(2)))
struct GlobalsTests {
    @Test func eventEmitter() throws {
        try NodeComparison.expectSame(
            #"""
            import { EventEmitter, once, on } from 'node:events';
            import EE from 'events';
            const e = new EventEmitter();
            const calls = [];
            e.on('a', (x) => calls.push('on:' + x));
            e.prependListener('a', (x) => calls.push('prepend:' + x));
            e.once('a', (x) => calls.push('once:' + x));
            e.prependOnceListener('a', (x) => calls.push('prependOnce:' + x));
            console.log(e.emit('a', 1), e.emit('a', 2), e.emit('nothing'), JSON.stringify(calls));
            console.log(e.listenerCount('a'), e.listeners('a').length, e.rawListeners('a').length, JSON.stringify(e.eventNames()));
            const f = () => calls.push('f');
            e.on('b', f); e.addListener('b', f);
            console.log(e.listenerCount('b'), e.listenerCount('b', f));
            e.off('b', f); console.log(e.listenerCount('b'));
            e.removeListener('b', f); console.log(e.listenerCount('b'), e.eventNames().join());
            const g = () => {}; e.once('c', g); e.removeListener('c', g); console.log(e.listenerCount('c'));
            const meta = []; const m = new EventEmitter();
            m.on('newListener', (type) => meta.push('new:' + String(type)));
            m.on('removeListener', (type) => meta.push('remove:' + String(type)));
            const h = () => {}; m.on('x', h); m.once('y', h); m.removeListener('x', h); m.removeAllListeners('y'); m.removeAllListeners();
            console.log(JSON.stringify(meta), m.eventNames().length);
            try { new EventEmitter().emit('error', new Error('boom')); } catch (error) { console.log('threw', error.message); }
            try { new EventEmitter().emit('error', 'text'); } catch (error) { console.log('threw', error.message, error.code, error.context); }
            try { new EventEmitter().emit('error', { code: 7 }); } catch (error) { console.log('threw', error.message, error.code); }
            const handled = new EventEmitter(); handled.on('error', (error) => console.log('handled', error.message));
            console.log(handled.emit('error', new Error('x')));
            const monitored = new EventEmitter(); monitored.on(EventEmitter.errorMonitor, (error) => console.log('monitor', error.message)); monitored.on('error', () => console.log('error listener'));
            monitored.emit('error', new Error('m'));
            const self = new EventEmitter(); self.on('z', function () { console.log('this is emitter', this === self); }); self.emit('z');
            const during = new EventEmitter(); const order = [];
            const second = () => order.push('second');
            during.on('d', () => { order.push('first'); during.removeListener('d', second); during.on('d', () => order.push('late')); });
            during.on('d', second);
            during.emit('d'); during.emit('d'); console.log(order.join());
            console.log(new EventEmitter().getMaxListeners(), new EventEmitter().setMaxListeners(3).getMaxListeners(), EventEmitter.defaultMaxListeners);
            try { new EventEmitter().setMaxListeners(-1); } catch (error) { console.log(error.code, error.name); }
            try { new EventEmitter().on('x', 5); } catch (error) { console.log(error.code, error.message); }
            function Old() { EventEmitter.call(this); }
            Object.setPrototypeOf(Old.prototype, EventEmitter.prototype);
            const old = new Old(); old.on('q', (value) => console.log('old style', value)); old.emit('q', 7);
            class Derived extends EventEmitter { constructor() { super(); this.name = 'derived'; } }
            const derived = new Derived(); derived.on('r', function (a, b) { console.log(this.name, a, b); }); derived.emit('r', 1, 2);
            const p = new EventEmitter();
            const ready = once(p, 'ready'); p.emit('ready', 1, 2); console.log(JSON.stringify(await ready));
            const failed = once(p, 'go'); p.emit('error', new Error('bad'));
            try { await failed; } catch (error) { console.log('once rejected', error.message); }
            const iterator = on(p, 'tick'); p.emit('tick', 1); p.emit('tick', 2);
            const first = await iterator.next(); const next = await iterator.next(); await iterator.return();
            console.log(JSON.stringify([first, next]), p.listenerCount('tick'));
            console.log(EE === EventEmitter, EventEmitter.EventEmitter === EventEmitter, EventEmitter.once === once, typeof EventEmitter.on);
            const captured = new EventEmitter({ captureRejections: true });
            captured.on('error', (error) => console.log('captured', error.message));
            captured.on('async', async () => { throw new Error('async failure'); });
            captured.emit('async');
            await new Promise((resolve) => queueMicrotask(resolve));
            await null; await null; await null;
            """#)
    }

    @Test func consoleFormatting() throws {
        try NodeComparison.expectSame(
            #"""
            console.log('%s|%s|%s|%s', 'str', 42, { a: 1 }, [1, 2]);
            console.log('%d %i %f %j %%', '42', 3.9, '1.5x', { a: [1] });
            console.log('%s', null, undefined, 'x', 3);
            console.log('%o and %O', { a: { b: { c: { d: 1 } } } }, { a: 1 });
            console.log('%c styled', 'color: red');
            console.log('100%', 5);
            console.log('%s %s', 'only');
            console.log('%d', 5n, '%i', 7n, '%s', 8n);
            console.log('%s', { toString() { return 'custom'; } });
            console.log('%s', new Date(0));
            console.log('a', { b: { c: { d: { e: 1 } } } }, [1, [2, [3, [4]]]]);
            const o = { x: 1 }; o.self = o;
            console.log('%j', o); console.log(o);
            const shared = { s: 1 }; console.log({ a: shared, b: shared });
            console.log(new Map([['a', 1]]), new Set([1]), Buffer.from('hi'), new Uint8Array(2));
            console.log(function f() {}, class A {}, class B extends Array {}, () => {}, Symbol('s'), -0, "it's", 'both \'"');
            console.log({ 'a-b': 1, [Symbol('k')]: 2 }, Object.create(null), [, 1], [1, , , 2]);
            console.log({ a: 'x'.repeat(80) });
            console.log([1, 2, 3, 4, 5, 6, 7]);
            console.log(Array.from({ length: 30 }, (_, i) => i * 100));
            console.log(['apple', 'banana', 'cherry', 'date', 'elderberry', 'fig', 'grape']);
            console.log(new Array(120).fill(1));
            console.log({ e: 1, get g() { return 1; }, set s(v) {}, get gs() { return 1; }, set gs(v) {} });
            console.log(null, undefined, true, 5n, 1.5, NaN, -Infinity);
            console.log([undefined, null], { u: undefined });
            console.log(new Date(0), /ab+c/gi);
            console.log({ nested: { arr: [1, 2, { deep: true }] }, str: 'quote\'s', nl: 'a\nb\tc' });
            console.log(new (class Foo { constructor() { this.x = 1; } })(), new (class Bar {})());
            console.log([[]], [{}], {}, []);
            console.log(Buffer.alloc(60));
            console.log(new ArrayBuffer(3));
            console.log(Promise.resolve(4));
            console.log(new WeakMap(), new WeakSet());
            console.log(Object.assign(() => {}, { a: 1 }));
            console.log(async function af() {}, function* gen() {}, async () => {});
            console.log(new Number(3), new String('ab'), new Boolean(false));
            console.log([1.5, -0, 2]);
            console.log({ level1: { level2: { level3: { level4: 'deep' } } }, list: [{ a: 1, b: 2 }, { a: 3, b: 4 }] });
            console.log({ alpha: 'aaaaaaaaaa', beta: 'bbbbbbbbbb', gamma: 'cccccccccc', delta: 'dddddddddd', epsilon: 'eeeeeeeeee' });
            console.log(new Map([[{ k: 1 }, [1, 2]]]), new Set(['a', 'b']));
            console.log('multi', 'args', 1, true);
            console.info('info'); console.debug('debug');
            console.dir({ dir: [1, 2] });
            """#)
    }

    @Test func textEncoderAndStreamingDecoder() throws {
        try NodeComparison.expectSame(
            #"""
            const bytes = new TextEncoder().encode('a€😀b');
            console.log(Array.from(bytes).join());
            const decoder = new TextDecoder();
            let out = '';
            for (const byte of bytes) out += decoder.decode(new Uint8Array([byte]), { stream: true });
            out += decoder.decode();
            console.log(out, out === 'a€😀b');
            for (let i = 0; i <= bytes.length; i++) {
              const split = new TextDecoder();
              console.log(i, split.decode(bytes.subarray(0, i), { stream: true }) + '|' + split.decode(bytes.subarray(i)));
            }
            console.log(JSON.stringify(new TextDecoder().decode(new Uint8Array([0xe2, 0x82]))));
            const cut = new TextDecoder();
            console.log(JSON.stringify(cut.decode(new Uint8Array([0xf0, 0x9f]), { stream: true }) + cut.decode()));
            const broken = new TextDecoder();
            console.log(JSON.stringify(broken.decode(new Uint8Array([0xe2]), { stream: true }) + broken.decode(new Uint8Array([0x41]))));
            try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (error) { console.log(error.name, error.code); }
            try {
              const fatal = new TextDecoder('utf-8', { fatal: true });
              fatal.decode(new Uint8Array([0xe2]), { stream: true });
              fatal.decode();
            } catch (error) { console.log(error.name, error.code); }
            console.log(JSON.stringify(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))), JSON.stringify(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))));
            const bom = new TextDecoder();
            console.log(JSON.stringify(bom.decode(new Uint8Array([0xef, 0xbb]), { stream: true }) + bom.decode(new Uint8Array([0xbf, 0x42]))));
            console.log(new TextDecoder().encoding, new TextDecoder('UTF8').encoding, new TextDecoder().fatal, new TextEncoder().encoding);
            try { new TextDecoder('nope'); } catch (error) { console.log(error.name, error.code); }
            console.log(JSON.stringify(new TextEncoder().encodeInto('a€😀', new Uint8Array(5))));
            console.log(JSON.stringify(new TextEncoder().encodeInto('a€😀', new Uint8Array(8))));
            console.log(Array.from(new TextEncoder().encode('\ud800x')).join(), new TextEncoder().encode() instanceof Uint8Array, Buffer.isBuffer(new TextEncoder().encode('x')));
            console.log(new TextDecoder().decode(new Uint16Array([0x6968])), new TextDecoder().decode(new Uint8Array([104, 105]).buffer));
            console.log(JSON.stringify(new TextDecoder().decode(new Uint8Array([0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0x61]))));
            """#)
    }

    @Test func abortControllerAndEventTarget() throws {
        try NodeComparison.expectSame(
            #"""
            const controller = new AbortController();
            const events = [];
            controller.signal.addEventListener('abort', (event) => events.push(['listener', event.type, event instanceof Event, controller.signal.aborted, String(controller.signal.reason)]));
            controller.signal.onabort = (event) => events.push(['onabort', event.type]);
            controller.signal.addEventListener('abort', () => events.push('once'), { once: true });
            console.log(controller.signal.aborted, controller.signal.reason, typeof controller.signal.onabort);
            controller.abort('why');
            controller.abort('again');
            console.log(JSON.stringify(events), controller.signal.aborted, controller.signal.reason);
            try { controller.signal.throwIfAborted(); } catch (error) { console.log('thrown', error); }
            const plain = new AbortController(); plain.abort();
            console.log(plain.signal.reason instanceof DOMException, plain.signal.reason instanceof Error, plain.signal.reason.name, plain.signal.reason.message, plain.signal.reason.code);
            const aborted = AbortSignal.abort(); console.log(aborted.aborted, aborted.reason.name);
            try { new AbortSignal(); } catch (error) { console.log(error.name, error.code); }
            const target = new EventTarget(); const seen = [];
            const listener = (event) => seen.push(event.type + ':' + (event.target === target) + ':' + (event.currentTarget === target));
            target.addEventListener('x', listener); target.addEventListener('x', listener);
            target.addEventListener('x', { handleEvent(event) { seen.push('object:' + event.type); } });
            console.log(target.dispatchEvent(new Event('x')), JSON.stringify(seen));
            target.removeEventListener('x', listener); target.dispatchEvent(new Event('x')); console.log(JSON.stringify(seen));
            const cancelable = new Event('y', { cancelable: true });
            target.addEventListener('y', (event) => event.preventDefault());
            console.log(target.dispatchEvent(cancelable), cancelable.defaultPrevented);
            const notCancelable = new Event('y'); console.log(target.dispatchEvent(notCancelable), notCancelable.defaultPrevented);
            const stopped = [];
            target.addEventListener('z', (event) => { stopped.push(1); event.stopImmediatePropagation(); });
            target.addEventListener('z', () => stopped.push(2));
            target.dispatchEvent(new Event('z')); console.log(stopped.join());
            const removal = new AbortController();
            target.addEventListener('w', () => seen.push('w'), { signal: removal.signal });
            removal.abort(); target.dispatchEvent(new Event('w')); console.log(seen.includes('w'));
            const onceSeen = []; target.addEventListener('o', () => onceSeen.push('o'), { once: true });
            target.dispatchEvent(new Event('o')); target.dispatchEvent(new Event('o')); console.log(onceSeen.length);
            try { target.dispatchEvent('x'); } catch (error) { console.log(error.name, error.code); }
            const event = new Event('q');
            console.log(event.type, event.bubbles, event.cancelable, event.defaultPrevented, event.target, typeof event.timeStamp, event.eventPhase);
            try { new Event(); } catch (error) { console.log(error.name, error.code); }
            console.log(typeof AbortSignal.timeout(1000), AbortSignal.any([controller.signal]).aborted, AbortSignal.any([new AbortController().signal]).aborted);
            const exception = new DOMException('msg', 'DataCloneError');
            console.log(exception.name, exception.message, exception.code, DOMException.ABORT_ERR, String(exception));
            """#)
    }

    @Test func base64CryptoAndPerformance() throws {
        try NodeComparison.expectSame(
            #"""
            console.log(btoa('hello'), btoa('\xff\xfe'), atob('aGVsbG8='), atob(' aGVs bG8 '), JSON.stringify(atob('//8=')), atob('aGk'));
            for (const bad of ['*', 'abcde', 'ab=c', 'a===', 'é', 'abc=', 'ab==', 'abc==', 'a=', 'abcd=', 'a====', 'abcde=', 'abcde==', 'abcde===']) {
              try { atob(bad); console.log('decoded', bad); } catch (error) { console.log(error.name, error.message, error instanceof DOMException, error.code); }
            }
            try { btoa('€'); } catch (error) { console.log(error.name, error.message); }
            const random = crypto.getRandomValues(new Uint8Array(16));
            console.log(random.length, random instanceof Uint8Array, crypto.getRandomValues(new Uint32Array(2)).length);
            console.log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
            try { crypto.getRandomValues(new Float32Array(1)); } catch (error) { console.log(error.name); }
            try { crypto.getRandomValues(new Uint8Array(65537)); } catch (error) { console.log(error.name); }
            console.log(typeof performance.now(), performance.now() >= 0, typeof performance.timeOrigin);
            console.log(typeof queueMicrotask, typeof setTimeout, typeof setImmediate, typeof clearInterval, typeof clearImmediate);
            """#)
    }
}
