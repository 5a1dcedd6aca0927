// Where CallKit may not be used (mainland China), an incoming call is shown
// by the app itself: a local notification when it is in the background, its
// own incoming-call screen in the foreground. The coordinator decides when;
// this protocol does it (Apple/LocalNotificationAlerter.swift, the app's UI).

/// Shows and removes the app's own incoming-call alert. Called on the main actor.
@MainActor
public protocol IncomingCallAlerting: AnyObject {
    /// A call rings: post a notification and show the incoming-call screen.
    func showIncomingCall(callId: String, info: IncomingCallInfo)
    /// It stopped ringing: remove both. `reason` is nil when this device
    /// answered or declined it.
    func dismissIncomingCall(callId: String, reason: CallEndedReason?)
}
