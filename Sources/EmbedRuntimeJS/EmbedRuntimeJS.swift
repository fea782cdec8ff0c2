import Foundation
import PackagePlugin

/// Builds the handler runtime's JavaScript (the target's `js/*.js`) into the target: CompileRuntimeJS compiles each
/// file to QuickJS bytecode and writes them all into one Swift file, so `berth` stays one executable, no resources.
@main
struct EmbedRuntimeJS: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let folder = target.directoryURL.appending(path: "js")
        let scripts = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "js" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "RuntimeJS.swift")
        return [
            .buildCommand(
                displayName: "Compiling the runtime's JavaScript to bytecode",
                executable: try context.tool(named: "CompileRuntimeJS").url,
                arguments: [output.path] + scripts.map(\.path),
                inputFiles: scripts, outputFiles: [output])
        ]
    }
}
