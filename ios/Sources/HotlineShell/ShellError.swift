// Why a coordinator request failed, beyond the engine's own HotlineError.

public enum ShellError: Error, Sendable, Equatable {
    /// No call with this UUID or call ID is shown.
    case noSuchCall
    /// The call ended before the request completed (with the reported
    /// reason, or nil when this device ended it).
    case callEnded(CallEndedReason?)
    /// The engine did not report the pushed call ringing in time (the login
    /// failed, or the call is over).
    case callNotRinging
    /// The system refused the request (a CallKit transaction error).
    case refused(String)
}
