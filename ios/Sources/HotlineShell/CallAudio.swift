// The phone's audio path as the coordinator drives it: the audio session
// (AVAudioSession) and the audio device that moves 10 ms frames between the
// hardware and the engine (AVAudioEngine with voice processing, in
// Apple/VoiceAudioDevice.swift).
//
// With CallKit the system activates and deactivates the session and the
// coordinator is told (`audioSessionDidActivate` / `…DidDeactivate`); the
// device may run only in between. Starting it earlier is what leaves a call
// answered from the lock screen without sound.

/// The audio session and audio device. Called on the main actor.
@MainActor
public protocol CallAudio: AnyObject {
    /// Set the session up for a call (play and record, voice chat) without
    /// activating it. With CallKit, called before CallKit activates it.
    func configureSession()
    /// Activate the session: only without CallKit (`CallSurface.appScreen`).
    func activateSession() throws
    /// Deactivate it: only without CallKit.
    func deactivateSession()
    /// Start moving audio between the hardware and the engine.
    func startAudio()
    /// Stop it.
    func stopAudio()
}
