// When the engine's audio device may run: only while the audio session is
// active (CallKit's didActivate until didDeactivate, or the coordinator's own
// activation without CallKit) and a call is connected and not on hold.
// Starting it before the session is active is what leaves a call answered
// from the lock screen without sound.

struct AudioGate: Equatable {
    var sessionActive = false
    var callConnected = false
    var onHold = false

    var shouldRun: Bool { sessionActive && callConnected && !onHold }
}
