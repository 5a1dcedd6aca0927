// Draws I420 frames with OpenGL ES 2: three luminance textures and the YUV
// shader of YuvColor, placed by VideoLayout. Compiles here; not run (no GL
// context under Robolectric or on this machine, no device).
package io.hotline.sdk.android

import android.opengl.GLES20
import android.opengl.GLSurfaceView
import java.nio.ByteBuffer
import java.nio.ByteOrder
import javax.microedition.khronos.egl.EGLConfig
import javax.microedition.khronos.opengles.GL10

internal class GlYuvRenderer(private val frames: FrameSlot) : GLSurfaceView.Renderer {
    private var program = 0
    private val textures = IntArray(3)
    private var viewWidth = 0
    private var viewHeight = 0
    private val quad = ByteBuffer.allocateDirect(8 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer()
        .put(floatArrayOf(-1f, -1f, 1f, -1f, -1f, 1f, 1f, 1f)).also { it.position(0) }

    override fun onSurfaceCreated(gl: GL10?, config: EGLConfig?) {
        program = link(compile(GLES20.GL_VERTEX_SHADER, YuvColor.VERTEX_SHADER), compile(GLES20.GL_FRAGMENT_SHADER, YuvColor.FRAGMENT_SHADER))
        GLES20.glGenTextures(3, textures, 0)
        for (t in textures) {
            GLES20.glBindTexture(GLES20.GL_TEXTURE_2D, t)
            GLES20.glTexParameteri(GLES20.GL_TEXTURE_2D, GLES20.GL_TEXTURE_MIN_FILTER, GLES20.GL_LINEAR)
            GLES20.glTexParameteri(GLES20.GL_TEXTURE_2D, GLES20.GL_TEXTURE_MAG_FILTER, GLES20.GL_LINEAR)
            GLES20.glTexParameteri(GLES20.GL_TEXTURE_2D, GLES20.GL_TEXTURE_WRAP_S, GLES20.GL_CLAMP_TO_EDGE)
            GLES20.glTexParameteri(GLES20.GL_TEXTURE_2D, GLES20.GL_TEXTURE_WRAP_T, GLES20.GL_CLAMP_TO_EDGE)
        }
    }

    override fun onSurfaceChanged(gl: GL10?, width: Int, height: Int) {
        viewWidth = width
        viewHeight = height
        GLES20.glViewport(0, 0, width, height)
    }

    override fun onDrawFrame(gl: GL10?) {
        GLES20.glClearColor(0f, 0f, 0f, 1f)
        GLES20.glClear(GLES20.GL_COLOR_BUFFER_BIT)
        frames.withLatest { frame ->
            val w = frame.width
            val h = frame.height
            GLES20.glUseProgram(program)
            GLES20.glPixelStorei(GLES20.GL_UNPACK_ALIGNMENT, 1)
            upload(0, frame.pixels, 0, w, h)
            upload(1, frame.pixels, w * h, w / 2, h / 2)
            upload(2, frame.pixels, w * h + (w / 2) * (h / 2), w / 2, h / 2)
            for ((i, name) in listOf("u_y", "u_u", "u_v").withIndex()) {
                GLES20.glUniform1i(GLES20.glGetUniformLocation(program, name), i)
            }
            val layout = VideoLayout.compute(w, h, frame.rotation, viewWidth, viewHeight, frame.scaleMode, frame.mirror)
            GLES20.glUniformMatrix4fv(GLES20.glGetUniformLocation(program, "u_matrix"), 1, false, layout.matrix(), 0)
            val position = GLES20.glGetAttribLocation(program, "a_position")
            GLES20.glEnableVertexAttribArray(position)
            GLES20.glVertexAttribPointer(position, 2, GLES20.GL_FLOAT, false, 0, quad)
            GLES20.glDrawArrays(GLES20.GL_TRIANGLE_STRIP, 0, 4)
            GLES20.glDisableVertexAttribArray(position)
        }
    }

    private fun upload(unit: Int, pixels: ByteBuffer, offset: Int, width: Int, height: Int) {
        GLES20.glActiveTexture(GLES20.GL_TEXTURE0 + unit)
        GLES20.glBindTexture(GLES20.GL_TEXTURE_2D, textures[unit])
        pixels.position(offset)
        GLES20.glTexImage2D(GLES20.GL_TEXTURE_2D, 0, GLES20.GL_LUMINANCE, width, height, 0, GLES20.GL_LUMINANCE, GLES20.GL_UNSIGNED_BYTE, pixels.slice())
        pixels.position(0)
    }

    private fun compile(type: Int, source: String): Int {
        val shader = GLES20.glCreateShader(type)
        GLES20.glShaderSource(shader, source)
        GLES20.glCompileShader(shader)
        val ok = IntArray(1)
        GLES20.glGetShaderiv(shader, GLES20.GL_COMPILE_STATUS, ok, 0)
        check(ok[0] != 0) { "shader: " + GLES20.glGetShaderInfoLog(shader) }
        return shader
    }

    private fun link(vertex: Int, fragment: Int): Int {
        val p = GLES20.glCreateProgram()
        GLES20.glAttachShader(p, vertex)
        GLES20.glAttachShader(p, fragment)
        GLES20.glLinkProgram(p)
        val ok = IntArray(1)
        GLES20.glGetProgramiv(p, GLES20.GL_LINK_STATUS, ok, 0)
        check(ok[0] != 0) { "program: " + GLES20.glGetProgramInfoLog(p) }
        return p
    }
}
