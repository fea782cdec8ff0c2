package import BerthPlan

extension Explanation {
    /// One per `Diagnostic.Code.all` entry (the compile catalogue), in the same order.
    package static let all = catalogue(grammar + manifest + module + tls, codes: Diagnostic.Code.all)
}

/// Files that many example folders share.
enum ExampleFile {
    static let manifest = #"{"version": 1}"#
    static let tcpEcho = """
        export function handle(conn, ctx) {
          conn.on("data", (chunk) => conn.write(chunk));
        }
        """
    static let udpEcho = """
        export function message(msg, rinfo, ctx) {
          ctx.reply(msg, rinfo);
        }
        """

    /// A manifest whose only selector is `selector`, with `policy` written as the body of its object.
    static func manifest(selector: String, _ policy: String) -> String {
        """
        {
          "version": 1,
          "handlers": {
            "\(selector)": { \(policy) }
          }
        }
        """
    }
}
