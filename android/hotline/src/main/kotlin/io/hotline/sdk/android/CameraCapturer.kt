// Camera2 capture into the engine's video source: YUV_420_888 images from an
// ImageReader, packed as I420 with the rotation that makes them upright.
// Compiles here; not run on a device (Robolectric has no camera frames).
package io.hotline.sdk.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.graphics.ImageFormat
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CaptureRequest
import android.hardware.display.DisplayManager
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.util.Log
import android.view.Display
import io.hotline.sdk.Camera
import io.hotline.sdk.CapturedFrame
import io.hotline.sdk.FrameFormat
import io.hotline.sdk.VideoSource
import java.util.concurrent.atomic.AtomicReference

internal class CameraCapturer(private val context: Context) : VideoSource {
    private val manager = context.getSystemService(CameraManager::class.java)
    private val latest = AtomicReference<CapturedFrame?>(null)
    private var thread: HandlerThread? = null
    private var handler: Handler? = null
    private var device: CameraDevice? = null
    private var session: CameraCaptureSession? = null
    private var reader: ImageReader? = null
    private var facing = Camera.FRONT
    private var sensorOrientation = 0
    private var open = false

    /** The engine pulls at the encoder's frame rate: each captured frame is sent once. */
    override fun readFrame(): CapturedFrame? = latest.getAndSet(null)

    @Synchronized
    fun start(camera: Camera) {
        facing = camera
        if (open) return
        open = true
        val t = HandlerThread("hotline-camera").also { it.start() }
        thread = t
        handler = Handler(t.looper)
        handler?.post { openDevice() }
    }

    @Synchronized
    fun stop() {
        if (!open) return
        open = false
        val h = handler
        val t = thread
        handler = null
        thread = null
        h?.post {
            closeDevice()
            t?.quitSafely()
        }
        latest.set(null)
    }

    @Synchronized
    fun switchTo(camera: Camera) {
        if (camera == facing) return
        facing = camera
        handler?.post {
            closeDevice()
            openDevice()
        }
    }

    @SuppressLint("MissingPermission") // checked below
    private fun openDevice() {
        val cm = manager ?: return
        if (!HotlinePermissions.granted(context, Manifest.permission.CAMERA)) {
            Log.w("Hotline", "CAMERA is not granted: no local video")
            return
        }
        try {
            val wanted = if (facing == Camera.FRONT) CameraCharacteristics.LENS_FACING_FRONT else CameraCharacteristics.LENS_FACING_BACK
            val id = cm.cameraIdList.firstOrNull { cm.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == wanted }
                ?: cm.cameraIdList.firstOrNull()
                ?: run { Log.w("Hotline", "no camera"); return }
            val chars = cm.getCameraCharacteristics(id)
            sensorOrientation = chars.get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 0
            val sizes = chars.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
                ?.getOutputSizes(ImageFormat.YUV_420_888)?.map { it.width to it.height }.orEmpty()
            val (w, h) = CameraRotation.chooseSize(sizes, 640, 360) ?: (640 to 480)
            val imageReader = ImageReader.newInstance(w, h, ImageFormat.YUV_420_888, 3)
            imageReader.setOnImageAvailableListener({ onImage(it) }, handler)
            reader = imageReader
            cm.openCamera(id, object : CameraDevice.StateCallback() {
                override fun onOpened(camera: CameraDevice) {
                    device = camera
                    startSession(camera, imageReader)
                }
                override fun onDisconnected(camera: CameraDevice) = camera.close()
                override fun onError(camera: CameraDevice, error: Int) {
                    Log.w("Hotline", "camera error $error")
                    camera.close()
                }
            }, handler)
        } catch (e: Exception) {
            Log.w("Hotline", "cannot open the camera: ${e.message}")
        }
    }

    @Suppress("DEPRECATION") // createCaptureSession(List) is the one call that exists on API 26-27 too
    private fun startSession(camera: CameraDevice, imageReader: ImageReader) {
        camera.createCaptureSession(listOf(imageReader.surface), object : CameraCaptureSession.StateCallback() {
            override fun onConfigured(s: CameraCaptureSession) {
                session = s
                val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_RECORD).apply {
                    addTarget(imageReader.surface)
                    set(CaptureRequest.CONTROL_AE_TARGET_FPS_RANGE, android.util.Range(15, 30))
                }.build()
                runCatching { s.setRepeatingRequest(request, null, handler) }
            }
            override fun onConfigureFailed(s: CameraCaptureSession) {
                Log.w("Hotline", "camera session configuration failed")
            }
        }, handler)
    }

    private fun onImage(imageReader: ImageReader) {
        val image = imageReader.acquireLatestImage() ?: return
        try {
            val w = image.width and 1.inv()
            val h = image.height and 1.inv()
            val p = image.planes
            val pixels = YuvPlanes.toI420(w, h, p[0].buffer, p[0].rowStride, p[1].buffer, p[2].buffer, p[1].rowStride, p[1].pixelStride)
            val rotation = CameraRotation.frameRotation(sensorOrientation, displayDegrees(), facing == Camera.FRONT)
            latest.set(
                CapturedFrame(
                    format = FrameFormat.I420, width = w.toUInt(), height = h.toUInt(), data = pixels,
                    rotation = rotation.toUInt(), timestampUs = image.timestamp / 1000,
                ),
            )
        } finally {
            image.close()
        }
    }

    private fun displayDegrees(): Int {
        val display = context.getSystemService(DisplayManager::class.java)?.getDisplay(Display.DEFAULT_DISPLAY) ?: return 0
        return CameraRotation.degrees(display.rotation)
    }

    private fun closeDevice() {
        runCatching { session?.close() }
        runCatching { device?.close() }
        runCatching { reader?.close() }
        session = null
        device = null
        reader = null
    }
}
