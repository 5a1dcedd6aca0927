// CallKit for the coordinator: CXProvider (CallReporting) and CXCallController
// (CallRequesting), and the provider delegate that hands CallKit's actions
// and audio session activation to the coordinator.
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: CallKit exists only on Apple's
// systems, so this file compiles to nothing there (#if below). It was written
// against Apple's documented CallKit API and checked only for syntax.

#if os(iOS) && canImport(CallKit)
import AVFoundation
import CallKit
import Foundation

@MainActor
public final class CallKitBridge: NSObject, CallReporting, CallRequesting {
    /// Receives CallKit's actions. Set before the first call.
    public weak var coordinator: CallCoordinator?
    private let provider: CXProvider
    private let controller = CXCallController()

    /// - Parameters:
    ///   - iconTemplateImageData: a PNG shown in the call UI (monochrome, 40 pt).
    ///   - ringtoneSound: a sound file in the app bundle, or nil for the system's.
    public init(iconTemplateImageData: Data? = nil, ringtoneSound: String? = nil) {
        let configuration = CXProviderConfiguration()
        configuration.supportsVideo = true
        configuration.maximumCallGroups = 1
        configuration.maximumCallsPerCallGroup = 1
        configuration.supportedHandleTypes = [.generic]
        configuration.includesCallsInRecents = true
        configuration.iconTemplateImageData = iconTemplateImageData
        configuration.ringtoneSound = ringtoneSound
        provider = CXProvider(configuration: configuration)
        super.init()
        provider.setDelegate(self, queue: .main) // the delegate runs on the main actor
    }

    // MARK: CallReporting

    public func reportNewIncomingCall(uuid: UUID, info: IncomingCallInfo,
                                      completion: @escaping @MainActor @Sendable (IncomingReportResult) -> Void) {
        let update = CXCallUpdate()
        update.remoteHandle = CXHandle(type: .generic, value: info.callerId)
        update.localizedCallerName = info.displayName
        update.hasVideo = info.hasVideo
        update.supportsHolding = true
        update.supportsGrouping = false
        update.supportsUngrouping = false
        update.supportsDTMF = false
        // @Sendable: CallKit calls it on its own queue, not the main actor.
        provider.reportNewIncomingCall(with: uuid, update: update) { @Sendable error in
            let result = Self.result(of: error)
            Task { @MainActor in completion(result) }
        }
    }

    public func reportCallEnded(uuid: UUID, reason: CallEndedReason) {
        provider.reportCall(with: uuid, endedAt: Date(), reason: Self.cxReason(reason))
    }

    public func reportOutgoingCallStartedConnecting(uuid: UUID) {
        let update = CXCallUpdate() // the same capabilities as incoming calls
        update.supportsHolding = true
        update.supportsGrouping = false
        update.supportsUngrouping = false
        update.supportsDTMF = false
        provider.reportCall(with: uuid, updated: update)
        provider.reportOutgoingCall(with: uuid, startedConnectingAt: Date())
    }

    public func reportOutgoingCallConnected(uuid: UUID) {
        provider.reportOutgoingCall(with: uuid, connectedAt: Date())
    }

    // MARK: CallRequesting

    public func requestStartCall(uuid: UUID, handle: String, hasVideo: Bool,
                                 completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        let action = CXStartCallAction(call: uuid, handle: CXHandle(type: .generic, value: handle))
        action.isVideo = hasVideo
        request(action, completion)
    }

    public func requestAnswerCall(uuid: UUID, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        request(CXAnswerCallAction(call: uuid), completion)
    }

    public func requestEndCall(uuid: UUID, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        request(CXEndCallAction(call: uuid), completion)
    }

    public func requestSetMuted(uuid: UUID, muted: Bool,
                                completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        request(CXSetMutedCallAction(call: uuid, muted: muted), completion)
    }

    public func requestSetHeld(uuid: UUID, onHold: Bool,
                               completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        request(CXSetHeldCallAction(call: uuid, onHold: onHold), completion)
    }

    private func request(_ action: CXCallAction, _ completion: @escaping @MainActor @Sendable ((any Error)?) -> Void) {
        controller.request(CXTransaction(action: action)) { @Sendable error in // on CallKit's queue
            Task { @MainActor in completion(error) }
        }
    }

    // MARK: mapping

    nonisolated static func result(of error: (any Error)?) -> IncomingReportResult {
        guard let error else { return .reported }
        if let callKitError = error as? CXErrorCodeIncomingCallError, callKitError.code == .callUUIDAlreadyExists {
            return .alreadyReported
        }
        return .refused(error.localizedDescription)
    }

    static func cxReason(_ reason: CallEndedReason) -> CXCallEndedReason {
        switch reason {
        case .failed: return .failed
        case .remoteEnded: return .remoteEnded
        case .unanswered: return .unanswered
        case .answeredElsewhere: return .answeredElsewhere
        case .declinedElsewhere: return .declinedElsewhere
        }
    }
}

// The delegate is called on the main queue (setDelegate above), so each
// method enters the main actor synchronously. Actions are fulfilled or failed
// once the coordinator has done the work; CXAction may be completed from any
// thread, hence the UncheckedSendable hand-over into the task.
extension CallKitBridge: CXProviderDelegate {
    public nonisolated func providerDidReset(_ provider: CXProvider) {
        MainActor.assumeIsolated { coordinator?.providerDidReset() }
    }

    public nonisolated func provider(_ provider: CXProvider, perform action: CXStartCallAction) {
        let pending = UncheckedSendable(action)
        let uuid = action.callUUID
        MainActor.assumeIsolated {
            guard let coordinator else { return pending.value.fail() }
            Task { @MainActor in
                if await coordinator.performStartCall(uuid: uuid) { pending.value.fulfill() } else { pending.value.fail() }
            }
        }
    }

    public nonisolated func provider(_ provider: CXProvider, perform action: CXAnswerCallAction) {
        let pending = UncheckedSendable(action)
        let uuid = action.callUUID
        MainActor.assumeIsolated {
            guard let coordinator else { return pending.value.fail() }
            Task { @MainActor in
                if await coordinator.performAnswer(uuid: uuid) { pending.value.fulfill() } else { pending.value.fail() }
            }
        }
    }

    public nonisolated func provider(_ provider: CXProvider, perform action: CXEndCallAction) {
        let pending = UncheckedSendable(action)
        let uuid = action.callUUID
        MainActor.assumeIsolated {
            guard let coordinator else { return pending.value.fulfill() }
            Task { @MainActor in
                _ = await coordinator.performEnd(uuid: uuid)
                pending.value.fulfill()
            }
        }
    }

    public nonisolated func provider(_ provider: CXProvider, perform action: CXSetMutedCallAction) {
        let uuid = action.callUUID, muted = action.isMuted
        let done = MainActor.assumeIsolated { coordinator?.performSetMuted(uuid: uuid, muted: muted) ?? false }
        if done { action.fulfill() } else { action.fail() }
    }

    public nonisolated func provider(_ provider: CXProvider, perform action: CXSetHeldCallAction) {
        let uuid = action.callUUID, onHold = action.isOnHold
        let done = MainActor.assumeIsolated { coordinator?.performSetHeld(uuid: uuid, onHold: onHold) ?? false }
        if done { action.fulfill() } else { action.fail() }
    }

    public nonisolated func provider(_ provider: CXProvider, didActivate audioSession: AVAudioSession) {
        MainActor.assumeIsolated { coordinator?.audioSessionDidActivate() }
    }

    public nonisolated func provider(_ provider: CXProvider, didDeactivate audioSession: AVAudioSession) {
        MainActor.assumeIsolated { coordinator?.audioSessionDidDeactivate() }
    }
}
#endif
