// Logging in and the errors of the API as Swift errors with TUICallEngine's
// codes, against the real server.

import XCTest
import HotlineSDK

final class LoginTests: HotlineTestCase {
    func testLoginSucceedsAndBadUserSigsFailWith1302() async throws {
        let ok = TestUser("alice")
        try await ok.login()
        XCTAssertFalse(ok.engine.deviceId().isEmpty)
        // A logged-in engine can talk to the server: an empty record list.
        let records = try await ok.engine.queryRecentCalls(filter: RecordFilter())
        XCTAssertEqual(records, [])
        await ok.close()

        let garbage = TestUser("bob")
        let msg = await assertThrowsCode(-1302, "login with a malformed UserSig") {
            try await garbage.engine.login(config: garbage.config(sig: "not-a-usersig"))
        }
        XCTAssertFalse(msg?.isEmpty ?? true, "the error carries a message")
        await garbage.close()

        let forged = TestUser("carol")
        let otherKey = genUserSig(sdkAppId: Env.sdkAppId, secretKey: "wrong-secret-key-0123456789", userId: forged.userId, expireS: 3600)
        await assertThrowsCode(-1302, "login with a UserSig signed by another key") {
            try await forged.engine.login(config: forged.config(sig: otherKey))
        }
        await forged.close()
    }

    func testInitTwiceFailsWith1204AndABadUserIdWith1202() async throws {
        try await withUsers("alice") { users in
            let alice = users[0]
            await assertThrowsCode(-1204, "a second init") { try await alice.engine.login(config: alice.config()) }
        }
        let engine = HotlineEngine()
        let bad = EngineConfig(serverUrl: Env.serverUrl, sdkAppId: Env.sdkAppId, userId: "not a valid id!", userSig: "x")
        await assertThrowsCode(-1202, "a user ID with spaces") { try await engine.login(config: bad) }
    }
}

final class ErrorTests: HotlineTestCase {
    func testErrorsAreHotlineErrorsWithTUICallEngineCodes() async throws {
        // Not logged in: -1301 NOT_LOGGED_IN.
        let idle = HotlineEngine()
        await assertThrowsCode(-1301, "accept before init") { try await idle.accept() }
        await assertThrowsCode(-1301, "calls before init") {
            try await idle.calls(userIds: ["bob"], mediaType: .audio, params: CallParams())
        }

        try await withUsers("alice") { users in
            let alice = users[0]
            // Nothing rings: -1203 REQUEST_REFUSED.
            await assertThrowsCode(-1203, "accept with no call") { try await alice.engine.accept() }
            await assertThrowsCode(-1203, "reject with no call") { try await alice.engine.reject() }
            await assertThrowsCode(-1203, "hangup with no call") { try await alice.engine.hangup() }
            await assertThrowsCode(-1203, "switchCallMediaType with no call") {
                try await alice.engine.switchCallMediaType(mediaType: .audio)
            }
            // Bad parameters: -1202 PARAM_INVALID.
            await assertThrowsCode(-1202, "calls with nobody") {
                try await alice.engine.calls(userIds: [], mediaType: .audio, params: CallParams())
            }
            await assertThrowsCode(-1202, "calls to oneself") {
                try await alice.engine.calls(userIds: [alice.userId], mediaType: .audio, params: CallParams())
            }
            await assertThrowsCode(-1202, "an invitation timeout under 10 s") {
                try await alice.engine.calls(userIds: [uid("bob")], mediaType: .audio, params: CallParams(timeoutS: 5))
            }
            await assertThrowsCode(-1203, "inviteUser with no call") {
                try await alice.engine.inviteUser(userIds: [uid("bob")], timeoutS: 0)
            }
            let msg = await assertThrowsCode(-1202, "join an unknown call") {
                try await alice.engine.join(callId: "no-such-call")
            }
            XCTAssertFalse(msg?.isEmpty ?? true)
            // The thrown value is the generated enum, with the layer's `code`.
            do {
                try await alice.engine.accept()
                XCTFail("accept with no call returned")
            } catch let HotlineError.Api(code, msg) {
                XCTAssertEqual(code, -1203)
                XCTAssertFalse(msg.isEmpty)
            }
            XCTAssertEqual(alice.log.all, [], "failed calls produce no events")
        }
    }

    func testSynchronousErrorsThrowToo() throws {
        let engine = HotlineEngine()
        XCTAssertThrowsError(try engine.setVideoRenderParams(userId: "bob", params: VideoRenderParams(fillMode: .fill, rotation: 45))) {
            XCTAssertEqual(($0 as? HotlineError)?.code, -1202)
        }
        XCTAssertThrowsError(try engine.setVideoEncoderParams(params: VideoEncoderParams(resolution: .r640x360, resolutionMode: .landscape, fps: 61))) {
            XCTAssertEqual(($0 as? HotlineError)?.code, -1202)
        }
        XCTAssertThrowsError(try engine.handlePushPayload(dictionary: ["title": "hi"])) {
            XCTAssertEqual(($0 as? HotlineError)?.code, -1202, "a push without Hotline's object")
        }
    }
}
