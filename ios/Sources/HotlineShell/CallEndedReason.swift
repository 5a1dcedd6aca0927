// Why a call shown to the user ended, as CallKit's CXCallEndedReason spells
// it, and how the engine's reasons map onto it. Platform-independent, so the
// mapping is tested on Linux; the CallKit adapter converts it 1:1.

import HotlineSDK

/// CallKit's `CXCallEndedReason`, without importing CallKit.
public enum CallEndedReason: Sendable, Equatable, CaseIterable {
    /// Something went wrong: the call could not go on (`.failed`).
    case failed
    /// The other side hung up, cancelled or refused (`.remoteEnded`).
    case remoteEnded
    /// Nobody answered before the invitation timed out (`.unanswered`).
    case unanswered
    /// Another device of this user answered (`.answeredElsewhere`).
    case answeredElsewhere
    /// Another device of this user declined (`.declinedElsewhere`).
    case declinedElsewhere
}

extension CallEndedReason {
    /// The reason to report for an engine `onCallEnd` / `onCallNotConnected`
    /// of a call this device did not end itself (a call ended from this
    /// device is never reported: CallKit already ended it).
    ///
    /// | EndReason | CallEndedReason | when |
    /// |---|---|---|
    /// | hangup | remoteEnded | the other side hung up |
    /// | reject | remoteEnded | the callee refused (caller's side) |
    /// | canceled | remoteEnded | the caller hung up while it rang (TUICallEngine's onCallCancelled) |
    /// | noResponse | unanswered | the invitation timed out |
    /// | lineBusy | unanswered | the callee was busy or ignored it |
    /// | offline | unanswered | the callee could not be reached |
    /// | otherDeviceAccepted | answeredElsewhere | answered on another device |
    /// | otherDeviceReject | declinedElsewhere | declined on another device |
    /// | endByServer, unknown | failed | the server ended it, or does not know the call |
    public init(_ reason: EndReason) {
        switch reason {
        case .hangup, .reject, .canceled: self = .remoteEnded
        case .noResponse, .lineBusy, .offline: self = .unanswered
        case .otherDeviceAccepted: self = .answeredElsewhere
        case .otherDeviceReject: self = .declinedElsewhere
        case .endByServer, .unknown: self = .failed
        }
    }

    /// The reason to report for a cancel push (docs/bindings.md, "Reading a push").
    public init(_ reason: PushCancelReason) {
        switch reason {
        case .canceled: self = .remoteEnded
        case .noResponse: self = .unanswered
        case .answeredElsewhere: self = .answeredElsewhere
        case .rejectedElsewhere: self = .declinedElsewhere
        }
    }
}
