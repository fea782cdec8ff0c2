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

                The same holds for a CA certificate in the clientCA file: client certificates can no
                longer verify against it. Renew it, or remove it from the file if it is no longer used.

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

        Explanation(
            .tlsPairs, .error,
            title: "tls names its certificates both ways, or not at all",
            body: """
                A tls object names its certificate pairs in one of two ways: "cert" and "key" for one
                pair, or "certificates", a list of {"cert", "key"} objects, for several pairs chosen by
                SNI (the name the client asks for). This tls object has both forms, neither, an empty
                "certificates" list, or a pair with a "cert" but no "key" (or the reverse).

                With "certificates", a client's SNI name picks the first pair whose certificate covers it
                (its subjectAltName DNS names, wildcards included, or its CN when it has none); the first
                pair also serves clients that send no name, and names no pair covers unless "strictSNI"
                is true.

                Write one form: move a lone pair into "certificates" (first, if it is the default), or
                drop "certificates" and keep "cert" and "key".

                The fixed example needs real certificates and keys, which cannot be shown inline.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/a.pem", "key": "certs/a.key", "certificates": [{ "cert": "certs/b.pem", "key": "certs/b.key" }] }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "certificates": [{ "cert": "certs/a.pem", "key": "certs/a.key" }, { "cert": "certs/b.pem", "key": "certs/b.key" }] }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            isVerifiable: false),

        Explanation(
            .tlsSNIShadowed, .warning,
            title: "A certificate pair can never be chosen by SNI",
            body: """
                SNI picks the first pair in "certificates" whose certificate covers the client's name. This
                pair comes after pairs that already cover every name it covers (or it covers no DNS name
                at all), so no client ever gets it. Usually the pairs are in the wrong order: a wildcard
                certificate (*.example.net) listed before a certificate for one host (api.example.net)
                takes that host's clients too.

                Put the pairs with the more specific names first; the first pair remains the one clients
                without SNI get. openssl x509 -in certs/api.pem -noout -ext subjectAltName shows the names
                a certificate covers.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "certificates": [{ "cert": "certs/wildcard.pem", "key": "certs/wildcard.key" }, { "cert": "certs/api.pem", "key": "certs/api.key" }] }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "certificates": [{ "cert": "certs/api.pem", "key": "certs/api.key" }, { "cert": "certs/wildcard.pem", "key": "certs/wildcard.key" }] }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            isVerifiable: false),

        Explanation(
            .tlsClientCA, .error,
            title: "The clientCA file holds no CA certificate",
            body: """
                "clientCA" names the PEM file of the CA certificates that client certificates must chain
                to (mutual TLS). This file holds no certificate berth can read: it is empty, binary (DER),
                a private key, or a PEM block of another type, or one of its certificates does not decode.
                Without a CA no client certificate could ever verify, so the endpoint is refused rather
                than served with every client refused.

                Put the CA certificates in the file, each between -----BEGIN CERTIFICATE----- and
                -----END CERTIFICATE-----; several CAs may follow one another. openssl x509 -inform der
                -in ca.der -out clients-ca.pem converts a DER certificate.

                Related: tls.client-ca-not-ca, tls.expired (a CA certificate in the file has expired).

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": clientCAManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/clients-ca.pem": privateKey,
            ],
            fixed: [
                "manifest.json": clientCAManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/clients-ca.pem": certificate(),
            ],
            isVerifiable: false),

        Explanation(
            .tlsClientCANotCA, .warning,
            title: "A certificate in the clientCA file is not a CA certificate",
            body: """
                A certificate in the "clientCA" file is not a CA certificate: it has basicConstraints
                CA:FALSE (or no basicConstraints and is not self-signed). OpenSSL does not accept such a
                certificate as the issuer of a client certificate, so clients whose certificates it
                signed fail verification. The usual cause is a client's own certificate put in the file
                where the CA that issued it belongs. A self-signed client certificate in the file still
                verifies itself (pinning one client), which is why this is a warning, not an error.

                Put the issuing CA's certificate in the file: openssl x509 -noout -issuer on a client
                certificate names it, and openssl x509 -noout -ext basicConstraints on the CA certificate
                shows CA:TRUE.

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": clientCAManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/clients-ca.pem": certificate(subject: "CN = alice (a client, CA:FALSE)"),
            ],
            fixed: [
                "manifest.json": clientCAManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/clients-ca.pem": certificate(subject: "CN = Example Clients CA (CA:TRUE)"),
            ],
            isVerifiable: false),

        Explanation(
            .tlsClientAuth, .error,
            title: "clientCertificate is not \"required\" or \"optional\", or has no clientCA",
            body: """
                "clientCertificate" says what happens to a client without a verified certificate:
                "required" (the default once "clientCA" is set) fails its handshake; "optional" serves it,
                and the handler reads conn.authorized (and conn.authorizationError) to decide. Any other
                value is an error, and so is "clientCertificate" without "clientCA": there would be
                nothing to verify client certificates against.

                Add "clientCA" with the CA certificates that issue the client certificates, or remove
                "clientCertificate" to serve without client certificates.

                The fixed example needs real certificates, which cannot be shown inline.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "clientCertificate": "required" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: ["manifest.json": clientCAManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho],
            isVerifiable: false),

        Explanation(
            .tlsALPN, .error,
            title: "The alpn list is empty or has an invalid protocol name",
            body: """
                "alpn" lists the application protocols the endpoint speaks, in the server's order of
                preference: ["h2", "http/1.1"]. A client that offers ALPN and shares no protocol with the
                list fails its handshake; a client that offers none is served (conn.alpnProtocol is
                false). So an empty list would refuse every ALPN client: leave "alpn" out instead.

                Each name is 1 to 255 bytes (RFC 7301) of visible ASCII, one protocol per string, and
                appears once. Names are case-sensitive identifiers from the IANA registry: "h2",
                "http/1.1", "acme-tls/1", or your own for a private protocol.

                The fixed example needs real certificates, which cannot be shown inline.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "alpn": ["h2, http/1.1"] }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "alpn": ["h2", "http/1.1"] }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            isVerifiable: false),

        Explanation(
            .tlsMinVersion, .error,
            title: "minVersion is not \"1.2\" or \"1.3\"",
            body: """
                "minVersion" is the oldest TLS version the endpoint accepts: "1.2" (the default) or "1.3".
                TLS 1.0 and 1.1 are deprecated by RFC 8996 (weak hashes, no modern cipher suites) and
                berth does not offer them; every current client speaks TLS 1.2. Versions are written as
                the bare number: "1.3", not "TLSv1.3".

                A client below minVersion fails its handshake, counted as tls-version in the endpoint's
                summary line. "1.3" shuts out older clients (older Android and Java versions, many
                embedded devices); keep "1.2" unless all your clients speak 1.3.

                The fixed example needs real certificates, which cannot be shown inline.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "minVersion": "1.0" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "minVersion": "1.2" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            isVerifiable: false),

        Explanation(
            .tlsHandshakeTimeout, .error,
            title: "handshakeTimeout is outside 100ms...5m",
            body: """
                "handshakeTimeout" bounds how long a client may take to finish the TLS handshake after it
                connects; a client still handshaking then is cut and counted as tls-timeout. It holds a
                connection slot without doing anything, so the limit protects the endpoint from clients
                that connect and stall. The default is "10s"; the value must be from "100ms" to "5m".

                Below 100ms, clients on slow or distant links would fail; above 5 minutes, stalled
                handshakes would pile up. A duration that does not parse is manifest.duration.

                The fixed example needs real certificates, which cannot be shown inline.
                """,
            failing: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "handshakeTimeout": "1h" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            fixed: [
                "manifest.json": ExampleFile.manifest(
                    selector: "echo",
                    #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "handshakeTimeout": "10s" }"#),
                "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
            ],
            isVerifiable: false),

        Explanation(
            .tlsRejected, .error,
            title: "OpenSSL refuses the certificate or key for TLS",
            body: """
                The files parse and match, but OpenSSL refuses to serve them at its default security level
                (level 2 on Debian): an RSA or DSA key shorter than 2048 bits ("ee key too small"), a
                certificate signed with MD5 or SHA-1 ("ca md too weak"), or a key type TLS cannot use. validate
                builds the same handshake context berth serve builds, so an endpoint it accepts is one the
                broker serves; this one would not be.

                Issue a new certificate with an RSA key of at least 2048 bits or an EC key (P-256 or larger),
                signed with SHA-256 or better: openssl req -x509 -newkey ec -pkeyopt
                ec_paramgen_curve:P-256 -sha256 ....

                The example cannot be compiled as shown: certificates are elided.
                """,
            failing: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": "(an RSA 1024 certificate)", "certs/echo.key": "(its key)",
            ],
            fixed: [
                "manifest.json": tlsManifest, "echo.tcp.7443.port.js": ExampleFile.tcpEcho,
                "certs/echo.pem": certificate(), "certs/echo.key": privateKey,
            ],
            isVerifiable: false),
    ]

    private static let clientCAManifest = ExampleFile.manifest(
        selector: "echo",
        #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key", "clientCA": "certs/clients-ca.pem" }"#)

    private static let tlsManifest = ExampleFile.manifest(
        selector: "echo", #""tls": { "cert": "certs/echo.pem", "key": "certs/echo.key" }"#)

    /// A PEM certificate with its body elided, preceded by the dates as `openssl x509 -noout -dates` prints them
    /// (text before the BEGIN line is allowed in PEM files).
    private static func certificate(
        subject: String = "CN = echo.example.net", notBefore: String = "(30 days ago)",
        notAfter: String = "(60 days from now)"
    ) -> String {
        """
        subject=\(subject)
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
