// Real video calls between a Swift engine and a `hotline phone` process
// (WebRTC through the server's SFU, H.264 and Opus), in both directions.
// The Swift side's camera (numbered I420 pictures) and microphone (a tone)
// are Swift; its remote video and audio go to Swift sinks, which read the
// phone's frame numbers in place; the phone reports the numbers it read
// from the Swift pictures and the level it heard.

import XCTest
import HotlineSDK

/// Swift media for one user: camera, tone, and sinks for `peer`.
struct SwiftMedia {
    let camera = NumberedCamera()
    let video = FrameReader()
    let audio = AudioMeter()

    init(_ user: TestUser, peer: String) {
        let engine = user.engine
        engine.setVideoSource(source: camera)
        engine.setAudioSource(source: toneSource(hz: 440))
        engine.openCamera(camera: .front)
        engine.startRemoteView(userId: peer, sink: video)
        engine.startRemoteAudio(userId: peer, sink: audio.sink)
    }

    /// Wait until 20 numbered frames and 0.5 s of loud audio came from the peer.
    func awaitMediaFromPeer() async throws {
        try await until("20 numbered frames and 50 loud 10 ms audio frames from the phone") {
            video.seen.numbered >= 20 && audio.loud.value >= 50
        }
    }

    /// What the Swift side saw and sent.
    func check(file: StaticString = #filePath, line: UInt = #line) {
        let seen = video.seen
        XCTAssertEqual(seen.width, 640, file: file, line: line)
        XCTAssertEqual(seen.height, 360, file: file, line: line)
        XCTAssertEqual(seen.badSizes, 0, "every frame holds w*h*3/2 bytes", file: file, line: line)
        XCTAssertEqual(seen.outOfOrder, 0, "the phone's frame numbers only go up", file: file, line: line)
        XCTAssertGreaterThan(seen.lastNumber ?? 0, seen.firstNumber ?? 0, file: file, line: line)
        XCTAssertTrue(seen.threads.allSatisfy { $0.hasPrefix("hotline") }, "sinks run on engine threads: \(seen.threads)", file: file, line: line)
        XCTAssertEqual(audio.badSizes.value, 0, "every audio frame has 480 samples", file: file, line: line)
        XCTAssertGreaterThan(camera.pulls, 0, "the engine pulled the Swift camera", file: file, line: line)
        XCTAssertTrue(camera.pullThreads.allSatisfy { $0.hasPrefix("hotline") }, "\(camera.pullThreads)", file: file, line: line)
    }
}

/// What the phone reports about the Swift user's media: the first frame
/// (read as a numbered picture of the right size), a loud level, and the
/// end-of-call counts.
func checkPhoneReceived(_ phone: PhoneProcess, from swift: TestUser, callId: String,
                        file: StaticString = #filePath, line: UInt = #line) async throws {
    let first = try await phone.event("firstRemoteFrame") { $0.string("userId") == swift.userId }
    XCTAssertEqual(first.int("width"), 640, file: file, line: line)
    XCTAssertEqual(first.int("height"), 360, file: file, line: line)
    XCTAssertNotNil(first.int("frameNumber"), "the phone read a frame number from the Swift picture: \(first)", file: file, line: line)
    try await phone.event("firstRemoteAudio") { $0.string("userId") == swift.userId }
    // The phone's level of the Swift tone (its JSON: volumes [{user_id, volume}]).
    try await phone.event("onUserVoiceVolumeChanged") { e in
        (e["volumes"] as? [[String: Any]] ?? []).contains {
            $0["user_id"] as? String == swift.userId && (($0["volume"] as? NSNumber)?.intValue ?? 0) > 10
        }
    }
}

/// The phone's `callStats` line at the end of the call: what it received from the Swift user.
func checkPhoneTotals(_ phone: PhoneProcess, from swift: TestUser, callId: String, camera: NumberedCamera,
                      file: StaticString = #filePath, line: UInt = #line) async throws {
    let stats = try await phone.event("callStats") { $0.string("callId") == callId && $0["ended"] as? Bool == true }
    let received = (stats["received"] as? [[String: Any]] ?? []).first { $0["userId"] as? String == swift.userId }
    let r = try XCTUnwrap(received, "the phone's callStats lists the Swift user: \(stats)", file: file, line: line)
    let numbered = (r["numberedFrames"] as? NSNumber)?.intValue ?? 0
    let last = (r["lastFrameNumber"] as? NSNumber)?.intValue ?? -1
    XCTAssertGreaterThan(numbered, 0, "numbered Swift frames at the phone: \(r)", file: file, line: line)
    XCTAssertGreaterThan(last, 0, "\(r)", file: file, line: line)
    // Only numbers the Swift camera drew can have been read.
    XCTAssertLessThan(last, Int(camera.pulls), "\(r)", file: file, line: line)
    XCTAssertLessThanOrEqual(numbered, Int(camera.pulls), "\(r)", file: file, line: line)
    XCTAssertGreaterThan((r["audioFrames"] as? NSNumber)?.intValue ?? 0, 0, "\(r)", file: file, line: line)
    let sent = (stats["users"] as? [[String: Any]] ?? []).first { $0["userId"] as? String == swift.userId }
    XCTAssertGreaterThan((sent?["videoFramesDecoded"] as? NSNumber)?.intValue ?? 0, 0, "\(stats)", file: file, line: line)
}

final class PhoneCallTests: HotlineTestCase {
    func testSwiftCallsAPhoneWithVideoBothWays() async throws {
        let phone = try PhoneProcess("phone", ["--camera", "synthetic", "--mic", "tone", "--tone-hz", "660",
                                               "--answer", "accept", "--stay"])
        let alice = TestUser("alice")
        do {
            try await phone.event("ready")
            try await alice.login()
            let media = SwiftMedia(alice, peer: phone.userId)
            let callId = try await alice.engine.calls(userIds: [phone.userId], mediaType: .video, params: CallParams())
            let received = try await phone.event("onCallReceived") { $0.string("callId") == callId }
            XCTAssertEqual(received.string("callerId"), alice.userId)
            XCTAssertEqual(received.string("mediaType"), "video")
            try await alice.next("userJoin", callId: callId, userId: phone.userId)
            try await alice.next("callBegin", callId: callId)

            try await media.awaitMediaFromPeer()
            try await checkPhoneReceived(phone, from: alice, callId: callId)
            media.check()
            try await alice.seen("userVideoAvailable") { $0 == .userVideoAvailable(callId: callId, userId: phone.userId, available: true) }
            try await alice.seen("userAudioAvailable") { $0 == .userAudioAvailable(callId: callId, userId: phone.userId, available: true) }
            try await alice.seen("userVoiceVolumeChanged") { e in
                guard case let .userVoiceVolumeChanged(id, volumes) = e else { return false }
                return id == callId && (volumes[phone.userId] ?? 0) > 10 && volumes[alice.userId] != nil
            }
            let during = await alice.engine.callStats()
            let stats = try XCTUnwrap(during, "statistics during the call")
            XCTAssertGreaterThan(stats.videoFramesSent, 0)
            XCTAssertGreaterThan(stats.users.first { $0.userId == phone.userId }?.videoFramesDecoded ?? 0, 0, "\(stats)")

            try await alice.engine.hangup()
            let ended = try await alice.next("callEnd", callId: callId)
            XCTAssertEqual(ended.reason, .hangup)
            let end = try await phone.event("onCallEnd") { $0.string("callId") == callId }
            XCTAssertEqual(end.string("reason"), "hangup")
            try await checkPhoneTotals(phone, from: alice, callId: callId, camera: media.camera)
            let after = await alice.engine.callStats()
            XCTAssertNil(after, "no statistics once the call's media stopped")
        } catch {
            await phone.stop()
            await alice.close()
            throw error
        }
        await phone.stop()
        await alice.close()
    }

    func testAPhoneCallsSwiftAndSwiftAccepts() async throws {
        let bob = TestUser("bob")
        try await bob.login()
        let phone = try PhoneProcess("phone", ["--call", bob.userId, "--camera", "synthetic", "--mic", "tone",
                                               "--tone-hz", "660"])
        do {
            let media = SwiftMedia(bob, peer: phone.userId)
            // The invitation arrives through the layer's AsyncStream (TestUser reads events()).
            let ring = try await bob.next("callReceived")
            guard case let .callReceived(callId, callerId, callees, mediaType, _, isGroup, _) = ring else { return }
            XCTAssertEqual(callerId, phone.userId)
            XCTAssertEqual(callees, [bob.userId])
            XCTAssertEqual(mediaType, .video)
            XCTAssertFalse(isGroup)
            let placed = try await phone.event("callPlaced")
            XCTAssertEqual(placed.string("callId"), callId)

            try await bob.engine.accept()
            try await bob.next("callBegin", callId: callId)
            try await phone.event("onCallBegin") { $0.string("callId") == callId }

            try await media.awaitMediaFromPeer()
            try await checkPhoneReceived(phone, from: bob, callId: callId)
            media.check()

            // Swift hangs up; the phone (without --stay) reports and exits.
            try await bob.engine.hangup()
            let ended = try await bob.next("callEnd", callId: callId)
            XCTAssertEqual(ended.reason, .hangup)
            let end = try await phone.event("onCallEnd") { $0.string("callId") == callId }
            XCTAssertEqual(end.string("reason"), "hangup")
            try await checkPhoneTotals(phone, from: bob, callId: callId, camera: media.camera)
            let status = try await phone.exitStatus()
            XCTAssertEqual(status, 0, "the phone's exit status")
        } catch {
            await phone.stop()
            await bob.close()
            throw error
        }
        await phone.stop()
        await bob.close()
    }
}
