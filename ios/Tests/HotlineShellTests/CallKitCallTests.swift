// Calls through the coordinator with CallKit's fakes, a real engine, a real
// server and real `hotline phone`s (or a second engine where the test must
// choose the moment the other side acts).

import Foundation
import HotlineSDK
@testable import HotlineShell
import XCTest

// @unchecked Sendable: XCTest runs one test at a time, and the @MainActor
// tests below hop to the main actor with the case object.
final class CallKitCallTests: XCTestCase, @unchecked Sendable {
    @MainActor
    func testAPushedCallAnsweredFromCallKitBeginsWithAudioOnlyAfterActivation() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        let alice = try Phone(env, userId: uniqueUser("alice"),
                              arguments: ["--call", h.userId, "--media", "audio", "--hangup-after", "10"])
        defer { alice.stop() }
        let placed = try await alice.waitFor("callPlaced")
        let callId = try XCTUnwrap(placed["callId"] as? String)
        let uuid = CallUUID.forCallId(callId)

        // Bob's phone is asleep: the push wakes the app, which reports the
        // call before anything touches the network.
        h.registry.deliver(callPush(callId: callId, callerId: alice.userId, serverUrl: env.serverUrl))
        XCTAssertEqual(h.provider.reports.map(\.uuid), [uuid])
        XCTAssertEqual(h.session.requests, 0)
        XCTAssertFalse(h.coordinator.isLoggedIn)

        // The user answers on the lock screen: log in, accept, the call begins.
        h.controller.requestAnswerCall(uuid: uuid) { _ in }
        try await waitUntil("the answer action fulfilled") { h.controller.performed == [.answer(uuid, true)] }
        try await alice.waitFor("onCallBegin") { $0["callId"] as? String == callId }
        try await waitUntil("the call connected") { h.call?.phase == .active }
        XCTAssertTrue(h.coordinator.isLoggedIn)

        // CallKit has not activated the audio session yet: no audio.
        XCTAssertFalse(h.audio.running)
        XCTAssertFalse(h.audio.events.contains(.start))
        XCTAssertFalse(h.coordinator.isAudioRunning)
        h.coordinator.audioSessionDidActivate()
        XCTAssertTrue(h.audio.running)

        // Alice hangs up: the reported call ends as remoteEnded, audio stops.
        try await waitUntil("the call ended by the caller") { !h.provider.ends.isEmpty }
        XCTAssertEqual(h.provider.ends.map(\.uuid), [uuid])
        XCTAssertEqual(h.provider.ends.map(\.reason), [.remoteEnded])
        XCTAssertFalse(h.audio.running)
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        h.coordinator.audioSessionDidDeactivate()
        XCTAssertEqual(h.audio.events.filter { $0 == .start || $0 == .stop }, [.start, .stop])
        await h.close()
    }

    @MainActor
    func testAnOutgoingCallGoesThroughAStartTransactionAndIsReportedConnected() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let carol = try Phone(env, userId: uniqueUser("carol"), arguments: ["--answer", "accept", "--hangup-after", "3"])
        defer { carol.stop() }
        try await carol.waitFor("ready")

        let callId = try await h.coordinator.startCall(to: [carol.userId], mediaType: .audio)
        let uuid = try XCTUnwrap(h.coordinator.calls.first?.uuid)
        XCTAssertEqual(h.call?.callId, callId)
        try await waitUntil("the start action fulfilled") { h.controller.performed == [.start(uuid, true)] }
        try await carol.waitFor("onCallBegin") { $0["callId"] as? String == callId }
        try await waitUntil("connected reported") { h.provider.events.contains(.connected(uuid)) }
        // Connecting (unless the call connected first), then connected, once each.
        XCTAssertEqual(h.provider.events.filter { $0 == .connected(uuid) }.count, 1)
        XCTAssertLessThanOrEqual(h.provider.events.filter { $0 == .connecting(uuid) }.count, 1)
        if let connecting = h.provider.events.firstIndex(of: .connecting(uuid)) {
            XCTAssertLessThan(connecting, try XCTUnwrap(h.provider.events.firstIndex(of: .connected(uuid))))
        }

        try await waitUntil("carol hung up") { !h.provider.ends.isEmpty }
        XCTAssertEqual(h.provider.ends.map(\.reason), [.remoteEnded])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await h.close()
    }

    @MainActor
    func testARejectedOutgoingCallEndsAsRemoteEnded() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let dave = try Phone(env, userId: uniqueUser("dave"), arguments: ["--answer", "reject"])
        defer { dave.stop() }
        try await dave.waitFor("ready")

        let callId = try await h.coordinator.startCall(to: [dave.userId], mediaType: .video)
        try await dave.waitFor("onCallNotConnected") { $0["callId"] as? String == callId }
        try await waitUntil("the call ended") { !h.provider.ends.isEmpty }
        XCTAssertEqual(h.provider.ends.map(\.reason), [.remoteEnded])
        XCTAssertTrue(h.devices.requests.contains("openCamera"), "a video call opens the camera")
        await h.close()
    }

    @MainActor
    func testACallerWhoCancelsEndsTheRingingCall() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let alice = HotlineEngine()
        try await alice.login(config: env.config(for: uniqueUser("alice")))

        let callId = try await alice.calls(userIds: [h.userId], mediaType: .audio, params: CallParams())
        try await waitUntil("the call shown") { h.provider.reports.count == 1 }
        XCTAssertEqual(h.provider.reports.map(\.uuid), [CallUUID.forCallId(callId)])
        XCTAssertEqual(h.call?.phase, .ringing)

        try await alice.hangup() // onCallNotConnected(CANCELED) for bob
        try await waitUntil("the call ended") { !h.provider.ends.isEmpty }
        XCTAssertEqual(h.provider.ends.map(\.reason), [.remoteEnded])
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await alice.unInit()
        await h.close()
    }

    @MainActor
    func testDecliningInCallKitRejectsTheCall() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let alice = try Phone(env, userId: uniqueUser("alice"), arguments: ["--call", h.userId, "--media", "audio"])
        defer { alice.stop() }
        try await waitUntil("the call shown") { h.call?.phase == .ringing }
        let uuid = try XCTUnwrap(h.call?.uuid)

        h.controller.requestEndCall(uuid: uuid) { _ in }
        try await alice.waitFor("onUserReject") { $0["userId"] as? String == h.userId }
        try await alice.waitFor("onCallNotConnected") { $0["reason"] as? String == "reject" }
        XCTAssertEqual(h.controller.performed, [.end(uuid, true)])
        XCTAssertTrue(h.provider.ends.isEmpty, "ended by the user: nothing to report")
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        await h.close()
    }

    @MainActor
    func testMuteAndHoldCloseTheMicrophone() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let erin = try Phone(env, userId: uniqueUser("erin"), arguments: ["--answer", "accept"])
        defer { erin.stop() }
        try await erin.waitFor("ready")
        let callId = try await h.coordinator.startCall(to: [erin.userId], mediaType: .audio)
        try await waitUntil("connected") { h.call?.phase == .active }
        h.coordinator.audioSessionDidActivate()
        XCTAssertTrue(h.audio.running)
        let uuid = try XCTUnwrap(h.call?.uuid)
        // The engine opens the microphone when the call's media starts.
        try await waitUntil("the media's openMicrophone") { h.devices.requests.contains("openMicrophone") }
        // Erin has seen the microphone on (the media is published), so muting is a change she sees.
        try await erin.waitFor("onUserAudioAvailable") {
            $0["userId"] as? String == h.userId && $0["available"] as? Bool == true
        }
        let before = h.devices.requests.count

        try await h.coordinator.setMuted(true, callId: callId)
        try await waitUntil("muted") { h.call?.muted == true }
        try await erin.waitFor("onUserAudioAvailable") {
            $0["userId"] as? String == h.userId && $0["available"] as? Bool == false
        }
        XCTAssertEqual(Array(h.devices.requests.dropFirst(before)), ["closeMicrophone"])

        // Unmuted, then held: the microphone closes and audio stops; resumed, both return.
        try await h.coordinator.setMuted(false, callId: callId)
        try await waitUntil("unmuted") { h.call?.muted == false }
        h.controller.requestSetHeld(uuid: uuid, onHold: true) { _ in }
        try await waitUntil("held") { h.call?.onHold == true }
        XCTAssertFalse(h.audio.running)
        h.controller.requestSetHeld(uuid: uuid, onHold: false) { _ in }
        try await waitUntil("resumed") { h.call?.onHold == false }
        XCTAssertTrue(h.audio.running)
        XCTAssertEqual(Array(h.devices.requests.dropFirst(before)),
                       ["closeMicrophone", "openMicrophone", "closeMicrophone", "openMicrophone"])

        try await h.coordinator.end(callId: callId)
        try await erin.waitFor("onCallEnd") { $0["callId"] as? String == callId }
        XCTAssertTrue(h.provider.ends.isEmpty, "hung up here: nothing to report")
        XCTAssertFalse(h.audio.running)
        await h.close()
    }

    @MainActor
    func testAPushedCallCancelledBeforeLoginEndsOnce() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        let alice = HotlineEngine()
        try await alice.login(config: env.config(for: uniqueUser("alice")))
        let callId = try await alice.calls(userIds: [h.userId], mediaType: .audio, params: CallParams())
        let uuid = CallUUID.forCallId(callId)

        // Both pushes arrive after the caller gave up (pushes can lag), one
        // right after the other: the login the ring starts cannot finish
        // between them, so the push ends the call before the engine can.
        try await alice.hangup()
        h.registry.deliver(callPush(callId: callId, callerId: "alice", serverUrl: env.serverUrl))
        h.registry.deliver(cancelPush(callId: callId, reason: "canceled"))
        try await waitUntil("both completions") { h.registry.completions == 2 }
        XCTAssertEqual(h.provider.reports.map(\.uuid), [uuid, uuid])
        XCTAssertEqual(h.provider.ends.map(\.reason), [.remoteEnded])

        // The login after the push hears the call is over; it was ended already.
        try await waitUntil("the engine's own end of the pushed call") {
            h.engineEvents.events.contains(.callNotConnected(callId: callId, mediaType: .audio, reason: .canceled))
        }
        try await waitUntil("the coordinator saw it too") {
            h.log.contains { $0.contains("\(callId) is over in the engine") }
        }
        XCTAssertEqual(h.provider.ends.count, 1, "ended once")
        await alice.unInit()
        await h.close()
    }

    @MainActor
    func testARefusedStartTransactionPlacesNoCall() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        h.controller.refuseNext = true
        do {
            _ = try await h.coordinator.startCall(to: [uniqueUser("frank")], mediaType: .audio)
            XCTFail("the call was placed")
        } catch let error as ShellError {
            XCTAssertEqual(error, .refused("maximumCallGroupsReached"))
        }
        XCTAssertTrue(h.coordinator.calls.isEmpty)
        XCTAssertTrue(h.controller.performed.isEmpty)
        await h.close()
    }

    @MainActor
    func testAnotherLoginEndsTheShownCallAsFailed() async throws {
        let env = try TestEnv.require()
        let h = Harness(env: env)
        try await h.coordinator.login(config: env.config(for: h.userId))
        let alice = try Phone(env, userId: uniqueUser("alice"), arguments: ["--call", h.userId, "--media", "audio"])
        defer { alice.stop() }
        try await waitUntil("the call shown") { h.call?.phase == .ringing }
        let uuid = try XCTUnwrap(h.call?.uuid)

        // The same user logs in elsewhere without multi-device: this login is kicked out.
        let other = HotlineEngine()
        try await other.login(config: env.config(for: h.userId))
        try await waitUntil("the call ended") { !h.provider.ends.isEmpty }
        XCTAssertEqual(h.provider.ends.map(\.uuid), [uuid])
        XCTAssertEqual(h.provider.ends.map(\.reason), [.failed])
        XCTAssertFalse(h.coordinator.isLoggedIn)
        await other.unInit()
        await h.close()
    }
}
