// VoIP pushes and tokens. PushKit's rule (iOS 13 and later): every VoIP push
// is reported to CallKit with reportNewIncomingCall before the delegate
// returns, or iOS terminates the app and, after repeated failures, stops
// delivering VoIP pushes. So every push below reports something, at once,
// before any network:
//
// | push | call already shown? | what is reported |
// |---|---|---|
// | incomingCall | no | the call; then the login starts |
// | incomingCall | yes (a duplicate) | the same UUID again: CallKit refuses it as callUUIDAlreadyExists, which satisfies PushKit, and nothing changes |
// | incomingCall | it ended already | the same UUID, then ended at once with its reason |
// | cancel | ringing | the same UUID again, then ended with the cancel's reason |
// | cancel | answering or connected | the same UUID again only (the engine decides) |
// | cancel, expired | no | a call, ended at once (cancel: its reason; expired: unanswered) |
// | expired | yes | the same UUID again only (the engine or the ring deadline ends it) |
// | not Hotline's | - | a call with a new UUID, ended at once (failed) |
//
// Re-reporting the UUID of the call already shown is what Apple's engineers
// recommend for a push that arrives while a call exists: the report either
// fails with callUUIDAlreadyExists (ignored) or, if the system ended the call
// in the meantime, starts one, which the coordinator then ends itself.
// The push's completion handler is called after CallKit's answer to the
// report (and the end, where there is one); it plays no part in the rule.

import Foundation
import HotlineSDK

extension CallCoordinator: VoIPPushReceiving {
    public func pushTokenUpdated(_ token: Data?) {
        guard let target = pushTarget else { return }
        Task { [engine] in
            do {
                if let token {
                    try await engine.registerPushToken(provider: .apnsVoip, token: PushTokenTarget.hex(token),
                                                       app: target.app, environment: target.environment)
                } else {
                    try await engine.unregisterPushToken()
                }
            } catch {
                self.say("push token: \(error)")
            }
        }
    }

    public func handleIncomingPush(_ payload: [AnyHashable: Any],
                                   completion: @escaping @MainActor @Sendable () -> Void) {
        let action: PushAction?
        do {
            action = try engine.handlePushPayload(dictionary: payload) // no network
        } catch {
            say("a VoIP push that is not Hotline's: \(error)")
            action = nil
        }
        guard case .callKit(let provider, _) = surface else {
            // No CallKit here, so PushKit's rule cannot be met: an app
            // without CallKit must not register a VoIP token.
            say("a VoIP push arrived without CallKit; register an apns token instead")
            completion()
            return
        }
        switch action {
        case let .incomingCall(callId, callerId, nickname, _, mediaType, isGroup, _, deadlineMs, serverUrl, _, _, _):
            let info = IncomingCallInfo(callerId: callerId, displayName: nickname.isEmpty ? callerId : nickname,
                                        hasVideo: mediaType == .video, isGroup: isGroup)
            if let i = index(ofCallId: callId) {
                reReport(provider, calls[i], completion: completion)
            } else if let reason = finishedReason(callId) {
                reportAndEnd(provider, uuid: CallUUID.forCallId(callId), info: info,
                             reason: reason ?? .remoteEnded, completion: completion)
            } else {
                showPushedCall(provider, callId: callId, info: info, mediaType: mediaType,
                               deadlineMs: deadlineMs, serverUrl: serverUrl, completion: completion)
            }
        case let .cancel(callId, reason):
            let ended = CallEndedReason(reason)
            if let i = index(ofCallId: callId) {
                let call = calls[i]
                reReport(provider, call) { [weak self] in
                    if call.phase == .ringing { self?.finish(call.uuid, reason: ended) }
                    completion()
                }
            } else {
                reportAndEnd(provider, uuid: CallUUID.forCallId(callId), info: unknownCaller,
                             reason: ended, completion: completion)
            }
        case let .expired(callId):
            if let i = index(ofCallId: callId) {
                reReport(provider, calls[i], completion: completion)
            } else {
                reportAndEnd(provider, uuid: CallUUID.forCallId(callId), info: unknownCaller,
                             reason: .unanswered, completion: completion)
            }
        case nil:
            reportAndEnd(provider, uuid: UUID(), info: unknownCaller, reason: .failed, completion: completion)
        }
    }

    /// A pushed call nobody showed yet: report it, then log in so that the
    /// engine reports it ringing (or over).
    private func showPushedCall(_ provider: CallReporting, callId: String, info: IncomingCallInfo,
                                mediaType: MediaType, deadlineMs: Int64, serverUrl: String,
                                completion: @escaping @MainActor @Sendable () -> Void) {
        var call = ShellCall(uuid: CallUUID.forCallId(callId), callId: callId, direction: .incoming,
                             phase: .ringing, mediaType: mediaType, peers: [info.callerId],
                             displayName: info.displayName, isGroup: info.isGroup)
        call.serverUrl = serverUrl
        calls.append(call)
        watchRingDeadline(callId, deadlineMs: deadlineMs)
        say("push: call \(callId) from \(info.callerId) reported")
        provider.reportNewIncomingCall(uuid: call.uuid, info: info) { [weak self] result in
            if case .refused(let why) = result {
                self?.say("CallKit refused call \(callId): \(why)")
                self?.forgetRefused(call.uuid)
            }
            completion()
        }
        loginInBackground(serverUrl: serverUrl)
    }

    /// Report a call already shown again, with its own UUID (see the table above).
    private func reReport(_ provider: CallReporting, _ call: ShellCall,
                          completion: @escaping @MainActor @Sendable () -> Void) {
        say("push: call \(call.callId ?? "") is already shown; reported again with its UUID")
        provider.reportNewIncomingCall(uuid: call.uuid, info: call.info) { [weak self] result in
            if result == .reported, self?.index(of: call.uuid) == nil {
                // The system had ended it and shows it anew: end it again.
                provider.reportCallEnded(uuid: call.uuid, reason: .remoteEnded)
            }
            completion()
        }
    }

    /// Report a call and end it at once: a push for a call that is over.
    private func reportAndEnd(_ provider: CallReporting, uuid: UUID, info: IncomingCallInfo,
                              reason: CallEndedReason, completion: @escaping @MainActor @Sendable () -> Void) {
        say("push: reported and ended at once (\(reason))")
        provider.reportNewIncomingCall(uuid: uuid, info: info) { _ in
            // Ended whatever the answer: the coordinator keeps no call for
            // it, and an end for a call CallKit refused is ignored.
            provider.reportCallEnded(uuid: uuid, reason: reason)
            completion()
        }
    }

    /// CallKit would not show the call (Do Not Disturb, a blocked caller):
    /// drop it without ringing; the engine's invitation times out for the caller.
    func forgetRefused(_ uuid: UUID) {
        guard let i = index(of: uuid) else { return }
        let call = calls.remove(at: i)
        if let callId = call.callId {
            finished.append((callId, .failed))
            resumeRingWaiters(callId, ringing: false)
        }
        updateAudio()
    }

    /// A pushed call the engine has not reported ringing by its deadline
    /// (plus a few seconds for the login) is over: end it as unanswered.
    private func watchRingDeadline(_ callId: String, deadlineMs: Int64) {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let waitMs = max(0, deadlineMs - nowMs) + 3_000
        Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(waitMs) * 1_000_000)
            guard let self, let i = self.index(ofCallId: callId) else { return }
            let call = self.calls[i]
            if call.phase == .ringing, !call.engineRinging {
                self.say("call \(callId) did not ring in the engine by its deadline")
                self.finish(call.uuid, reason: .unanswered)
            }
        }
    }

    private var unknownCaller: IncomingCallInfo {
        IncomingCallInfo(callerId: "", displayName: "Call ended", hasVideo: false, isGroup: false)
    }
}

extension CallCoordinator {
    /// Where CallKit is not used: an alert or background push (`apns`
    /// token) the app received, or whose notification the user tapped
    /// (`userInfo`). A call is shown through the app's alert once the engine
    /// reports it ringing; a cancel removes it.
    public func handleNotificationPush(_ userInfo: [AnyHashable: Any]) {
        guard let action = try? engine.handlePushPayload(dictionary: userInfo) else { return }
        guard case .appScreen(let alerter) = surface else { return }
        switch action {
        case let .incomingCall(_, _, _, _, _, _, _, _, serverUrl, _, _, _):
            loginInBackground(serverUrl: serverUrl) // then onCallReceived shows it
        case let .cancel(callId, reason):
            if let i = index(ofCallId: callId), calls[i].phase == .ringing {
                finish(calls[i].uuid, reason: CallEndedReason(reason))
            } else {
                alerter.dismissIncomingCall(callId: callId, reason: CallEndedReason(reason))
            }
        case let .expired(callId):
            alerter.dismissIncomingCall(callId: callId, reason: .unanswered)
        }
    }

    /// Where CallKit is not used: the token of
    /// `didRegisterForRemoteNotificationsWithDeviceToken`, registered as `apns`.
    public func alertPushTokenUpdated(_ token: Data) {
        guard let target = pushTarget else { return }
        Task { [engine] in
            do {
                try await engine.registerPushToken(provider: .apns, token: PushTokenTarget.hex(token),
                                                   app: target.app, environment: target.environment)
            } catch {
                self.say("push token: \(error)")
            }
        }
    }
}
