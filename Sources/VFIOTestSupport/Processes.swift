import Foundation

public struct ProcessFailed: Error {
    public let status: Int32
}

/// Runs a program and returns its standard output; throws when it exits non-zero unless
/// `allowFailure` (standard error is discarded).
@discardableResult
public func runProcess(_ path: String, _ args: [String], allowFailure: Bool = false) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = args
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 && !allowFailure { throw ProcessFailed(status: process.terminationStatus) }
    return String(decoding: data, as: UTF8.self)
}
