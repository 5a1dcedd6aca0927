// PushKit as the coordinator sees it: a registry that hands over the VoIP
// token and every VoIP push. The PushKit adapter (Apple/PushKitRegistry.swift)
// implements it; tests deliver pushes through a fake.

import Foundation

/// Receives what a VoIP push registry delivers, on the main actor.
@MainActor
public protocol VoIPPushReceiving: AnyObject {
    /// A new VoIP token, or nil when PushKit invalidated it.
    func pushTokenUpdated(_ token: Data?)
    /// A VoIP push. It is reported to CallKit before this returns;
    /// `completion` is called once, afterwards.
    func handleIncomingPush(_ payload: [AnyHashable: Any], completion: @escaping @MainActor @Sendable () -> Void)
}

/// A source of VoIP tokens and pushes (PushKit's `PKPushRegistry`).
@MainActor
public protocol VoIPPushRegistry: AnyObject {
    /// Start delivering to `receiver` (registers for VoIP pushes).
    func start(receiver: VoIPPushReceiving)
}
