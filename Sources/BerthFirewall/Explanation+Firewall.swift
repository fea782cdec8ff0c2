package import BerthPlan

extension Explanation {
    /// One per `Diagnostic.Code.firewall` entry, in the same order.
    package static let firewall = catalogue(firewallStage, codes: Diagnostic.Code.firewall)

    /// The firewall stage: `berth plan`, `apply`, `destroy` and `serve --firewall` against nftables. No folder
    /// triggers these, so the examples are the command line and the host's ruleset.
    private static let firewallStage: [Explanation] = [
        Explanation(
            .firewallNotPermitted, .error,
            title: "nftables refused berth: not root and no CAP_NET_ADMIN",
            body: """
                berth plan, apply, destroy and serve --firewall read or change the kernel's nftables
                ruleset, and the kernel allows that only to a process with CAP_NET_ADMIN: root, or a user
                granted that capability. berth ran without it, and nftables refused its first request;
                nothing was read or changed.

                berth does not carry on without the firewall: a plan that could not read it cannot say what
                apply would change, and a broker started with --firewall would otherwise serve ports whose
                kernel rules were never written.

                Run the command as root, or give the user that runs berth the capability, as the systemd
                unit in the fixed example does. berth plan DIR --offline needs no privilege: it shows the
                plan without reading the firewall (every endpoint as added), and its saved plan cannot be
                applied.
                """,
            failing: [
                "command.txt": """
                    $ id -un
                    deploy
                    $ berth plan ./services
                    """,
            ],
            fixed: [
                "command.txt": "$ sudo berth plan ./services",
                "berth.service": """
                    [Service]
                    User=deploy
                    AmbientCapabilities=CAP_NET_ADMIN
                    ExecStart=/usr/local/bin/berth serve /srv/services --firewall
                    """,
            ],
            isVerifiable: false),

        Explanation(
            .firewallUnsupported, .error,
            title: "The kernel has no nftables support",
            body: """
                libnftables could not talk to the kernel's nf_tables subsystem: the nf_tables module is
                not loaded and could not be loaded on demand, the kernel was built without
                CONFIG_NF_TABLES, or a container sandbox does not pass nftables requests through.

                berth's firewall stage writes nftables and nothing else; it does not translate its table
                to iptables. Rather than serve with a firewall it could not write, it stops.

                Load the module (modprobe nf_tables), or run berth where the kernel has it: nft list
                ruleset working as root is the test. Where the firewall is not yours to change (a container
                whose host filters for it), serve without --firewall: the broker still screens every
                connection and datagram against the manifest.
                """,
            failing: [
                "command.txt": """
                    $ lsmod | grep nf_tables          # nothing: the module is not loaded
                    $ berth apply ./services
                    """,
            ],
            fixed: [
                "command.txt": """
                    $ modprobe nf_tables
                    $ nft list ruleset                # works: nftables is there
                    $ berth apply ./services
                    """,
            ],
            isVerifiable: false),

        Explanation(
            .firewallTableNotBerths, .error,
            title: "berth's table exists, but berth did not make it",
            body: """
                The table berth manages, table inet berth (or the name given with --table), exists but
                does not carry berth's marker, the comment "berth: managed by berth; do not edit" on the
                table and its dispatch map. Something else made it.

                apply replaces berth's table whole and destroy deletes it, so berth must be sure the table
                is its own: taking over someone else's table would delete their rules. berth refuses to
                plan, apply or destroy against it.

                Give berth a table of its own with --table (the same name for plan, apply and destroy; a
                plan saved with -out remembers it). Several berth tables can coexist. If the table really
                is unused, delete it yourself (nft delete table inet berth) and run berth again.
                """,
            failing: [
                "host.nft": """
                    # nft list ruleset
                    table inet berth {
                    \tchain input {
                    \t\ttype filter hook input priority filter; policy accept;
                    \t\ttcp dport 22 accept
                    \t}
                    }
                    """,
                "command.txt": "$ berth apply ./services",
            ],
            fixed: [
                "command.txt": """
                    $ berth plan ./services --table berth_web -out plan.json
                    $ berth apply plan.json
                    """,
            ],
            isVerifiable: false),

        Explanation(
            .firewallTableName, .error,
            title: "The table name is not a plain nftables name",
            body: """
                berth's table name is not a plain nftables identifier: it must start with a letter and
                hold only letters, digits, '_' and '-', at most 64 characters. The name is written into
                nft commands (delete table inet NAME) and into the tag of berth's host-chain rule, so a
                name nft would have to quote, or could read as something else, is refused before anything
                is sent.

                --table checks the same rule when the command line is read, and refuses a bad name as a
                usage error. This code appears for a plan saved with -out whose "firewall" member was
                edited by hand: apply FILE takes the table from the file.

                Do not edit saved plans. Make the plan again with the table you want, review it, and apply
                that file.
                """,
            failing: [
                "plan.json": """
                    {
                      "firewall": { "folder": "/srv/services", "hostChain": null, "liveFingerprint": "5d41…",
                                    "table": "berth web" },
                      …
                    }
                    """,
                "command.txt": "$ berth apply plan.json",
            ],
            fixed: [
                "command.txt": """
                    $ berth plan /srv/services --table berth_web -out plan.json
                    $ berth apply plan.json
                    """,
            ],
            isVerifiable: false),

        Explanation(
            .firewallRejected, .error,
            title: "nftables rejected berth's request; nothing was changed",
            body: """
                libnftables or the kernel refused a request from berth; the message ends with their own
                error text. apply, destroy and serve --firewall send their changes as one batch, one kernel
                transaction, so a refused batch changed nothing: the previous ruleset is still in force,
                whole.

                Common causes: a kernel without a feature berth's table uses (the nft_ct, nft_limit and
                nft_connlimit modules, behind ct state, limit rate and ct count), or another tool changing
                the firewall between berth reading it and applying (a rule berth meant to delete is gone).

                --dry-run prints the batch berth would send, and nft's check mode names the line the kernel
                refuses. After a concurrent change, plan and apply again.
                """,
            failing: ["command.txt": "$ berth apply ./services"],
            fixed: [
                "command.txt": """
                    $ berth apply ./services --dry-run > berth.nft
                    $ nft -c -f berth.nft             # check only: names the rule that is refused
                    $ modprobe nft_connlimit          # for example, when ct count was refused
                    $ berth apply ./services
                    """,
            ],
            isVerifiable: false),

        Explanation(
            .firewallHostChainSyntax, .error,
            title: #"--host-chain is not "FAMILY TABLE CHAIN" of an inet, ip or ip6 table"#,
            body: """
                --host-chain names one existing chain of the host's own firewall the way nft names it:
                family, table and chain, as one argument ("inet filter input"). berth refuses a value that
                is not three words, whose family is not inet, ip or ip6 (arp, bridge and netdev chains do
                not see the traffic berth's ports receive), or whose table or chain is not a plain nftables
                name. The value is written into nft commands, so it is checked before anything is sent.

                nft list chains shows every chain with its family and table. With Debian's stock
                /etc/nftables.conf the chain is "inet filter input"; with iptables-nft it is
                "ip filter INPUT".
                """,
            failing: [
                "host.nft": FirewallExample.hostRuleset,
                "command.txt": #"$ berth apply ./services --host-chain "filter input""#,
            ],
            fixed: [
                "host.nft": FirewallExample.hostRuleset,
                "command.txt": #"$ berth apply ./services --host-chain "inet filter input""#,
            ],
            isVerifiable: false),

        Explanation(
            .firewallHostChainMissing, .error,
            title: "The chain named by --host-chain does not exist",
            body: """
                --host-chain names a chain that is not in the ruleset. berth puts its accept rule into an
                existing chain of the host's firewall and never creates one: the rule is there to stop that
                chain from dropping berth's ports, and in a chain of its own it would stop nothing.

                berth plan shows the missing chain as "~ host chain … does not exist"; apply refuses before
                changing anything.

                Name the chain as nft list chains shows it. The family is part of the name: the input chain
                of table inet filter is "inet filter input", and "ip filter input" is another chain. If the
                host's firewall is not loaded yet, load it first (systemctl start nftables).
                """,
            failing: [
                "host.nft": FirewallExample.hostRuleset,
                "command.txt": #"$ berth apply ./services --host-chain "ip filter input""#,
            ],
            fixed: [
                "host.nft": FirewallExample.hostRuleset,
                "command.txt": #"$ berth apply ./services --host-chain "inet filter input""#,
            ],
            isVerifiable: false),

        Explanation(
            .firewallHostChainDrops, .warning,
            title: "Another input chain drops traffic to berth's ports",
            body: """
                A chain of the host's own firewall on the input hook drops traffic to ports the plan
                serves: its policy is drop, or one of its rules drops or rejects those ports. Every base
                chain on the hook sees every packet; a drop in any of them is final, while an accept only
                ends its own chain. So berth's table admitting a connection does not let it through, and
                clients time out. berth recognises a policy of drop and simple rules (tcp dport 7000 drop,
                a bare drop); a rule that also matches on something else is not checked.

                berth does not touch the host's chains unless told to. With --host-chain, apply keeps one
                rule at the top of that chain that accepts exactly the declared ports, tagged comment
                "berth:inet berth" (the table's name); each apply keeps it in step with the folder and
                destroy removes it. The rule only keeps the host chain from dropping those ports: berth's
                own table still screens them against the manifest.

                Pass the same --host-chain to every plan and apply: without it, the plan removes the rule.
                Or accept the ports in the host's firewall yourself.
                """,
            failing: [
                "host.nft": FirewallExample.hostRuleset,
                "command.txt": """
                    $ ls services
                    echo.tcp.7000.port.js  manifest.json  ping.udp.9000.port.js
                    $ berth plan ./services
                    """,
            ],
            fixed: [
                "host.nft": """
                    # nft list table inet filter, after that apply
                    table inet filter {
                    \tchain input {
                    \t\ttype filter hook input priority filter; policy drop;
                    \t\tmeta l4proto . th dport { tcp . 7000, udp . 9000 } accept comment "berth:inet berth"
                    \t\tct state established,related accept
                    \t\tiif "lo" accept
                    \t\ttcp dport 22 accept
                    \t}
                    }
                    """,
                "command.txt": #"$ berth apply ./services --host-chain "inet filter input""#,
            ],
            isVerifiable: false),

        Explanation(
            .firewallUnreadable, .error,
            title: "libnftables' JSON output could not be read",
            body: """
                berth reads the live firewall through libnftables' JSON output (what nft -j list prints)
                and could not parse what it got. That is a bug in berth, or a libnftables whose output
                berth does not know: it is built and tested against libnftables 1.0.6 (Debian 12). Nothing
                was changed; berth does not plan or apply against a firewall it could not read.

                Report it with the output of the command the message names and berth --version. Meanwhile
                berth plan DIR --offline shows the plan, and berth serve without --firewall screens in the
                broker.
                """,
            failing: ["command.txt": "$ berth plan ./services"],
            fixed: [
                "command.txt": """
                    $ nft -j list chains > chains.json          # attach both files to the report
                    $ nft -j list table inet berth > table.json
                    $ berth --version
                    $ berth plan ./services --offline           # the plan, without reading the firewall
                    """,
            ],
            isVerifiable: false),
    ]
}

/// Files that several firewall examples share.
enum FirewallExample {
    /// A common host firewall: Debian's table inet filter, its input chain closed by policy drop and opened for ssh.
    static let hostRuleset = """
        # nft list ruleset
        table inet filter {
        \tchain input {
        \t\ttype filter hook input priority filter; policy drop;
        \t\tct state established,related accept
        \t\tiif "lo" accept
        \t\ttcp dport 22 accept
        \t}
        }
        """
}
