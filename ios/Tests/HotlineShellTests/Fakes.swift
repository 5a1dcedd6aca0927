// Fakes of the platform protocols. Each behaves like the Apple framework it
// stands for where the coordinator depends on it: the provider refuses a
// UUID it already shows (callUUIDAlreadyExists) and answers reports later,
// on the main actor; the controller performs each transaction through the
// coordinator, as CallKit calls its provider delegate.

import Foundation
import HotlineSDK
@testable import HotlineShell

@MainActor
final class FakeProvider: CallReporting {
    enum Event: Equatable {
        case reported(UUID, IncomingCallInfo, IncomingReportResult)
        case ended(UUID, CallEndedReason)
        case connecting(UUID)
        case connected(UUID)
    }

    private(set) var events: [Event] = []
    private(set) var shown: Set<UUID> = []
    /// Refuse the next report, as Do Not Disturb would.
    var refuseNext: String?

    var reports: [(uuid: UUID, result: IncomingReportResult)] {
        events.compactMap { if case let .reported(u, _, r) = $0 { return (u, r) } else { return nil } }
    }

    var ends: [(uuid: UUID, reason: CallEndedReason)] {
        events.compactMap { if case let .ended(u, r) = $0 { return (u, r) } else { return nil } }
    }

    func reportNewIncomingCall(uuid: UUID, info: IncomingCallInfo,
                               completion: @escaping @MainActor @Sendable (IncomingReportResult) -> Void) {
        let result: IncomingReportResult
        if let why = refuseNext {
            refuseNext = nil
            result = .refused(why)
        } else if shown.contains(uuid) {
            result = .alreadyReported
        } else {
            shown.insert(uuid)
            result = .reported
        }
        events.append(.reported(uuid, info, result))
        Task { @MainActor in completion(result) } // CallKit answers later
    }

    func reportCallEnded(uuid: UUID, reason: CallEndedReason) {
        shown.remove(uuid)
        events.append(.ended(uuid, reason))
    }

    func reportOutgoingCallStartedConnecting(uuid: UUID) { events.append(.connecting(uuid)) }
    func reportOutgoingCallConnected(uuid: UUID) { events.append(.connected(uuid)) }

    /// CallKit forgets a call the user ended (an end action was performed).
    func userEnded(_ uuid: UUID) { shown.remove(uuid) }
    /// An outgoing call CallKit shows after a start transaction.
    func userStarted(_ uuid: UUID) { shown.insert(uuid) }
}

@MainActor
final class FakeController: CallRequesting {
    enum Action: Equatable {
        case start(UUID, Bool)
        case answer(UUID, Bool)
        case end(UUID, Bool)
        case muted(UUID, Bool, Bool)
        case held(UUID, Bool, Bool)
    }

    weak var coordinator: CallCoordinator?
    let provider: FakeProvider
    /// Each performed action with the coordinator's answer (fulfilled or failed).
    private(set) var performed: [Action] = []

    init(provider: FakeProvider) {
        self.provider = provider
    }

    /// Refuse the next transaction, as CallKit does when another app's call
    /// cannot be interrupted.
    var refuseNext = false

    func requestStartCall(uuid: UUID, handle: String, hasVideo: Bool,
                          completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        if refuseNext {
            refuseNext = false
            return completion(FakeCallKitError(description: "maximumCallGroupsReached"))
        }
        completion(nil)
        provider.userStarted(uuid)
        perform { .start(uuid, await $0.performStartCall(uuid: uuid)) }
    }

    func requestAnswerCall(uuid: UUID, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        completion(nil)
        perform { .answer(uuid, await $0.performAnswer(uuid: uuid)) }
    }

    func requestEndCall(uuid: UUID, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        completion(nil)
        provider.userEnded(uuid)
        perform { .end(uuid, await $0.performEnd(uuid: uuid)) }
    }

    func requestSetMuted(uuid: UUID, muted: Bool, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        completion(nil)
        perform { .muted(uuid, muted, $0.performSetMuted(uuid: uuid, muted: muted)) }
    }

    func requestSetHeld(uuid: UUID, onHold: Bool, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        completion(nil)
        perform { .held(uuid, onHold, $0.performSetHeld(uuid: uuid, onHold: onHold)) }
    }

    private func perform(_ action: @escaping @MainActor (CallCoordinator) async -> Action) {
        guard let coordinator else { return }
        Task { @MainActor in
            let done = await action(coordinator)
            self.performed.append(done)
        }
    }
}

struct FakeCallKitError: Error, CustomStringConvertible {
    let description: String
}

@MainActor
final class FakeAudio: CallAudio {
    enum Event: Equatable { case configure, activate, deactivate, start, stop }
    private(set) var events: [Event] = []
    private(set) var running = false

    func configureSession() { events.append(.configure) }
    func activateSession() throws { events.append(.activate) }
    func deactivateSession() { events.append(.deactivate) }
    func startAudio() { events.append(.start); running = true }
    func stopAudio() { events.append(.stop); running = false }
}

@MainActor
final class FakeAlerter: IncomingCallAlerting {
    private(set) var shown: [(callId: String, info: IncomingCallInfo)] = []
    private(set) var dismissed: [(callId: String, reason: CallEndedReason?)] = []

    func showIncomingCall(callId: String, info: IncomingCallInfo) { shown.append((callId, info)) }
    func dismissIncomingCall(callId: String, reason: CallEndedReason?) { dismissed.append((callId, reason)) }
}

@MainActor
final class FakePushRegistry: VoIPPushRegistry {
    private(set) weak var receiver: VoIPPushReceiving?
    private(set) var completions = 0

    func start(receiver: VoIPPushReceiving) { self.receiver = receiver }

    /// Deliver a VoIP push as PushKit does: synchronously, on the main actor.
    func deliver(_ payload: [AnyHashable: Any]) {
        receiver?.handleIncomingPush(payload) { [weak self] in self?.completions += 1 }
    }
}

/// The app's login. Records how often it was asked, so a test can tell that
/// nothing reached for the network.
final class TestSession: CallSessionSource, @unchecked Sendable {
    private let lock = NSLock()
    private var asked = 0
    let userId: String
    /// Nil: every login fails at once, as with no network.
    let env: TestEnv?

    init(userId: String, env: TestEnv?) {
        self.userId = userId
        self.env = env
    }

    var requests: Int { lock.locked { asked } }

    func engineConfig(serverUrl: String?) async throws -> EngineConfig {
        lock.locked { asked += 1 }
        guard let env else { throw HotlineError.Api(code: -1315, msg: "no network in this test") }
        return env.config(for: userId)
    }
}

/// Records the engine's device requests (the microphone, the camera).
final class RecordingDevices: DeviceDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []

    var requests: [String] { lock.locked { log } }

    func openMicrophone() { lock.locked { log.append("openMicrophone") } }
    func closeMicrophone() { lock.locked { log.append("closeMicrophone") } }
    func openCamera(camera: Camera) { lock.locked { log.append("openCamera") } }
    func closeCamera() { lock.locked { log.append("closeCamera") } }
}
