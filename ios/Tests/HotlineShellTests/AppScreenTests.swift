// Where CallKit is not allowed (mainland China): the app's own notification
// and incoming screen, and the coordinator activating the audio session.

import Foundation
import HotlineSDK
@testable import HotlineShell
import XCTest

// @unchecked Sendable: XCTest runs one test at a time, and the @MainActor
// tests below hop to the main actor with the case object.
final class AppScreenTests: XCTestCase, @unchecked Sendable {
    @MainActor
    func testWithoutCallKitTheAppShowsAndAnswersTheCall() async throws {
        let env = try TestEnv.require()
        let alerter = FakeAlerter()
        let h = Harness(env: env, alerter: alerter)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let alice = try Phone(env, userId: uniqueUser("alice"),
                              arguments: ["--call", h.userId, "--media", "audio", "--hangup-after", "3"])
        defer { alice.stop() }

        try await waitUntil("the app's alert") { alerter.shown.count == 1 }
        let callId = alerter.shown[0].callId
        XCTAssertEqual(alerter.shown[0].info.callerId, alice.userId)
        XCTAssertTrue(h.provider.events.isEmpty, "CallKit is never used")

        try await h.coordinator.answer(callId: callId)
        try await alice.waitFor("onCallBegin") { $0["callId"] as? String == callId }
        try await waitUntil("connected") { h.call?.phase == .active }
        XCTAssertEqual(alerter.dismissed.map(\.callId), [callId], "the alert goes once answered")
        XCTAssertNil(alerter.dismissed.first?.reason ?? nil)
        XCTAssertEqual(Array(h.audio.events.prefix(3)), [.configure, .activate, .start])

        try await waitUntil("alice hung up") { h.coordinator.calls.isEmpty }
        XCTAssertEqual(Array(h.audio.events.suffix(2)), [.stop, .deactivate])
        XCTAssertTrue(h.provider.events.isEmpty)
        await h.close()
    }

    @MainActor
    func testWithoutCallKitACancelledCallRemovesTheAlert() async throws {
        let env = try TestEnv.require()
        let alerter = FakeAlerter()
        let h = Harness(env: env, alerter: alerter)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let alice = HotlineEngine()
        try await alice.login(config: env.config(for: uniqueUser("alice")))
        let callId = try await alice.calls(userIds: [h.userId], mediaType: .video, params: CallParams())
        try await waitUntil("the app's alert") { alerter.shown.count == 1 }
        XCTAssertEqual(alerter.shown[0].info.hasVideo, true)

        try await alice.hangup()
        try await waitUntil("the alert removed") { alerter.dismissed.count == 1 }
        XCTAssertEqual(alerter.dismissed[0].callId, callId)
        XCTAssertEqual(alerter.dismissed[0].reason, .remoteEnded)
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        XCTAssertFalse(h.audio.events.contains(.start))
        await alice.unInit()
        await h.close()
    }
}
