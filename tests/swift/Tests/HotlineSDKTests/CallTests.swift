// 1v1 and group calls between Swift engines through the real server, events
// through the layer's AsyncStream, and call records.

import XCTest
import HotlineSDK

final class OneToOneTests: HotlineTestCase {
    func testAcceptedCallBeginsAndEndsForBothWithRecords() async throws {
        try await withUsers("alice", "bob") { users in
            let (alice, bob) = (users[0], users[1])
            let callId = try await alice.engine.calls(userIds: [bob.userId], mediaType: .video, params: CallParams(userData: "hello"))
            let got = try await bob.next("callReceived", callId: callId)
            XCTAssertEqual(got, .callReceived(callId: callId, callerId: alice.userId, calleeIdList: [bob.userId],
                                              mediaType: .video, userData: "hello", isGroup: false, chatGroupId: ""))
            try await alice.next("userInviting", callId: callId, userId: bob.userId)
            try await bob.engine.accept()
            try await bob.next("callBegin", callId: callId)
            guard case let .callBegin(_, roomId, mediaType, isGroup) = try await alice.next("callBegin", callId: callId) else { return }
            XCTAssertEqual(mediaType, .video)
            XCTAssertFalse(isGroup)
            XCTAssertFalse(roomId.isEmpty)
            try await alice.seen("userJoin") { $0.userId == bob.userId }

            try await alice.engine.switchCallMediaType(mediaType: .audio)
            try await bob.next("callMediaTypeChanged", callId: callId) {
                $0 == .callMediaTypeChanged(callId: callId, oldMediaType: .video, newMediaType: .audio)
            }
            try await alice.engine.hangup()
            let endA = try await alice.next("callEnd", callId: callId)
            let endB = try await bob.next("callEnd", callId: callId)
            XCTAssertEqual(endA.reason, .hangup)
            XCTAssertEqual(endB.reason, .hangup)
            if case let .callEnd(_, media, _, _) = endB { XCTAssertEqual(media, .audio) }
            try await bob.seen("userLeave") { $0.userId == alice.userId }
            XCTAssertEqual(bob.log.all.first?.name, "callReceived", "bob's first event")
            for u in [alice, bob] {
                let names = u.log.all.map(\.name)
                XCTAssertLessThan(names.firstIndex(of: "callBegin")!, names.firstIndex(of: "callEnd")!, "order: \(names)")
            }

            // Records: alice placed it, bob answered it; alice deletes hers.
            let mine = try await alice.engine.queryRecentCalls(filter: RecordFilter()).first { $0.callId == callId }
            let record = try XCTUnwrap(mine, "alice's record of the call")
            XCTAssertEqual(record.result, .outgoing)
            XCTAssertEqual(record.callerId, alice.userId)
            XCTAssertEqual(record.calleeIds, [bob.userId])
            XCTAssertEqual(record.mediaType, .audio, "a record has the media type the call ended with")
            let bobs = try await bob.engine.queryRecentCalls(filter: RecordFilter(result: .incoming, count: 10))
            XCTAssertEqual(bobs.map(\.callId), [callId])
            try await alice.engine.deleteRecordCalls(recordIds: [record.recordId])
            let after = try await alice.engine.queryRecentCalls(filter: RecordFilter())
            XCTAssertFalse(after.contains { $0.callId == callId })
        }
    }

    func testRejectedCallIsNotConnectedWithReject() async throws {
        try await withUsers("alice", "bob") { users in
            let (alice, bob) = (users[0], users[1])
            let callId = try await alice.engine.calls(userIds: [bob.userId], mediaType: .audio, params: CallParams())
            try await bob.next("callReceived", callId: callId)
            try await bob.engine.reject()
            try await alice.next("userReject", callId: callId, userId: bob.userId)
            let endA = try await alice.next("callNotConnected", callId: callId)
            XCTAssertEqual(endA.reason, .reject)
            let endB = try await bob.next("callNotConnected", callId: callId)
            XCTAssertEqual(endB.reason, .reject)
        }
    }

    func testCallingABusyUserGivesLineBusy() async throws {
        try await withUsers("alice", "bob", "carol") { users in
            let (alice, bob, carol) = (users[0], users[1], users[2])
            let first = try await alice.engine.calls(userIds: [bob.userId], mediaType: .audio, params: CallParams())
            try await bob.next("callReceived", callId: first)
            let second = try await carol.engine.calls(userIds: [bob.userId], mediaType: .audio, params: CallParams())
            try await carol.next("userLineBusy", callId: second, userId: bob.userId)
            let busy = try await carol.next("callNotConnected", callId: second)
            XCTAssertEqual(busy.reason, .lineBusy)
            // The busy user's own call is refused.
            await assertThrowsCode(-1203, "calls while ringing") {
                try await bob.engine.calls(userIds: [carol.userId], mediaType: .audio, params: CallParams())
            }
            try await alice.engine.hangup()
            let cancelled = try await bob.next("callNotConnected", callId: first)
            XCTAssertEqual(cancelled.reason, .canceled)
            XCTAssertFalse(bob.log.all.contains { $0.callId == second }, "bob never heard of carol's call")
        }
    }

    /// The callee has no device logged in: the invitation times out after
    /// the minimum timeout, and he finds the call as missed when he logs in.
    func testCallToAnOfflineUserEndsWithNoResponseAndIsMissed() async throws {
        try await withUsers("alice") { users in
            let alice = users[0]
            let bob = TestUser("bob")
            let callId = try await alice.engine.calls(userIds: [bob.userId], mediaType: .video, params: CallParams(timeoutS: 10))
            try await alice.next("userInviting", callId: callId, userId: bob.userId)
            try await alice.next("userNoResponse", callId: callId, userId: bob.userId, seconds: 40)
            let end = try await alice.next("callNotConnected", callId: callId)
            XCTAssertEqual(end, .callNotConnected(callId: callId, mediaType: .video, reason: .noResponse))

            try await bob.login()
            let missed = try await bob.engine.queryRecentCalls(filter: RecordFilter(result: .missed))
            XCTAssertEqual(missed.map(\.callId), [callId])
            XCTAssertEqual(missed.first?.callerId, alice.userId)
            let placed = try await alice.engine.queryRecentCalls(filter: RecordFilter(mediaType: .video, result: .outgoing))
            XCTAssertEqual(placed.map(\.callId), [callId])
            let audioCalls = try await alice.engine.queryRecentCalls(filter: RecordFilter(mediaType: .audio))
            XCTAssertEqual(audioCalls, [], "no audio calls")
            await bob.close()
            XCTAssertFalse(bob.log.all.contains { $0.callId == callId }, "the call was over before bob logged in: \(bob.log.all)")
        }
    }
}

final class GroupTests: HotlineTestCase {
    func testInviteUserMakesAGroupCallAndALeaverCanJoinAgain() async throws {
        try await withUsers("alice", "bob", "carol") { users in
            let (alice, bob, carol) = (users[0], users[1], users[2])
            let callId = try await alice.engine.calls(userIds: [bob.userId], mediaType: .video, params: CallParams())
            try await bob.next("callReceived", callId: callId)
            try await bob.engine.accept()
            try await alice.next("callBegin", callId: callId)
            try await bob.next("callBegin", callId: callId)

            try await alice.engine.inviteUser(userIds: [carol.userId], timeoutS: 10)
            guard case let .callReceived(_, _, _, _, _, isGroup, _) = try await carol.next("callReceived", callId: callId) else { return }
            XCTAssertTrue(isGroup, "an invited call is a group call")
            try await bob.next("userInviting", callId: callId, userId: carol.userId)
            try await carol.engine.accept()
            try await carol.next("callBegin", callId: callId) { if case .callBegin(_, _, _, true) = $0 { true } else { false } }
            try await alice.next("userJoin", callId: callId, userId: carol.userId)
            try await bob.next("userJoin", callId: callId, userId: carol.userId)

            try await bob.engine.hangup()
            try await bob.next("callEnd", callId: callId)
            try await alice.next("userLeave", callId: callId, userId: bob.userId)
            try await carol.next("userLeave", callId: callId, userId: bob.userId)

            try await bob.engine.join(callId: callId)
            try await bob.next("callBegin", callId: callId)
            try await alice.next("userJoin", callId: callId, userId: bob.userId)
            try await carol.next("userJoin", callId: callId, userId: bob.userId)

            // Two leave; the call ends for the last one by itself.
            try await alice.engine.hangup()
            try await carol.next("userLeave", callId: callId, userId: alice.userId)
            try await bob.engine.hangup()
            for u in [alice, bob, carol] { try await u.next("callEnd", callId: callId) }
            await assertThrowsCode(-1203, "hangup after the call ended") { try await carol.engine.hangup() }
        }
    }
}
