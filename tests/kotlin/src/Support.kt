// Test support: a simulated phone around the generated HotlineEngine, talking
// to the real `hotline server` that tests/kotlin/run.sh started.
package io.hotline.sdk.test

import io.hotline.sdk.*
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.random.Random
import kotlin.test.fail

object Env {
    val serverUrl: String = System.getProperty("hotline.server") ?: System.getenv("HOTLINE_SERVER_URL")
        ?: error("set -Dhotline.server=ws://... (tests/kotlin/run.sh does)")
    val secretKey: String = System.getenv("HOTLINE_SECRET_KEY") ?: error("HOTLINE_SECRET_KEY is not set")
    const val SDK_APP_ID: ULong = 1400000000uL
}

/** A fresh user ID, so tests never share state on the server. */
fun uid(name: String) = "$name-" + Random.nextLong().toULong().toString(16).take(8)

/** One event with the thread it arrived on. */
data class Rec(val event: CallEvent, val thread: Thread)

/** A user with an engine and a queue of everything its observer saw. */
class Phone(val userId: String = uid("u")) : AutoCloseable {
    val engine = HotlineEngine()
    val received = LinkedBlockingQueue<Rec>()
    /** Everything taken off the queue so far, in arrival order. */
    val history = mutableListOf<Rec>()
    private val sub = engine.observe(CallEventObserver { received.add(Rec(it, Thread.currentThread())) })

    fun config(sig: String = genUserSig(Env.SDK_APP_ID, Env.secretKey, userId, 3600uL)) =
        EngineConfig(serverUrl = Env.serverUrl, sdkAppId = Env.SDK_APP_ID, userId = userId, userSig = sig)

    suspend fun login(): Phone {
        engine.init(config())
        return this
    }

    /** Wait for the next event of type [T] matching [pred]; earlier ones are kept in [history]. */
    inline fun <reified T : CallEvent> await(timeoutMs: Long = 5_000, pred: (T) -> Boolean = { true }): T {
        val deadline = System.nanoTime() + timeoutMs * 1_000_000
        while (true) {
            val left = deadline - System.nanoTime()
            val rec = if (left > 0) received.poll(left, TimeUnit.NANOSECONDS) else null
            if (rec == null) {
                fail("$userId: no ${T::class.simpleName} within $timeoutMs ms; saw ${history.map { it.event }}")
            }
            history.add(rec)
            val e = rec.event
            if (e is T && pred(e)) return e
        }
    }

    /**
     * Like [await], but an event already taken off the queue (by an earlier
     * [await] that skipped it) counts too: for events whose order relative to
     * others is not fixed, such as media availability and levels.
     */
    inline fun <reified T : CallEvent> awaitSeen(timeoutMs: Long = 5_000, pred: (T) -> Boolean = { true }): T {
        history.map { it.event }.filterIsInstance<T>().firstOrNull(pred)?.let { return it }
        return await(timeoutMs, pred)
    }

    /** The events seen so far (taken off the queue), in order. */
    fun seen(): List<CallEvent> = history.map { it.event }

    override fun close() {
        sub.close()
        engine.close()
    }
}

/** Log everyone in, run [body], then free every engine (unInit first). */
suspend fun <R> phones(vararg names: String, body: suspend (List<Phone>) -> R): R {
    val ps = names.map { Phone(uid(it)) }
    try {
        ps.forEach { it.login() }
        return body(ps)
    } finally {
        ps.forEach { runCatching { it.engine.unInit() }; it.close() }
    }
}
