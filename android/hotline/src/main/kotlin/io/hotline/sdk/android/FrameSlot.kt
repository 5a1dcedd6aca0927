package io.hotline.sdk.android

import io.hotline.sdk.VideoFrame
import io.hotline.sdk.VideoSink
import io.hotline.sdk.asByteBuffer
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicLong

/**
 * The newest frame for one view: the engine's sink copies each frame into a
 * reused direct buffer (the engine's buffer is valid only during the call),
 * and the renderer draws whatever is newest. Older frames are overwritten,
 * never queued.
 */
internal class FrameSlot(private val onNewFrame: (width: Int, height: Int, rotation: Int) -> Unit) : VideoSink {
    class Frame(val pixels: ByteBuffer, val width: Int, val height: Int, val rotation: Int, val scaleMode: ScaleMode, val mirror: Boolean)

    private val lock = Any()
    private var buffer: ByteBuffer = ByteBuffer.allocateDirect(0)
    private var width = 0
    private var height = 0
    private var rotation = 0
    private var fresh = false

    val frames = AtomicLong()
    @Volatile var scaleMode = ScaleMode.FILL
    @Volatile var extraRotation = 0
    @Volatile var mirror = false

    override fun onFrame(frame: VideoFrame) {
        val w = frame.width.toInt()
        val h = frame.height.toInt()
        frame.i420.use { pixels ->
            val src = pixels.asByteBuffer()
            synchronized(lock) {
                if (buffer.capacity() < src.remaining()) buffer = ByteBuffer.allocateDirect(src.remaining())
                buffer.clear()
                buffer.put(src)
                buffer.flip()
                width = w
                height = h
                rotation = (frame.rotation.toInt() + extraRotation) % 360
                fresh = true
            }
        }
        frames.incrementAndGet()
        onNewFrame(w, h, (frame.rotation.toInt() + extraRotation) % 360)
    }

    /** Run [draw] with the newest frame, if any arrived. */
    fun withLatest(draw: (Frame) -> Unit) {
        synchronized(lock) {
            if (width == 0) return
            fresh = false
            draw(Frame(buffer, width, height, rotation, scaleMode, mirror))
        }
    }
}
