/// The usage text of each command, printed by `--help` and after a usage error.
enum HelpText {
    static let overview = """
        berth: serve a folder of JavaScript handlers behind a screened, firewalled broker

        usage: berth <command> [options]

        commands:
          validate DIR      check the handler folder and manifest; exit 0 clean, 1 errors, 2 usage
          plan DIR          compile the folder and show how the firewall would change (+ add, ~ change, - remove)
          apply DIR|FILE    make the firewall match the folder, or a plan saved by plan -out, in one transaction
          destroy           remove everything berth owns in the firewall, and nothing else
          serve DIR         compile the folder and serve it: one broker owns every socket
          explain CODE      explain a diagnostic code, with an example (explain --list for all)
          help [COMMAND]    show help for a command

        options:
          -h, --help        show help
          -V, --version     print the version

        """

    static let validate = """
        usage: berth validate DIR [--format text|json|github] [--strict] [--previous PLAN] [--heap-limit SIZE]
                                  [--color auto|always|never]

        Compiles DIR (handler files and manifest.json) without serving anything and reports every problem.
          --format text     compiler-style diagnostics (default); colour only on a terminal, NO_COLOR honoured
          --format json     one JSON document (schemas/diagnostics.schema.json)
          --format github   GitHub Actions workflow annotations
          --strict          warnings fail the run too
          --previous PLAN   a plan written by `berth plan -out`: its endpoints keep their ports on a conflict
          --heap-limit SIZE the heap serve will give each handler (default 64MiB): modules too large to load within
                            it are errors (module.too-large), as serve refuses them
          --no-color        same as --color never
        Exit status: 0 clean or warnings only, 1 errors (or warnings with --strict), 2 usage or internal error.

        """

    static let plan = """
        usage: berth plan DIR [-out FILE] [--detailed-exitcode] [--table NAME] [--host-chain "FAMILY TABLE CHAIN"]
                              [--no-cache] [--offline] [--format text|json] [--strict] [--previous PLAN]
                              [--color auto|always|never]

        Compiles DIR into the canonical deployment plan (schemas/plan.schema.json), reads the live firewall (berth's
        table, its host-chain rule, the other input chains) and prints the difference per endpoint and per prefix:
        + add, - remove, ~ change, including hand edits (drift). Warns when another input chain would drop a declared
        port anyway. Reading the firewall needs root (CAP_NET_ADMIN). Diagnostics go to stderr.
        berth's table is not listed again while nftables' ruleset generation is the one at which berth last applied
        or read it (noted in $BERTH_STATE_DIR, default /run/berth): every change to any table moves the generation.
          -out FILE             also write the plan and the firewall state it was made against to FILE, for apply FILE
          --detailed-exitcode   exit 0 no changes, 1 error, 2 changes
          --table NAME          berth's table: table inet NAME (default berth)
          --host-chain "F T C"  also keep one tagged accept rule for the declared ports in that existing chain,
                                e.g. "inet filter input", for hosts whose own input chain drops by default
          --no-cache            list berth's table even when the generation shows it unchanged
          --offline             do not read the firewall (no root needed): every endpoint shows as added
          --format json         print the plan document on stdout instead of the summary
          --strict              warnings fail the run too
          --previous PLAN       a plan written by `berth plan -out`: its endpoints keep their ports on a conflict
        Exit status: 0 when nothing is in error (the plan is written either way), 1 errors, 2 usage or internal error;
        with --detailed-exitcode 0 no changes, 1 error, 2 changes.

        """

    static let apply = """
        usage: berth apply DIR  [--table NAME] [--host-chain "FAMILY TABLE CHAIN"] [--dry-run] [--no-cache] [--strict]
                                [--previous PLAN]
               berth apply FILE [--dry-run] [--no-cache]

        Makes the firewall match the plan: berth's whole table (table inet NAME) is replaced in one nftables
        transaction, so traffic never sees a half-applied state; a batch the kernel rejects changes nothing.
        apply DIR plans and applies in one step. apply FILE applies exactly a plan saved by `berth plan DIR -out FILE`,
        and refuses it when the folder or the firewall changed since it was made. Needs root (CAP_NET_ADMIN).
          --table NAME          berth's table (default berth)
          --host-chain "F T C"  also keep one tagged accept rule for the declared ports in that existing chain
          --dry-run             print the nft script instead of applying it
          --no-cache            list berth's table even when the generation shows it unchanged (see plan --help)
        Exit status: 0 applied (or nothing to change), 1 error or refused, 2 usage.

        """

    static let destroy = """
        usage: berth destroy [--table NAME] [--host-chain "FAMILY TABLE CHAIN"] [--dry-run]

        Removes berth's table and its tagged host-chain rule, and nothing else; nothing to remove is not an error.
          --table NAME          berth's table (default berth)
          --host-chain "F T C"  the host chain berth's rule was put in
          --dry-run             print the nft script instead of running it
        Exit status: 0 removed (or nothing there), 1 error, 2 usage.

        """

    static let serve = """
        usage: berth serve DIR [--bind ADDR] [--strict] [--cpu-budget DURATION] [--heap-limit SIZE] [--grace DURATION]
                               [--open-timeout DURATION] [--no-watch] [--reload-debounce DURATION]
                               [--store-max-bytes SIZE] [--log-format text|json] [--log-level LEVEL]
                               [--access-log] [--metrics ADDR:PORT] [--previous PLAN]
                               [--firewall [--table NAME] [--host-chain "FAMILY TABLE CHAIN"] [--no-cache]]

        Compiles DIR as `validate` does (refused entries are logged with their diagnostics; the valid ones serve), then
        runs one broker that owns every listening socket and hands each screened connection or datagram to its handler.
          --bind ADDR         bind every port to ADDR (default: all addresses, IPv4 and IPv6)
          --strict            refuse to start when the folder has any error or warning
          --cpu-budget DUR    interrupt a handler dispatch that runs longer (default 1s)
          --heap-limit SIZE   each handler's JavaScript heap (default 64MiB)
          --store-max-bytes N bound on the memory ctx.shared's entries take: keys, values and per-entry bookkeeping
                              (default 256MiB)
          --grace DUR         after SIGTERM/SIGINT, or after a reload replaced or removed their handler, how long
                              open connections may finish (default 10s)
          --open-timeout DUR  how long open(ctx) may take before that version fails (default 10s)
          --no-watch          do not watch DIR for changes (SIGHUP still reloads)
          --reload-debounce DUR  reload once DIR has been quiet this long after a change (default 300ms)
          --log-format FMT    text (default) or json: one line per event on stderr
          --log-level LEVEL   debug, info (default), warn or error: lines below it are dropped (console.debug is
                              debug)
          --access-log        one line per closed connection: source, endpoint, duration, bytes, how it ended
          --metrics ADDR:PORT serve Prometheus metrics on /metrics, and /healthz and /readyz, over HTTP on ADDR:PORT
                              (127.0.0.1:9464, [::1]:9464; :9464 means loopback); off by default
          --firewall          apply the plan to the firewall (as `berth apply DIR` does) before any port opens;
                              --table, --host-chain and --no-cache as for apply
        The broker follows DIR: on a change (or SIGHUP) it compiles DIR again and applies the difference endpoint by
        endpoint. A new or edited handler loads and finishes open(ctx) before it takes new connections; connections
        already open stay on the version they started with; a version that fails keeps the last good one serving; a
        manifest that does not compile changes nothing. Listening sockets are never closed by a reload.
        SIGTERM/SIGINT: stop accepting, abort every ctx.signal, run close(ctx), drain for the grace period, exit 0.
        A second signal exits at once. Under systemd (NOTIFY_SOCKET), berth sends READY=1 once every port that can
        start listens, RELOADING=1 and READY=1 around each reload, STOPPING=1, and WATCHDOG=1 when WatchdogSec is set.

        """

    static let explain = """
        usage: berth explain CODE
               berth explain --list

        Prints the long explanation of a diagnostic code (e.g. manifest.cidr-host-bits), with an example that
        triggers it and the same example fixed. --list prints every code with its severity and title.

        """

    static func forCommand(_ name: String?) -> String? {
        switch name {
        case nil: overview
        case "validate": validate
        case "plan": plan
        case "apply": apply
        case "destroy": destroy
        case "serve": serve
        case "explain": explain
        default: nil
        }
    }
}
