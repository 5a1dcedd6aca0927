package io.hotline.sdk.android

import java.nio.ByteBuffer

/**
 * Packs a camera image's YUV_420_888 planes (any row stride, chroma pixel
 * stride 1 or 2) into one tightly packed I420 buffer, the layout the
 * engine's CapturedFrame takes. Pure, so it is unit-tested with plain buffers.
 */
object YuvPlanes {
    fun toI420(
        width: Int,
        height: Int,
        y: ByteBuffer,
        yRowStride: Int,
        u: ByteBuffer,
        v: ByteBuffer,
        uvRowStride: Int,
        uvPixelStride: Int,
        out: ByteArray = ByteArray(width * height * 3 / 2),
    ): ByteArray {
        val cw = width / 2
        val ch = height / 2
        for (row in 0 until height) {
            y.position(row * yRowStride)
            y.get(out, row * width, width)
        }
        val uBase = width * height
        val vBase = uBase + cw * ch
        for (row in 0 until ch) {
            val src = row * uvRowStride
            val dst = row * cw
            if (uvPixelStride == 1) {
                u.position(src); u.get(out, uBase + dst, cw)
                v.position(src); v.get(out, vBase + dst, cw)
            } else {
                for (col in 0 until cw) {
                    out[uBase + dst + col] = u.get(src + col * uvPixelStride)
                    out[vBase + dst + col] = v.get(src + col * uvPixelStride)
                }
            }
        }
        return out
    }
}
