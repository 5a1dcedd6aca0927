package io.hotline.sdk.android

import android.view.Surface

/**
 * The clockwise rotation a camera frame needs to be upright, from the
 * sensor's mounting and the display's rotation (as Camera2's documentation
 * computes it). It travels with the frame, so receivers show it upright.
 */
object CameraRotation {
    fun frameRotation(sensorOrientation: Int, displayRotationDegrees: Int, frontFacing: Boolean): Int =
        if (frontFacing) (sensorOrientation + displayRotationDegrees) % 360
        else (sensorOrientation - displayRotationDegrees + 360) % 360

    /** A Surface.ROTATION_* constant in degrees. */
    fun degrees(surfaceRotation: Int): Int = when (surfaceRotation) {
        Surface.ROTATION_90 -> 90
        Surface.ROTATION_180 -> 180
        Surface.ROTATION_270 -> 270
        else -> 0
    }

    /** The capture size nearest [targetWidth]x[targetHeight] in area, preferring its aspect ratio. */
    fun chooseSize(sizes: List<Pair<Int, Int>>, targetWidth: Int, targetHeight: Int): Pair<Int, Int>? {
        val aspect = targetWidth.toDouble() / targetHeight
        val area = targetWidth.toLong() * targetHeight
        val sameAspect = sizes.filter { (w, h) -> kotlin.math.abs(w.toDouble() / h - aspect) < 0.01 }
        return sameAspect.ifEmpty { sizes }.minByOrNull { (w, h) -> kotlin.math.abs(w.toLong() * h - area) }
    }
}
