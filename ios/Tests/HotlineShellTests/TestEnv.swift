// The server the runner started (tests/swift/run.sh): its URL, secret key,
// SDKAppID, and the `hotline` binary for simulated phones.

import Foundation
import HotlineSDK
import XCTest

struct TestEnv: Sendable {
    let serverUrl: String
    let secretKey: String
    let sdkAppId: UInt64
    let hotlineBin: String

    /// The environment's server, or a skip when the suite runs without one.
    static func require() throws -> TestEnv {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["HOTLINE_SERVER_URL"], let key = env["HOTLINE_SECRET_KEY"],
              let bin = env["HOTLINE_BIN"] else {
            throw XCTSkip("needs HOTLINE_SERVER_URL, HOTLINE_SECRET_KEY and HOTLINE_BIN (tests/swift/run.sh sets them)")
        }
        let appId = env["HOTLINE_SDK_APP_ID"].flatMap(UInt64.init) ?? 1_400_000_000
        return TestEnv(serverUrl: url, secretKey: key, sdkAppId: appId, hotlineBin: bin)
    }

    func config(for userId: String) -> EngineConfig {
        EngineConfig(serverUrl: serverUrl, sdkAppId: sdkAppId, userId: userId,
                     userSig: genUserSig(sdkAppId: sdkAppId, secretKey: secretKey, userId: userId, expireS: 3600))
    }
}

/// A user ID no other test uses (the server is shared).
func uniqueUser(_ name: String) -> String {
    "\(name)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Wait until `condition` holds, checking every 50 ms, for at most `seconds`
/// (never a timing assertion: the limit only bounds a test that would hang).
@MainActor
func waitUntil(_ what: String, seconds: Double = 30, file: StaticString = #filePath, line: UInt = #line,
               _ condition: @MainActor () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline {
            XCTFail("timed out after \(Int(seconds)) s waiting for: \(what)", file: file, line: line)
            throw CancellationError()
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
}

/// A VoIP push as PushKit hands it over (`dictionaryPayload`): the server's
/// `hotline` object under the APNs body.
func callPush(callId: String, callerId: String, nickname: String = "", media: String = "audio",
              deadlineMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000) + 30_000,
              serverUrl: String = "ws://127.0.0.1:9/ws") -> [AnyHashable: Any] {
    ["aps": [String: Any](), "hotline": [
        "v": 1, "call_id": callId, "deadline_ms": deadlineMs, "type": "call",
        "caller_id": callerId, "caller_nickname": nickname, "caller_avatar": "",
        "media_type": media, "is_group": false, "invitees": [String](),
        "server_url": serverUrl, "title": "", "desc": "", "ext": "",
    ] as [String: Any]]
}

func cancelPush(callId: String, reason: String) -> [AnyHashable: Any] {
    ["aps": [String: Any](), "hotline": [
        "v": 1, "call_id": callId, "deadline_ms": Int64(Date().timeIntervalSince1970 * 1000) + 30_000,
        "type": "cancel", "reason": reason,
    ] as [String: Any]]
}

/// A random call ID in the server's format (32 hex digits).
func fakeCallId() -> String {
    UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
}
