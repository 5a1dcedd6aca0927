// Where CallKit is not allowed: an incoming call as a local notification
// (time-sensitive, with Answer and Decline actions) while the app is in the
// background, and the app's own incoming screen through a callback.
//
// The app registers the category once (`registerCategory()`), and in its
// UNUserNotificationCenterDelegate hands the chosen action to the
// coordinator (`answer(callId:)` / `end(callId:)`); the call ID is in the
// notification's `userInfo["call_id"]`.
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: UserNotifications exists only on
// Apple's systems, so this file compiles to nothing there (#if below). It was
// checked only for syntax.

#if os(iOS) && canImport(UserNotifications)
import Foundation
import UserNotifications

@MainActor
public final class LocalNotificationAlerter: IncomingCallAlerting {
    public static let category = "io.hotline.incoming-call"
    public static let answerAction = "io.hotline.answer"
    public static let declineAction = "io.hotline.decline"

    private let center = UNUserNotificationCenter.current()
    /// Shows and hides the app's own incoming-call screen.
    private let showScreen: @MainActor (String, IncomingCallInfo) -> Void
    private let hideScreen: @MainActor (String) -> Void

    public init(showScreen: @escaping @MainActor (String, IncomingCallInfo) -> Void,
                hideScreen: @escaping @MainActor (String) -> Void) {
        self.showScreen = showScreen
        self.hideScreen = hideScreen
    }

    /// The notification category with Answer and Decline; call once at launch.
    public func registerCategory() {
        let answer = UNNotificationAction(identifier: Self.answerAction, title: "Answer", options: [.foreground])
        let decline = UNNotificationAction(identifier: Self.declineAction, title: "Decline", options: [.destructive])
        center.setNotificationCategories([UNNotificationCategory(identifier: Self.category, actions: [answer, decline],
                                                                 intentIdentifiers: [], options: [])])
    }

    public func showIncomingCall(callId: String, info: IncomingCallInfo) {
        showScreen(callId, info)
        let content = UNMutableNotificationContent()
        content.title = info.displayName
        content.body = info.hasVideo ? "Incoming video call" : "Incoming call"
        content.sound = .default
        content.categoryIdentifier = Self.category
        content.userInfo = ["call_id": callId]
        content.interruptionLevel = .timeSensitive
        center.add(UNNotificationRequest(identifier: callId, content: content, trigger: nil))
    }

    public func dismissIncomingCall(callId: String, reason: CallEndedReason?) {
        hideScreen(callId)
        center.removeDeliveredNotifications(withIdentifiers: [callId])
        center.removePendingNotificationRequests(withIdentifiers: [callId])
    }
}
#endif
