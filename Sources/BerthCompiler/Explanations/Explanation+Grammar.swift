import BerthPlan

extension Explanation {
    /// File names and the transport/port claims they make.
    static let grammar: [Explanation] = [
        Explanation(
            .grammarTransport, .error,
            title: "An entry file name's transport is not tcp or udp",
            body: """
                A top-level file whose name ends in .port.js is an entry point, and its name must read
                <name>.<transport>.<port>.port.js, parsed from the right. The transport is the token just
                before the port, and it must be exactly tcp or udp, in lowercase: echo.TCP.7000.port.js,
                echo.Udp.53.port.js and echo.sctp.1.port.js are refused.

                berth refuses the file rather than guessing. "TCP" is probably a typo for tcp, but "sctp" or
                "http" name transports berth does not serve, and a folder synced between machines must mean
                the same thing on each of them (some file systems fold case, others do not). The refused
                file is listed in the plan's "refused" section and serves nothing; other entries are
                unaffected.

                Rename the file. For TCP and UDP written in capitals the hint gives the exact name
                (echo.TCP.7000.port.js: rename to echo.tcp.7000.port.js). A file that is not meant to be
                served should not end in .port.js at all: call it echo.js and import it from an entry.

                Related: grammar.port, grammar.port-range and grammar.name for the other parts of the name.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "echo.TCP.7000.port.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .grammarPort, .error,
            title: "An entry file name's port is not a plain decimal number",
            body: """
                The port token of an entry file name must be a plain decimal number: digits only, no sign,
                no leading zeros. echo.tcp.07000.port.js, echo.tcp.+7000.port.js and echo.tcp.7k.port.js are
                refused.

                A leading zero is refused because tools disagree on what it means (some read 07000 as octal,
                that is 3584), and because two spellings of one port (7000 and 07000) would hide a conflict
                in a directory listing. One spelling per port keeps every claim obvious.

                Rename the file with the port written plainly: echo.tcp.7000.port.js.

                Related: grammar.port-range for a number outside 1-65535.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "echo.tcp.07000.port.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .grammarPortRange, .error,
            title: "An entry file name's port is outside 1-65535",
            body: """
                The port of an entry file name must be between 1 and 65535. Ports above 65535 do not exist
                in TCP or UDP, and port 0 asks the kernel for any free port, so nobody could know where the
                handler listens and the firewall could not open it. echo.tcp.70000.port.js and
                echo.udp.0.port.js are refused.

                Rename the file with the port you mean. Ports below 1024 are privileged: berth serve then
                needs the capability to bind them (CAP_NET_BIND_SERVICE), which is a deployment question,
                not a naming one.

                Related: grammar.port for a port that is not a plain number.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "echo.tcp.70000.port.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .grammarName, .error,
            title: "An entry file name's handler name is empty or not a label",
            body: """
                The name part of an entry file name, everything before .tcp.PORT.port.js or
                .udp.PORT.port.js, is a label: an ASCII letter or digit, then letters, digits, '_' and '-'
                ([A-Za-z0-9][A-Za-z0-9_-]*). my.echo.tcp.7000.port.js (a dot), _echo.tcp.7000.port.js (a
                leading underscore) and tcp.7000.port.js (no name at all) are refused.

                The name appears in logs, in the firewall's rule comments, as ctx.name in the handler, and
                as a selector in manifest.json ("handlers": {"echo": ...}). A dot would make both the file
                name and the selector ambiguous to read, and a leading '_' or '-' is easily mistaken for a
                hidden file or a command-line option.

                Rename the file: my.echo.tcp.7000.port.js becomes my-echo.tcp.7000.port.js or
                my_echo.tcp.7000.port.js. A selector that named the file by its old name must change with
                it (manifest.selector-unmatched otherwise).
                """,
            failing: ["manifest.json": ExampleFile.manifest, "my.echo.tcp.7000.port.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "my-echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .grammarNotAFile, .error,
            title: "An entry name at the top of the folder is not a regular file",
            body: """
                An entry point must be a regular file (or a symlink to one inside the folder). A directory,
                FIFO, socket or device at the top of the folder whose name ends in .port.js is refused:
                berth would not know what to load, and opening a FIFO could block the compile forever.

                This usually happens when a handler grows into several files and its entry is turned into a
                directory with an index.js, as if it were a Node package. berth does not look inside: keep
                the entry a file, and move the other files into a subfolder with an ordinary name (echo/,
                lib/), imported by relative path from the entry. Files in subfolders are never served on
                their own.

                Related: grammar.nested-entry, module.import-not-found.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js/index.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .grammarNestedEntry, .info,
            title: "A file named like an entry inside a subfolder is not served",
            body: """
                Only files at the top of the folder are entry points. A file deeper down whose name looks
                like an entry (admin/admin.tcp.7001.port.js) is supporting code: it can be imported, but
                berth does not serve it, open its port or check its exports. berth says so in an info
                diagnostic, because the name suggests someone expected it to be served.

                If the file should be served, move it to the top of the folder. If it is only a library,
                rename it so that its name does not end in .port.js (admin/admin.js), and the note goes
                away.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
                "admin/admin.tcp.7001.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
                "admin.tcp.7001.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .grammarPortConflict, .error,
            title: "Two entry files claim the same transport and port",
            body: """
                Two entry files claim the same transport and port, for example chat.tcp.7000.port.js and
                echo.tcp.7000.port.js. Only one socket can listen there, so one file keeps the port and the
                other is refused; the message names both.

                berth decides deterministically. The incumbent keeps the port: the file serving it in the
                running broker, or in the plan given with --previous PLAN. Otherwise the file whose name
                sorts first keeps it (chat before echo). So the same folder always compiles to the same
                plan, and a new file synced into a live folder cannot take a port away from a handler that
                is serving.

                tcp/7000 and udp/7000 are different claims and do not conflict.

                Move one handler to a free port by renaming its file, or delete the one you no longer want.
                A manifest selector that named the old port must follow (manifest.selector-unmatched).
                """,
            failing: [
                "manifest.json": ExampleFile.manifest, "chat.tcp.7000.port.js": ExampleFile.tcpEcho,
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest, "chat.tcp.7000.port.js": ExampleFile.tcpEcho,
                "echo.tcp.7001.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .grammarNoEntries, .warning,
            title: "The folder has no entry points",
            body: """
                The folder has no entry points: no top-level file named <name>.tcp.<port>.port.js or
                <name>.udp.<port>.port.js. The compile succeeds, but the plan serves nothing, and applying
                it removes every port berth opened before.

                The usual causes are the wrong directory on the command line, a sync that has not arrived
                yet, handlers kept in a subfolder (grammar.nested-entry says so), or a file name missing
                its .port part (echo.tcp.7000.js; grammar.suffix says so).

                Check the path, and name each entry <name>.<tcp|udp>.<port>.port.js at the top of the
                folder.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .grammarSuffix, .error,
            title: "A top-level file is named almost like an entry point",
            body: """
                Only a file whose name ends in exactly .port.js is an entry point. A top-level file that
                reads <name>.<tcp|udp>.<port> followed by something else is plainly meant to be one, but is
                not served: stats.udp.9001.js (no .port), echo.tcp.7000.port.mjs or .cjs (another
                extension), relay.tcp.4000.PORT.JS (capitals), chat.tcp.7100.port.ts (TypeScript, which
                berth does not compile). It is listed in the plan's "refused" section, and a manifest
                selector written for it matches nothing; that error's hint names the same rename.

                berth does not serve such a file under the name it guesses: the file name is the claim on a
                port, and a claim must be spelt out. The hint gives the exact entry name. Ordinary
                supporting files (util.js, lib.v2.js) are not named like entries and are left alone, and so
                is a file whose entry exists beside it (echo.tcp.7000.port.ts next to echo.tcp.7000.port.js
                is taken for its source).

                Rename the file (or, for TypeScript, compile it) to the name in the hint.
                """,
            failing: ["manifest.json": ExampleFile.manifest, "stats.udp.9001.js": ExampleFile.udpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "stats.udp.9001.port.js": ExampleFile.udpEcho]),
    ]
}
