import BerthPlan

extension Explanation {
    /// Handler modules: reading, parsing, exports and imports.
    static let module: [Explanation] = [
        Explanation(
            .moduleUnreadable, .error,
            title: "An entry or imported file cannot be read, or is not UTF-8",
            body: """
                berth could not read an entry file or a file it imports: the user running berth may not
                read it (file permissions, or a directory on the way it may not enter), or its content is
                not valid UTF-8 (saved as Latin-1 or UTF-16 by an editor, or a binary file with a .js name).

                Handlers are ES modules in UTF-8 text. berth does not guess encodings, because a wrongly
                decoded string literal would silently change what a handler sends.

                Check the permissions (ls -l; berth must read every file it serves) and save the file as
                UTF-8 (iconv -f latin1 -t utf-8 converts one).

                The example cannot be compiled as shown: the failing file's bytes are not UTF-8.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"""
                    import { banner } from "./lib/banner.js";

                    export function handle(conn, ctx) {
                      conn.end(banner);
                    }
                    """#,
                "lib/banner.js": #"""
                    // Saved as ISO-8859-1 (Latin-1): the "é" below is the single byte 0xE9, which is not UTF-8.
                    export const banner = "Bienvenue au café\n";
                    """#,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"""
                    import { banner } from "./lib/banner.js";

                    export function handle(conn, ctx) {
                      conn.end(banner);
                    }
                    """#,
                "lib/banner.js": #"""
                    // Saved as UTF-8.
                    export const banner = "Bienvenue au café\n";
                    """#,
            ],
            isVerifiable: false),

        Explanation(
            .moduleSyntax, .error,
            title: "A handler module has a JavaScript syntax error",
            body: """
                QuickJS could not parse an entry file or a file it imports. The diagnostic gives
                file:line:column and QuickJS's message ("expecting ')'", "unexpected token in expression",
                and so on). Handler files are ES modules, which are always in strict mode: no `with`, no
                legacy octal literals such as 0755, no duplicate parameter names.

                berth compiles every module when it validates the folder, without running it, so a syntax
                error is found before deployment rather than by the first client.

                Fix the code at the position given; the real mistake is often just before it, such as an
                unclosed bracket on the line above.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": """
                    export function handle(conn, ctx) {
                      conn.on("data", (chunk) => {
                        conn.write(chunk);
                      };
                    }
                    """,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": """
                    export function handle(conn, ctx) {
                      conn.on("data", (chunk) => {
                        conn.write(chunk);
                      });
                    }
                    """,
            ]),

        Explanation(
            .moduleMissingExport, .error,
            title: "An entry does not export handle (TCP) or message (UDP)",
            body: """
                A TCP entry must export a function named handle, and a UDP entry a function named message;
                they are how berth delivers traffic:
                  export function handle(conn, ctx) { ... }          // *.tcp.PORT.port.js: per connection
                  export function message(msg, rinfo, ctx) { ... }   // *.udp.PORT.port.js: per datagram
                open(ctx) and close(ctx) are optional. Without its contract function an entry cannot serve
                anything, so it is refused.

                Check the spelling (handler, onConnection and onMessage are common slips), check that the
                function is exported (a plain `function handle` is private to its module; `export default`
                exports the name default), and check that the transport in the file name is the one you
                meant: module.other-transport-export appears as well when the module exports the other
                transport's function.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": """
                    export function handler(conn, ctx) {
                      conn.on("data", (chunk) => conn.write(chunk));
                    }
                    """,
            ],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .moduleExportNotFunction, .error,
            title: "handle, message, open or close is not a function",
            body: """
                An entry exports handle, message, open or close, but the value is not a function. berth calls
                these names, so each must be a function; async functions count.

                berth checks exports without running the module, so it checks what is known before the
                module runs. The usual mistake it catches is a re-export of a whole module: export * as
                handle from "./lib/echo.js" exports the module's namespace object under the name handle,
                where export { handle } from "./lib/echo.js" was meant. A binding whose value is computed
                only when the module runs (export const handle = 42, export let, export default followed by
                an expression) may not be checkable at validate time: prefer export function handle(...),
                which always is.

                Export a function under the name: declare it with export function, or re-export the
                function itself with export { handle } from "...".
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"export * as handle from "./lib/echo.js";"#,
                "lib/echo.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"export { handle } from "./lib/echo.js";"#,
                "lib/echo.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .moduleOtherTransportExport, .warning,
            title: "A module exports the other transport's function",
            body: """
                A TCP entry exports message (the UDP contract function), or a UDP entry exports handle.
                berth never calls it: TCP connections go to handle, UDP datagrams to message. Most often the
                file name has the wrong transport, as with a UDP echo saved as echo.tcp.7000.port.js; then
                module.missing-export is reported too.

                If the module is written for the other transport, rename the file (echo.udp.7000.port.js).
                If it is meant to serve both, use one entry per transport, each importing the shared code
                and exporting the one function it needs. If the export is only a helper, give it another
                name.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.udpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.udp.7000.port.js": ExampleFile.udpEcho]),

        Explanation(
            .moduleImportNotFound, .error,
            title: "A relative import names a file that does not exist",
            body: """
                A relative import names a file that does not exist, as in import { greet } from
                "./lib/greetings.js" when the folder holds lib/greeting.js. berth resolves an import exactly
                as written, relative to the importing file, like ES modules in browsers and in Node's ESM
                loader: no extension is added, no index.js is looked for, and names are case-sensitive.

                Correct the path, including its .js extension, or add the file. A file that exists on
                another machine may not have been synced here yet.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": greetingEntry(importing: "./lib/greetings.js"),
                "lib/greeting.js": greetingModule,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": greetingEntry(importing: "./lib/greeting.js"),
                "lib/greeting.js": greetingModule,
            ]),

        Explanation(
            .moduleOutsideFolder, .error,
            title: "An import or symlink resolves outside the folder",
            body: """
                An import, or a symlinked entry or imported file, resolves to a path outside the handler
                folder: import { greet } from "../shared/greeting.js", an absolute import such as
                "/etc/x.js", or a symlink lib -> /opt/lib. berth refuses it without reading the outside
                file.

                The folder is what berth validates, hashes into the plan (folderHash) and serves. A file
                outside it could change without the plan noticing, could differ between the machines the
                folder is synced to, and would let a handler pull arbitrary files of the host into itself.

                Copy the shared code into the folder (a lib/ or shared/ subfolder) and import it by a
                relative path that stays inside. Symlinks are fine while their targets are inside the
                folder.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": greetingEntry(importing: "../shared/greeting.js"),
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": greetingEntry(importing: "./shared/greeting.js"),
                "shared/greeting.js": greetingModule,
            ]),

        Explanation(
            .moduleUnknownBuiltin, .error,
            title: "A bare import names a module berth does not provide",
            body: """
                A bare import (one that does not start with ./ or ../) names a module berth does not
                provide. Handlers run in QuickJS, not Node: the only importable built-ins are node:buffer
                and node:events (also spelt buffer and events). The rest of what a handler may use is
                global: Buffer, console, timers, TextEncoder and TextDecoder, structuredClone,
                AbortController, crypto.getRandomValues and randomUUID, performance.now. There is no
                file-system, network or child-process API: the broker owns the sockets, and the manifest
                decides who may reach them. (An absolute path is module.outside-folder.)

                Packages cannot be imported by name either; copy a self-contained ES module into the folder
                and import it by relative path.

                Remove the import. Data a handler needs at load time (a banner, a table) goes into a module
                in the folder; state shared between connections or handlers goes into ctx.shared.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"""
                    import { readFileSync } from "node:fs";

                    const banner = readFileSync("banner.txt", "utf8");

                    export function handle(conn, ctx) {
                      conn.end(banner);
                    }
                    """#,
                "banner.txt": "Welcome to echo.",
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"""
                    import { banner } from "./banner.js";

                    export function handle(conn, ctx) {
                      conn.end(banner);
                    }
                    """#,
                "banner.js": #"export const banner = "Welcome to echo.\n";"#,
            ]),

        Explanation(
            .moduleUndefinedGlobal, .error,
            title: "A module calls require() or fetch(), which handlers do not have",
            body: """
                Handlers are ES modules run by QuickJS, not CommonJS in Node nor scripts in a browser:
                there is no require() and no fetch(). A call of either throws a ReferenceError when it is
                reached: at load, the handler is not served; in handle or message, every connection or
                datagram that reaches it fails. validate finds such calls in the entry and every file it
                imports, with the place of each.

                Only plain calls of the global count. A module that declares the name itself (function
                fetch, const require = ..., a parameter or a method of that name), calls it as a property
                (client.fetch(...)) or checks it first (typeof fetch) is left alone, and so are strings
                and comments that mention it.

                Replace require() with import: import { Buffer } from "node:buffer", and files of the
                folder by relative path (import { x } from "./lib/x.js"). Handlers make no outbound
                requests: the broker owns the sockets. State shared between connections or handlers goes
                into ctx.shared.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"""
                    const { Buffer } = require("buffer");

                    export function handle(conn, ctx) {
                      conn.end(Buffer.from("hello\n"));
                    }
                    """#,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "echo.tcp.7000.port.js": #"""
                    import { Buffer } from "node:buffer";

                    export function handle(conn, ctx) {
                      conn.end(Buffer.from("hello\n"));
                    }
                    """#,
            ]),

        Explanation(
            .moduleTooLarge, .error,
            title: "A handler module is too large to load within the heap limit",
            body: """
                Each handler runs in its own QuickJS heap, bounded by serve's --heap-limit (64 MiB unless
                given). Its modules must fit in it with room to run, so berth applies two bounds, in
                validate and in serve alike (give validate the same --heap-limit as serve):

                - a module file may have at most 1/64 of the heap limit in source (1 MiB of 64 MiB).
                  Compiling takes far more memory than the source: up to 140 times its size while QuickJS
                  parses a file of many small functions. QuickJS cannot run out of memory safely in the
                  middle of compiling, so berth does not compile a file this large at all;
                - once compiled, an entry and everything it imports may hold at most half the heap limit;
                  the other half is for the globals and what the handler allocates when it runs.

                Large data tables and bundled libraries are the usual cause. Keep data out of the code
                (ctx.shared, or compute it in open(ctx)), import only what the handler uses, or raise
                --heap-limit for serve and validate together.

                The example cannot be compiled as shown: the failing table is generated, 2 MiB of numbers.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest,
                "lookup.tcp.7000.port.js": #"""
                    import { table } from "./lib/table.js";

                    export function handle(conn, ctx) {
                      conn.on("data", (key) => conn.write(`${table[Number(key)]}\n`));
                    }
                    """#,
                "lib/table.js": #"""
                    // 2 MiB: 300,000 numbers written out by a build script.
                    export const table = [17, 4, 99, 23, 8, 61, 42, /* … */];
                    """#,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest,
                "lookup.tcp.7000.port.js": #"""
                    import { makeTable } from "./lib/table.js";

                    let table;

                    export function open(ctx) {
                      table = makeTable(300_000);
                    }

                    export function handle(conn, ctx) {
                      conn.on("data", (key) => conn.write(`${table[Number(key)]}\n`));
                    }
                    """#,
                "lib/table.js": #"""
                    // The rule that produced the numbers, instead of the numbers.
                    export function makeTable(size) {
                      return Array.from({ length: size }, (_, i) => (i * 7919) % 101);
                    }
                    """#,
            ],
            isVerifiable: false),
    ]

    /// An entry that greets each client with a function imported from `path`.
    private static func greetingEntry(importing path: String) -> String {
        """
        import { greet } from "\(path)";

        export function handle(conn, ctx) {
          conn.end(greet(ctx.name));
        }
        """
    }

    private static let greetingModule = #"""
        export function greet(name) {
          return `hello from ${name}\n`;
        }
        """#
}
