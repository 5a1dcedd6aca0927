// The quick start of docs/bindings.md (QuickStart.kt): the document shows
// exactly that file, and the code works against a real server.
package io.hotline.sdk.test

import io.hotline.sdk.*
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.io.File
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertTrue

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QuickStartTest {
    @Test
    fun `the quick start in the docs is QuickStart-kt, character for character`() {
        // tests/kotlin/run.sh runs the tests from the repository root.
        val code = File("tests/kotlin/src/QuickStart.kt").readText()
            .substringAfter("package io.hotline.sdk.test\n\n")
        val doc = File("docs/bindings.md").readText()
        assertTrue(doc.contains("```kotlin\n$code```\n"),
            "the quick start in docs/bindings.md differs from tests/kotlin/src/QuickStart.kt")
    }

    @Test
    fun `the quick start calls bob, and shows and hides the call on the thread of its scope`() = bounded {
        // A single thread standing in for Android's main thread.
        val main = Executors.newSingleThreadExecutor { r -> Thread(r, "quickstart-main") }
        val shown = Channel<Pair<String, String>>(Channel.UNLIMITED)
        val hidden = Channel<Pair<EndReason, String>>(Channel.UNLIMITED)
        val job = Job()
        try {
            Phone("bob").use { bob ->
                bob.login()
                HotlineEngine().use { engine ->
                    val scope = CoroutineScope(main.asCoroutineDispatcher() + job)
                    val sig = genUserSig(Env.SDK_APP_ID, Env.secretKey, "alice", 3600uL)
                    quickStart(scope, engine, Env.serverUrl, sig,
                        showCall = { shown.trySend(it to Thread.currentThread().name) },
                        hideCall = { hidden.trySend(it to Thread.currentThread().name) })
                    val ring = bob.await<CallEvent.CallReceived>()
                    assertEquals("alice", ring.callerId)
                    bob.engine.accept()
                    assertEquals(ring.callId to "quickstart-main", shown.receive())
                    bob.engine.hangup()
                    assertEquals(EndReason.HANGUP to "quickstart-main", hidden.receive())
                    job.cancelAndJoin()
                    engine.unInit()
                }
                bob.engine.unInit()
            }
        } finally {
            job.cancel()
            main.shutdown()
        }
    }
}
