// The audio gate: the engine's audio device runs only while the audio session
// is active and a call is connected and not on hold (AudioGate). With CallKit
// the session's activation is CallKit's (didActivate / didDeactivate);
// without it the coordinator activates the session when a call connects and
// deactivates it when none is left.

extension CallCoordinator {
    /// CallKit activated the audio session (`provider(_:didActivate:)`).
    public func audioSessionDidActivate() {
        audioGate.sessionActive = true
        say("audio session activated")
        updateAudio()
    }

    /// CallKit deactivated it (`provider(_:didDeactivate:)`).
    public func audioSessionDidDeactivate() {
        audioGate.sessionActive = false
        say("audio session deactivated")
        updateAudio()
    }

    /// Whether the engine's audio device is running.
    public var isAudioRunning: Bool { audioRunning }

    func activateSessionWithoutCallKit() {
        guard !audioGate.sessionActive else { return }
        audio.configureSession()
        do {
            try audio.activateSession()
            audioGate.sessionActive = true
        } catch {
            say("the audio session did not activate: \(error)")
        }
    }

    func updateAudio() {
        let connected = calls.filter { $0.phase == .active }
        audioGate.callConnected = !connected.isEmpty
        audioGate.onHold = !connected.isEmpty && connected.allSatisfy(\.onHold)
        if audioGate.shouldRun != audioRunning {
            audioRunning = audioGate.shouldRun
            if audioRunning { audio.startAudio() } else { audio.stopAudio() }
            say(audioRunning ? "audio started" : "audio stopped")
        }
        if case .appScreen = surface, audioGate.sessionActive, calls.isEmpty {
            audio.deactivateSession()
            audioGate.sessionActive = false
        }
    }
}
