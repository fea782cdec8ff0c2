import BerthJS
/// The handler globals, written in JavaScript: one function of the native `host` object, evaluated once per context,
/// that installs the globals (Buffer, console, timers, …) and returns the hooks the runtime calls into.
enum GlobalsScript {
    /// The script's name in stack traces.
    static let name = "berth:globals"

    static let source =
        "(function (host) {\n'use strict';\n"
        + [prelude, inspect, events, buffer, timers, web, socket, clone, hooks].joined(separator: "\n")
        + "\n})"
}
