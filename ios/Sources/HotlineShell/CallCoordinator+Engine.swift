// The engine's events, on the main actor in the order they happened. A call
// the engine reports is matched to the call shown by its call ID (a pushed
// call's UUID is derived from it); an end this device did not cause is
// reported with the mapped reason (CallEndedReason.init(EndReason)).
//
// onUserReject, onUserNoResponse and onUserLineBusy end nothing by
// themselves: in a 1v1 call onCallNotConnected follows with the same reason
// (REJECT, NO_RESPONSE, LINE_BUSY), and in a group call the others go on.
// There is no onCallCancelled: a cancelled invitation is onCallNotConnected
// with CANCELED.

import Foundation
import HotlineSDK

extension CallCoordinator {
    func handle(_ event: CallEvent) {
        switch event {
        case let .callReceived(callId, callerId, _, mediaType, _, isGroup, _):
            callReceived(callId: callId, callerId: callerId, mediaType: mediaType, isGroup: isGroup)
        case let .callBegin(callId, _, mediaType, _):
            callBegan(callId: callId, mediaType: mediaType)
        case let .callEnd(callId, _, reason, _), let .callNotConnected(callId, _, reason):
            callEnded(callId: callId, reason: reason)
        case let .callMediaTypeChanged(callId, _, newMediaType):
            if let i = index(ofCallId: callId) { calls[i].mediaType = newMediaType }
        case .kickedOffline:
            say("another login replaced this one")
            loginState = .loggedOut
            for call in calls { finish(call.uuid, reason: .failed) }
        case .userSigExpired:
            say("the UserSig expired; the next answer logs in again")
            loginState = .loggedOut
        default:
            break
        }
    }

    private func callReceived(callId: String, callerId: String, mediaType: MediaType, isGroup: Bool) {
        if endedHere.contains(callId) {
            // Declined here before the engine knew the call (a push).
            say("call \(callId) rings; it was declined here: rejecting")
            Task { [engine] in try? await engine.reject() }
            return
        }
        if let i = index(ofCallId: callId) {
            calls[i].engineRinging = true
            resumeRingWaiters(callId, ringing: true)
            return
        }
        // Rings over the live connection: show it now.
        var call = ShellCall(uuid: CallUUID.forCallId(callId), callId: callId, direction: .incoming,
                             phase: .ringing, mediaType: mediaType, peers: [callerId],
                             displayName: callerId, isGroup: isGroup)
        call.engineRinging = true
        calls.append(call)
        say("call \(callId) from \(callerId) rings")
        switch surface {
        case .callKit(let provider, _):
            let uuid = call.uuid
            provider.reportNewIncomingCall(uuid: uuid, info: call.info) { [weak self] result in
                guard case .refused(let why) = result else { return }
                self?.say("CallKit refused call \(callId): \(why)")
                self?.forgetRefused(uuid)
            }
        case .appScreen(let alerter):
            alerter.showIncomingCall(callId: callId, info: call.info)
        }
    }

    private func callBegan(callId: String, mediaType: MediaType) {
        if endedHere.contains(callId) {
            // Ended here while accept() was on its way: leave it.
            say("call \(callId) began after it was ended here: hanging up")
            Task { [engine] in try? await engine.hangup() }
            return
        }
        guard let i = index(forEventCallId: callId) else { return }
        let call = calls[i]
        calls[i].phase = .active
        calls[i].mediaType = mediaType
        calls[i].connectedAt = Date()
        say("call \(callId) connected")
        switch surface {
        case .callKit(let provider, _):
            if call.direction == .outgoing { provider.reportOutgoingCallConnected(uuid: call.uuid) }
        case .appScreen(let alerter):
            if call.direction == .incoming { alerter.dismissIncomingCall(callId: callId, reason: nil) }
            activateSessionWithoutCallKit()
        }
        updateAudio()
    }

    private func callEnded(callId: String, reason: EndReason) {
        guard let i = index(forEventCallId: callId) else {
            say("call \(callId) is over in the engine (\(reason)); it is not shown here")
            return
        }
        finish(calls[i].uuid, reason: CallEndedReason(reason))
    }
}
