// Offline push from Kotlin: reading FCM data maps, registering tokens with the
// real server, and a pushed call reported after login.
package io.hotline.sdk.test

import io.hotline.sdk.*
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** The `hotline` object of a call push, as the server sends it. */
fun callPush(callId: String, callerId: String, deadlineMs: Long) =
    """{"v":1,"call_id":"$callId","deadline_ms":$deadlineMs,"type":"call","caller_id":"$callerId",""" +
        """"caller_nickname":"Alice","media_type":"video","is_group":false,"invitees":[],""" +
        """"server_url":"${Env.serverUrl}","title":"Alice","desc":"is calling","ext":""}"""

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PushTest {
    @Test
    fun `FCM data maps become push actions without a network`() {
        HotlineEngine().use { engine ->
            val soon = System.currentTimeMillis() + 30_000
            val call = engine.handlePushPayload(mapOf("hotline" to callPush("c1", "alice", soon)))
            assertEquals(
                PushAction.IncomingCall(
                    callId = "c1", callerId = "alice", callerNickname = "Alice", callerAvatar = "",
                    mediaType = MediaType.VIDEO, isGroup = false, invitees = emptyList(), deadlineMs = soon,
                    serverUrl = Env.serverUrl, title = "Alice", desc = "is calling", ext = "",
                ),
                call,
            )
            val late = engine.handlePushPayload(mapOf("hotline" to callPush("c2", "alice", 1000)))
            assertEquals(PushAction.Expired("c2"), late)
            val cancel = """{"v":1,"call_id":"c1","deadline_ms":5,"type":"cancel","reason":"answered_elsewhere"}"""
            assertEquals(
                PushAction.Cancel("c1", PushCancelReason.ANSWERED_ELSEWHERE),
                engine.handlePushPayload(mapOf("hotline" to cancel)),
            )
            // The String form takes a whole APNs payload too.
            assertEquals(call, engine.handlePushPayload("""{"aps":{},"hotline":${callPush("c1", "alice", soon)}}"""))

            val missing = assertFailsWith<HotlineException.Api> { engine.handlePushPayload(mapOf("title" to "hi")) }
            assertEquals(-1202, missing.code)
            val bad = assertFailsWith<HotlineException.Api> { engine.handlePushPayload(mapOf("hotline" to "{}")) }
            assertEquals(-1202, bad.code)
            assertTrue(bad.msg.contains("not a Hotline push"), bad.msg)
        }
    }

    @Test
    fun `tokens register before and after login and unregister`() = bounded {
        Phone().use { p ->
            val e = assertFailsWith<HotlineException.Api> {
                p.engine.registerPushToken(PushProvider.FCM, "", "example-project", PushEnvironment.PRODUCTION)
            }
            assertEquals(-1202, e.code)
            // Before init: remembered, sent after the login.
            p.engine.registerPushToken(PushProvider.APNS_VOIP, "ab".repeat(32), "com.example.app", PushEnvironment.SANDBOX)
            p.login()
            // Logged in: the server's answer.
            p.engine.registerPushToken(PushProvider.FCM, "fcm-" + p.userId, "example-project", PushEnvironment.PRODUCTION)
            p.engine.unregisterPushToken()
            p.engine.unInit()
        }
    }

    @Test
    fun `a pushed call cancelled before login ends with CANCELED`() = bounded {
        phones("alice") { (alice) ->
            Phone().use { bob ->
                val callId = alice.engine.calls(listOf(bob.userId), MediaType.VIDEO, CallParams())
                val action = bob.engine.handlePushPayload(
                    mapOf("hotline" to callPush(callId, alice.userId, System.currentTimeMillis() + 30_000)),
                )
                assertTrue(action is PushAction.IncomingCall && action.callId == callId, "$action")
                alice.engine.hangup()
                alice.await<CallEvent.CallNotConnected>()
                bob.login()
                val ended = bob.await<CallEvent.CallNotConnected>()
                assertEquals(CallEvent.CallNotConnected(callId, MediaType.VIDEO, EndReason.CANCELED), ended)
                assertEquals(listOf<CallEvent>(ended), bob.seen())
                bob.engine.unInit()
            }
        }
    }
}
