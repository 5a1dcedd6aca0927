// Test support: Swift users around the generated HotlineEngine, bounded
// waits, and error-code assertions. The server is the real `hotline server`
// that tests/swift/run.sh started; it passes its URL and secret in the
// environment.

import Foundation
import XCTest
import HotlineSDK

enum Env {
    static let serverUrl = required("HOTLINE_SERVER_URL")
    static let secretKey = required("HOTLINE_SECRET_KEY")
    static let sdkAppId = UInt64(required("HOTLINE_SDK_APP_ID"))!
    /// The `hotline` binary, for `hotline phone`.
    static let hotlineBin = required("HOTLINE_BIN")

    private static func required(_ name: String) -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            fatalError("\(name) is not set; run the suite with tests/swift/run.sh")
        }
        return value
    }
}

/// The base of every test class here: a hard ceiling per test. XCTest on
/// Linux has none, and an engine call that never returns must fail the run
/// with the test's name, not stall it.
class HotlineTestCase: XCTestCase {
    static let ceilingSeconds = 120

    override func invokeTest() {
        let name = self.name
        let watchdog = DispatchWorkItem {
            FileHandle.standardError.write(Data("error: \(name) did not finish within \(HotlineTestCase.ceilingSeconds) s; stopping the run\n".utf8))
            exit(1)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Self.ceilingSeconds), execute: watchdog)
        super.invokeTest()
        watchdog.cancel()
    }
}

/// A fresh user ID, so tests never share state on the server.
func uid(_ name: String) -> String {
    "\(name)-\(String(UInt64.random(in: 0...UInt64.max), radix: 16).prefix(8))"
}

/// A failed bounded wait; XCTest reports the thrown error as the test's failure.
struct WaitTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Poll `condition` every 20 ms until it holds; throw after `seconds`.
/// Waits are generous (the machine may be loaded) and never a measurement.
func until(_ what: String, seconds: Double = 30, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        if Date() > deadline {
            throw WaitTimeout(description: "timed out after \(seconds) s waiting for \(what)")
        }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}

/// The name of the calling thread (Linux keeps 15 bytes): the engine names
/// its threads `hotline-...`.
func currentThreadName() -> String {
    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
    return comm.trimmingCharacters(in: .whitespacesAndNewlines)
}

extension NSLock {
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// Assert that `body` throws `HotlineError.Api` with `code`; returns its message.
@discardableResult
func assertThrowsCode<T>(
    _ code: Int32, _ what: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws -> T
) async -> String? {
    do {
        _ = try await body()
        XCTFail("\(what): returned, expected HotlineError \(code)", file: file, line: line)
    } catch let error as HotlineError {
        XCTAssertEqual(error.code, code, "\(what): \(error)", file: file, line: line)
        if case let .Api(_, msg) = error { return msg }
    } catch {
        XCTFail("\(what): threw \(error), not a HotlineError", file: file, line: line)
    }
    return nil
}

extension CallEvent {
    /// The case's name, as in `callReceived`.
    var name: String {
        String(String(describing: self).prefix { $0 != "(" })
    }

    var callId: String? {
        switch self {
        case let .callReceived(id, _, _, _, _, _, _), let .callBegin(id, _, _, _), let .callEnd(id, _, _, _),
             let .callNotConnected(id, _, _), let .callMediaTypeChanged(id, _, _),
             let .userInviting(id, _), let .userReject(id, _), let .userNoResponse(id, _),
             let .userLineBusy(id, _), let .userJoin(id, _), let .userLeave(id, _),
             let .userVideoAvailable(id, _, _), let .userAudioAvailable(id, _, _),
             let .userVoiceVolumeChanged(id, _), let .userNetworkQualityChanged(id, _):
            return id
        case .kickedOffline, .userSigExpired, .error:
            return nil
        }
    }

    /// The user of the `user...` callbacks that name one.
    var userId: String? {
        switch self {
        case let .userInviting(_, u), let .userReject(_, u), let .userNoResponse(_, u), let .userLineBusy(_, u),
             let .userJoin(_, u), let .userLeave(_, u), let .userVideoAvailable(_, u, _), let .userAudioAvailable(_, u, _):
            return u
        default:
            return nil
        }
    }

    /// The reason of `callEnd` and `callNotConnected`.
    var reason: EndReason? {
        switch self {
        case let .callEnd(_, _, reason, _), let .callNotConnected(_, _, reason): return reason
        default: return nil
        }
    }
}

/// Events in arrival order, appended from the engine's side.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [CallEvent] = []

    func append(_ event: CallEvent) { lock.locked { events.append(event) } }
    var all: [CallEvent] { lock.locked { events } }
}

/// A user with an engine whose events arrive through the layer's
/// `events()` AsyncStream into an `EventLog`.
final class TestUser: @unchecked Sendable {
    let userId: String
    let engine = HotlineEngine()
    let log = EventLog()
    private let consumer: Task<Void, Never>
    private let consumerDone = Counter()
    /// Events before this index were taken by `next`.
    private var cursor = 0

    init(_ name: String) {
        userId = uid(name)
        let stream = engine.events()
        let (log, done) = (self.log, consumerDone)
        consumer = Task.detached {
            for await event in stream { log.append(event) }
            done.add()
        }
    }

    func config(sig: String? = nil) -> EngineConfig {
        EngineConfig(serverUrl: Env.serverUrl, sdkAppId: Env.sdkAppId, userId: userId,
                     userSig: sig ?? genUserSig(sdkAppId: Env.sdkAppId, secretKey: Env.secretKey, userId: userId, expireS: 3600))
    }

    func login() async throws {
        try await engine.login(config: config())
    }

    /// The next event (after the ones `next` already took) named `name` and
    /// matching the filters; events skipped on the way stay in `log`.
    @discardableResult
    func next(_ name: String, callId: String? = nil, userId: String? = nil, seconds: Double = 30,
              where extra: (CallEvent) -> Bool = { _ in true }) async throws -> CallEvent {
        var found: CallEvent?
        do {
            try await until("\(self.userId): \(name)", seconds: seconds) {
                let events = log.all
                while cursor < events.count {
                    let e = events[cursor]
                    cursor += 1
                    if e.name == name && (callId == nil || e.callId == callId)
                        && (userId == nil || e.userId == userId) && extra(e) {
                        found = e
                        return true
                    }
                }
                return false
            }
        } catch let timeout as WaitTimeout {
            throw WaitTimeout(description: "\(timeout.description); saw \(log.all.map(\.name))")
        }
        return found!
    }

    /// Like `next`, but an event already seen counts too: for events whose
    /// order relative to others is not fixed (media availability, levels).
    @discardableResult
    func seen(_ name: String, seconds: Double = 30, where match: @escaping (CallEvent) -> Bool = { _ in true }) async throws -> CallEvent {
        var found: CallEvent?
        try await until("\(userId): \(name) (seen so far: \(log.all.map(\.name)))", seconds: seconds) {
            found = log.all.first { $0.name == name && match($0) }
            return found != nil
        }
        return found!
    }

    /// Log out and end the event stream (which removes its observer).
    func close() async {
        await engine.unInit()
        consumer.cancel()
        // Cancelling ends the iteration; the wait is bounded all the same.
        try? await until("\(userId)'s event stream to end", seconds: 10) { consumerDone.value > 0 }
    }
}

/// Log every user in, run `body`, then log everyone out, also on failure.
func withUsers(_ names: String..., body: ([TestUser]) async throws -> Void) async throws {
    let users = names.map(TestUser.init)
    do {
        for u in users { try await u.login() }
        try await body(users)
    } catch {
        for u in users { await u.close() }
        throw error
    }
    for u in users { await u.close() }
}
