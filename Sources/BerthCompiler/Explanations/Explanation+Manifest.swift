import BerthPlan

extension Explanation {
    /// manifest.json: its JSON, its keys and selectors, prefixes and limits.
    static let manifest: [Explanation] = [
        Explanation(
            .manifestMissing, .warning,
            title: "No manifest.json: every source allowed, default limits",
            body: """
                The folder has no manifest.json. Every handler is then reachable from every address (allow
                0.0.0.0/0 and ::/0) with the built-in limits: maxConnections 1024, maxConnectionsPerSource
                64, connectionRate "50/s", datagramRate "1000/s", burst twice the rate per second,
                idleTimeout "5m", maxBufferedBytes 1048576 (1 MiB).

                That is fine for trying berth out, and dangerous by accident: a folder synced without its
                manifest would quietly open every port to the world. berth warns so that the choice is
                explicit; with --strict the warning is an error.

                Add manifest.json at the top of the folder. {"version": 1} keeps the defaults and silences
                the warning; "defaults" and "handlers" restrict who may connect and how much. Point
                "$schema" at https://berth.dev/schemas/manifest.schema.json for completion in an editor.
                """,
            failing: ["echo.tcp.7000.port.js": ExampleFile.tcpEcho],
            fixed: ["manifest.json": ExampleFile.manifest, "echo.tcp.7000.port.js": ExampleFile.tcpEcho]),

        Explanation(
            .manifestSyntax, .error,
            title: "manifest.json is not valid JSON",
            body: """
                manifest.json is not valid JSON. The diagnostic points at the line and column where parsing
                stopped and says what was expected there.

                berth reads strict JSON (RFC 8259): no comments, no trailing commas, keys and strings in
                double quotes, no NaN or Infinity. It never guesses the intended policy of a manifest it
                cannot read; falling back to the defaults would open every handler to everyone.

                Fix the text at the position given. A trailing comma after the last member of an object or
                array is the most common case; an editor that knows the schema (see manifest.missing)
                marks it as you type.
                """,
            failing: [
                "manifest.json": """
                    {
                      "version": 1,
                      "defaults": { "maxConnections": 500 },
                    }
                    """,
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": """
                    {
                      "version": 1,
                      "defaults": { "maxConnections": 500 }
                    }
                    """,
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestDuplicateKey, .error,
            title: "A key appears twice in one JSON object",
            body: """
                A key appears twice in the same JSON object. Most JSON parsers silently keep the last value,
                some keep the first, so {"maxConnections": 100, "maxConnections": 200} means 200 to one tool
                and 100 to another, and a reviewer who reads the first line is misled. berth refuses it and
                points at the repeated key.

                Keep one of the two. If both were meant, for example two "echo" objects in "handlers", merge
                their keys into one object.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""maxConnections": 100, "maxConnections": 200"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""maxConnections": 200"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestType, .error,
            title: "A manifest key has a value of the wrong JSON type",
            body: """
                A key has a value of the wrong JSON type: "allow": "10.0.0.0/8" (a string where a list is
                expected), "maxConnections": "500" (a string where an integer is expected), "tls": true, or
                a manifest whose top level is not an object at all.

                berth does not convert types. "500" and 500 look alike, but the quotes usually come from a
                template or a tool that quotes everything, and a silent conversion would hide that.

                The expected types:
                  version                                   the integer 1
                  defaults, handlers, each handler          object
                  allow, deny                               array of strings
                  maxConnections, maxConnectionsPerSource,
                  burst, maxBufferedBytes                   integer
                  connectionRate, datagramRate,
                  idleTimeout                               string ("50/s", "5m")
                  sourcePrefix                              object {"ipv4": integer, "ipv6": integer}
                  tls                                       object {"cert": string, "key": string,
                                                                    "external": boolean}
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": "10.0.0.0/8""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestUnknownKey, .error,
            title: "manifest.json has a key berth does not know",
            body: """
                manifest.json contains a key berth does not know. The known keys are: at the top level
                "$schema", version, defaults and handlers; in a policy object (defaults and each handler)
                allow, deny, maxConnections, maxConnectionsPerSource, connectionRate, datagramRate, burst,
                idleTimeout, maxBufferedBytes, sourcePrefix and tls; in sourcePrefix ipv4 and ipv6; in tls
                cert, key and external. The hint suggests the closest known key.

                Unknown keys are errors, not warnings, because a misspelt limit is a limit that is not
                enforced: "maxConnection": 10 would leave the handler at the default of 1024 connections
                while the manifest appears to say 10.

                Correct the spelling (keys are case-sensitive), or remove the key. The keys of "handlers"
                are selectors, not keys of this kind: an unrecognised selector is manifest.selector.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""maxConnection": 500"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""maxConnections": 500"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestVersion, .error,
            title: "manifest.json does not say \"version\": 1",
            body: """
                The manifest must say which format it is written in, with "version": 1 at the top level.
                The key is missing, or has another value.

                The version lets berth change the manifest format later without misreading old files, and
                makes an older berth refuse a manifest written for a newer one instead of ignoring what it
                does not understand.

                Add "version": 1 as the first key. If the manifest was written for a newer berth, upgrade
                berth.
                """,
            failing: [
                "manifest.json": """
                    {
                      "defaults": { "allow": ["10.0.0.0/8"] }
                    }
                    """,
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": """
                    {
                      "version": 1,
                      "defaults": { "allow": ["10.0.0.0/8"] }
                    }
                    """,
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestSelector, .error,
            title: "A key of \"handlers\" is not a valid selector",
            body: """
                Every key of "handlers" is a selector, in one of three forms:
                  echo                    a handler name: every entry named echo, whatever its transport
                  tcp/7000, udp/9000      a claim: the entry serving that transport and port
                  echo.tcp.7000.port.js   an entry file name
                The name follows the file-name grammar ([A-Za-z0-9][A-Za-z0-9_-]*), the port is 1-65535
                without leading zeros, and the transport is tcp or udp in lowercase. "tcp:7000", "tcp/0",
                "tcp/abc", "sctp/1" and "my echo" are refused.

                A selector berth cannot read selects nothing, so the policy written under it would silently
                not apply; berth makes that an error.

                When several selectors match one entry, each key is resolved separately, most specific
                first: file name, then tcp/PORT or udp/PORT, then name, then "defaults", then the built-in
                defaults.

                Related: manifest.selector-unmatched for a well-formed selector that matches no file.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "tcp:7000", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "tcp/7000", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestSelectorUnmatched, .error,
            title: "A selector in \"handlers\" matches no entry file",
            body: """
                A selector in "handlers" is well formed but matches no entry file in the folder: "tcp/7001"
                with no *.tcp.7001.port.js, "echo" with no echo.*.port.js, or the name of a file that does
                not exist. Its policy applies to nothing.

                This is an error because it almost always means a rename happened on one side only: the
                handler moved to another port or was renamed, and the rules written for it now protect
                nothing. Worse, a file added later on that port or with that name would inherit rules
                written for something else.

                Change the selector to match the file, or delete it.

                Related: manifest.selector for a selector that is not well formed.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "tcp/7001", #""maxConnections": 500"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "tcp/7000", #""maxConnections": 500"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestKeyNotApplicable, .warning,
            title: "A manifest key cannot apply where it is set, and is ignored",
            body: """
                A key is set where it cannot have an effect:
                  - a TCP-only key (maxConnections, maxConnectionsPerSource, connectionRate, idleTimeout,
                    maxBufferedBytes) on a selector whose entries are all UDP;
                  - datagramRate, which is UDP-only, on a selector whose entries are all TCP;
                  - tls in "defaults": a certificate belongs to a handler, so tls is only read per selector.
                berth ignores the key and warns.

                In "defaults" the transport-specific limits are fine: each applies to the handlers of its
                transport. burst and sourcePrefix apply to both transports; burst sizes the bucket of
                whichever rate applies (connectionRate for TCP, datagramRate for UDP).

                The usual cause is a file renamed from one transport to the other, or keys copied from
                another handler. Use the key of the entry's transport (connectionRate instead of
                datagramRate for TCP), or move the key to the selector it was meant for.

                Related: tls.udp, for tls on a UDP handler (an error).
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""datagramRate": "20/s""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""connectionRate": "20/s""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestCIDRSyntax, .error,
            title: "An allow or deny entry is not an IP prefix",
            body: """
                An entry of allow or deny is not an IP prefix. berth accepts exactly:
                  a.b.c.d/len     IPv4: four decimal octets 0-255 without leading zeros, len 0-32
                  x:y::z/len      IPv6 in RFC 4291 text (with :: and an optional dotted IPv4 tail),
                                  len 0-128
                  a.b.c.d, x::y   a bare address: one host, /32 or /128
                Refused, for example: "10.0.0/8" (three octets), "10.0.0.01/32" (a leading zero, which some
                tools read as octal), "10.0.0.0/" (no length), "fe80::1%eth0/64" (a zone index names an
                interface, not a range of addresses), host names, and ranges such as "10.0.0.1-10.0.0.9".

                berth does not expand abbreviations because tools disagree on them: inet_aton reads "10.1"
                as 10.0.0.1, others as 10.1.0.0.

                Write the prefix in full: 10.0.0.0/8.

                Related: manifest.cidr-host-bits, manifest.cidr-prefix-length, manifest.cidr-mapped.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestCIDRHostBits, .error,
            title: "A prefix has host bits set",
            body: """
                The address of a prefix has bits set after the prefix length: in 10.0.0.1/8 only the first
                8 bits name the network, and the trailing .1 is a host bit. Nobody writes that on purpose:
                it is either 10.0.0.0/8 (the whole network) with a stray address, or 10.0.0.1/32 (one host)
                with a wrong length. The two differ by sixteen million addresses, and many tools silently
                pick the network; berth refuses to pick.

                The hint gives the network form ("write 10.0.0.0/8"). If you meant one host, write the bare
                address (10.0.0.1) or /32. The same holds for IPv6: 2001:db8::1/32 is either 2001:db8::/32
                or 2001:db8::1.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.1/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestCIDRPrefixLength, .error,
            title: "A prefix length is longer than the address",
            body: """
                The prefix length is larger than the address has bits: over 32 for IPv4 (192.168.10.0/42),
                over 128 for IPv6. It is usually a typo, and berth cannot tell which length was meant.

                Write the length you mean: /24 for a typical IPv4 subnet, /32 for one IPv4 host, /64 for an
                IPv6 subnet, /128 for one IPv6 host. A length that is not a plain number (/08, /x) is
                manifest.cidr-syntax.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["192.168.10.0/42"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["192.168.10.0/24"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestCIDRMapped, .warning,
            title: "An IPv4-mapped IPv6 prefix is used as its IPv4 prefix",
            body: """
                The prefix is an IPv4-mapped IPv6 prefix: ::ffff:a.b.c.d/len with len of 96 or more. On a
                dual-stack socket the kernel reports IPv4 clients in that form, and berth matches them
                against IPv4 rules, in the firewall and in the broker alike. A rule in the mapped range
                would therefore match nothing as IPv6; berth uses it as the IPv4 prefix it describes
                (::ffff:10.0.0.0/104 is 10.0.0.0/8) and warns.

                Write the IPv4 prefix the hint gives; it means the same and reads plainly.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["::ffff:10.0.0.0/104"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestCIDRRedundant, .warning,
            title: "An allow or deny entry is covered by another in its list",
            body: """
                An entry of an allow or deny list is already covered by another entry of the same list, or
                repeated: in allow ["10.0.0.0/8", "10.1.0.0/16"], 10.1.0.0/16 lies inside 10.0.0.0/8. The
                plan is unaffected, since each list is merged into disjoint ranges, but the entry suggests
                an intent the manifest does not express: perhaps it belonged in deny, or the wider entry is
                the mistake.

                Delete the covered entry, or move it where it was meant to go.

                Overlaps between allow and deny are reported separately: manifest.deny-unused and
                manifest.allow-shadowed.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""allow": ["10.0.0.0/8", "10.1.0.0/16"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestDenyUnused, .warning,
            title: "A deny entry covers no allowed address",
            body: """
                A deny entry covers no address that the handler allows, as in allow ["10.0.0.0/8"] with
                deny ["192.168.0.0/16"]. Addresses outside allow are refused anyway, so the entry does
                nothing.

                It is a warning because it usually shows a mistake: a typo in the prefix, or an allow list
                that changed after the deny was written. deny is for carving exceptions out of allow; it is
                not needed to keep out addresses that allow does not name.

                Correct the prefix, or delete the entry.

                Related: manifest.allow-shadowed, the opposite case.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""allow": ["10.0.0.0/8"], "deny": ["192.168.0.0/16"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""allow": ["10.0.0.0/8"], "deny": ["10.9.0.0/16"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestAllowShadowed, .warning,
            title: "An allow entry is entirely denied",
            body: """
                Every address of an allow entry is also denied, as in allow ["10.1.0.0/16"] with deny
                ["10.0.0.0/8"]. deny wins over allow, so nobody the entry names can connect: the entry is
                dead.

                It is a warning because the two lines contradict each other and berth cannot tell which one
                is the mistake. If the deny is meant to carve a hole out of the allow, make it narrower
                than the allow (deny 10.1.9.0/24 inside allow 10.1.0.0/16). If those sources should not
                connect, delete the allow entry.

                Related: manifest.deny-unused, manifest.allow-empty.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""allow": ["10.1.0.0/16"], "deny": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""allow": ["10.1.0.0/16"], "deny": ["10.1.9.0/24"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestAllowEmpty, .warning,
            title: "\"allow\": [] lets nobody connect",
            body: """
                "allow": [] admits nobody: every connection or datagram to the selected handlers is refused,
                by the firewall and again by the broker.

                That can be deliberate, closing a handler for a while without deleting it, so it is a
                warning and not an error. More often it is a template whose list was never filled in, or a
                list emptied by a script.

                List the sources that should reach the handler. To stop serving a handler, rename its file
                so that it no longer ends in .port.js, or remove it.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": []"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""allow": ["10.0.0.0/8"]"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestLimitRange, .error,
            title: "A limit is outside its range",
            body: """
                A limit is outside its range. The ranges:
                  maxConnections, maxConnectionsPerSource   1 to 1000000
                  burst                                     1 to 1000000
                  connectionRate, datagramRate              COUNT 1 to 1000000, per s, m or h
                  idleTimeout                               100ms to 24h
                  maxBufferedBytes                          1024 to 1073741824 (1 KiB to 1 GiB)
                  sourcePrefix                              ipv4 0 to 32, ipv6 0 to 128

                Zero never means "unlimited" or "off" in berth: a limit of 0 would refuse everything while
                looking like a setting, and a limit too large to ever bind is not a limit. The bounds keep
                every limit one that the firewall and the broker can both enforce.

                Choose a value inside the range. To control who may connect at all, use allow and deny.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""maxConnections": 0"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""maxConnections": 500"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestRate, .error,
            title: "A rate is not written COUNT/UNIT",
            body: """
                A rate is written COUNT/UNIT: COUNT is a whole number (digits only) and UNIT one of s, sec,
                second, m, min, minute, h, hour. "50/s", "600/m" and "10000/hour" parse; "50 per second",
                "50/d", "0.5/s" and "50/s " do not.

                A rate is enforced per source prefix (see sourcePrefix) as a token bucket refilled at COUNT
                per UNIT and holding at most burst tokens, by default twice the count per second.
                connectionRate counts new TCP connections, datagramRate counts UDP datagrams.

                Write the rate in that form. For less than one per second use a longer unit: "30/m" instead
                of "0.5/s". A count outside 1-1000000 is manifest.limit-range.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""connectionRate": "50 per second""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""connectionRate": "50/s""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestDuration, .error,
            title: "A duration is not written NUMBER followed by ms, s, m or h",
            body: """
                A duration is a whole number directly followed by a unit, ms, s, m or h: "250ms", "30s",
                "5m" and "1h" parse; "5 minutes", "5" (no unit), "1.5h", "1h30m" and "PT5M" do not.
                idleTimeout is the duration key; its range is 100ms to 24h (manifest.limit-range outside
                it).

                A bare number is refused rather than read as seconds or as milliseconds, because both
                conventions are common and they differ by a factor of a thousand.

                Write the number and the unit together: "5m", or "90m" instead of "1h30m".
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""idleTimeout": "5 minutes""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "echo", #""idleTimeout": "5m""#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),

        Explanation(
            .manifestLimitOrder, .warning,
            title: "maxConnectionsPerSource is greater than maxConnections",
            body: """
                maxConnectionsPerSource is greater than maxConnections for the same endpoint, for example
                maxConnections 100 with maxConnectionsPerSource 200. One source can then take every slot of
                the endpoint before its own cap is reached, so the per-source cap never takes effect.

                Limits are resolved key by key, so the two values may come from different places:
                maxConnections 50 on a handler, with the built-in maxConnectionsPerSource of 64, is the
                same situation.

                Lower maxConnectionsPerSource well below maxConnections, so that one source cannot starve
                the others, or raise maxConnections.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""maxConnections": 100, "maxConnectionsPerSource": 200"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""maxConnections": 100, "maxConnectionsPerSource": 20"#),
                "echo.tcp.7000.port.js": ExampleFile.tcpEcho,
            ]),
    ]
}
