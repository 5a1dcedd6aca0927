// A coordinator wired to fakes of CallKit, PushKit and the audio session,
// over a real engine.

import Foundation
import HotlineSDK
@testable import HotlineShell

@MainActor
final class Harness {
    let userId: String
    let engine = HotlineEngine()
    let provider = FakeProvider()
    let controller: FakeController
    let audio = FakeAudio()
    let registry = FakePushRegistry()
    let devices = RecordingDevices()
    let session: TestSession
    let coordinator: CallCoordinator
    /// Every engine event, as the coordinator saw it too.
    let engineEvents = EventRecorder()
    private(set) var log: [String] = []

    /// `env` nil: logins fail at once (no network). `alerter`: the app's own
    /// screen instead of CallKit.
    init(userId: String = uniqueUser("bob"), env: TestEnv?, alerter: FakeAlerter? = nil) {
        self.userId = userId
        controller = FakeController(provider: provider)
        session = TestSession(userId: userId, env: env)
        let surface: CallSurface = alerter.map { .appScreen(alerter: $0) }
            ?? .callKit(provider: provider, controller: controller)
        coordinator = CallCoordinator(engine: engine, surface: surface, audio: audio, session: session, pushTarget: nil)
        controller.coordinator = coordinator
        engine.setDeviceDelegate(delegate: devices)
        _ = engine.addObserver(observer: CallEventObserver { [engineEvents] in engineEvents.append($0) })
        coordinator.log = { [weak self] line in self?.log.append(line) }
        coordinator.start()
        registry.start(receiver: coordinator)
    }

    func close() async {
        coordinator.stop()
        await engine.unInit()
    }

    var call: ShellCall? { coordinator.calls.first }
}

final class EventRecorder: @unchecked Sendable { // every access holds `lock`
    private let lock = NSLock()
    private var seen: [CallEvent] = []

    func append(_ event: CallEvent) { lock.locked { seen.append(event) } }
    var events: [CallEvent] { lock.locked { seen } }
}
