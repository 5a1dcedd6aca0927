// A view that renders a call's video (local camera or one remote user) with
// OpenGL ES: GLSurfaceView plus GlYuvRenderer. The GL thread starts when the
// view is attached to a window. Compiles here; the GL path was not run.
package io.hotline.sdk.android

import android.content.Context
import android.opengl.GLSurfaceView
import android.util.AttributeSet
import io.hotline.sdk.FillMode
import io.hotline.sdk.VideoRenderParams

class HotlineVideoView @JvmOverloads constructor(context: Context, attrs: AttributeSet? = null) : GLSurfaceView(context, attrs) {
    private enum class Source { NONE, LOCAL, REMOTE }

    private var source = Source.NONE
    private var userId: String? = null
    private var rendererSet = false
    private var pictureWidth = 0
    private var pictureHeight = 0

    private val slot = FrameSlot { w, h, rotation ->
        if (rendererSet) requestRender()
        val (dw, dh) = VideoLayout.displaySize(w, h, rotation)
        if (dw != pictureWidth || dh != pictureHeight) {
            pictureWidth = dw
            pictureHeight = dh
            onPictureSizeChanged?.invoke(dw, dh)
        }
    }

    private val paramsListener: (String, VideoRenderParams) -> Unit = { id, params ->
        if (source == Source.REMOTE && id == userId) applyParams(params)
    }

    /** How the picture fits the view. */
    var scaleMode: ScaleMode
        get() = slot.scaleMode
        set(value) {
            slot.scaleMode = value
            if (rendererSet) requestRender()
        }

    /** Called (on the engine's delivery thread) when the shown picture's size changes, rotation applied. */
    var onPictureSizeChanged: ((width: Int, height: Int) -> Unit)? = null

    /** Frames delivered to this view so far. */
    val framesReceived: Long
        get() = slot.frames.get()

    init {
        setEGLContextClientVersion(2)
    }

    /** Show this device's camera (mirrored, as a selfie view is). */
    fun showLocal() {
        clear()
        source = Source.LOCAL
        slot.mirror = Hotline.devices.camera.value != io.hotline.sdk.Camera.BACK
        Hotline.engine.startLocalView(slot)
    }

    /** Show [userId]'s video, rendered as the engine's setVideoRenderParams says for that user. */
    fun showRemote(userId: String) {
        clear()
        source = Source.REMOTE
        this.userId = userId
        slot.mirror = false
        Hotline.devices.renderParams(userId)?.let { applyParams(it) }
        Hotline.devices.renderParamListeners.add(paramsListener)
        Hotline.engine.startRemoteView(userId, slot)
    }

    /** Stop showing anything. */
    fun clear() {
        when (source) {
            Source.LOCAL -> Hotline.engine.stopLocalView()
            Source.REMOTE -> userId?.let { Hotline.engine.stopRemoteView(it) }
            Source.NONE -> {}
        }
        Hotline.devices.renderParamListeners.remove(paramsListener)
        source = Source.NONE
        userId = null
    }

    private fun applyParams(params: VideoRenderParams) {
        slot.scaleMode = if (params.fillMode == FillMode.FIT) ScaleMode.FIT else ScaleMode.FILL
        slot.extraRotation = params.rotation.toInt()
    }

    override fun onAttachedToWindow() {
        // The renderer (and its GL thread) starts only with a window.
        if (!rendererSet) {
            setRenderer(GlYuvRenderer(slot))
            renderMode = RENDERMODE_WHEN_DIRTY
            rendererSet = true
        }
        super.onAttachedToWindow()
    }

    override fun onDetachedFromWindow() {
        clear()
        super.onDetachedFromWindow()
    }
}
