package io.hotline.sdk.android

import android.app.Activity
import android.app.PictureInPictureParams
import android.os.Build
import android.util.Rational

/**
 * Picture-in-picture for the in-call activity (declare it with
 * `android:supportsPictureInPicture="true"`). Call [update] when the remote
 * video's size changes and [enter] from `onUserLeaveHint`.
 */
class HotlinePictureInPicture(private val activity: Activity) {
    private var width = 9
    private var height = 16

    /** The remote video's size as shown (rotation applied). */
    fun update(videoWidth: Int, videoHeight: Int) {
        if (videoWidth <= 0 || videoHeight <= 0) return
        width = videoWidth
        height = videoHeight
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) activity.setPictureInPictureParams(params())
    }

    /** Follow a [HotlineVideoView]'s picture size. */
    fun follow(view: HotlineVideoView) {
        view.onPictureSizeChanged = { w, h -> activity.runOnUiThread { update(w, h) } }
    }

    fun params(): PictureInPictureParams {
        val (w, h) = PipAspect.clamp(width, height)
        val builder = PictureInPictureParams.Builder().setAspectRatio(Rational(w, h))
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) builder.setAutoEnterEnabled(true).setSeamlessResizeEnabled(true)
        return builder.build()
    }

    /** Enter PiP if a call is connected; false otherwise or if the system refused. */
    fun enter(): Boolean {
        if (Hotline.callState.value !is CallUiState.InCall) return false
        return try {
            activity.enterPictureInPictureMode(params())
        } catch (e: IllegalStateException) {
            false
        }
    }
}

/** PiP aspect ratios must lie between 1:2.39 and 2.39:1. */
object PipAspect {
    private const val MAX = 2.39

    fun clamp(width: Int, height: Int): Pair<Int, Int> {
        val ratio = width.toDouble() / height
        return when {
            ratio > MAX -> 239 to 100
            ratio < 1 / MAX -> 100 to 239
            else -> width to height
        }
    }
}
