// PushKit for the coordinator: the VoIP token and every VoIP push, delivered
// on the main queue to the coordinator (VoIPPushReceiving), which reports
// each push to CallKit before this delegate returns.
//
// Create it and call `start(receiver:)` in
// `application(_:didFinishLaunchingWithOptions:)`: a VoIP push that wakes a
// terminated app is delivered only to a registry made at launch.
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: PushKit exists only on Apple's
// systems, so this file compiles to nothing there (#if below). It was written
// against Apple's documented PushKit API and checked only for syntax.

#if os(iOS) && canImport(PushKit)
import Foundation
import PushKit

@MainActor
public final class PushKitRegistry: NSObject, VoIPPushRegistry {
    private var registry: PKPushRegistry?
    private weak var receiver: VoIPPushReceiving?

    public override init() {
        super.init()
    }

    public func start(receiver: VoIPPushReceiving) {
        self.receiver = receiver
        let registry = PKPushRegistry(queue: .main) // delegate calls on the main actor
        registry.delegate = self
        registry.desiredPushTypes = [.voIP]
        self.registry = registry
    }
}

extension PushKitRegistry: PKPushRegistryDelegate {
    public nonisolated func pushRegistry(_ registry: PKPushRegistry, didUpdate pushCredentials: PKPushCredentials,
                                         for type: PKPushType) {
        guard type == .voIP else { return }
        let token = pushCredentials.token
        MainActor.assumeIsolated { receiver?.pushTokenUpdated(token) }
    }

    public nonisolated func pushRegistry(_ registry: PKPushRegistry, didInvalidatePushTokenFor type: PKPushType) {
        guard type == .voIP else { return }
        MainActor.assumeIsolated { receiver?.pushTokenUpdated(nil) }
    }

    public nonisolated func pushRegistry(_ registry: PKPushRegistry, didReceiveIncomingPushWith payload: PKPushPayload,
                                         for type: PKPushType, completion: @escaping () -> Void) {
        // PushKit's completion may be called from any thread; it is called
        // once, on the main actor, after the report.
        let done = UncheckedSendable(completion)
        let dictionary = UncheckedSendable(payload.dictionaryPayload)
        MainActor.assumeIsolated {
            guard let receiver else { return done.value() }
            receiver.handleIncomingPush(dictionary.value) { done.value() }
        }
    }
}
#endif
