// What the coordinator asks the system to do (CallKit's CXCallController):
// the app's own buttons become transactions, and CallKit performs them
// through the provider delegate, which calls the coordinator's `perform…`
// methods. The CallKit adapter implements it; tests use a fake that performs
// each request at once, as CallKit would.

import Foundation

/// The call controller side of CallKit. Called on the main actor;
/// `completion` gets nil once the system accepted the transaction, or why not.
@MainActor
public protocol CallRequesting: AnyObject {
    func requestStartCall(uuid: UUID, handle: String, hasVideo: Bool,
                          completion: @escaping @MainActor @Sendable ((any Error)?) -> Void)
    func requestAnswerCall(uuid: UUID, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void)
    func requestEndCall(uuid: UUID, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void)
    func requestSetMuted(uuid: UUID, muted: Bool, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void)
    func requestSetHeld(uuid: UUID, onHold: Bool, completion: @escaping @MainActor @Sendable ((any Error)?) -> Void)
}
