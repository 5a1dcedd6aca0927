// What the user does. With CallKit the app's buttons become transactions
// (CallRequesting) and CallKit performs them through the provider delegate,
// which calls the `perform…` methods; its own UI (the lock screen, the
// headset button, CarPlay) calls them the same way. Without CallKit the app's
// buttons call the `perform…` methods directly.
//
// | action | engine |
// |---|---|
// | start | `calls(userIds, mediaType)`, the camera for video; CallKit is told it is connecting |
// | answer | log in if needed, wait for onCallReceived of that call, `accept()`, the camera for video |
// | end, ringing | `reject()` (a pushed call not yet ringing in the engine: once it rings) |
// | end, otherwise | `hangup()` (an outgoing call that still rings: cancels it) |
// | mute | `closeMicrophone()`; unmute `openMicrophone()` |
// | hold | the microphone closed and the audio device stopped; unhold restores both. TUICallEngine has no hold: a call on hold stays connected |

import Foundation
import HotlineSDK

extension CallCoordinator {
    // MARK: the app's buttons

    /// Place a call and return its call ID once the engine placed it.
    public func startCall(to userIds: [String], mediaType: MediaType) async throws -> String {
        let uuid = UUID()
        let call = ShellCall(uuid: uuid, callId: nil, direction: .outgoing, phase: .dialing, mediaType: mediaType,
                             peers: userIds, displayName: userIds.joined(separator: ", "), isGroup: userIds.count > 1)
        calls.append(call)
        return try await withCheckedThrowingContinuation { continuation in
            dialWaiters[uuid] = continuation
            switch surface {
            case .callKit(_, let controller):
                controller.requestStartCall(uuid: uuid, handle: userIds.joined(separator: ","),
                                            hasVideo: mediaType == .video) { [weak self] error in
                    if let error { self?.refused(uuid, error) }
                }
            case .appScreen:
                Task { _ = await self.performStartCall(uuid: uuid) }
            }
        }
    }

    /// Answer a ringing call (from the app's own screen).
    public func answer(callId: String) async throws {
        let uuid = try uuidOf(callId)
        switch surface {
        case .callKit(_, let controller):
            try await transaction { controller.requestAnswerCall(uuid: uuid, completion: $0) }
        case .appScreen:
            if !(await performAnswer(uuid: uuid)) { throw ShellError.callNotRinging }
        }
    }

    /// Decline a ringing call or hang up (from the app's own screen).
    public func end(callId: String) async throws {
        let uuid = try uuidOf(callId)
        try await end(uuid: uuid)
    }

    /// End a call by its UUID (an outgoing call before its call ID is known).
    public func end(uuid: UUID) async throws {
        switch surface {
        case .callKit(_, let controller):
            try await transaction { controller.requestEndCall(uuid: uuid, completion: $0) }
        case .appScreen:
            _ = await performEnd(uuid: uuid)
        }
    }

    public func setMuted(_ muted: Bool, callId: String) async throws {
        let uuid = try uuidOf(callId)
        switch surface {
        case .callKit(_, let controller):
            try await transaction { controller.requestSetMuted(uuid: uuid, muted: muted, completion: $0) }
        case .appScreen:
            _ = performSetMuted(uuid: uuid, muted: muted)
        }
    }

    // MARK: CallKit's actions (CXProviderDelegate), or the buttons without CallKit

    /// CXStartCallAction: place the call. False fails the action.
    public func performStartCall(uuid: UUID) async -> Bool {
        guard let i = index(of: uuid), calls[i].direction == .outgoing, calls[i].callId == nil else { return false }
        let call = calls[i]
        if case .callKit = surface { audio.configureSession() }
        let callId: String
        do {
            callId = try await engine.calls(userIds: call.peers, mediaType: call.mediaType, params: CallParams())
        } catch {
            say("calls() failed: \(error)")
            dialWaiters.removeValue(forKey: uuid)?.resume(throwing: error)
            finish(uuid, reason: .failed)
            return false
        }
        if dialsEndedHere.remove(uuid) != nil {
            // Ended while the invitation went out: cancel it.
            endedHere.insert(callId)
            Task { [engine] in try? await engine.hangup() }
            return true
        }
        if let i = index(of: uuid) {
            calls[i].callId = callId // unless an early event bound it already
            if call.mediaType == .video { engine.openCamera(camera: .front) }
            // Unless it already connected (onCallBegin came before calls() returned).
            if case .callKit(let provider, _) = surface, calls[i].phase == .dialing {
                provider.reportOutgoingCallStartedConnecting(uuid: uuid)
            }
        }
        // Resumed here, or already with the busy line that ended it.
        dialWaiters.removeValue(forKey: uuid)?.resume(returning: callId)
        return true
    }

    /// CXAnswerCallAction: log in if needed, wait until the engine reports the
    /// call ringing, `accept()`. False fails the action (and the call ends).
    public func performAnswer(uuid: UUID) async -> Bool {
        guard let i = index(of: uuid), calls[i].direction == .incoming, calls[i].phase == .ringing,
              let callId = calls[i].callId else { return false }
        calls[i].phase = .answering
        let call = calls[i]
        if case .callKit = surface { audio.configureSession() }
        do {
            try await ensureLoggedIn(serverUrl: call.serverUrl)
            guard await waitUntilRinging(callId) else { throw ShellError.callNotRinging }
            try await engine.accept()
        } catch {
            say("answering call \(callId) failed: \(error)")
            if index(of: uuid) != nil { finish(uuid, reason: .failed) }
            return false
        }
        guard let j = index(of: uuid) else { return false } // ended meanwhile
        calls[j].accepted = true
        if call.mediaType == .video { engine.openCamera(camera: .front) }
        say("call \(callId) accepted")
        return true
    }

    /// CXEndCallAction: decline or hang up. Always succeeds: the call is gone
    /// from the screen whatever the engine answers.
    public func performEnd(uuid: UUID) async -> Bool {
        guard let i = index(of: uuid) else { return true }
        let call = calls[i]
        finish(uuid, reason: nil)
        guard let callId = call.callId else {
            dialsEndedHere.insert(uuid) // performStartCall cancels it
            return true
        }
        do {
            if call.direction == .incoming, !call.accepted {
                if call.engineRinging {
                    try await engine.reject()
                } else {
                    // Pushed, and the engine does not know it yet: it is
                    // rejected when it rings (callReceived), after the login.
                    loginInBackground(serverUrl: call.serverUrl)
                }
            } else {
                try await engine.hangup()
            }
        } catch {
            say("ending call \(callId): \(error)")
        }
        return true
    }

    /// CXSetMutedCallAction.
    public func performSetMuted(uuid: UUID, muted: Bool) -> Bool {
        guard let i = index(of: uuid) else { return false }
        calls[i].muted = muted
        if !calls[i].onHold {
            if muted { engine.closeMicrophone() } else { engine.openMicrophone() }
        }
        return true
    }

    /// CXSetHeldCallAction (another call takes over, or the user holds).
    public func performSetHeld(uuid: UUID, onHold: Bool) -> Bool {
        guard let i = index(of: uuid) else { return false }
        calls[i].onHold = onHold
        if !calls[i].muted {
            if onHold { engine.closeMicrophone() } else { engine.openMicrophone() }
        }
        updateAudio()
        return true
    }

    /// CallKit reset (`providerDidReset`): every call is gone from the
    /// system; end them in the engine too.
    public func providerDidReset() {
        let shown = calls
        for call in shown { finish(call.uuid, reason: nil) }
        if !shown.isEmpty { Task { [engine] in try? await engine.hangup() } }
    }

    // MARK: helpers

    func waitUntilRinging(_ callId: String) async -> Bool {
        guard let i = index(ofCallId: callId) else { return false }
        if calls[i].engineRinging { return true }
        let timeout = Task { [weak self] in
            try? await Task.sleep(nanoseconds: 30_000_000_000)
            self?.resumeRingWaiters(callId, ringing: false)
        }
        defer { timeout.cancel() }
        return await withCheckedContinuation { continuation in
            ringWaiters[callId, default: []].append(continuation)
        }
    }

    private func uuidOf(_ callId: String) throws -> UUID {
        guard let i = index(ofCallId: callId) else { throw ShellError.noSuchCall }
        return calls[i].uuid
    }

    private func refused(_ uuid: UUID, _ error: any Error) {
        say("CallKit refused the transaction: \(error)")
        dialWaiters.removeValue(forKey: uuid)?.resume(throwing: ShellError.refused("\(error)"))
        if let i = index(of: uuid) { calls.remove(at: i) }
    }

    private func transaction(_ request: (@escaping @MainActor @Sendable ((any Error)?) -> Void) -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            request { error in
                if let error { continuation.resume(throwing: ShellError.refused("\(error)")) } else { continuation.resume() }
            }
        }
    }
}
