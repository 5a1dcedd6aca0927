// What the coordinator tells the system's call UI (CallKit's CXProvider).
// The CallKit adapter (Apple/CallKitBridge.swift) implements it; tests use a
// fake that records every report.

import Foundation

/// What CallKit shows for an incoming call (`CXCallUpdate`).
public struct IncomingCallInfo: Sendable, Equatable {
    /// The caller's user ID (`CXHandle(type: .generic, value:)`).
    public var callerId: String
    /// The name shown: the caller's nickname, or else the user ID.
    public var displayName: String
    public var hasVideo: Bool
    public var isGroup: Bool

    public init(callerId: String, displayName: String, hasVideo: Bool, isGroup: Bool) {
        self.callerId = callerId
        self.displayName = displayName
        self.hasVideo = hasVideo
        self.isGroup = isGroup
    }
}

/// How `reportNewIncomingCall` came out.
public enum IncomingReportResult: Sendable, Equatable {
    /// The system shows the call.
    case reported
    /// A call with this UUID is already shown (CallKit's
    /// `CXErrorCodeIncomingCallError.callUUIDAlreadyExists`): a duplicate
    /// push, harmless, and it still counts as reported for PushKit.
    case alreadyReported
    /// The system refused to show it (Do Not Disturb, a blocked caller, not
    /// entitled, ...): the call is not shown and does not ring here.
    case refused(String)
}

/// The provider side of CallKit, as the coordinator uses it. Called on the
/// main actor.
@MainActor
public protocol CallReporting: AnyObject {
    /// Show an incoming call. Must reach the system before a PushKit
    /// delegate returns; `completion` runs later, on the main actor.
    func reportNewIncomingCall(uuid: UUID, info: IncomingCallInfo,
                               completion: @escaping @MainActor @Sendable (IncomingReportResult) -> Void)
    /// The call ended without a user action on this device
    /// (`reportCall(with:endedAt:reason:)`).
    func reportCallEnded(uuid: UUID, reason: CallEndedReason)
    /// An outgoing call's invitation went out (`reportOutgoingCall(with:startedConnectingAt:)`).
    func reportOutgoingCallStartedConnecting(uuid: UUID)
    /// An outgoing call was answered and connected (`reportOutgoingCall(with:connectedAt:)`).
    func reportOutgoingCallConnected(uuid: UUID)
}
