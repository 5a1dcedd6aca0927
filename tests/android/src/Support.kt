// Test support: the server run.sh started, `hotline phone` processes, an
// in-process engine for callers the test steers, and bounded waits that run
// Robolectric's main looper (engine events are posted to it from Rust threads).
package io.hotline.sdk.android.test

import android.os.Looper
import io.hotline.sdk.CallEvent
import io.hotline.sdk.CallEventObserver
import io.hotline.sdk.EngineConfig
import io.hotline.sdk.HotlineEngine
import io.hotline.sdk.genUserSig
import io.hotline.sdk.observe
import org.junit.Assert.fail
import org.robolectric.Shadows.shadowOf
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlin.random.Random

object Env {
    val serverUrl: String = System.getProperty("hotline.server") ?: error("set -Dhotline.server (tests/android/run.sh does)")
    val secretKey: String = System.getenv("HOTLINE_SECRET_KEY") ?: error("HOTLINE_SECRET_KEY is not set")
    val hotline: String = File(System.getProperty("hotline.bin") ?: "target/debug/hotline").absolutePath
    const val SDK_APP_ID: ULong = 1400000000uL

    fun sig(userId: String) = genUserSig(SDK_APP_ID, secretKey, userId, 3600uL)
}

/** A fresh user ID, so tests never share state on the server. */
fun uid(name: String) = "$name-" + Random.nextLong().toULong().toString(16).take(8)

/** Every wait is bounded; the default leaves room for a loaded 2-core machine. */
const val WAIT_MS = 30_000L

/** Run the main looper until [cond] holds; fail with [what] after [ms]. */
fun until(what: String, ms: Long = WAIT_MS, cond: () -> Boolean) {
    val deadline = System.nanoTime() + ms * 1_000_000
    while (true) {
        shadowOf(Looper.getMainLooper()).idle()
        if (cond()) return
        if (System.nanoTime() > deadline) fail("timed out after $ms ms waiting for $what")
        Thread.sleep(20)
    }
}

/** A `hotline phone` process; its JSON event lines are collected as they come. */
class PhoneProcess(val userId: String, vararg args: String) : AutoCloseable {
    private val process: Process = ProcessBuilder(
        listOf(Env.hotline, "phone", "--server", Env.serverUrl, "--sdk-app-id", Env.SDK_APP_ID.toString(),
               "--user-id", userId, "--exit-after", "60") + args,
    ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
    val lines = CopyOnWriteArrayList<String>()

    init {
        Thread({ runCatching { process.inputStream.bufferedReader().forEachLine { lines.add(it) } } }, "phone-$userId").apply {
            isDaemon = true
            start()
        }
    }

    /** Whether an event line with [event] (and every one of [fields], e.g. `"reason":"reject"`) came. */
    fun saw(event: String, vararg fields: String) = lines.any { l -> l.contains("\"event\":\"$event\"") && fields.all { l.contains(it) } }

    fun await(event: String, vararg fields: String, ms: Long = WAIT_MS) =
        until("$userId: $event ${fields.toList()}; saw $lines", ms) { saw(event, *fields) }

    /** The value of [key] in the first [event] line. */
    fun field(event: String, key: String): String {
        await(event)
        val line = lines.first { it.contains("\"event\":\"$event\"") }
        return Regex("\"$key\":\"([^\"]*)\"").find(line)?.groupValues?.get(1) ?: error("no $key in $line")
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

/** A caller in this process (the real engine), for steps a phone process cannot be told to take. */
class Caller(val userId: String = uid("caller")) : AutoCloseable {
    val engine = HotlineEngine()
    val events = CopyOnWriteArrayList<CallEvent>()
    private val sub = engine.observe(CallEventObserver { events.add(it) })

    suspend fun login(): Caller {
        engine.init(EngineConfig(Env.serverUrl, Env.SDK_APP_ID, userId, Env.sig(userId)))
        return this
    }

    inline fun <reified T : CallEvent> await(what: String, crossinline pred: (T) -> Boolean = { true }): T {
        until("$userId: $what; saw $events") { events.any { it is T && pred(it) } }
        return events.first { it is T && pred(it) } as T
    }

    override fun close() {
        sub.close()
        engine.close()
    }
}

/** The `hotline` value of an FCM call push, as the server sends it. */
fun callPush(callId: String, callerId: String, video: Boolean = true, deadlineMs: Long = System.currentTimeMillis() + 30_000) =
    """{"v":1,"call_id":"$callId","deadline_ms":$deadlineMs,"type":"call","caller_id":"$callerId",""" +
        """"caller_nickname":"","media_type":"${if (video) "video" else "audio"}","is_group":false,"invitees":[],""" +
        """"server_url":"${Env.serverUrl}","title":"","desc":"","ext":""}"""

fun cancelPush(callId: String, reason: String) =
    """{"v":1,"call_id":"$callId","deadline_ms":${System.currentTimeMillis() + 30_000},"type":"cancel","reason":"$reason"}"""
