import BerthPlan

/// Recognising berth's own rules in libnftables' JSON: each shape berth writes maps back to its `RuleStatement`;
/// anything else is `.other`, which the diff reports as drift.
extension LiveFirewall {
    static func recognise(_ rule: JSONValue, chain: String) -> RuleStatement {
        let expressions = rule["expr"]?.arrayValue ?? []
        if let statement = recogniseKnown(expressions, chain: chain) { return statement }
        return .other(JSONWriter.compact(.array(expressions)))
    }

    private static func recogniseKnown(_ expressions: [JSONValue], chain: String) -> RuleStatement? {
        guard let verdict = expressions.last else { return nil }
        let body = expressions.dropLast()
        if verdict == acceptVerdict {
            if body.isEmpty { return .accept }
            if body.count == 2, body.first == isTCP, body.last == isEstablished {
                return .establishedTCP
            }
            return nil
        }
        if body.isEmpty, verdict == dispatchVerdictMap { return .dispatch }
        guard verdict == dropVerdict, body.count == 1, let only = body.first else { return nil }
        if let match = only["match"], let op = match["op"]?.stringValue, let left = match["left"] {
            if left == nfproto, op == "==", let family = match["right"]?.stringValue.flatMap(IPFamily.init) {
                return .noneAllowed(family)
            }
            guard let family = sourceFamily(left), let set = match["right"]?.stringValue else { return nil }
            let digit = family.digit
            if op == "==", set == "@\(chain)_deny\(digit)" { return .deny(family) }
            if op == "!=", set == "@\(chain)_allow\(digit)" { return .allow(family) }
            return nil
        }
        if let count = only["ct count"], count["inv"] == .bool(true), let max = count["val"]?.intValue {
            return .total(max: max)
        }
        guard let update = only["set"], let op = update["op"]?.stringValue, let set = update["set"]?.stringValue,
            let statement = update["stmt"]?.arrayValue, statement.count == 1
        else { return nil }
        if op == "update", let element = update["elem"]?["elem"], let timeout = element["timeout"]?.intValue,
            let (family, length) = sourceKey(element["val"]), set == "@rate\(family.digit)",
            let limit = statement[0]["limit"], limit["inv"] == .bool(true), let count = limit["rate"]?.intValue,
            let burst = limit["burst"]?.intValue, let seconds = limit["per"]?.stringValue.flatMap(Self.seconds),
            timeout == RuleStatement.rateTimeout(Rate(count: count, seconds: seconds), burst: burst) {
            return .rate(family, sourcePrefix: length, Rate(count: count, seconds: seconds), burst: burst)
        }
        if op == "add", let (family, length) = sourceKey(update["elem"]), set == "@conns\(family.digit)",
            let count = statement[0]["ct count"], count["inv"] == .bool(true), let max = count["val"]?.intValue {
            return .perSource(family, sourcePrefix: length, max: max)
        }
        return nil
    }

    // The shapes compared against, built once: a table of 1,000 endpoints has 8,000 rules to recognise.
    private static let dispatchVerdictMap: JSONValue = ["vmap": ["key": ["concat": [l4proto, destinationPort]], "data": "@dispatch"]]
    private static let acceptVerdict: JSONValue = ["accept": .null]
    private static let dropVerdict: JSONValue = ["drop": .null]
    private static let l4proto: JSONValue = ["meta": ["key": "l4proto"]]
    private static let nfproto: JSONValue = ["meta": ["key": "nfproto"]]
    private static let destinationPort: JSONValue = ["payload": ["protocol": "th", "field": "dport"]]
    private static let isTCP = match("==", l4proto, "tcp")
    private static let isEstablished = match("in", ["ct": ["key": "state"]], ["established", "related"])

    private static func match(_ op: String, _ left: JSONValue, _ right: JSONValue) -> JSONValue {
        ["match": ["op": .string(op), "left": left, "right": right]]
    }

    /// `ip saddr` / `ip6 saddr`.
    private static func sourceFamily(_ expression: JSONValue) -> IPFamily? {
        guard expression["payload"]?["field"]?.stringValue == "saddr" else { return nil }
        switch expression["payload"]?["protocol"]?.stringValue {
        case "ip": return .ipv4
        case "ip6": return .ipv6
        default: return nil
        }
    }

    /// `meta l4proto . th dport . ip saddr [& mask]`: the family and the mask's prefix length.
    private static func sourceKey(_ expression: JSONValue?) -> (IPFamily, Int)? {
        guard let parts = expression?["concat"]?.arrayValue, parts.count == 3,
            parts[0] == l4proto, parts[1] == destinationPort
        else { return nil }
        if let family = sourceFamily(parts[2]) { return (family, family.bitWidth) }
        guard let and = parts[2]["&"]?.arrayValue, and.count == 2, let family = sourceFamily(and[0]),
            let mask = and[1].stringValue.flatMap(NFTablesJSON.address), mask.family == family
        else { return nil }
        let length = (mask.value << UInt128(128 - family.bitWidth)).leadingZeroBitCount == 0
            ? (~(mask.value << UInt128(128 - family.bitWidth))).leadingZeroBitCount : 0
        guard IPPrefix.mask(family: family, length: length) == mask.value else { return nil }
        return (family, length)
    }

    private static func seconds(_ unit: String) -> Int? {
        ["second": 1, "minute": 60, "hour": 3600, "day": 86400][unit]
    }
}
