// Microphone and speaker for calls: AudioRecord (VOICE_COMMUNICATION) and
// AudioTrack (USAGE_VOICE_COMMUNICATION), 48 kHz mono, 10 ms frames, with the
// platform's echo canceller and noise suppressor where present.
// Compiles here and runs under Robolectric's shadows; not run on a device.
package io.hotline.sdk.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.media.AudioAttributes
import android.media.AudioFormat
import android.media.AudioRecord
import android.media.AudioTrack
import android.media.MediaRecorder
import android.media.audiofx.AcousticEchoCanceler
import android.media.audiofx.NoiseSuppressor
import android.os.SystemClock
import android.util.Log
import io.hotline.sdk.AudioFrame
import io.hotline.sdk.AudioSink
import io.hotline.sdk.AudioSource
import java.util.concurrent.ArrayBlockingQueue
import java.util.concurrent.TimeUnit

internal class AudioIo(private val context: Context) {
    private val captured = ArrayBlockingQueue<AudioFrame>(QUEUE_FRAMES)
    @Volatile private var captureThread: Thread? = null
    private val toPlay = ArrayBlockingQueue<AudioFrame>(QUEUE_FRAMES)
    @Volatile private var callActive = false
    @Volatile private var speakerThread: Thread? = null

    /** Play what the engine pushes from now on (the call began). */
    @Synchronized
    fun callStarted() {
        if (callActive) return
        callActive = true
        speakerThread = Thread(::playbackLoop, "hotline-speaker").apply { isDaemon = true; start() }
    }

    /** Stop and release the speaker (the call ended). */
    @Synchronized
    fun callEnded() {
        callActive = false
        speakerThread?.interrupt()
        speakerThread = null
        toPlay.clear()
    }

    /** What the engine pulls every 10 ms: the oldest captured frame, or nothing (silence). */
    val source = object : AudioSource {
        override fun readAudio(): AudioFrame? = captured.poll()
    }

    /**
     * Where the engine pushes the call's mixed audio, 10 ms at a time. Frames
     * go through a short queue to the speaker thread, so the engine's thread
     * never waits for AudioTrack.
     */
    val sink = object : AudioSink {
        override fun onAudio(frame: AudioFrame) {
            if (!callActive) return
            if (!toPlay.offer(frame)) { toPlay.poll(); toPlay.offer(frame) }
        }
    }

    @Synchronized
    fun startCapture() {
        if (captureThread != null) return
        if (!HotlinePermissions.granted(context, Manifest.permission.RECORD_AUDIO)) {
            Log.w("Hotline", "RECORD_AUDIO is not granted: the call sends silence")
            return
        }
        captureThread = Thread(::captureLoop, "hotline-mic").apply { isDaemon = true; start() }
    }

    @Synchronized
    fun stopCapture() {
        val thread = captureThread ?: return
        captureThread = null
        thread.interrupt()
        captured.clear()
    }

    @SuppressLint("MissingPermission") // checked in startCapture
    private fun captureLoop() {
        val me = Thread.currentThread()
        val minBytes = AudioRecord.getMinBufferSize(SAMPLE_RATE, AudioFormat.CHANNEL_IN_MONO, AudioFormat.ENCODING_PCM_16BIT)
        val record = try {
            AudioRecord(
                MediaRecorder.AudioSource.VOICE_COMMUNICATION, SAMPLE_RATE, AudioFormat.CHANNEL_IN_MONO,
                AudioFormat.ENCODING_PCM_16BIT, maxOf(minBytes, FRAME_SAMPLES * 2 * 4),
            )
        } catch (e: RuntimeException) {
            Log.w("Hotline", "AudioRecord failed: ${e.message}")
            return
        }
        val effects = listOfNotNull(
            if (AcousticEchoCanceler.isAvailable()) AcousticEchoCanceler.create(record.audioSessionId) else null,
            if (NoiseSuppressor.isAvailable()) NoiseSuppressor.create(record.audioSessionId) else null,
        )
        effects.forEach { runCatching { it.enabled = true } }
        try {
            record.startRecording()
            val buffer = ShortArray(FRAME_SAMPLES)
            val start = System.nanoTime()
            var frames = 0L
            while (captureThread === me) {
                var filled = 0
                while (filled < FRAME_SAMPLES && captureThread === me) {
                    val n = record.read(buffer, filled, FRAME_SAMPLES - filled)
                    if (n <= 0) { Thread.sleep(5); continue }
                    filled += n
                }
                if (filled < FRAME_SAMPLES) break
                frames++
                // Drop the oldest when the engine falls behind: latency matters more than a gap.
                val frame = AudioFrame(buffer.toList(), timestampUs = SystemClock.elapsedRealtimeNanos() / 1000)
                if (!captured.offer(frame)) { captured.poll(); captured.offer(frame) }
                // A real AudioRecord blocks in read(); never run ahead of real time if one does not.
                val ahead = frames * FRAME_MS - (System.nanoTime() - start) / 1_000_000
                if (ahead > 2 * FRAME_MS) {
                    try { Thread.sleep(ahead - FRAME_MS) } catch (e: InterruptedException) { break }
                }
            }
        } catch (e: InterruptedException) {
            // stopCapture
        } catch (e: RuntimeException) {
            Log.w("Hotline", "microphone capture stopped: ${e.message}")
        } finally {
            runCatching { record.stop() }
            effects.forEach { runCatching { it.release() } }
            record.release()
        }
    }

    private fun playbackLoop() {
        val me = Thread.currentThread()
        val track = try {
            val minBytes = AudioTrack.getMinBufferSize(SAMPLE_RATE, AudioFormat.CHANNEL_OUT_MONO, AudioFormat.ENCODING_PCM_16BIT)
            AudioTrack.Builder()
                .setAudioAttributes(
                    AudioAttributes.Builder()
                        .setUsage(AudioAttributes.USAGE_VOICE_COMMUNICATION)
                        .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
                        .build(),
                )
                .setAudioFormat(
                    AudioFormat.Builder()
                        .setSampleRate(SAMPLE_RATE)
                        .setChannelMask(AudioFormat.CHANNEL_OUT_MONO)
                        .setEncoding(AudioFormat.ENCODING_PCM_16BIT)
                        .build(),
                )
                .setBufferSizeInBytes(maxOf(minBytes, FRAME_SAMPLES * 2 * 4))
                .setTransferMode(AudioTrack.MODE_STREAM)
                .build()
        } catch (e: RuntimeException) {
            Log.w("Hotline", "AudioTrack failed: ${e.message}")
            return
        } catch (e: LinkageError) {
            // A platform build without a class AudioTrack needs: the call stays silent.
            Log.w("Hotline", "AudioTrack unavailable: $e")
            return
        }
        val pcm = ShortArray(FRAME_SAMPLES)
        try {
            track.play()
            while (speakerThread === me) {
                val frame = toPlay.poll(100, TimeUnit.MILLISECONDS) ?: continue
                val n = minOf(frame.samples.size, pcm.size)
                for (i in 0 until n) pcm[i] = frame.samples[i]
                track.write(pcm, 0, n)
            }
        } catch (e: InterruptedException) {
            // callEnded
        } catch (e: RuntimeException) {
            Log.w("Hotline", "playback stopped: ${e.message}")
        } finally {
            runCatching { track.stop() }
            track.release()
        }
    }

    private companion object {
        const val SAMPLE_RATE = 48_000
        const val FRAME_SAMPLES = 480
        const val FRAME_MS = 10L
        const val QUEUE_FRAMES = 10
    }
}
