// The SDK's logging on the JVM: a Kotlin LogListener receives the records the
// engine logs (here: a Kotlin DeviceDelegate that throws), at the level set
// with setLogLevel. Run by tests/kotlin/run.sh.
package io.hotline.sdk.test

import io.hotline.sdk.*
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertNotSame
import kotlin.test.assertTrue
import kotlin.test.fail

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoggingTest {
    data class Line(val level: LogLevel, val target: String, val message: String, val thread: Thread)

    /** The next record about `DeviceDelegate.switchCamera` (other tests' records are skipped). */
    private fun LinkedBlockingQueue<Line>.nextSwitchCamera(): Line {
        val deadline = System.nanoTime() + 5_000_000_000L
        while (true) {
            val left = deadline - System.nanoTime()
            val line = (if (left > 0) poll(left, TimeUnit.NANOSECONDS) else null)
                ?: fail("no record about DeviceDelegate.switchCamera within 5 s")
            if ("DeviceDelegate.switchCamera" in line.message) return line
        }
    }

    @Test
    fun `a Kotlin LogListener receives the engine's logged errors at the level set`() {
        val lines = LinkedBlockingQueue<Line>()
        val listener = logListener { level, target, message -> lines.add(Line(level, target, message, Thread.currentThread())) }
        setLogListener(listener)
        try {
            HotlineEngine().use { e ->
                e.setDeviceDelegate(object : DeviceDelegateAdapter() {
                    override fun switchCamera(camera: Camera) = throw IllegalStateException("test: no camera ($camera)")
                })
                // The default level (Info) passes errors; the engine logs the exception, not throws it.
                e.switchCamera(Camera.FRONT)
                val line = lines.nextSwitchCamera()
                assertEquals(LogLevel.ERROR, line.level)
                assertEquals("hotline_ffi::guard", line.target)
                assertTrue("test: no camera (FRONT)" in line.message, line.message)
                assertNotSame(Thread.currentThread(), line.thread, "delivered on the SDK's logging thread")

                // Off silences: the BACK failure is not passed on, the next FRONT one (at Error) is.
                setLogLevel(LogLevel.OFF)
                e.switchCamera(Camera.BACK)
                setLogLevel(LogLevel.ERROR)
                e.switchCamera(Camera.FRONT)
                assertTrue("test: no camera (FRONT)" in lines.nextSwitchCamera().message)
                setLogLevel(LogLevel.INFO)

                // A listener that throws is ignored; the next listener still gets records.
                val threw = CountDownLatch(1)
                setLogListener(logListener { _, _, message ->
                    if ("DeviceDelegate.switchCamera" in message) threw.countDown()
                    throw IllegalStateException("test: a buggy log listener")
                })
                e.switchCamera(Camera.BACK)
                assertTrue(threw.await(5, TimeUnit.SECONDS), "the throwing listener was called")
                setLogListener(listener)
                e.switchCamera(Camera.FRONT)
                val after = lines.nextSwitchCamera()
                assertTrue("test: no camera (FRONT)" in after.message, after.message)
            }
        } finally {
            setLogListener(null)
            setLogLevel(LogLevel.INFO)
        }
    }
}
