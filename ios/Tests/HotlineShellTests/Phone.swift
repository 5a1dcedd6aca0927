// A `hotline phone` process: a simulated phone on the test server, driven by
// its flags, whose JSON event lines are collected for the test to wait on.

import Foundation
@testable import HotlineShell
import XCTest

final class Phone: @unchecked Sendable {
    let userId: String
    private let process = Process()
    private let lock = NSLock()
    private var lines: [[String: Any]] = []
    private var partial = Data()

    /// Start `hotline phone --user-id <userId> <arguments>` on the test server.
    init(_ env: TestEnv, userId: String, arguments: [String]) throws {
        self.userId = userId
        process.executableURL = URL(fileURLWithPath: env.hotlineBin)
        process.arguments = ["phone", "--server", env.serverUrl, "--sdk-app-id", String(env.sdkAppId),
                             "--user-id", userId] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOTLINE_SECRET_KEY"] = env.secretKey
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.take(handle.availableData)
        }
        try process.run()
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// The events seen so far, in order.
    var events: [[String: Any]] { lock.locked { lines } }

    /// The first event named `name` (and matching `match`), waiting up to 30 s for it.
    @discardableResult @MainActor
    func waitFor(_ name: String, seconds: Double = 30, file: StaticString = #filePath, line: UInt = #line,
               where match: @escaping ([String: Any]) -> Bool = { _ in true }) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let hit = events.first(where: { $0["event"] as? String == name && match($0) }) { return hit }
            if Date() > deadline {
                let seen = events.compactMap { $0["event"] as? String }.joined(separator: ", ")
                XCTFail("phone \(userId): no \(name) within \(Int(seconds)) s; saw: \(seen)", file: file, line: line)
                throw CancellationError()
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    private func take(_ data: Data) {
        lock.locked {
            partial.append(data)
            while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                let line = partial[partial.startIndex..<newline]
                partial.removeSubrange(partial.startIndex...newline)
                if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] {
                    lines.append(object)
                }
            }
        }
    }
}
