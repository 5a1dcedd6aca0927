// Hotline's thin Swift layer over the UniFFI-generated bindings
// (Sources/HotlineSDK/Generated/HotlineSDK.swift, written by scripts/build-ios.sh).
// It only adapts: events as an AsyncStream, observers and device delegates
// with empty defaults, closure sinks, sources and log listeners, PushKit
// payload dictionaries for handlePushPayload. The
// engine's methods are already `async throws`.
//
// Compiled on Linux with Swift 6.0 in Swift 6 language mode and tested with
// real calls by tests/swift/run.sh (./scripts/test.sh swift).

import Foundation

/// One engine event: TUICallEngine's observer callbacks as values.
public enum CallEvent: Equatable, Sendable {
    /// An invitation arrived (`onCallReceived`).
    case callReceived(callId: String, callerId: String, calleeIdList: [String], mediaType: MediaType, userData: String, isGroup: Bool, chatGroupId: String)
    /// The call connected for this user (`onCallBegin`): start media.
    case callBegin(callId: String, roomId: String, mediaType: MediaType, isGroup: Bool)
    /// A connected call ended for this user (`onCallEnd`).
    case callEnd(callId: String, mediaType: MediaType, reason: EndReason, totalTimeS: UInt64)
    /// The call ended before it connected (`onCallNotConnected`).
    case callNotConnected(callId: String, mediaType: MediaType, reason: EndReason)
    /// The media type changed (`onCallMediaTypeChanged`).
    case callMediaTypeChanged(callId: String, oldMediaType: MediaType, newMediaType: MediaType)
    /// Someone is being invited (`onUserInviting`).
    case userInviting(callId: String, userId: String)
    /// An invitee rejected (`onUserReject`).
    case userReject(callId: String, userId: String)
    /// An invitee did not answer in time (`onUserNoResponse`).
    case userNoResponse(callId: String, userId: String)
    /// An invitee was busy or ignored the call (`onUserLineBusy`).
    case userLineBusy(callId: String, userId: String)
    /// Someone entered the call (`onUserJoin`).
    case userJoin(callId: String, userId: String)
    /// Someone left the call (`onUserLeave`).
    case userLeave(callId: String, userId: String)
    /// Someone turned their camera on or off (`onUserVideoAvailable`).
    case userVideoAvailable(callId: String, userId: String, available: Bool)
    /// Someone turned their microphone on or off (`onUserAudioAvailable`).
    case userAudioAvailable(callId: String, userId: String, available: Bool)
    /// Speaking levels 0–100 by user ID, this user included (`onUserVoiceVolumeChanged`).
    case userVoiceVolumeChanged(callId: String, volumeMap: [String: UInt32])
    /// Link quality per user, every two seconds (`onUserNetworkQualityChanged`).
    case userNetworkQualityChanged(callId: String, networkQualityList: [NetworkQualityInfo])
    /// Another login replaced this one (`onKickedOffline`).
    case kickedOffline
    /// The UserSig expired (`onUserSigExpired`).
    case userSigExpired
    /// An error not tied to an API call (`onError`).
    case error(code: Int32, message: String)
}

/// Empty default implementations: a `CallObserver` implements only the
/// callbacks it needs. Callbacks run on the engine's event thread; hop to the
/// main actor yourself (`Task { @MainActor in ... }`).
public extension CallObserver {
    func onCallReceived(callId: String, callerId: String, calleeIdList: [String], mediaType: MediaType, userData: String, isGroup: Bool, chatGroupId: String) {}
    func onCallBegin(callId: String, roomId: String, mediaType: MediaType, isGroup: Bool) {}
    func onCallEnd(callId: String, mediaType: MediaType, reason: EndReason, totalTimeS: UInt64) {}
    func onCallNotConnected(callId: String, mediaType: MediaType, reason: EndReason) {}
    func onCallMediaTypeChanged(callId: String, oldMediaType: MediaType, newMediaType: MediaType) {}
    func onUserInviting(callId: String, userId: String) {}
    func onUserReject(callId: String, userId: String) {}
    func onUserNoResponse(callId: String, userId: String) {}
    func onUserLineBusy(callId: String, userId: String) {}
    func onUserJoin(callId: String, userId: String) {}
    func onUserLeave(callId: String, userId: String) {}
    func onUserVideoAvailable(callId: String, userId: String, available: Bool) {}
    func onUserAudioAvailable(callId: String, userId: String, available: Bool) {}
    func onUserVoiceVolumeChanged(callId: String, volumeMap: [String: UInt32]) {}
    func onUserNetworkQualityChanged(callId: String, networkQualityList: [NetworkQualityInfo]) {}
    func onKickedOffline() {}
    func onUserSigExpired() {}
    func onError(code: Int32, message: String) {}
}

/// A `CallObserver` that turns every callback into a `CallEvent`.
public final class CallEventObserver: CallObserver {
    private let onEvent: @Sendable (CallEvent) -> Void

    /// `onEvent` runs on the engine's event thread, one event at a time, in order.
    public init(_ onEvent: @escaping @Sendable (CallEvent) -> Void) {
        self.onEvent = onEvent
    }

    public func onCallReceived(callId: String, callerId: String, calleeIdList: [String], mediaType: MediaType, userData: String, isGroup: Bool, chatGroupId: String) {
        onEvent(.callReceived(callId: callId, callerId: callerId, calleeIdList: calleeIdList, mediaType: mediaType, userData: userData, isGroup: isGroup, chatGroupId: chatGroupId))
    }
    public func onCallBegin(callId: String, roomId: String, mediaType: MediaType, isGroup: Bool) {
        onEvent(.callBegin(callId: callId, roomId: roomId, mediaType: mediaType, isGroup: isGroup))
    }
    public func onCallEnd(callId: String, mediaType: MediaType, reason: EndReason, totalTimeS: UInt64) {
        onEvent(.callEnd(callId: callId, mediaType: mediaType, reason: reason, totalTimeS: totalTimeS))
    }
    public func onCallNotConnected(callId: String, mediaType: MediaType, reason: EndReason) {
        onEvent(.callNotConnected(callId: callId, mediaType: mediaType, reason: reason))
    }
    public func onCallMediaTypeChanged(callId: String, oldMediaType: MediaType, newMediaType: MediaType) {
        onEvent(.callMediaTypeChanged(callId: callId, oldMediaType: oldMediaType, newMediaType: newMediaType))
    }
    public func onUserInviting(callId: String, userId: String) { onEvent(.userInviting(callId: callId, userId: userId)) }
    public func onUserReject(callId: String, userId: String) { onEvent(.userReject(callId: callId, userId: userId)) }
    public func onUserNoResponse(callId: String, userId: String) { onEvent(.userNoResponse(callId: callId, userId: userId)) }
    public func onUserLineBusy(callId: String, userId: String) { onEvent(.userLineBusy(callId: callId, userId: userId)) }
    public func onUserJoin(callId: String, userId: String) { onEvent(.userJoin(callId: callId, userId: userId)) }
    public func onUserLeave(callId: String, userId: String) { onEvent(.userLeave(callId: callId, userId: userId)) }
    public func onUserVideoAvailable(callId: String, userId: String, available: Bool) {
        onEvent(.userVideoAvailable(callId: callId, userId: userId, available: available))
    }
    public func onUserAudioAvailable(callId: String, userId: String, available: Bool) {
        onEvent(.userAudioAvailable(callId: callId, userId: userId, available: available))
    }
    public func onUserVoiceVolumeChanged(callId: String, volumeMap: [String: UInt32]) {
        onEvent(.userVoiceVolumeChanged(callId: callId, volumeMap: volumeMap))
    }
    public func onUserNetworkQualityChanged(callId: String, networkQualityList: [NetworkQualityInfo]) {
        onEvent(.userNetworkQualityChanged(callId: callId, networkQualityList: networkQualityList))
    }
    public func onKickedOffline() { onEvent(.kickedOffline) }
    public func onUserSigExpired() { onEvent(.userSigExpired) }
    public func onError(code: Int32, message: String) { onEvent(.error(code: code, message: message)) }
}

public extension HotlineEngine {
    /// Connect and log in (TUICallEngine's `init`, which Swift can only spell
    /// with backticks).
    func login(config: EngineConfig) async throws {
        try await self.`init`(config: config)
    }

    /// The engine's events as an `AsyncStream`. Iterating it registers an
    /// observer; ending the iteration (or cancelling its task) removes it.
    /// Buffered without limit (events are few), so the engine's event thread
    /// never waits for a slow consumer.
    func events() -> AsyncStream<CallEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let id = self.addObserver(observer: CallEventObserver { event in
                continuation.yield(event)
            })
            continuation.onTermination = { [weak self] _ in
                self?.removeObserver(id: id)
            }
        }
    }
}

public extension HotlineEngine {
    /// Read a VoIP push from PushKit's `PKPushPayload.dictionaryPayload` (the
    /// whole APNs payload): serialises it to JSON and calls
    /// `handlePushPayload(payload:)`. Throws `HotlineError.Api(-1202, ...)`
    /// for a payload that is not JSON-serialisable or not Hotline's.
    func handlePushPayload(dictionary: [AnyHashable: Any]) throws -> PushAction {
        guard JSONSerialization.isValidJSONObject(dictionary),
              let data = try? JSONSerialization.data(withJSONObject: dictionary),
              let json = String(data: data, encoding: .utf8) else {
            throw HotlineError.Api(code: -1202, msg: "not a Hotline push: the payload is not JSON")
        }
        return try handlePushPayload(payload: json)
    }
}

public extension HotlineError {
    /// The TUICallEngine-style code (for example -1203); see docs/protocol.md.
    var code: Int32 {
        switch self {
        case let .Api(code, _):
            return code
        }
    }
}

extension FrameBuffer {
    /// Reads the frame's pixels in place, without a copy. The pointer is valid
    /// only inside `body`; copy anything you keep.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let start = UnsafeRawPointer(bitPattern: UInt(address()))
        return try withExtendedLifetime(self) {
            try body(UnsafeRawBufferPointer(start: start, count: Int(len())))
        }
    }
}

/// Empty default implementations: a `DeviceDelegate` implements only the
/// requests its shell handles. Called on the thread that called the engine
/// method, or on an engine thread when a call's media starts or stops.
public extension DeviceDelegate {
    func openCamera(camera: Camera) {}
    func closeCamera() {}
    func switchCamera(camera: Camera) {}
    func openMicrophone() {}
    func closeMicrophone() {}
    func selectAudioPlaybackDevice(device: AudioPlaybackDevice) {}
    func setVideoRenderParams(userId: String, params: VideoRenderParams) {}
}

/// A `VideoSink` from a closure. It runs on the sink's own Rust delivery thread; return quickly.
public final class ClosureVideoSink: VideoSink {
    private let block: @Sendable (VideoFrame) -> Void

    /// `block` receives every frame on a Rust media thread.
    public init(_ block: @escaping @Sendable (VideoFrame) -> Void) {
        self.block = block
    }

    public func onFrame(frame: VideoFrame) {
        block(frame)
    }
}

/// An `AudioSink` from a closure. It runs on the sink's own thread every 10 ms, in order; return quickly.
public final class ClosureAudioSink: AudioSink {
    private let block: @Sendable (AudioFrame) -> Void

    /// `block` receives 10 ms of 48 kHz mono PCM at a time, in order.
    public init(_ block: @escaping @Sendable (AudioFrame) -> Void) {
        self.block = block
    }

    public func onAudio(frame: AudioFrame) {
        block(frame)
    }
}

/// A `VideoSource` from a closure, pulled on the engine's video thread at the encoder's frame rate.
public final class ClosureVideoSource: VideoSource {
    private let block: @Sendable () -> CapturedFrame?

    /// `block` returns the newest captured picture, or nil if there is none yet.
    public init(_ block: @escaping @Sendable () -> CapturedFrame?) {
        self.block = block
    }

    public func readFrame() -> CapturedFrame? {
        block()
    }
}

/// An `AudioSource` from a closure, pulled on the engine's audio thread every 10 ms.
public final class ClosureAudioSource: AudioSource {
    private let block: @Sendable () -> AudioFrame?

    /// `block` returns the next 480 samples, or nil (silence is sent).
    public init(_ block: @escaping @Sendable () -> AudioFrame?) {
        self.block = block
    }

    public func readAudio() -> AudioFrame? {
        block()
    }
}

/// A `LogListener` from a closure, for `setLogListener(listener:)`. It runs on
/// the SDK's logging thread, one record at a time, in order; return quickly.
public final class ClosureLogListener: LogListener {
    private let block: @Sendable (LogLevel, String, String) -> Void

    /// `block` receives each record's level, target (the Rust module that
    /// logged it) and message.
    public init(_ block: @escaping @Sendable (LogLevel, String, String) -> Void) {
        self.block = block
    }

    public func onLog(level: LogLevel, target: String, message: String) {
        block(level, target, message)
    }
}
