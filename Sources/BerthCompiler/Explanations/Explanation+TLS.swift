import BerthPlan

extension Explanation {
    /// TLS references in the manifest and the certificates they name.
    static let tls: [Explanation] = [
        Explanation(
            .tlsUDP, .error,
            title: "tls is set on a selector that selects only UDP handlers",
            body: """
                A tls object is set on a selector that selects only UDP handlers: udp/PORT, the file name
                of a UDP entry, or a handler name whose entries are all UDP. berth terminates TLS for TCP
                only; DTLS is not supported, and serving the handler without the TLS it was configured
                with would be worse than refusing it.

                Remove tls from the UDP selector, or move it to the selector of the TCP entry it was meant
                for. A name selector that matches both echo.tcp.7000.port.js and echo.udp.7000.port.js
                applies its tls to the TCP entry only.

                Related: manifest.key-not-applicable for TCP-only limits on UDP handlers (a warning).
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "udp/7000",
                    #""allow": ["10.0.0.0/8"], "tls": { "cert": "certs/echo.pem", "key": "certs/echo.key" }"#),
                "echo.udp.7000.port.js": ExampleFile.udpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(selector: "udp/7000", #""allow": ["10.0.0.0/8"]"#),
                "echo.udp.7000.port.js": ExampleFile.udpEcho,
            ]),

        Explanation(
            .tlsFileMissing, .error,
            title: "A TLS certificate or key file is missing or unreadable",
            body: """
                The certificate or key file named by tls.cert or tls.key does not exist, or berth may not
                read it. Paths are relative to the folder (certs/echo.pem), or absolute with
                "external": true.

                Keys are often kept out of synced folders and version control on purpose; then the folder
                is not complete on this machine. Copy the files in (with the key readable only by the user
                running berth), or refer to them where they live, by absolute path with "external": true.

                berth checks at validate time, so a missing certificate is found before the handler should
                have started serving, not at the first handshake.

                The fixed example needs a real certificate and key, which cannot be shown inline.
                """,
            failing: ["manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),

        Explanation(
            .tlsOutsideFolder, .error,
            title: "A TLS certificate or key path is outside the folder",
            body: """
                A tls.cert or tls.key path resolves outside the folder: "../certs/echo.pem", a symlink that
                leaves the folder, or an absolute path without "external": true. As with imports
                (module.outside-folder), berth does not read files outside the folder unless told to.

                Certificates are the one thing that commonly lives elsewhere (/etc/letsencrypt, a secrets
                mount), so there is an explicit opt-in: "external": true in the same tls object, with
                absolute paths, which do not depend on where the folder is synced to. The plan records the
                certificate's SHA-256 and notAfter, so a replaced certificate shows in the next plan.

                The fixed example needs a real certificate and key, which cannot be shown inline.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""tls": { "cert": "../certs/echo.pem", "key": "../certs/echo.key" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": """
                    {
                      "version": 1,
                      "handlers": {
                        "echo": {
                          "tls": {
                            "cert": "/etc/letsencrypt/live/echo.example.net/fullchain.pem",
                            "key": "/etc/letsencrypt/live/echo.example.net/privkey.pem",
                            "external": true
                          }
                        }
                      }
                    }
                    """,
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            isVerifiable: false),

        Explanation(
            .tlsInvalidPEM, .error,
            title: "A TLS file is not a PEM certificate or unencrypted PEM key",
            body: """
                The certificate file is not a PEM certificate, the key file is not a PEM private key, or
                the key is encrypted (berth cannot prompt for a passphrase). Common causes: cert and key
                swapped in the manifest, a DER (binary) file, a certificate signing request (BEGIN
                CERTIFICATE REQUEST) where the certificate belongs, or a key exported with a passphrase.

                The certificate file holds the server's certificate first, then any intermediates, each
                between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE-----. The key file holds one
                BEGIN PRIVATE KEY (PKCS#8), BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY block.

                openssl converts: openssl x509 -inform der -in echo.der -out echo.pem for a DER
                certificate, openssl pkey -in encrypted.key -out echo.key to remove a passphrase.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""tls": { "cert": "certs/echo.key", "key": "certs/echo.pem" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),

        Explanation(
            .tlsKeyMismatch, .error,
            title: "The TLS private key does not belong to the certificate",
            body: """
                The private key does not belong to the certificate: the public key inside the certificate
                is not the public half of the key. Every handshake would fail. This happens when a
                certificate is renewed with a new key and only one of the two files is replaced, or when
                the manifest names another handler's key.

                Compare the public keys: openssl x509 -in certs/echo.pem -noout -pubkey and openssl pkey
                -in certs/echo.key -pubout must print the same block. Install a matching pair.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo", #""tls": { "cert": "certs/echo.pem", "key": "certs/old.key" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/old.key": privateKey,
            ],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),

        Explanation(
            .tlsExpired, .error,
            title: "The TLS certificate has expired",
            body: """
                The certificate's notAfter date is in the past: clients that check certificates refuse to
                connect. berth reports it when it validates the folder, rather than serving handshakes
                that fail.

                Renew the certificate and replace both files together (tls.key-mismatch otherwise).
                openssl x509 -in certs/echo.pem -noout -enddate shows the date. The plan records notAfter,
                so the renewal shows up in the next plan.

                Related: tls.expiring warns 30 days ahead.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(
                    notBefore: "Jan  1 00:00:00 2024 GMT", notAfter: "Apr  1 00:00:00 2024 GMT"),
                "certs/echo.key": privateKey,
            ],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),

        Explanation(
            .tlsExpiring, .warning,
            title: "The TLS certificate expires within 30 days",
            body: """
                The certificate expires within 30 days. It still works; this is the reminder. Automated
                renewal that has quietly stopped is the usual cause of outages from expired certificates,
                so berth warns every time it validates the folder; with --strict the warning is an error,
                which makes CI fail a month ahead.

                Renew the certificate and replace both files together; the next compile picks up the new
                pair.

                Related: tls.expired.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(notAfter: "(12 days from now)"), "certs/echo.key": privateKey,
            ],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),

        Explanation(
            .tlsNotYetValid, .error,
            title: "The TLS certificate is not valid yet",
            body: """
                The certificate's notBefore date is in the future, so clients would refuse it as not yet
                valid. Either the certificate was issued with a future start date, or this machine's clock
                is wrong (check timedatectl or the NTP service), which breaks more than TLS.

                Correct the clock, or install a certificate that is valid now.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(notBefore: "(3 days from now)"), "certs/echo.key": privateKey,
            ],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),
    ]

    private static let tlsManifest = ExampleFile.manifest(
        selector: "echo", #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key" }"#)

    /// A PEM certificate with its body elided, preceded by the dates as `openssl x509 -noout -dates` prints them
    /// (text before the BEGIN line is allowed in PEM files).
    private static func certificate(
        notBefore: String = "(30 days ago)", notAfter: String = "(60 days from now)"
    ) -> String {
        """
        subject=CN = echo.example.net
        notBefore=\(notBefore)
        notAfter=\(notAfter)
        -----BEGIN CERTIFICATE-----
        MIIBszCCAVmgAwIBAgIUE7... (certificate body elided) ...
        -----END CERTIFICATE-----
        """
    }

    private static let privateKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEG... (key body elided) ...
        -----END PRIVATE KEY-----
        """
}
