package io.hotline.sdk.android

/** How a picture fits its view: FILL covers the view (cropping), FIT shows it whole (bars). */
enum class ScaleMode { FILL, FIT }

/**
 * Where a video frame lands in its view: the unit quad [-1, 1]² turned
 * clockwise by [rotation], mirrored if asked, then scaled by [scaleX],
 * [scaleY] in normalised device coordinates (1 = the view's edge; more than
 * 1 is cropped). Pure, so it is unit-tested; the GL renderer uses [matrix].
 */
data class VideoLayout(val scaleX: Float, val scaleY: Float, val rotation: Int, val mirror: Boolean = false) {
    /** The vertex transform, column-major 4x4 (for glUniformMatrix4fv). */
    fun matrix(): FloatArray {
        val (cos, sin) = cosSin(rotation)
        val mx = if (mirror) -1f else 1f
        return floatArrayOf(
            cos * scaleX * mx, -sin * scaleY, 0f, 0f,
            sin * scaleX * mx, cos * scaleY, 0f, 0f,
            0f, 0f, 1f, 0f,
            0f, 0f, 0f, 1f,
        )
    }

    /** Where the quad's point ([x], [y]) lands, in NDC (y up). */
    fun map(x: Float, y: Float): Pair<Float, Float> {
        val m = matrix()
        return (m[0] * x + m[4] * y) to (m[1] * x + m[5] * y)
    }

    companion object {
        /** The layout of a [frameWidth]x[frameHeight] frame turned by [rotation] degrees in a view. */
        fun compute(frameWidth: Int, frameHeight: Int, rotation: Int, viewWidth: Int, viewHeight: Int, mode: ScaleMode, mirror: Boolean = false): VideoLayout {
            val r = ((rotation % 360) + 360) % 360
            if (frameWidth <= 0 || frameHeight <= 0 || viewWidth <= 0 || viewHeight <= 0) return VideoLayout(1f, 1f, r, mirror)
            val (w, h) = displaySize(frameWidth, frameHeight, r)
            val fit = minOf(viewWidth.toFloat() / w, viewHeight.toFloat() / h)
            val fill = maxOf(viewWidth.toFloat() / w, viewHeight.toFloat() / h)
            val scale = if (mode == ScaleMode.FIT) fit else fill
            return VideoLayout(w * scale / viewWidth, h * scale / viewHeight, r, mirror)
        }

        /** A frame's size once turned by [rotation]. */
        fun displaySize(width: Int, height: Int, rotation: Int): Pair<Int, Int> =
            if (rotation % 180 == 0) width to height else height to width

        private fun cosSin(rotation: Int): Pair<Float, Float> = when (((rotation % 360) + 360) % 360) {
            90 -> 0f to 1f
            180 -> -1f to 0f
            270 -> 0f to -1f
            else -> 1f to 0f
        }
    }
}
