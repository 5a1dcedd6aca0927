// The Swift layer (HotlineSDK+Async.swift) and the FFI boundary without a
// call: callbacks from Rust threads in order, the events() AsyncStream,
// frames read in place, Swift video sources, device delegates with default
// methods, encoder presets, push payload dictionaries and log listeners.

import Foundation
import XCTest
import HotlineSDK

/// Records user IDs of `onUserJoin` only: every other callback is the
/// layer's empty default.
final class JoinRecorder: CallObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var joins: [(String, String)] = []
    var seen: [(user: String, thread: String)] { lock.locked { joins.map { ($0.0, $0.1) } } }

    func onUserJoin(callId: String, userId: String) {
        let thread = currentThreadName()
        lock.locked { joins.append((userId, thread)) }
    }
}

final class ObserverTests: HotlineTestCase {
    func testCallbacksComeFromARustThreadInOrder() {
        let recorder = JoinRecorder()
        let n = 2_000
        _ = fireTestEvents(observer: recorder, count: UInt32(n))
        let seen = recorder.seen
        XCTAssertEqual(seen.map(\.user), (0..<n).map { "u\($0)" })
        XCTAssertTrue(seen.allSatisfy { $0.thread.hasPrefix("hotline") }, "threads: \(Set(seen.map(\.thread)))")
    }

    func testCallEventObserverTurnsCallbacksIntoValues() {
        let log = EventLog()
        _ = fireTestEvents(observer: CallEventObserver { log.append($0) }, count: 3)
        let joins = log.all.filter { $0.name == "userJoin" }
        XCTAssertEqual(joins.map(\.userId), ["u0", "u1", "u2"], "\(log.all)")
    }

    func testEventsStreamDeliversAndEndsWhenCancelled() async throws {
        try await withUsers("alice", "bob") { users in
            let (alice, bob) = (users[0], users[1])
            // A second stream on bob's engine, consumed by its own task.
            let stream = bob.engine.events()
            let got = EventLog()
            let ended = Counter()
            let reader = Task.detached {
                for await event in stream { got.append(event) }
                ended.add()
            }
            let callId = try await alice.engine.calls(userIds: [bob.userId], mediaType: .video, params: CallParams())
            try await until("the second stream sees the invitation") {
                got.all.contains { $0.name == "callReceived" && $0.callId == callId }
            }
            try await alice.engine.hangup()
            try await until("the second stream sees the call end") {
                got.all.contains { $0 == .callNotConnected(callId: callId, mediaType: .video, reason: .canceled) }
            }
            // Cancelling the consuming task ends the iteration.
            reader.cancel()
            try await until("the cancelled stream's loop to end") { ended.value == 1 }
            // Bob's other stream (TestUser's) is unaffected.
            let second = try await alice.engine.calls(userIds: [bob.userId], mediaType: .audio, params: CallParams())
            try await bob.next("callReceived", callId: second)
            try await alice.engine.hangup()
            try await bob.next("callNotConnected", callId: second)
        }
    }
}

final class FrameTests: HotlineTestCase {
    func testAVideoSinkReads720pI420FramesInPlace() {
        struct Seen: Sendable { var index: UInt32; var luma4: UInt8; var size: Int; var copyMatches: Bool; var w: UInt32; var h: UInt32; var thread: String }
        let frames = LockedLines<Seen>()
        let sink = ClosureVideoSink { frame in
            let seen = frame.i420.withBytes { bytes in
                Seen(index: bytes.loadUnaligned(as: UInt32.self).littleEndian, luma4: bytes[4], size: bytes.count,
                     copyMatches: Data(bytes) == frame.i420.toBytes(), w: frame.width, h: frame.height,
                     thread: currentThreadName())
            }
            frames.append(seen)
        }
        let stats = pushTestFrames(sink: sink, width: 1280, height: 720, count: 30, fps: 0)
        XCTAssertEqual(stats.delivered, 30)
        XCTAssertEqual(stats.dropped, 0)
        let got = frames.all
        XCTAssertEqual(got.map(\.index), Array(0..<30), "frames arrive in order, read in place")
        for f in got {
            XCTAssertEqual(f.w, 1280)
            XCTAssertEqual(f.h, 720)
            XCTAssertEqual(f.size, 1280 * 720 * 3 / 2)
            XCTAssertEqual(f.luma4, 4, "the synthetic picture's pixels")
            XCTAssertTrue(f.copyMatches, "withBytes and toBytes() agree")
            XCTAssertTrue(f.thread.hasPrefix("hotline"), f.thread)
        }
    }

    func testFramesFromASwiftVideoSourceConvertAndMalformedOnesAreSkipped() {
        let (w, h) = (64, 32)
        let pulls = Counter()
        let source = ClosureVideoSource {
            switch (pulls.add() - 1) % 5 {
            case 0: return CapturedFrame(format: .i420, width: UInt32(w), height: UInt32(h), data: Data(count: w * h * 3 / 2))
            // NV12 with rows padded to 80 bytes, as camera buffers often are.
            case 1: return CapturedFrame(format: .nv12, width: UInt32(w), height: UInt32(h), data: Data(count: 80 * h * 3 / 2),
                                         strideY: 80, strideUv: 80, rotation: 270)
            case 2: return CapturedFrame(format: .i420, width: UInt32(w), height: UInt32(h), data: Data(count: 10)) // too short
            case 3: return CapturedFrame(format: .nv12, width: 63, height: UInt32(h), data: Data(count: 63 * h * 2)) // odd width
            default: return nil // no picture yet
            }
        }
        let stats = pullTestFrames(source: source, count: 60)
        XCTAssertEqual(stats.converted, 24, "\(stats)")
        XCTAssertEqual(stats.skipped, 36, "\(stats)")
        XCTAssertEqual(stats.lastWidth, UInt32(w))
        XCTAssertEqual(stats.lastHeight, UInt32(h))
        // The Swift numbered camera of the call tests is a valid source too,
        // and the Rust test camera an ordinary VideoSource.
        XCTAssertEqual(pullTestFrames(source: NumberedCamera(), count: 3).converted, 3)
        let synthetic = pullTestFrames(source: syntheticCamera(width: 320, height: 180), count: 3)
        XCTAssertEqual([synthetic.converted, synthetic.lastWidth, synthetic.lastHeight], [3, 320, 180])
    }

    func testTheFrameCodeRoundTrips() {
        // The Swift copy of the frame-number code must read what it draws,
        // or the call tests' checks of it would mean nothing.
        let (w, h) = (640, 360)
        for n: UInt32 in [0, 1, 77, 4095, 0xFF_FFFF] {
            var y = [UInt8](repeating: 90, count: w * h)
            FrameCode.draw(n, into: &y, width: w, height: h)
            let read = y.withUnsafeBytes { FrameCode.read($0, width: w, height: h) }
            XCTAssertEqual(read, n)
        }
        let blank = [UInt8](repeating: 235, count: w * h)
        XCTAssertNil(blank.withUnsafeBytes { FrameCode.read($0, width: w, height: h) }, "a white picture carries no number")
    }
}

/// Records each device request with its arguments; the rest keep the layer's defaults.
final class RecordingDelegate: DeviceDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    var calls: [String] { lock.locked { log } }
    private func add(_ s: String) { lock.locked { log.append(s) } }

    func openCamera(camera: Camera) { add("openCamera(\(camera))") }
    func switchCamera(camera: Camera) { add("switchCamera(\(camera))") }
    func closeMicrophone() { add("closeMicrophone") }
    func selectAudioPlaybackDevice(device: AudioPlaybackDevice) { add("selectAudioPlaybackDevice(\(device))") }
    func setVideoRenderParams(userId: String, params: VideoRenderParams) {
        add("setVideoRenderParams(\(userId), \(params.fillMode), \(params.rotation))")
    }
}

final class DeviceTests: HotlineTestCase {
    func testDeviceRequestsReachASwiftDelegateWithTheirArguments() throws {
        let engine = HotlineEngine()
        let delegate = RecordingDelegate()
        engine.setDeviceDelegate(delegate: delegate)
        engine.openCamera(camera: .back)
        engine.switchCamera(camera: .front)
        engine.closeCamera() // not implemented: the layer's default does nothing
        engine.closeMicrophone()
        engine.selectAudioPlaybackDevice(device: .earpiece)
        try engine.setVideoRenderParams(userId: "bob", params: VideoRenderParams(fillMode: .fit, rotation: 90))
        XCTAssertThrowsError(try engine.setVideoRenderParams(userId: "bob", params: VideoRenderParams(fillMode: .fill, rotation: 45)))
        XCTAssertEqual(delegate.calls, ["openCamera(back)", "switchCamera(front)", "closeMicrophone",
                                        "selectAudioPlaybackDevice(earpiece)", "setVideoRenderParams(bob, fit, 90)"])
        engine.setDeviceDelegate(delegate: nil)
        engine.openCamera(camera: .front)
        XCTAssertEqual(delegate.calls.count, 5, "a removed delegate gets no more requests")
    }

    func testEncoderPresetsAndOverrides() throws {
        let engine = HotlineEngine()
        XCTAssertEqual(engine.videoEncoderParams(), VideoEncoderSettings(width: 640, height: 360, bitrateKbps: 550, fps: 15, keyframeIntervalFrames: 150))
        try engine.setVideoEncoderParams(params: VideoEncoderParams(resolution: .r1280x720, resolutionMode: .portrait))
        XCTAssertEqual(engine.videoEncoderParams(), VideoEncoderSettings(width: 720, height: 1280, bitrateKbps: 1200, fps: 15, keyframeIntervalFrames: 150))
        try engine.setVideoEncoderParams(params: VideoEncoderParams(resolution: .r960x540, resolutionMode: .landscape, bitrateKbps: 700, fps: 30))
        let set = VideoEncoderSettings(width: 960, height: 540, bitrateKbps: 700, fps: 30, keyframeIntervalFrames: 300)
        XCTAssertEqual(engine.videoEncoderParams(), set)
        XCTAssertThrowsError(try engine.setVideoEncoderParams(params: VideoEncoderParams(resolution: .r1920x1080, resolutionMode: .landscape, bitrateKbps: 10))) {
            XCTAssertEqual(($0 as? HotlineError)?.code, -1202)
        }
        XCTAssertEqual(engine.videoEncoderParams(), set, "unchanged by a refused call")
    }
}

final class PushPayloadTests: HotlineTestCase {
    func testPushKitDictionariesBecomePushActions() throws {
        let engine = HotlineEngine()
        let soon = Int64(Date().timeIntervalSince1970 * 1000) + 30_000
        // A VoIP push as PushKit hands it over: the whole APNs payload.
        let payload: [AnyHashable: Any] = [
            "aps": [String: Any](),
            "hotline": [
                "v": 1, "call_id": "c1", "deadline_ms": soon, "type": "call", "caller_id": "alice",
                "caller_nickname": "Alice", "media_type": "video", "is_group": false, "invitees": [String](),
                "server_url": Env.serverUrl, "title": "Alice", "desc": "is calling", "ext": "",
            ] as [String: Any],
        ]
        let action = try engine.handlePushPayload(dictionary: payload)
        XCTAssertEqual(action, .incomingCall(callId: "c1", callerId: "alice", callerNickname: "Alice", callerAvatar: "",
                                             mediaType: .video, isGroup: false, invitees: [], deadlineMs: soon,
                                             serverUrl: Env.serverUrl, title: "Alice", desc: "is calling", ext: ""))
        let cancel: [AnyHashable: Any] = ["hotline": ["v": 1, "call_id": "c1", "deadline_ms": 5, "type": "cancel", "reason": "answered_elsewhere"] as [String: Any]]
        XCTAssertEqual(try engine.handlePushPayload(dictionary: cancel), .cancel(callId: "c1", reason: .answeredElsewhere))
        // Not JSON-serialisable: refused by the layer itself.
        XCTAssertThrowsError(try engine.handlePushPayload(dictionary: ["hotline": Date()])) {
            XCTAssertEqual(($0 as? HotlineError)?.code, -1202)
        }
    }
}

final class LoggingTests: HotlineTestCase {
    func testALogListenerGetsTheEngineErrorsAtTheLevelSet() async throws {
        struct Line: Sendable { let level: LogLevel; let target: String; let message: String; let thread: String }
        let lines = LockedLines<Line>()
        setLogListener(listener: ClosureLogListener { level, target, message in
            lines.append(Line(level: level, target: target, message: message, thread: currentThreadName()))
        })
        defer {
            setLogListener(listener: nil)
            setLogLevel(level: .info)
        }
        // A malformed picture from a Swift source is skipped and logged as an error.
        let tooShort = { (w: UInt32) in
            ClosureVideoSource { CapturedFrame(format: .i420, width: w, height: 32, data: Data(count: 10)) }
        }
        _ = pullTestFrames(source: tooShort(64), count: 1)
        try await until("the record about the 64x32 frame") { lines.all.contains { $0.message.contains("64x32") } }
        let line = lines.all.first { $0.message.contains("64x32") }!
        XCTAssertEqual(line.level, .error)
        XCTAssertTrue(line.target.hasPrefix("hotline_ffi"), line.target)
        XCTAssertTrue(line.message.contains("malformed"), line.message)
        XCTAssertEqual(line.thread, "hotline-log", "delivered on the SDK's logging thread")

        // Off silences: the 96x32 record is not passed on, the next 128x32 one (at Error) is.
        setLogLevel(level: .off)
        _ = pullTestFrames(source: tooShort(96), count: 1)
        setLogLevel(level: .error)
        _ = pullTestFrames(source: tooShort(128), count: 1)
        try await until("the record about the 128x32 frame") { lines.all.contains { $0.message.contains("128x32") } }
        XCTAssertFalse(lines.all.contains { $0.message.contains("96x32") }, "nothing is logged at .off")
    }
}

final class LockedLines<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.locked { items.append(item) } }
    var all: [T] { lock.locked { items } }
}
