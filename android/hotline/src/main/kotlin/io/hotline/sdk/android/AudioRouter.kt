package io.hotline.sdk.android

import android.content.Context
import android.media.AudioAttributes
import android.media.AudioDeviceInfo
import android.media.AudioFocusRequest
import android.media.AudioManager
import android.os.Build
import android.util.Log
import io.hotline.sdk.AudioPlaybackDevice
import io.hotline.sdk.MediaType

/**
 * Call audio routing: MODE_IN_COMMUNICATION and audio focus for the call,
 * and the engine's speaker/earpiece choice, where a wired headset or a
 * Bluetooth headset, when connected, takes the earpiece's place.
 * setCommunicationDevice on API 31+, the speakerphone and SCO calls before.
 *
 * Compiles here and runs under Robolectric's AudioManager; not run on a device.
 */
class AudioRouter internal constructor(context: Context) {
    private val audio = context.getSystemService(AudioManager::class.java)
    private var focus: AudioFocusRequest? = null
    private var previousMode = AudioManager.MODE_NORMAL

    /** The output the route chose last (an AudioDeviceInfo type), for tests and logs. */
    @Volatile var routedDeviceType: Int = AudioDeviceInfo.TYPE_BUILTIN_EARPIECE
        private set

    internal fun startCall(mediaType: MediaType) {
        val am = audio ?: return
        previousMode = am.mode
        am.mode = AudioManager.MODE_IN_COMMUNICATION
        val request = AudioFocusRequest.Builder(AudioManager.AUDIOFOCUS_GAIN_TRANSIENT)
            .setAudioAttributes(
                AudioAttributes.Builder()
                    .setUsage(AudioAttributes.USAGE_VOICE_COMMUNICATION)
                    .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
                    .build(),
            )
            .build()
        focus = request
        am.requestAudioFocus(request)
        select(if (mediaType == MediaType.VIDEO) AudioPlaybackDevice.SPEAKERPHONE else AudioPlaybackDevice.EARPIECE)
    }

    internal fun endCall() {
        val am = audio ?: return
        focus?.let { am.abandonAudioFocusRequest(it) }
        focus = null
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            am.clearCommunicationDevice()
        } else {
            @Suppress("DEPRECATION")
            am.isSpeakerphoneOn = false
            @Suppress("DEPRECATION")
            if (am.isBluetoothScoOn) am.stopBluetoothSco()
        }
        am.mode = previousMode
    }

    /** Route to the speaker, or to the earpiece (a headset when one is connected). */
    fun select(device: AudioPlaybackDevice) {
        val am = audio ?: return
        val speaker = device == AudioPlaybackDevice.SPEAKERPHONE
        try {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
                val candidates = am.availableCommunicationDevices
                val target = AudioRoutes.choose(candidates.map { it.type }, speaker)
                val info = candidates.firstOrNull { it.type == target }
                if (info != null && am.setCommunicationDevice(info)) routedDeviceType = target
                else if (info == null) routedDeviceType = target
            } else {
                routeBeforeS(am, speaker)
            }
        } catch (e: RuntimeException) {
            Log.w("Hotline", "audio routing failed: ${e.message}")
        }
    }

    @Suppress("DEPRECATION")
    private fun routeBeforeS(am: AudioManager, speaker: Boolean) {
        val outputs = am.getDevices(AudioManager.GET_DEVICES_OUTPUTS).map { it.type }
        val target = AudioRoutes.choose(outputs, speaker)
        routedDeviceType = target
        am.isSpeakerphoneOn = target == AudioDeviceInfo.TYPE_BUILTIN_SPEAKER
        if (target == AudioDeviceInfo.TYPE_BLUETOOTH_SCO) {
            am.startBluetoothSco()
            am.isBluetoothScoOn = true
        } else if (am.isBluetoothScoOn) {
            am.isBluetoothScoOn = false
            am.stopBluetoothSco()
        }
    }
}

/** Which output to use: pure, so it is unit-tested. */
object AudioRoutes {
    private val HEADSETS = listOf(
        AudioDeviceInfo.TYPE_BLUETOOTH_SCO,
        AudioDeviceInfo.TYPE_BLE_HEADSET,
        AudioDeviceInfo.TYPE_WIRED_HEADSET,
        AudioDeviceInfo.TYPE_WIRED_HEADPHONES,
        AudioDeviceInfo.TYPE_USB_HEADSET,
    )

    /** The speaker if asked; else the first headset present (Bluetooth first), else the earpiece. */
    fun choose(available: List<Int>, speaker: Boolean): Int {
        if (speaker) return AudioDeviceInfo.TYPE_BUILTIN_SPEAKER
        return HEADSETS.firstOrNull { it in available } ?: AudioDeviceInfo.TYPE_BUILTIN_EARPIECE
    }
}
