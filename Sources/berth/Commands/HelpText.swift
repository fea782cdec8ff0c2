/// The usage text of each command, printed by `--help` and after a usage error.
enum HelpText {
    static let overview = """
        berth: serve a folder of JavaScript handlers behind a screened, firewalled broker

        usage: berth <command> [options]

        commands:
          validate DIR      check the handler folder and manifest; exit 0 clean, 1 errors, 2 usage
          plan DIR          compile the folder into a deployment plan and print what would be served
          serve DIR         compile the folder and serve it: one broker owns every socket
          explain CODE      explain a diagnostic code, with an example (explain --list for all)
          help [COMMAND]    show help for a command

        options:
          -h, --help        show help
          -V, --version     print the version

        """

    static let validate = """
        usage: berth validate DIR [--format text|json|github] [--strict] [--previous PLAN] [--color auto|always|never]

        Compiles DIR (handler files and manifest.json) without serving anything and reports every problem.
          --format text     compiler-style diagnostics (default); colour only on a terminal, NO_COLOR honoured
          --format json     one JSON document (schemas/diagnostics.schema.json)
          --format github   GitHub Actions workflow annotations
          --strict          warnings fail the run too
          --previous PLAN   a plan written by `berth plan -out`: its endpoints keep their ports on a conflict
          --no-color        same as --color never
        Exit status: 0 clean or warnings only, 1 errors (or warnings with --strict), 2 usage or internal error.

        """

    static let plan = """
        usage: berth plan DIR [-out FILE] [--format text|json] [--strict] [--previous PLAN] [--color auto|always|never]

        Compiles DIR into the canonical deployment plan (schemas/plan.schema.json) and prints a summary: each endpoint
        with transport, port, file, allow/deny and limits, then the refused entries and why. Diagnostics go to stderr.
          -out FILE         also write the plan document to FILE (byte-identical for the same folder)
          --format json     print the plan document on stdout instead of the summary
          --strict          warnings fail the run too
          --previous PLAN   a plan written by `berth plan -out`: its endpoints keep their ports on a conflict
        Exit status: 0 when nothing is in error (the plan is written either way), 1 errors, 2 usage or internal error.

        """

    static let serve = """
        usage: berth serve DIR [--bind ADDR] [--strict] [--cpu-budget DURATION] [--heap-limit SIZE] [--grace DURATION]
                               [--store-max-bytes SIZE] [--log-format text|json] [--previous PLAN]

        Compiles DIR as `validate` does (refused entries are logged with their diagnostics; the valid ones serve), then
        runs one broker that owns every listening socket and hands each screened connection or datagram to its handler.
          --bind ADDR         bind every port to ADDR (default: all addresses, IPv4 and IPv6)
          --strict            refuse to start when the folder has any error or warning
          --cpu-budget DUR    interrupt a handler dispatch that runs longer (default 1s)
          --heap-limit SIZE   each handler's JavaScript heap (default 64MiB)
          --store-max-bytes N bound on ctx.shared's encoded keys and values (default 256MiB)
          --grace DUR         after SIGTERM/SIGINT, how long open connections may finish (default 10s)
          --log-format FMT    text (default) or json: one line per event on stderr
        SIGTERM/SIGINT: stop accepting, abort every ctx.signal, run close(ctx), drain for the grace period, exit 0.
        A second signal exits at once.

        """

    static let explain = """
        usage: berth explain CODE
               berth explain --list

        Prints the long explanation of a diagnostic code (e.g. manifest.cidr-host-bits), with a folder that
        triggers it and the same folder fixed. --list prints every code with its severity and title.

        """

    static func forCommand(_ name: String?) -> String? {
        switch name {
        case nil: overview
        case "validate": validate
        case "plan": plan
        case "serve": serve
        case "explain": explain
        default: nil
        }
    }
}
