// swift-tools-version: 6.2
import PackageDescription

/// Every Swift target: Swift 6 mode and the upcoming features STYLE.md asks for.
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
/// Wrapper modules over C libraries additionally mark every unsafe expression.
let wrapperSwift = strictSwift + [.strictMemorySafety()]
/// `make fuzz` sets BERTH_FUZZ: every executable then links libFuzzer's `main` (see the harnesses at the end).
let isFuzzing = Context.environment["BERTH_FUZZ"] != nil

let package = Package(
    name: "berth",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "berth", targets: ["berth"])],
    targets: [
        // C libraries from Debian. QuickJS ships only a static archive in its own directory, so it is a C target whose
        // linker settings name that directory; the linker takes the engine objects only (quickjs-libc.o is never referenced).
        .target(
            name: "CQuickJS",
            linkerSettings: [
                .unsafeFlags(["-L/usr/lib/x86_64-linux-gnu/quickjs", "-L/usr/lib/aarch64-linux-gnu/quickjs"]),
                .linkedLibrary("quickjs"), .linkedLibrary("m"),
            ]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CNFTables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),

        // The pipeline, one module per stage.
        .target(name: "BerthPlan", swiftSettings: strictSwift),
        .target(name: "BerthStore", swiftSettings: strictSwift),
        // The handler folder's files, opened only beneath its descriptor: every reader of the folder goes through it.
        .target(name: "BerthFolder", swiftSettings: wrapperSwift),
        // QuickJS's one wrapper, the folder-confined module loader and the inspector: what `validate` needs.
        // The structured-clone format: how ctx.shared's values and structuredClone's copies are bytes (docs/clone-format.md).
        .target(name: "BerthClone", swiftSettings: strictSwift),
        .target(name: "BerthJS", dependencies: ["BerthPlan", "BerthFolder", "BerthClone", "CQuickJS"],
                swiftSettings: wrapperSwift),
        // The handler runtime (globals, conn, ctx, ctx.shared's binding) over BerthJS: what `serve` adds.
        // Its JavaScript (js/*.js) is built in as QuickJS bytecode by the EmbedRuntimeJS plugin's CompileRuntimeJS.
        .target(name: "BerthRuntime", dependencies: ["BerthPlan", "BerthClone", "BerthJS", "BerthStore"], exclude: ["js"],
                swiftSettings: strictSwift, plugins: ["EmbedRuntimeJS"]),
        .executableTarget(name: "CompileRuntimeJS", dependencies: ["BerthJS"], path: "Sources/CompileRuntimeJS",
                          swiftSettings: strictSwift + (isFuzzing ? [.define("BERTH_FUZZ")] : [])),
        .plugin(name: "EmbedRuntimeJS", capability: .buildTool(), dependencies: ["CompileRuntimeJS"],
                path: "Sources/EmbedRuntimeJS"),
        .target(name: "BerthTLS", dependencies: ["BerthPlan", "BerthFolder", "COpenSSL"], swiftSettings: wrapperSwift),
        .target(name: "BerthCompiler", dependencies: ["BerthPlan", "BerthFolder", "BerthJS", "BerthTLS"],
                swiftSettings: strictSwift),
        .target(name: "BerthBroker", dependencies: ["BerthPlan", "BerthFolder", "BerthRuntime", "BerthStore", "BerthTLS", "CLibUV"], swiftSettings: wrapperSwift),
        .target(name: "BerthFirewall", dependencies: ["BerthPlan", "CNFTables"], swiftSettings: wrapperSwift),
        .executableTarget(name: "berth", dependencies: ["BerthPlan", "BerthCompiler", "BerthBroker", "BerthFirewall"],
                          swiftSettings: strictSwift),

        .target(name: "BerthTestSupport", dependencies: ["BerthPlan"], path: "Tests/BerthTestSupport",
                swiftSettings: strictSwift),
        .testTarget(name: "BerthPlanTests", dependencies: ["BerthPlan", "BerthTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "BerthCloneTests", dependencies: ["BerthClone"], swiftSettings: strictSwift),
        .testTarget(name: "BerthStoreTests", dependencies: ["BerthStore"], swiftSettings: strictSwift),
        .testTarget(name: "BerthFolderTests", dependencies: ["BerthFolder", "BerthTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "BerthJSTests", dependencies: ["BerthJS", "BerthTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthRuntime", "BerthJS", "BerthClone", "BerthStore", "BerthTestSupport"],
                    swiftSettings: strictSwift),
        // The test targets that run the `berth` executable (BerthBinary, ServeProcess: BerthBrokerTests, BerthCLITests)
        // depend on it, so SwiftPM builds it with them and they never run a stale one.
        .testTarget(name: "BerthBrokerTests", dependencies: ["BerthBroker", "BerthTestSupport", "berth"],
                    swiftSettings: strictSwift),
        .testTarget(name: "BerthTLSTests", dependencies: ["BerthTLS", "BerthFolder", "BerthPlan", "BerthTestSupport", "COpenSSL"], swiftSettings: strictSwift),
        .testTarget(name: "BerthCompilerTests", dependencies: ["BerthCompiler", "BerthTestSupport"],
                    exclude: ["Fixtures"], swiftSettings: strictSwift),
        .testTarget(name: "BerthFirewallTests", dependencies: ["BerthFirewall", "BerthTestSupport"],
                    exclude: ["Golden"], swiftSettings: strictSwift),
        .testTarget(name: "BerthCLITests", dependencies: ["berth", "BerthPlan", "BerthTestSupport"], exclude: ["Golden"],
                    swiftSettings: strictSwift),
    ]
)

/// The libFuzzer harnesses (Tests/Fuzz, README "Fuzzing"), declared only when `make fuzz` sets BERTH_FUZZ: they have no
/// `main`, so they link only with `--sanitize fuzzer` (libFuzzer brings it), which the ordinary build does not use.
if isFuzzing {
    let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzManifest", ["BerthPlan", "BerthCompiler"]),
        ("FuzzHandlerFileName", ["BerthPlan", "BerthCompiler"]),
        ("FuzzIPPrefix", ["BerthPlan"]),
        ("FuzzCloneReader", ["BerthClone"]),
        ("FuzzJSClone", ["BerthRuntime", "BerthPlan", "BerthStore"]),
    ]
    package.targets += harnesses.map {
        .executableTarget(name: $0.name, dependencies: $0.dependencies, path: "Tests/Fuzz/\($0.name)",
                          swiftSettings: strictSwift)
    }
}
