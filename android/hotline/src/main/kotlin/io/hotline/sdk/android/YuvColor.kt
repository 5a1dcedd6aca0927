package io.hotline.sdk.android

/**
 * YUV to RGB: BT.601 limited range (the engine's H.264 decoder's output), the
 * same coefficients as libwebrtc's GL renderer. The fragment shader is built
 * from these numbers, and [toRgb] computes what the shader computes, so the
 * unit tests check the shader's arithmetic.
 */
object YuvColor {
    const val Y_SCALE = 1.16438f
    const val R_V = 1.59603f
    const val R_OFFSET = -0.874202f
    const val G_U = -0.391762f
    const val G_V = -0.812968f
    const val G_OFFSET = 0.531668f
    const val B_U = 2.01723f
    const val B_OFFSET = -1.08563f

    /** One pixel, 8-bit in and out, as the shader computes it (with clamping). */
    fun toRgb(y: Int, u: Int, v: Int): IntArray {
        val yf = y / 255f * Y_SCALE
        val uf = u / 255f
        val vf = v / 255f
        val r = yf + R_V * vf + R_OFFSET
        val g = yf + G_U * uf + G_V * vf + G_OFFSET
        val b = yf + B_U * uf + B_OFFSET
        return intArrayOf(to8(r), to8(g), to8(b))
    }

    private fun to8(x: Float) = Math.round(x.coerceIn(0f, 1f) * 255f)

    val VERTEX_SHADER = """
        attribute vec2 a_position;
        uniform mat4 u_matrix;
        varying vec2 v_tex;
        void main() {
            gl_Position = u_matrix * vec4(a_position, 0.0, 1.0);
            v_tex = vec2((a_position.x + 1.0) * 0.5, (1.0 - a_position.y) * 0.5);
        }
    """.trimIndent()

    val FRAGMENT_SHADER = """
        precision mediump float;
        varying vec2 v_tex;
        uniform sampler2D u_y;
        uniform sampler2D u_u;
        uniform sampler2D u_v;
        void main() {
            float y = texture2D(u_y, v_tex).r * $Y_SCALE;
            float u = texture2D(u_u, v_tex).r;
            float v = texture2D(u_v, v_tex).r;
            gl_FragColor = vec4(
                y + $R_V * v + $R_OFFSET,
                y + $G_U * u + $G_V * v + $G_OFFSET,
                y + $B_U * u + $B_OFFSET,
                1.0);
        }
    """.trimIndent()
}
