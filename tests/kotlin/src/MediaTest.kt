// JVM tests of the media bindings: Kotlin video and audio sources, sinks and
// a device delegate, in real video calls through the real `hotline server`
// (WebRTC through its SFU, H.264 and Opus), plus the conversions and error
// handling at the FFI boundary. Run by tests/kotlin/run.sh.
package io.hotline.sdk.test

import io.hotline.sdk.*
import kotlinx.coroutines.delay
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import java.util.Collections
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.sin
import kotlin.math.sqrt
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail

/** A camera written in Kotlin: flat-colour I420 pictures (one buffer, reused; the FFI copies it). */
class FlatCamera(private val width: Int, private val height: Int, val y: Int, val u: Int, val v: Int) : VideoSource {
    private val pixels = ByteArray(width * height * 3 / 2).also { buf ->
        buf.fill(y.toByte(), 0, width * height)
        buf.fill(u.toByte(), width * height, width * height * 5 / 4)
        buf.fill(v.toByte(), width * height * 5 / 4, buf.size)
    }
    val pulls = AtomicLong()
    val threads: MutableSet<Thread> = Collections.synchronizedSet(mutableSetOf())

    override fun readFrame(): CapturedFrame {
        pulls.incrementAndGet()
        threads.add(Thread.currentThread())
        return CapturedFrame(FrameFormat.I420, width.toUInt(), height.toUInt(), pixels, timestampUs = System.nanoTime() / 1000)
    }
}

/** A microphone written in Kotlin: a sine tone, 480 samples per pull. */
class ToneSource(private val hz: Double, private val amplitude: Double = 0.3) : AudioSource {
    private var n = 0L
    override fun readAudio(): AudioFrame {
        val samples = List(480) { i -> (amplitude * 32767 * sin(2 * PI * hz * (n + i) / 48_000)).toInt().toShort() }
        n += 480
        return AudioFrame(samples, timestampUs = n * 1_000_000 / 48_000)
    }
}

/** A renderer written in Kotlin: counts frames and reads the I420 planes in place. */
class FrameChecker : VideoSink {
    data class Last(val width: UInt, val height: UInt, val bytes: Int, val meanY: Double, val meanU: Double, val meanV: Double)
    val frames = AtomicLong()
    @Volatile var last: Last? = null
    val threads: MutableSet<Thread> = Collections.synchronizedSet(mutableSetOf())

    override fun onFrame(frame: VideoFrame) {
        frame.i420.use { pixels ->
            val bb = pixels.asByteBuffer()
            val (w, h) = frame.width.toInt() to frame.height.toInt()
            fun mean(from: Int, len: Int): Double {
                var sum = 0L; var n = 0
                var i = from
                while (i < from + len) { sum += bb.get(i).toInt() and 0xff; n++; i += 7 }
                return sum.toDouble() / n
            }
            last = Last(frame.width, frame.height, bb.capacity(), mean(0, w * h), mean(w * h, w * h / 4), mean(w * h * 5 / 4, w * h / 4))
        }
        threads.add(Thread.currentThread())
        frames.incrementAndGet()
    }
}

/** A speaker written in Kotlin: counts 10 ms frames and the ones that are clearly not silent. */
class AudioChecker : AudioSink {
    val frames = AtomicLong()
    val loud = AtomicLong()
    val badSizes = AtomicLong()
    override fun onAudio(frame: AudioFrame) {
        frames.incrementAndGet()
        if (frame.samples.size != 480) badSizes.incrementAndGet()
        val rms = sqrt(frame.samples.sumOf { it.toDouble() * it.toDouble() } / frame.samples.size.coerceAtLeast(1))
        if (rms > 1000) loud.incrementAndGet()
    }
}

/** A device delegate written in Kotlin: records each request with its arguments. */
class RecordingDelegate : DeviceDelegate {
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())
    override fun openCamera(camera: Camera) { calls.add("openCamera($camera)") }
    override fun closeCamera() { calls.add("closeCamera") }
    override fun switchCamera(camera: Camera) { calls.add("switchCamera($camera)") }
    override fun openMicrophone() { calls.add("openMicrophone") }
    override fun closeMicrophone() { calls.add("closeMicrophone") }
    override fun selectAudioPlaybackDevice(device: AudioPlaybackDevice) { calls.add("selectAudioPlaybackDevice($device)") }
    override fun setVideoRenderParams(userId: String, params: VideoRenderParams) {
        calls.add("setVideoRenderParams($userId, ${params.fillMode}, ${params.rotation})")
    }
}

/** Poll [cond] every 50 ms until it holds; fail with [what] after [ms]. */
suspend fun until(what: String, ms: Long = 30_000, cond: () -> Boolean) {
    val deadline = System.nanoTime() + ms * 1_000_000
    while (!cond()) {
        if (System.nanoTime() > deadline) fail("timed out after $ms ms waiting for $what")
        delay(50)
    }
}

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MediaCallTest {
    @Test
    fun `a video call carries a Kotlin camera and the Rust test camera into Kotlin sinks, with media events and stats`() = bounded(90_000) {
        val testThread = Thread.currentThread()
        phones("alice", "bob") { (alice, bob) ->
            val params = VideoEncoderParams(VideoResolution.R640X360, ResolutionMode.LANDSCAPE)
            // Alice: everything in Kotlin.
            val camera = FlatCamera(640, 360, y = 170, u = 80, v = 190)
            val delegate = RecordingDelegate()
            alice.engine.setDeviceDelegate(delegate)
            alice.engine.setVideoEncoderParams(params)
            alice.engine.setVideoSource(camera)
            alice.engine.setAudioSource(ToneSource(440.0))
            alice.engine.openCamera(Camera.FRONT)
            // Bob: the Rust test devices.
            bob.engine.setVideoEncoderParams(params)
            bob.engine.setVideoSource(syntheticCamera(640u, 360u))
            bob.engine.setAudioSource(toneMicrophone(660.0, 0.3))
            bob.engine.openCamera(Camera.FRONT)
            // Kotlin sinks on both sides.
            val bobSeesAlice = FrameChecker().also { bob.engine.startRemoteView(alice.userId, it) }
            val bobHearsAlice = AudioChecker().also { bob.engine.startRemoteAudio(alice.userId, it) }
            val aliceSeesBob = FrameChecker().also { alice.engine.startRemoteView(bob.userId, it) }
            val aliceSpeaker = AudioChecker().also { alice.engine.setAudioPlaybackSink(it) }
            val alicePreview = FrameChecker().also { alice.engine.startLocalView(it) }

            val t0 = System.nanoTime()
            val callId = alice.engine.calls(listOf(bob.userId), MediaType.VIDEO, CallParams())
            bob.await<CallEvent.CallReceived> { it.callId == callId }
            bob.engine.accept()
            until("20 decoded frames and 0.5 s of loud audio each way") {
                bobSeesAlice.frames.get() >= 20 && aliceSeesBob.frames.get() >= 20 &&
                    bobHearsAlice.loud.get() >= 50 && aliceSpeaker.loud.get() >= 50
            }
            println("media: 20 frames and 0.5 s of audio both ways %.2f s after calls()".format((System.nanoTime() - t0) / 1e9))

            // Alice's flat picture arrives, decoded, near its colour; read in place through asByteBuffer().
            val seen = assertNotNull(bobSeesAlice.last)
            assertEquals(640u to 360u, seen.width to seen.height)
            assertEquals(640 * 360 * 3 / 2, seen.bytes)
            assertTrue(abs(seen.meanY - 170) < 6 && abs(seen.meanU - 80) < 6 && abs(seen.meanV - 190) < 6, "decoded colour $seen")
            assertEquals(640u to 360u, assertNotNull(aliceSeesBob.last).let { it.width to it.height })
            // The preview shows the captured picture itself (no codec): exact.
            val preview = assertNotNull(alicePreview.last)
            assertEquals(Triple(170.0, 80.0, 190.0), Triple(preview.meanY, preview.meanU, preview.meanV))
            assertTrue(camera.pulls.get() >= 20, "the engine pulled ${camera.pulls.get()} pictures")
            assertEquals(0L, bobHearsAlice.badSizes.get() + aliceSpeaker.badSizes.get(), "every audio frame has 480 samples")
            for (threads in listOf(camera.threads, bobSeesAlice.threads, aliceSeesBob.threads)) {
                assertTrue(threads.isNotEmpty() && testThread !in threads, "sources and sinks run on engine threads")
            }

            // Media events.
            alice.awaitSeen<CallEvent.UserVideoAvailable> { it.callId == callId && it.userId == bob.userId && it.available }
            bob.awaitSeen<CallEvent.UserVideoAvailable> { it.userId == alice.userId && it.available }
            bob.awaitSeen<CallEvent.UserAudioAvailable> { it.userId == alice.userId && it.available }
            val volumes = bob.awaitSeen<CallEvent.UserVoiceVolumeChanged> { (it.volumeMap[alice.userId] ?: 0u) > 10u }
            assertTrue(bob.userId in volumes.volumeMap, "the map lists this user too: $volumes")
            val quality = alice.awaitSeen<CallEvent.UserNetworkQualityChanged>(timeoutMs = 6_000) { q ->
                q.networkQualityList.any { it.userId == bob.userId }
            }
            assertEquals(callId, quality.callId)

            // Statistics as records.
            val stats = assertNotNull(alice.engine.callStats())
            assertTrue(stats.videoFramesSent >= 20uL && stats.audioPacketsSent > 0uL, "$stats")
            assertTrue(stats.publisherConnectedMs > 0uL && stats.subscriberConnectedMs > 0uL, "$stats")
            val fromBob = stats.users.single { it.userId == bob.userId }
            assertTrue(fromBob.videoFramesDecoded >= 20uL && fromBob.audioPacketsReceived > 0uL && fromBob.firstFrameMs > 0uL, "$fromBob")

            // Turning devices off mid-call reaches the delegate and the other side.
            alice.engine.closeCamera()
            bob.await<CallEvent.UserVideoAvailable>(timeoutMs = 5_000) { it.userId == alice.userId && !it.available }
            alice.engine.closeMicrophone()
            bob.await<CallEvent.UserAudioAvailable>(timeoutMs = 5_000) { it.userId == alice.userId && !it.available }

            alice.engine.hangup()
            bob.await<CallEvent.CallEnd> { it.callId == callId }
            assertNull(alice.engine.callStats(), "no statistics once the call's media stopped")
            assertTrue(delegate.calls.containsAll(listOf("openCamera(FRONT)", "openMicrophone", "closeCamera", "closeMicrophone")), "${delegate.calls}")
            assertEquals("openCamera(FRONT)", delegate.calls.first())
        }
    }
}

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DeviceTest {
    @Test
    fun `device requests reach a Kotlin DeviceDelegate with their arguments, on the calling thread`() {
        HotlineEngine().use { e ->
            val d = object : DeviceDelegateAdapter() {
                val calls = mutableListOf<Pair<String, Thread>>()
                override fun openCamera(camera: Camera) { calls.add("openCamera($camera)" to Thread.currentThread()) }
                override fun switchCamera(camera: Camera) { calls.add("switchCamera($camera)" to Thread.currentThread()) }
                override fun closeMicrophone() { calls.add("closeMicrophone" to Thread.currentThread()) }
                override fun selectAudioPlaybackDevice(device: AudioPlaybackDevice) { calls.add("selectAudioPlaybackDevice($device)" to Thread.currentThread()) }
                override fun setVideoRenderParams(userId: String, params: VideoRenderParams) {
                    calls.add("setVideoRenderParams($userId, ${params.fillMode}, ${params.rotation})" to Thread.currentThread())
                }
            }
            e.setDeviceDelegate(d)
            e.openCamera(Camera.BACK)
            e.switchCamera(Camera.FRONT)
            e.closeCamera() // not overridden: the adapter's default does nothing
            e.closeMicrophone()
            e.selectAudioPlaybackDevice(AudioPlaybackDevice.EARPIECE)
            e.setVideoRenderParams("bob", VideoRenderParams(FillMode.FIT, 90u))
            assertEquals(-1202, assertFailsWith<HotlineException.Api> {
                e.setVideoRenderParams("bob", VideoRenderParams(FillMode.FILL, 45u))
            }.code)
            assertEquals(listOf("openCamera(BACK)", "switchCamera(FRONT)", "closeMicrophone",
                "selectAudioPlaybackDevice(EARPIECE)", "setVideoRenderParams(bob, FIT, 90)"), d.calls.map { it.first })
            assertTrue(d.calls.all { it.second === Thread.currentThread() }, "called on the calling thread")

            // Removing the delegate stops the requests; a delegate that throws does not break the engine.
            e.setDeviceDelegate(null)
            e.openCamera(Camera.FRONT)
            assertEquals(5, d.calls.size)
            e.setDeviceDelegate(object : DeviceDelegateAdapter() {
                override fun openCamera(camera: Camera) {
                    throw IllegalStateException("test: no camera permission")
                }
            })
            e.openCamera(Camera.FRONT) // logged by the engine, not thrown here
            e.closeCamera()
        }
    }

    @Test
    fun `setVideoEncoderParams maps TUICallEngine presets and rejects bad values with -1202`() {
        HotlineEngine().use { e ->
            assertEquals(VideoEncoderSettings(640u, 360u, 550u, 15u, 150u), e.videoEncoderParams(), "the default")
            e.setVideoEncoderParams(VideoEncoderParams(VideoResolution.R1280X720, ResolutionMode.PORTRAIT))
            assertEquals(VideoEncoderSettings(720u, 1280u, 1200u, 15u, 150u), e.videoEncoderParams())
            e.setVideoEncoderParams(VideoEncoderParams(VideoResolution.R960X540, ResolutionMode.LANDSCAPE, bitrateKbps = 700u, fps = 30u))
            assertEquals(VideoEncoderSettings(960u, 540u, 700u, 30u, 300u), e.videoEncoderParams(), "overrides; keyframes stay 10 s apart")
            for (bad in listOf(
                VideoEncoderParams(VideoResolution.R640X360, ResolutionMode.LANDSCAPE, fps = 61u),
                VideoEncoderParams(VideoResolution.R1920X1080, ResolutionMode.LANDSCAPE, bitrateKbps = 10u),
            )) {
                assertEquals(-1202, assertFailsWith<HotlineException.Api> { e.setVideoEncoderParams(bad) }.code, "$bad")
            }
            assertEquals(VideoEncoderSettings(960u, 540u, 700u, 30u, 300u), e.videoEncoderParams(), "unchanged by a refused call")
        }
    }

    @Test
    fun `frames from a Kotlin VideoSource convert from I420 and padded NV12, and malformed ones are skipped`() {
        val (w, h) = 64 to 32
        var n = 0
        val source = videoSource {
            when (n++ % 6) {
                0 -> CapturedFrame(FrameFormat.I420, w.toUInt(), h.toUInt(), ByteArray(w * h * 3 / 2))
                // NV12 with rows padded to 80 bytes (as camera buffers often are).
                1 -> CapturedFrame(FrameFormat.NV12, w.toUInt(), h.toUInt(), ByteArray(80 * h * 3 / 2), strideY = 80u, strideUv = 80u, rotation = 270u)
                2 -> CapturedFrame(FrameFormat.I420, w.toUInt(), h.toUInt(), ByteArray(10)) // too short
                3 -> CapturedFrame(FrameFormat.NV12, 63u, h.toUInt(), ByteArray(63 * h * 2)) // odd width
                4 -> throw IllegalStateException("test: the camera went away")
                else -> null // no picture yet
            }
        }
        val stats = pullTestFrames(source, 60u)
        assertEquals(20u, stats.converted, "$stats")
        assertEquals(40u, stats.skipped, "$stats")
        assertEquals(w.toUInt() to h.toUInt(), stats.lastWidth to stats.lastHeight)
        // The Rust test camera is an ordinary VideoSource too.
        val synthetic = pullTestFrames(syntheticCamera(320u, 180u), 3u)
        assertEquals(Triple(3u, 320u, 180u), Triple(synthetic.converted, synthetic.lastWidth, synthetic.lastHeight))
    }

    @Test
    fun `an observer that throws does not stop later events`() {
        val seen = Collections.synchronizedList(mutableListOf<String>())
        fireTestEvents(object : CallObserverAdapter() {
            override fun onUserJoin(callId: String, userId: String) {
                seen.add(userId)
                if (userId == "u1") throw IllegalStateException("test: a buggy observer")
            }
        }, 5u)
        assertEquals(listOf("u0", "u1", "u2", "u3", "u4"), seen)
    }
}
