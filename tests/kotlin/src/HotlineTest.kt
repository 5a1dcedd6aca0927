// JVM tests of the generated Kotlin bindings and the thin Kotlin layer, with
// real calls through a real `hotline server`. Run by tests/kotlin/run.sh.
package io.hotline.sdk.test

import io.hotline.sdk.*
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.Collections
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotSame
import kotlin.test.assertTrue

/** Run a test body with a hard time limit (JUnit's @Timeout backs it up). */
fun bounded(ms: Long = 30_000, body: suspend CoroutineScope.() -> Unit) = runBlocking { withTimeout(ms) { body() } }

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoginTest {
    @Test
    fun `login succeeds and a bad UserSig fails with -1302`() = bounded {
        Phone().use { p ->
            p.login()
            assertTrue(p.engine.deviceId().isNotEmpty())
            p.engine.unInit()
        }
        Phone().use { p ->
            val e = assertFailsWith<HotlineException.Api> { p.engine.init(p.config(sig = "not-a-usersig")) }
            assertEquals(-1302, e.code)
            assertTrue(e.msg.isNotEmpty())
        }
        Phone().use { p ->
            val other = genUserSig(Env.SDK_APP_ID, "wrong-secret-key", p.userId, 3600uL)
            val e = assertFailsWith<HotlineException> { p.engine.init(p.config(sig = other)) }
            assertEquals(-1302, e.code) // via the layer's `code` extension
        }
    }

    @Test
    fun `init twice fails with -1204 and a bad user ID with -1202`() = bounded {
        phones("alice") { (a) ->
            val e = assertFailsWith<HotlineException.Api> { a.engine.init(a.config()) }
            assertEquals(-1204, e.code)
        }
        HotlineEngine().use { engine ->
            val cfg = EngineConfig(Env.serverUrl, Env.SDK_APP_ID, "not a valid id!", "x")
            assertEquals(-1202, assertFailsWith<HotlineException.Api> { engine.init(cfg) }.code)
        }
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OneToOneTest {
    @Test
    fun `accepted call begins and ends for both, on engine threads, in order`() = bounded {
        val testThread = Thread.currentThread()
        phones("alice", "bob") { (alice, bob) ->
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.VIDEO, CallParams(userData = "hello"))
            val got = bob.await<CallEvent.CallReceived>()
            assertEquals(CallEvent.CallReceived(callId, alice.userId, listOf(bob.userId), MediaType.VIDEO, "hello", false, ""), got)
            bob.engine.accept()
            bob.await<CallEvent.CallBegin> { it.callId == callId }
            val begin = alice.await<CallEvent.CallBegin> { it.callId == callId }
            assertEquals(MediaType.VIDEO, begin.mediaType)
            alice.engine.switchCallMediaType(MediaType.AUDIO)
            bob.await<CallEvent.CallMediaTypeChanged> { it.newMediaType == MediaType.AUDIO && it.oldMediaType == MediaType.VIDEO }
            alice.engine.hangup()
            val endA = alice.await<CallEvent.CallEnd> { it.callId == callId }
            val endB = bob.await<CallEvent.CallEnd> { it.callId == callId }
            assertEquals(EndReason.HANGUP, endA.reason)
            assertEquals(EndReason.HANGUP, endB.reason)
            assertEquals(MediaType.AUDIO, endB.mediaType)
            for (p in listOf(alice, bob)) {
                assertTrue(p.history.all { it.thread !== testThread }, "callbacks must come from engine threads")
                val names = p.seen().map { it::class.simpleName }
                assertTrue(names.indexOf("CallBegin") < names.indexOf("CallEnd"), "order: $names")
            }
            assertTrue(bob.seen().first() is CallEvent.CallReceived, "bob's first event: ${bob.seen()}")
            // Records: alice placed it, bob answered it.
            val recs = alice.engine.queryRecentCalls(RecordFilter())
            val mine = recs.first { it.callId == callId }
            assertEquals(CallResult.OUTGOING, mine.result)
            assertEquals(listOf(bob.userId), mine.calleeIds)
            val bobs = bob.engine.queryRecentCalls(RecordFilter(result = CallResult.INCOMING, count = 10u))
            assertEquals(listOf(callId), bobs.map { it.callId })
            alice.engine.deleteRecordCalls(listOf(mine.recordId))
            assertTrue(alice.engine.queryRecentCalls(RecordFilter()).none { it.callId == callId })
        }
    }

    @Test
    fun `rejected call is not connected with REJECT`() = bounded {
        phones("alice", "bob") { (alice, bob) ->
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.AUDIO, CallParams())
            bob.await<CallEvent.CallReceived> { it.callId == callId }
            bob.engine.reject()
            alice.await<CallEvent.UserReject> { it.callId == callId && it.userId == bob.userId }
            assertEquals(EndReason.REJECT, alice.await<CallEvent.CallNotConnected> { it.callId == callId }.reason)
            bob.await<CallEvent.CallNotConnected> { it.callId == callId }
        }
    }

    @Test
    fun `unanswered call times out after 10 s with NO_RESPONSE`() = bounded(40_000) {
        phones("alice", "bob") { (alice, bob) ->
            val t0 = System.nanoTime()
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.VIDEO, CallParams(timeoutS = 10u))
            bob.await<CallEvent.CallReceived> { it.callId == callId }
            alice.await<CallEvent.UserNoResponse>(timeoutMs = 20_000) { it.callId == callId && it.userId == bob.userId }
            val elapsedS = (System.nanoTime() - t0) / 1e9
            assertTrue(elapsedS in 9.0..16.0, "timed out after $elapsedS s")
            assertEquals(EndReason.NO_RESPONSE, alice.await<CallEvent.CallNotConnected> { it.callId == callId }.reason)
            bob.await<CallEvent.CallNotConnected>(timeoutMs = 5_000) { it.callId == callId }
        }
    }

    @Test
    fun `calling a busy user gives LINE_BUSY`() = bounded {
        phones("alice", "bob", "carol") { (alice, bob, carol) ->
            val first = alice.engine.calls(listOf(bob.userId), MediaType.AUDIO, CallParams())
            bob.await<CallEvent.CallReceived> { it.callId == first }
            val second = carol.engine.calls(listOf(bob.userId), MediaType.AUDIO, CallParams())
            carol.await<CallEvent.UserLineBusy> { it.callId == second && it.userId == bob.userId }
            assertEquals(EndReason.LINE_BUSY, carol.await<CallEvent.CallNotConnected> { it.callId == second }.reason)
            // The busy user's own call is refused.
            assertEquals(-1203, assertFailsWith<HotlineException.Api> {
                bob.engine.calls(listOf(carol.userId), MediaType.AUDIO, CallParams())
            }.code)
            alice.engine.hangup()
            bob.await<CallEvent.CallNotConnected> { it.callId == first }
        }
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GroupTest {
    @Test
    fun `inviteUser makes a group call and a leaver can join again`() = bounded {
        phones("alice", "bob", "carol") { (alice, bob, carol) ->
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.VIDEO, CallParams())
            bob.await<CallEvent.CallReceived> { it.callId == callId }
            bob.engine.accept()
            alice.await<CallEvent.CallBegin> { it.callId == callId }
            bob.await<CallEvent.CallBegin> { it.callId == callId }

            alice.engine.inviteUser(listOf(carol.userId), 10u)
            val inv = carol.await<CallEvent.CallReceived> { it.callId == callId }
            assertTrue(inv.isGroup, "an invited call is a group call")
            bob.await<CallEvent.UserInviting> { it.userId == carol.userId }
            carol.engine.accept()
            carol.await<CallEvent.CallBegin> { it.callId == callId && it.isGroup }
            alice.await<CallEvent.UserJoin> { it.userId == carol.userId }
            bob.await<CallEvent.UserJoin> { it.userId == carol.userId }

            bob.engine.hangup()
            bob.await<CallEvent.CallEnd> { it.callId == callId }
            alice.await<CallEvent.UserLeave> { it.userId == bob.userId }
            carol.await<CallEvent.UserLeave> { it.userId == bob.userId }

            bob.engine.join(callId)
            bob.await<CallEvent.CallBegin> { it.callId == callId }
            alice.await<CallEvent.UserJoin> { it.userId == bob.userId }
            carol.await<CallEvent.UserJoin> { it.userId == bob.userId }

            // Two leave; the call ends for the last one by itself.
            alice.engine.hangup()
            carol.await<CallEvent.UserLeave> { it.userId == alice.userId }
            bob.engine.hangup()
            for (p in listOf(alice, bob, carol)) p.await<CallEvent.CallEnd> { it.callId == callId }
            assertEquals(-1203, assertFailsWith<HotlineException.Api> { carol.engine.hangup() }.code)
        }
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ErrorTest {
    @Test
    fun `errors surface as HotlineException with TUICallEngine codes`() = bounded {
        HotlineEngine().use { e ->
            // Not logged in.
            assertEquals(-1301, assertFailsWith<HotlineException.Api> { e.accept() }.code)
        }
        phones("alice") { (alice) ->
            // Nothing rings: -1203 REQUEST_REFUSED.
            assertEquals(-1203, assertFailsWith<HotlineException.Api> { alice.engine.accept() }.code)
            assertEquals(-1203, assertFailsWith<HotlineException.Api> { alice.engine.hangup() }.code)
            // Bad parameters: -1202 PARAM_INVALID.
            assertEquals(-1202, assertFailsWith<HotlineException.Api> {
                alice.engine.calls(emptyList(), MediaType.AUDIO, CallParams())
            }.code)
            assertEquals(-1202, assertFailsWith<HotlineException.Api> {
                alice.engine.calls(listOf(alice.userId), MediaType.AUDIO, CallParams())
            }.code)
            assertEquals(-1202, assertFailsWith<HotlineException.Api> {
                alice.engine.calls(listOf(uid("bob")), MediaType.AUDIO, CallParams(timeoutS = 5u))
            }.code)
            val e = assertFailsWith<HotlineException.Api> { alice.engine.join("no-such-call") }
            assertEquals(-1202, e.code)
            assertTrue(e.message!!.contains("-1202"), e.message)
        }
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LifetimeTest {
    @Test
    fun `a closed engine fails cleanly and close is idempotent`() = bounded {
        val e = HotlineEngine()
        val id = e.deviceId()
        e.close()
        assertFailsWith<IllegalStateException> { e.deviceId() }
        assertFailsWith<IllegalStateException> { e.accept() }
        e.close()
        // A new engine is independent.
        HotlineEngine().use { assertTrue(it.deviceId() != id) }
    }

    @Test
    fun `closing a logged-in engine mid-call frees it and the peer is told`() = bounded {
        phones("alice") { (alice) ->
            val bob = Phone(uid("bob")).login()
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.AUDIO, CallParams())
            bob.await<CallEvent.CallReceived> { it.callId == callId }
            bob.engine.unInit()
            bob.close()
            assertFailsWith<IllegalStateException> { bob.engine.deviceId() }
            alice.engine.hangup()
            alice.await<CallEvent.CallNotConnected> { it.callId == callId }
        }
    }

    @Test
    fun `removed observers and closed subscriptions get no more events`() = bounded {
        HotlineEngine().use { e ->
            val count = java.util.concurrent.atomic.AtomicInteger()
            val sub = e.observe(object : CallObserverAdapter() {
                override fun onUserJoin(callId: String, userId: String) { count.incrementAndGet() }
            })
            sub.close()
            sub.close()
            assertEquals(0, count.get())
        }
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ThreadingTest {
    @Test
    fun `callbacks come from a Rust thread, in order`() {
        val testThread = Thread.currentThread()
        val seen = Collections.synchronizedList(mutableListOf<Pair<String, Thread>>())
        val n = 2_000
        fireTestEvents(CallEventObserver { e ->
            if (e is CallEvent.UserJoin) seen.add(e.userId to Thread.currentThread())
        }, n.toUInt())
        assertEquals(n, seen.size)
        assertEquals((0 until n).map { "u$it" }, seen.map { it.first })
        assertTrue(seen.all { it.second !== testThread })
    }

    @Test
    fun `events Flow delivers engine events and removes its observer when cancelled`() = bounded {
        phones("alice", "bob") { (alice, bob) ->
            val flowEvents = Channel<CallEvent>(Channel.UNLIMITED)
            val job = launch { bob.engine.events().collect { flowEvents.send(it) } }
            delay(300) // the collector registers its observer once it runs
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.VIDEO, CallParams())
            assertEquals(callId, (flowEvents.receive() as CallEvent.CallReceived).callId)
            alice.engine.hangup()
            while (flowEvents.receive() !is CallEvent.CallNotConnected) { /* skip */ }
            job.cancel()
            job.join()
            // Bob's other observer still hears the next call; the cancelled flow does not.
            val second = alice.engine.calls(listOf(bob.userId), MediaType.AUDIO, CallParams())
            bob.await<CallEvent.CallReceived> { it.callId == second }
            assertTrue(flowEvents.tryReceive().isFailure, "no events after cancellation")
            alice.engine.hangup()
        }
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VideoSinkTest {
    @Test
    fun `a Kotlin VideoSink receives 720p I420 frames from a Rust thread`() {
        data class Seen(val width: UInt, val height: UInt, val rotation: UInt, val timestampUs: Long, val size: Int, val index: Int, val lumaAt4: Byte, val thread: Thread)
        val testThread = Thread.currentThread()
        val frames = Collections.synchronizedList(mutableListOf<Seen>())
        val stats = pushTestFrames(videoSink { f ->
            f.i420.use { pixels ->
                val bb = pixels.asByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN)
                frames.add(Seen(f.width, f.height, f.rotation, f.timestampUs, bb.capacity(), bb.getInt(0), bb.get(4), Thread.currentThread()))
                assertEquals(bb.capacity(), pixels.toBytes().size, "the copy and the in-place view agree")
            }
        }, 1280u, 720u, 30u, 0u)
        assertEquals(30u, stats.delivered)
        assertEquals(0u, stats.dropped)
        assertEquals(30, frames.size)
        assertEquals((0 until 30).toList(), frames.map { it.index }, "frames arrive in order")
        for (f in frames) {
            assertEquals(1280u, f.width)
            assertEquals(720u, f.height)
            assertEquals(0u, f.rotation)
            assertEquals(1280 * 720 * 3 / 2, f.size)
            assertEquals(4.toByte(), f.lumaAt4, "the synthetic image's pixels are readable in place")
            assertNotSame(testThread, f.thread)
        }
        assertTrue(frames.zipWithNext().all { (a, b) -> a.timestampUs <= b.timestampUs })
    }
}

