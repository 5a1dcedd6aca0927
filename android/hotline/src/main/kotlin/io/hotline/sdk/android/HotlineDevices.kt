package io.hotline.sdk.android

import android.content.Context
import io.hotline.sdk.AudioPlaybackDevice
import io.hotline.sdk.Camera
import io.hotline.sdk.DeviceDelegate
import io.hotline.sdk.HotlineEngine
import io.hotline.sdk.VideoRenderParams
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import java.util.concurrent.ConcurrentHashMap

/**
 * The engine's device delegate on Android: the engine asks for the camera,
 * the microphone and the audio route, and this opens Camera2, AudioRecord
 * and routes audio. What is open is visible in the StateFlows (for the UI
 * and the tests). Called on the engine's threads or the caller's.
 */
class HotlineDevices internal constructor(context: Context) : DeviceDelegate {
    private val capturer = CameraCapturer(context)
    private val audio = AudioIo(context)
    internal val router = AudioRouter(context)
    private val renderParams = ConcurrentHashMap<String, VideoRenderParams>()

    private val openCamera = MutableStateFlow<Camera?>(null)
    private val microphone = MutableStateFlow(false)
    private val playback = MutableStateFlow(AudioPlaybackDevice.EARPIECE)

    /** The open camera, or null when it is closed. */
    val camera: StateFlow<Camera?> = openCamera.asStateFlow()

    /** Whether the microphone is capturing for the call. */
    val microphoneOpen: StateFlow<Boolean> = microphone.asStateFlow()

    /** Where call audio plays, as the engine last chose. */
    val playbackDevice: StateFlow<AudioPlaybackDevice> = playback.asStateFlow()

    /** How the engine asked [userId]'s video to be rendered, if it did. */
    fun renderParams(userId: String): VideoRenderParams? = renderParams[userId]

    /** Listeners for render-param changes (the video views). */
    internal val renderParamListeners = java.util.concurrent.CopyOnWriteArrayList<(String, VideoRenderParams) -> Unit>()

    internal fun attach(engine: HotlineEngine) {
        engine.setDeviceDelegate(this)
        engine.setVideoSource(capturer)
        engine.setAudioSource(audio.source)
        engine.setAudioPlaybackSink(audio.sink)
    }

    internal fun callStarted(mediaType: io.hotline.sdk.MediaType) {
        router.startCall(mediaType)
        audio.callStarted()
    }

    internal fun callEnded() {
        audio.callEnded()
        router.endCall()
    }

    internal fun release() {
        closeCamera()
        closeMicrophone()
        callEnded()
        renderParams.clear()
        renderParamListeners.clear()
    }

    override fun openCamera(camera: Camera) {
        openCamera.value = camera
        capturer.start(camera)
    }

    override fun closeCamera() {
        openCamera.value = null
        capturer.stop()
    }

    override fun switchCamera(camera: Camera) {
        if (openCamera.value != null) openCamera.value = camera
        capturer.switchTo(camera)
    }

    override fun openMicrophone() {
        microphone.value = true
        audio.startCapture()
    }

    override fun closeMicrophone() {
        microphone.value = false
        audio.stopCapture()
    }

    override fun selectAudioPlaybackDevice(device: AudioPlaybackDevice) {
        playback.value = device
        router.select(device)
    }

    override fun setVideoRenderParams(userId: String, params: VideoRenderParams) {
        renderParams[userId] = params
        renderParamListeners.forEach { it(userId, params) }
    }
}
