// One call as the shell shows it: the CallKit UUID, the engine's call ID
// once known, and where it stands. The coordinator owns these; the app reads
// them (`CallCoordinator.calls`) to draw its screens.

import Foundation
import HotlineSDK

public struct ShellCall: Sendable, Equatable {
    public enum Direction: Sendable, Equatable {
        case incoming
        case outgoing
    }

    public enum Phase: Sendable, Equatable {
        /// Incoming, shown, not answered yet.
        case ringing
        /// Incoming, answered: logging in if needed, then `accept()`.
        case answering
        /// Outgoing: the invitation is being placed or rings at the callees.
        case dialing
        /// `onCallBegin` came: the call is connected.
        case active
    }

    /// CallKit's name for the call.
    public let uuid: UUID
    /// The engine's call ID; nil only while an outgoing call is being placed.
    public internal(set) var callId: String?
    public let direction: Direction
    public internal(set) var phase: Phase
    public internal(set) var mediaType: MediaType
    /// The caller (incoming) or the callees (outgoing).
    public internal(set) var peers: [String]
    public internal(set) var displayName: String
    public internal(set) var isGroup: Bool
    public internal(set) var muted = false
    public internal(set) var onHold = false
    /// When `onCallBegin` came, for the in-call timer.
    public internal(set) var connectedAt: Date?

    /// The server a push named (for a login before answering).
    var serverUrl: String?
    /// Whether the engine reported it ringing (`onCallReceived`): `accept()`
    /// and `reject()` work only then.
    var engineRinging = false
    /// Whether `accept()` returned.
    var accepted = false

    init(uuid: UUID, callId: String?, direction: Direction, phase: Phase, mediaType: MediaType,
         peers: [String], displayName: String, isGroup: Bool) {
        self.uuid = uuid
        self.callId = callId
        self.direction = direction
        self.phase = phase
        self.mediaType = mediaType
        self.peers = peers
        self.displayName = displayName
        self.isGroup = isGroup
    }

    var info: IncomingCallInfo {
        IncomingCallInfo(callerId: peers.first ?? "", displayName: displayName,
                         hasVideo: mediaType == .video, isGroup: isGroup)
    }
}
