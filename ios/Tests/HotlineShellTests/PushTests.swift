// VoIP pushes, with a real engine that is never logged in: every push is
// reported to CallKit before the delivery returns and before any network,
// and each kind ends (or keeps) the reported call as PushKit and CallKit
// require.

import Foundation
import HotlineSDK
@testable import HotlineShell
import XCTest

// @unchecked Sendable: XCTest runs one test at a time, and the @MainActor
// tests below hop to the main actor with the case object.
final class PushTests: XCTestCase, @unchecked Sendable {
    @MainActor
    func testAPushIsReportedBeforeAnyNetwork() async throws {
        let h = Harness(env: nil)
        let callId = fakeCallId()
        h.registry.deliver(callPush(callId: callId, callerId: "alice", nickname: "Alice A.", media: "video"))

        // Synchronously, inside the delivery: reported, and nothing asked for a login.
        XCTAssertEqual(h.provider.events, [.reported(CallUUID.forCallId(callId),
            IncomingCallInfo(callerId: "alice", displayName: "Alice A.", hasVideo: true, isGroup: false), .reported)])
        XCTAssertEqual(h.session.requests, 0)
        XCTAssertFalse(h.coordinator.isLoggedIn)
        XCTAssertEqual(h.call?.phase, .ringing)
        XCTAssertEqual(h.call?.callId, callId)

        // The completion follows CallKit's answer; then the login is tried.
        try await waitUntil("the push completion") { h.registry.completions == 1 }
        try await waitUntil("the login after the push") { h.session.requests == 1 }
        XCTAssertTrue(h.provider.ends.isEmpty, "a failed login leaves the call ringing until its deadline")
        await h.close()
    }

    @MainActor
    func testADuplicatePushIsNotShownTwice() async throws {
        let h = Harness(env: nil)
        let callId = fakeCallId()
        let uuid = CallUUID.forCallId(callId)
        h.registry.deliver(callPush(callId: callId, callerId: "alice"))
        h.registry.deliver(callPush(callId: callId, callerId: "alice"))

        // Both pushes reach CallKit before their delivery returns (PushKit's
        // rule), under the same UUID, so CallKit shows one call.
        XCTAssertEqual(h.provider.reports.map(\.uuid), [uuid, uuid])
        XCTAssertEqual(h.provider.reports.map(\.result), [.reported, .alreadyReported])
        try await waitUntil("both completions") { h.registry.completions == 2 }
        XCTAssertEqual(h.coordinator.calls.count, 1)
        XCTAssertEqual(h.call?.phase, .ringing)
        XCTAssertTrue(h.provider.ends.isEmpty)
        await h.close()
    }

    @MainActor
    func testACancelPushEndsTheReportedCall() async throws {
        let h = Harness(env: nil)
        let callId = fakeCallId()
        let uuid = CallUUID.forCallId(callId)
        h.registry.deliver(callPush(callId: callId, callerId: "alice"))
        h.registry.deliver(cancelPush(callId: callId, reason: "answered_elsewhere"))

        XCTAssertEqual(h.provider.reports.map(\.uuid), [uuid, uuid], "the cancel is reported too")
        try await waitUntil("both completions") { h.registry.completions == 2 }
        XCTAssertEqual(h.provider.ends.map(\.uuid), [uuid])
        XCTAssertEqual(h.provider.ends.map(\.reason), [.answeredElsewhere])
        XCTAssertTrue(h.coordinator.calls.isEmpty)

        // A late copy of the ring push: reported (PushKit) and ended at once.
        h.registry.deliver(callPush(callId: callId, callerId: "alice"))
        XCTAssertEqual(h.provider.reports.count, 3)
        try await waitUntil("the third completion") { h.registry.completions == 3 }
        XCTAssertEqual(h.provider.ends.map(\.reason), [.answeredElsewhere, .answeredElsewhere])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await h.close()
    }

    @MainActor
    func testACancelPushForACallNeverShownIsReportedAndEnded() async throws {
        let h = Harness(env: nil)
        let callId = fakeCallId()
        h.registry.deliver(cancelPush(callId: callId, reason: "no_response"))

        XCTAssertEqual(h.provider.reports.map(\.uuid), [CallUUID.forCallId(callId)])
        try await waitUntil("the completion") { h.registry.completions == 1 }
        XCTAssertEqual(h.provider.ends.map(\.uuid), [CallUUID.forCallId(callId)])
        XCTAssertEqual(h.provider.ends.map(\.reason), [.unanswered])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        XCTAssertEqual(h.session.requests, 0, "a cancel never logs in")
        await h.close()
    }

    @MainActor
    func testAnExpiredPushIsReportedAndEndedUnanswered() async throws {
        let h = Harness(env: nil)
        let callId = fakeCallId()
        h.registry.deliver(callPush(callId: callId, callerId: "alice", deadlineMs: 1_000))

        XCTAssertEqual(h.provider.reports.map(\.uuid), [CallUUID.forCallId(callId)])
        try await waitUntil("the completion") { h.registry.completions == 1 }
        XCTAssertEqual(h.provider.ends.map(\.reason), [.unanswered])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        XCTAssertEqual(h.session.requests, 0)
        await h.close()
    }

    @MainActor
    func testAPushThatIsNotHotlinesIsReportedAndEndedFailed() async throws {
        let h = Harness(env: nil)
        h.registry.deliver(["aps": ["alert": "hello"]])

        XCTAssertEqual(h.provider.reports.count, 1)
        try await waitUntil("the completion") { h.registry.completions == 1 }
        XCTAssertEqual(h.provider.ends.map(\.uuid), h.provider.reports.map(\.uuid))
        XCTAssertEqual(h.provider.ends.map(\.reason), [.failed])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await h.close()
    }

    @MainActor
    func testACallCallKitRefusesIsDropped() async throws {
        let h = Harness(env: nil)
        h.provider.refuseNext = "filteredByDoNotDisturb"
        h.registry.deliver(callPush(callId: fakeCallId(), callerId: "alice"))

        XCTAssertEqual(h.provider.reports.count, 1, "still reported: PushKit's rule")
        try await waitUntil("the completion") { h.registry.completions == 1 }
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await h.close()
    }

    @MainActor
    func testAPushedCallThatNeverRingsInTheEngineEndsAtItsDeadline() async throws {
        let h = Harness(env: nil) // the login fails: the engine never reports the call
        let callId = fakeCallId()
        h.registry.deliver(callPush(callId: callId, callerId: "alice",
                                    deadlineMs: Int64(Date().timeIntervalSince1970 * 1000) + 1_000))
        XCTAssertEqual(h.provider.reports.count, 1)
        try await waitUntil("the ring deadline") { !h.provider.ends.isEmpty }
        XCTAssertEqual(h.provider.ends.map(\.uuid), [CallUUID.forCallId(callId)])
        XCTAssertEqual(h.provider.ends.map(\.reason), [.unanswered])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await h.close()
    }
}
