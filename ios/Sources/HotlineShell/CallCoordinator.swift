// The shell's decisions, in one place and without Apple's frameworks: which
// call to show, when to log in and answer, when audio may run, and how an
// engine end becomes a CallKit end reason. It talks to the real engine and to
// small protocols for CallKit (CallReporting, CallRequesting), PushKit
// (VoIPPushRegistry), the audio session (CallAudio) and, where CallKit is not
// allowed, the app's own alert (IncomingCallAlerting).
//
// Everything runs on the main actor: PushKit and CallKit call their
// delegates there (the adapters ask for the main queue), and engine events
// are moved there in order through `engine.events()`.
//
// This file: state, start/stop, login. Pushes, engine events, user actions
// and audio are in the CallCoordinator+*.swift extensions.

import Foundation
import HotlineSDK

@MainActor
public final class CallCoordinator {
    public let engine: HotlineEngine
    /// CallKit, or the app's own screen. Change it only while no call is shown.
    public var surface: CallSurface
    let audio: CallAudio
    let session: CallSessionSource
    let pushTarget: PushTokenTarget?

    /// The calls shown, oldest first.
    public internal(set) var calls: [ShellCall] = [] {
        didSet { if calls != oldValue { onCallsChanged?(calls) } }
    }
    /// Called on the main actor whenever `calls` changes.
    public var onCallsChanged: (@MainActor ([ShellCall]) -> Void)?
    /// The coordinator's decisions and failures, one line each (for the app's log).
    public var log: (@MainActor (String) -> Void)?

    enum LoginState {
        case loggedOut
        case loggingIn(Task<Void, any Error>)
        case loggedIn
    }
    var loginState = LoginState.loggedOut

    /// Calls that ended, newest last, with the reason reported (nil: ended
    /// on this device), so late pushes and late engine events for them are
    /// recognised. Bounded.
    var finished: [(callId: String, reason: CallEndedReason?)] = []
    /// Calls this device ended before the engine could act on them: reject
    /// them when they ring, hang up if they begin.
    var endedHere: Set<String> = []
    /// Outgoing calls ended here while `calls()` was still running.
    var dialsEndedHere: Set<UUID> = []
    /// Answer requests waiting for `onCallReceived` of a pushed call.
    var ringWaiters: [String: [CheckedContinuation<Bool, Never>]] = [:]
    /// `startCall` requests waiting for the engine's call ID.
    var dialWaiters: [UUID: CheckedContinuation<String, any Error>] = [:]
    var audioGate = AudioGate()
    var audioRunning = false
    private var eventsTask: Task<Void, Never>?

    /// - Parameters:
    ///   - engine: the app's one engine.
    ///   - surface: `.callKit(...)`, or `.appScreen(...)` where CallKit is not allowed
    ///     (`CallKitPolicy.callKitAllowed(regionCode:)`).
    ///   - audio: the audio session and device.
    ///   - session: the app's login, for answering a pushed call before the app logged in.
    ///   - pushTarget: where push tokens are registered (nil: the app registers them itself).
    public init(engine: HotlineEngine, surface: CallSurface, audio: CallAudio,
                session: CallSessionSource, pushTarget: PushTokenTarget?) {
        self.engine = engine
        self.surface = surface
        self.audio = audio
        self.session = session
        self.pushTarget = pushTarget
    }

    /// Start following the engine's events. Call once, before the first push
    /// or login.
    public func start() {
        guard eventsTask == nil else { return }
        let events = engine.events() // registers the observer now
        eventsTask = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                self.handle(event)
            }
        }
    }

    /// Stop following the engine (its observer is removed).
    public func stop() {
        eventsTask?.cancel()
        eventsTask = nil
    }

    // MARK: login

    /// Log in with the app's own credentials (instead of `engine.login`), so
    /// that the coordinator knows it need not log in to answer.
    public func login(config: EngineConfig) async throws {
        try await runLogin { [engine] in try await engine.login(config: config) }
    }

    /// Log out (`unInit`). Calls shown are ended.
    public func logout() async {
        for call in calls { finish(call.uuid, reason: .failed) }
        loginState = .loggedOut
        await engine.unInit()
    }

    public var isLoggedIn: Bool {
        if case .loggedIn = loginState { return true }
        return false
    }

    /// Log in with the session source unless logged in or logging in.
    func ensureLoggedIn(serverUrl: String?) async throws {
        switch loginState {
        case .loggedIn:
            return
        case .loggingIn(let task):
            try await task.value
        case .loggedOut:
            try await runLogin { [engine, session] in
                let config = try await session.engineConfig(serverUrl: serverUrl)
                try await engine.login(config: config)
            }
        }
    }

    /// Start logging in now (after a push), without waiting for it.
    func loginInBackground(serverUrl: String?) {
        guard case .loggedOut = loginState else { return }
        Task {
            do {
                try await ensureLoggedIn(serverUrl: serverUrl)
            } catch {
                say("login after a push failed: \(error)")
            }
        }
    }

    private func runLogin(_ body: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await body() }
        loginState = .loggingIn(task)
        do {
            try await task.value
            if case .loggingIn(let current) = loginState, current == task { loginState = .loggedIn }
        } catch {
            if case .loggingIn(let current) = loginState, current == task { loginState = .loggedOut }
            throw error
        }
    }

    // MARK: the calls

    func index(of uuid: UUID) -> Int? {
        calls.firstIndex { $0.uuid == uuid }
    }

    func index(ofCallId callId: String) -> Int? {
        calls.firstIndex { $0.callId == callId }
    }

    /// The call an engine event names. An outgoing call still waiting for
    /// `calls()` to return takes the first unknown call ID: the engine has
    /// one call at a time, and a busy callee is reported before `calls()`
    /// returns.
    func index(forEventCallId callId: String) -> Int? {
        if let i = index(ofCallId: callId) { return i }
        if endedHere.contains(callId) { return nil }
        if let i = calls.firstIndex(where: { $0.direction == .outgoing && $0.callId == nil }) {
            calls[i].callId = callId
            return i
        }
        return nil
    }

    func finishedReason(_ callId: String) -> CallEndedReason?? {
        finished.last { $0.callId == callId }.map { $0.reason }
    }

    /// Remove a call. `reason` nil: this device ended it (nothing to report);
    /// otherwise it is reported ended with that reason.
    func finish(_ uuid: UUID, reason: CallEndedReason?) {
        guard let i = index(of: uuid) else { return }
        let call = calls.remove(at: i)
        if let callId = call.callId {
            finished.append((callId, reason))
            if finished.count > 64 { finished.removeFirst(finished.count - 64) }
            resumeRingWaiters(callId, ringing: false)
            if reason == nil { endedHere.insert(callId) }
        }
        dialWaiters.removeValue(forKey: uuid)?.resume(throwing: ShellError.callEnded(reason))
        switch surface {
        case .callKit(let provider, _):
            if let reason { provider.reportCallEnded(uuid: uuid, reason: reason) }
        case .appScreen(let alerter):
            if call.direction == .incoming, call.phase != .active, let callId = call.callId {
                alerter.dismissIncomingCall(callId: callId, reason: reason)
            }
        }
        say("call \(call.callId ?? uuid.uuidString) ended" + (reason.map { " (\($0))" } ?? " here"))
        updateAudio()
    }

    func resumeRingWaiters(_ callId: String, ringing: Bool) {
        for waiter in ringWaiters.removeValue(forKey: callId) ?? [] {
            waiter.resume(returning: ringing)
        }
    }

    func say(_ line: String) {
        log?(line)
    }
}
