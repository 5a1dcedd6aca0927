// FFI benchmarks on the JVM: (a) observer events from a Rust thread into
// Kotlin, (b) 720p I420 frames through a VideoSink into Kotlin, (c) camera
// pictures from a Kotlin VideoSource into the engine's frames (the copies on
// the way in), with the process's CPU time. Run: tests/kotlin/run.sh bench
package io.hotline.sdk.test

import io.hotline.sdk.*
import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicLong

private val osBean = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean

/** CPU time of the whole process (every JVM and Rust thread), in ns. */
private fun cpuNs(): Long = osBean.processCpuTime

private class Counter : CallObserverAdapter() {
    val n = AtomicLong()
    override fun onUserJoin(callId: String, userId: String) { n.incrementAndGet() }
}

private fun events(n: Int): String {
    val c = Counter()
    fireTestEvents(c, n.toUInt())
    val cpu0 = cpuNs(); val t0 = System.nanoTime()
    fireTestEvents(c, n.toUInt())
    val wall = System.nanoTime() - t0; val cpu = cpuNs() - cpu0
    check(c.n.get() == 2L * n)
    return "events: %d onUserJoin callbacks Rust->Kotlin in %.0f ms: %.0f events/s, %.1f us CPU per event"
        .format(n, wall / 1e6, n / (wall / 1e9), cpu / 1e3 / n)
}

private class Sink : VideoSink {
    val frames = AtomicLong(); val bytes = AtomicLong(); var checksum = 0L
    override fun onFrame(frame: VideoFrame) {
        frame.i420.use { pixels ->
            val bb = pixels.asByteBuffer()
            check(bb.capacity() == frame.width.toInt() * frame.height.toInt() * 3 / 2)
            frames.incrementAndGet(); bytes.addAndGet(bb.capacity().toLong())
            checksum += bb.get(bb.capacity() / 2) // touch the pixels
        }
    }
}

private fun frames(count: Int, fps: Int): String {
    val sink = Sink()
    val cpu0 = cpuNs(); val t0 = System.nanoTime()
    val stats = pushTestFrames(sink, 1280u, 720u, count.toUInt(), fps.toUInt())
    val wall = System.nanoTime() - t0; val cpu = cpuNs() - cpu0
    val perFrameMs = cpu / 1e6 / stats.delivered.toLong()
    return if (fps == 0) {
        "frames (unpaced): %d x 720p I420 in %.0f ms: %.0f frames/s, %.2f ms CPU per frame"
            .format(stats.delivered.toLong(), wall / 1e6, stats.delivered.toLong() / (wall / 1e9), perFrameMs)
    } else {
        "frames (paced %d fps): %d delivered, %d dropped in %.1f s: process CPU %.2f%% of one core (%.2f ms per frame)"
            .format(fps, stats.delivered.toLong(), stats.dropped.toLong(), wall / 1e9, 100.0 * cpu / wall, perFrameMs)
    }
}

/** Pictures from a Kotlin VideoSource converted as the engine's video thread does. */
private fun source(width: Int, height: Int, count: Int): String {
    val frame = CapturedFrame(FrameFormat.I420, width.toUInt(), height.toUInt(), ByteArray(width * height * 3 / 2) { (it % 251).toByte() })
    val src = object : VideoSource { override fun readFrame(): CapturedFrame = frame }
    val cpu0 = cpuNs(); val t0 = System.nanoTime()
    val stats = pullTestFrames(src, count.toUInt())
    val wall = System.nanoTime() - t0; val cpu = cpuNs() - cpu0
    check(stats.converted == count.toUInt())
    return "source: %d x %dx%d I420 pictures Kotlin->engine frame in %.0f ms: %.2f ms wall, %.2f ms CPU per picture"
        .format(count, width, height, wall / 1e6, wall / 1e6 / count, cpu / 1e6 / count)
}

fun main() {
    println("bench: JVM ${System.getProperty("java.version")}, ${Runtime.getRuntime().availableProcessors()} CPUs, CPU = whole process (ManagementFactory processCpuTime)")
    events(20_000) // warm up JIT and JNA
    println(events(200_000))
    frames(120, 0) // warm up
    println(frames(600, 0))
    val idleCpu0 = cpuNs(); val idleT0 = System.nanoTime(); Thread.sleep(2000)
    println("idle baseline: process CPU %.2f%% of one core with nothing running".format(100.0 * (cpuNs() - idleCpu0) / (System.nanoTime() - idleT0)))
    println(frames(600, 60))
    source(640, 360, 100) // warm up
    println(source(640, 360, 600))
    println(source(1280, 720, 300))
}
