// The SDK's pure parts: video layout (fill/fit, rotation, mirroring), the
// YUV->RGB maths the shader uses, YUV_420_888 packing, camera rotation, the
// call state machine, Telecom disconnect causes, foreground service types,
// audio routes and PiP aspect ratios.
package io.hotline.sdk.android.test

import android.content.pm.ServiceInfo
import android.media.AudioDeviceInfo
import android.telecom.DisconnectCause
import io.hotline.sdk.CallEvent
import io.hotline.sdk.EndReason
import io.hotline.sdk.MediaType
import io.hotline.sdk.NetworkQuality
import io.hotline.sdk.NetworkQualityInfo
import io.hotline.sdk.android.AudioRoutes
import io.hotline.sdk.android.CallStateReducer
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.CameraRotation
import io.hotline.sdk.android.DisconnectCauses
import io.hotline.sdk.android.ForegroundServiceTypes
import io.hotline.sdk.android.PipAspect
import io.hotline.sdk.android.ScaleMode
import io.hotline.sdk.android.VideoLayout
import io.hotline.sdk.android.YuvColor
import io.hotline.sdk.android.YuvPlanes
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.nio.ByteBuffer
import kotlin.math.abs

@RunWith(RobolectricTestRunner::class)
class MathTest {
    private fun near(expected: Float, actual: Float, what: String) =
        assertTrue("$what: expected $expected, got $actual", abs(expected - actual) < 1e-4f)

    private fun assertPoint(expected: Pair<Float, Float>, actual: Pair<Float, Float>, what: String) {
        near(expected.first, actual.first, "$what x")
        near(expected.second, actual.second, "$what y")
    }

    @Test
    fun `fit shows the whole picture with bars, fill covers the view`() {
        // 640x360 landscape into a 360x640 portrait view.
        val fit = VideoLayout.compute(640, 360, 0, 360, 640, ScaleMode.FIT)
        near(1f, fit.scaleX, "fit x")
        near(202.5f / 640f, fit.scaleY, "fit y (bars above and below)")
        val fill = VideoLayout.compute(640, 360, 0, 360, 640, ScaleMode.FILL)
        near(640f * (640f / 360f) / 360f, fill.scaleX, "fill x (cropped at the sides)")
        near(1f, fill.scaleY, "fill y")
        // The same aspect ratio: both fill the view exactly.
        for (mode in ScaleMode.values()) {
            val same = VideoLayout.compute(1280, 720, 0, 640, 360, mode)
            near(1f, same.scaleX, "$mode x"); near(1f, same.scaleY, "$mode y")
        }
    }

    @Test
    fun `rotation turns the picture clockwise and swaps its sides`() {
        assertEquals(360 to 640, VideoLayout.displaySize(640, 360, 90))
        assertEquals(640 to 360, VideoLayout.displaySize(640, 360, 180))
        // A 640x360 frame with rotation 90 is a portrait picture: it fits a portrait view exactly.
        val turned = VideoLayout.compute(640, 360, 90, 360, 640, ScaleMode.FIT)
        near(1f, turned.scaleX, "x"); near(1f, turned.scaleY, "y")
        // The picture's top-left corner goes to the top-right at 90, bottom-right at 180, bottom-left at 270.
        val topLeft = -1f to 1f
        assertPoint(-1f to 1f, VideoLayout(1f, 1f, 0).map(topLeft.first, topLeft.second), "0")
        assertPoint(1f to 1f, VideoLayout(1f, 1f, 90).map(topLeft.first, topLeft.second), "90")
        assertPoint(1f to -1f, VideoLayout(1f, 1f, 180).map(topLeft.first, topLeft.second), "180")
        assertPoint(-1f to -1f, VideoLayout(1f, 1f, 270).map(topLeft.first, topLeft.second), "270")
        // Mirroring (the selfie view) swaps left and right; scaling applies after the turn.
        assertPoint(1f to 1f, VideoLayout(1f, 1f, 0, mirror = true).map(-1f, 1f), "mirror")
        // Bottom-left turns to top-left, then the scaling applies.
        assertPoint(-0.5f to 2f, VideoLayout(0.5f, 2f, 90).map(-1f, -1f), "scaled after the turn")
        // A frame's own rotation plus the render rotation wraps around.
        assertEquals(90, VideoLayout.compute(640, 360, 450, 100, 100, ScaleMode.FIT).rotation)
    }

    @Test
    fun `YUV to RGB is BT601 limited range, as the shader computes it`() {
        assertArrayEquals(intArrayOf(0, 0, 0), YuvColor.toRgb(16, 128, 128))
        assertArrayEquals(intArrayOf(255, 255, 255), YuvColor.toRgb(235, 128, 128))
        // Grey stays grey (within rounding).
        val grey = YuvColor.toRgb(126, 128, 128)
        assertTrue(grey.toList().toString(), grey.all { abs(it - 128) <= 1 })
        // BT.601 primaries.
        fun close(expected: IntArray, actual: IntArray) =
            assertTrue("${expected.toList()} vs ${actual.toList()}", expected.indices.all { abs(expected[it] - actual[it]) <= 2 })
        close(intArrayOf(255, 0, 0), YuvColor.toRgb(81, 90, 240))
        close(intArrayOf(0, 255, 0), YuvColor.toRgb(145, 54, 34))
        close(intArrayOf(0, 0, 255), YuvColor.toRgb(41, 240, 110))
        // The shader is built from the same numbers.
        for (c in listOf(YuvColor.Y_SCALE, YuvColor.R_V, YuvColor.G_U, YuvColor.G_V, YuvColor.B_U, YuvColor.B_OFFSET)) {
            assertTrue("$c in the shader", YuvColor.FRAGMENT_SHADER.contains(c.toString()))
        }
    }

    @Test
    fun `YUV_420_888 planes with padding and interleaved chroma pack into I420`() {
        val w = 4; val h = 2
        // Y rows padded to 6 bytes; chroma interleaved (pixel stride 2) like NV12, rows padded to 6.
        val y = ByteBuffer.wrap(byteArrayOf(1, 2, 3, 4, 0, 0, 5, 6, 7, 8))
        val uv = byteArrayOf(10, 20, 11, 21, 0)
        val u = ByteBuffer.wrap(uv)
        val v = ByteBuffer.wrap(uv, 1, 4).slice()
        val packed = YuvPlanes.toI420(w, h, y, 6, u, v, 6, 2)
        assertArrayEquals(byteArrayOf(1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 20, 21), packed)
        // Planar chroma (pixel stride 1).
        val planar = YuvPlanes.toI420(2, 2, ByteBuffer.wrap(byteArrayOf(1, 2, 3, 4)), 2, ByteBuffer.wrap(byteArrayOf(9)), ByteBuffer.wrap(byteArrayOf(8)), 1, 1)
        assertArrayEquals(byteArrayOf(1, 2, 3, 4, 9, 8), planar)
    }

    @Test
    fun `camera frames carry the rotation that makes them upright`() {
        // A typical back camera (sensor 90) held upright, then turned to landscape.
        assertEquals(90, CameraRotation.frameRotation(90, 0, frontFacing = false))
        assertEquals(0, CameraRotation.frameRotation(90, 90, frontFacing = false))
        assertEquals(180, CameraRotation.frameRotation(90, 270, frontFacing = false))
        // A typical front camera (sensor 270).
        assertEquals(270, CameraRotation.frameRotation(270, 0, frontFacing = true))
        assertEquals(0, CameraRotation.frameRotation(270, 90, frontFacing = true))
        assertEquals(270, CameraRotation.degrees(android.view.Surface.ROTATION_270))
        assertEquals(1280 to 720, CameraRotation.chooseSize(listOf(1920 to 1080, 1280 to 720, 640 to 480, 320 to 240), 1280, 720))
        assertEquals(640 to 480, CameraRotation.chooseSize(listOf(640 to 480, 320 to 240), 640, 360))
    }

    @Test
    fun `the call state machine follows the engine's events`() {
        val received = CallEvent.CallReceived("c1", "alice", listOf("bob"), MediaType.VIDEO, "", false, "")
        var s: CallUiState = CallUiState.Idle
        s = CallStateReducer.reduce(s, received, 0)
        assertEquals(CallUiState.Ringing("c1", "alice", "alice", MediaType.VIDEO, false, listOf("bob")), s)
        s = CallStateReducer.reduce(s, CallEvent.UserJoin("c1", "alice"), 0)
        s = CallStateReducer.reduce(s, CallEvent.CallBegin("c1", "r", MediaType.VIDEO, false), 1000)
        assertEquals(CallUiState.InCall("c1", MediaType.VIDEO, false, listOf("alice"), 1000), s)
        // Another call's events do not touch this one.
        assertEquals(s, CallStateReducer.reduce(s, CallEvent.CallReceived("c2", "carol", listOf("bob"), MediaType.AUDIO, "", false, ""), 0))
        assertEquals(s, CallStateReducer.reduce(s, CallEvent.CallNotConnected("c2", MediaType.AUDIO, EndReason.LINE_BUSY), 0))
        s = CallStateReducer.reduce(s, CallEvent.UserNetworkQualityChanged("c1", listOf(NetworkQualityInfo("alice", NetworkQuality.GOOD))), 0)
        s = CallStateReducer.reduce(s, CallEvent.UserVideoAvailable("c1", "alice", true), 0)
        s = CallStateReducer.reduce(s, CallEvent.CallMediaTypeChanged("c1", MediaType.VIDEO, MediaType.AUDIO), 0)
        val inCall = s as CallUiState.InCall
        assertEquals(mapOf("alice" to NetworkQuality.GOOD), inCall.networkQuality)
        assertEquals(setOf("alice"), inCall.remoteVideoOn)
        assertEquals(MediaType.AUDIO, inCall.mediaType)
        s = CallStateReducer.reduce(s, CallEvent.CallEnd("c1", MediaType.AUDIO, EndReason.HANGUP, 42uL), 0)
        assertEquals(CallUiState.Ended("c1", EndReason.HANGUP, connected = true, durationS = 42), s)
        // Dialing before the call ID is known, then not answered.
        var d: CallUiState = CallUiState.Dialing("", listOf("bob"), MediaType.AUDIO, false)
        d = CallStateReducer.reduce(d, CallEvent.CallNotConnected("c3", MediaType.AUDIO, EndReason.NO_RESPONSE), 0)
        assertEquals(CallUiState.Ended("c3", EndReason.NO_RESPONSE, connected = false), d)
        // A pushed (unconfirmed) call is confirmed by the engine's invitation.
        val pushed = CallUiState.Ringing("c4", "alice", "Alice", MediaType.AUDIO, false, confirmed = false)
        assertEquals(pushed.copy(confirmed = true), CallStateReducer.reduce(pushed, received.copy(callId = "c4", mediaType = MediaType.AUDIO), 0))
        assertEquals(CallUiState.SignedOut, CallStateReducer.reduce(pushed, CallEvent.KickedOffline, 0))
    }

    @Test
    fun `Telecom disconnect causes say how the call ended`() {
        assertEquals(DisconnectCause.LOCAL, DisconnectCauses.codeFor(EndReason.HANGUP, incoming = false, endedLocally = true))
        assertEquals(DisconnectCause.REMOTE, DisconnectCauses.codeFor(EndReason.HANGUP, incoming = true, endedLocally = false))
        assertEquals(DisconnectCause.REJECTED, DisconnectCauses.codeFor(EndReason.REJECT, incoming = true, endedLocally = true))
        assertEquals(DisconnectCause.MISSED, DisconnectCauses.codeFor(EndReason.CANCELED, incoming = true, endedLocally = false))
        assertEquals(DisconnectCause.MISSED, DisconnectCauses.codeFor(EndReason.NO_RESPONSE, incoming = true, endedLocally = false))
        assertEquals(DisconnectCause.BUSY, DisconnectCauses.codeFor(EndReason.LINE_BUSY, incoming = false, endedLocally = false))
        assertEquals(DisconnectCause.ANSWERED_ELSEWHERE, DisconnectCauses.codeFor(EndReason.OTHER_DEVICE_ACCEPTED, incoming = true, endedLocally = false))
    }

    @Test
    fun `foreground service types add camera and microphone only when granted`() {
        val phone = ServiceInfo.FOREGROUND_SERVICE_TYPE_PHONE_CALL
        val mic = ServiceInfo.FOREGROUND_SERVICE_TYPE_MICROPHONE
        val cam = ServiceInfo.FOREGROUND_SERVICE_TYPE_CAMERA
        assertEquals(phone, ForegroundServiceTypes.forCall(microphoneGranted = false, cameraGranted = false, video = true))
        assertEquals(phone or mic, ForegroundServiceTypes.forCall(microphoneGranted = true, cameraGranted = true, video = false))
        assertEquals(phone or mic or cam, ForegroundServiceTypes.forCall(microphoneGranted = true, cameraGranted = true, video = true))
        assertEquals(phone or cam, ForegroundServiceTypes.forCall(microphoneGranted = false, cameraGranted = true, video = true))
    }

    @Test
    fun `audio routes prefer a headset over the earpiece, and the speaker when asked`() {
        val earpiece = AudioDeviceInfo.TYPE_BUILTIN_EARPIECE
        val speaker = AudioDeviceInfo.TYPE_BUILTIN_SPEAKER
        assertEquals(speaker, AudioRoutes.choose(listOf(earpiece, speaker, AudioDeviceInfo.TYPE_WIRED_HEADSET), speaker = true))
        assertEquals(earpiece, AudioRoutes.choose(listOf(earpiece, speaker), speaker = false))
        assertEquals(AudioDeviceInfo.TYPE_WIRED_HEADSET, AudioRoutes.choose(listOf(earpiece, speaker, AudioDeviceInfo.TYPE_WIRED_HEADSET), speaker = false))
        assertEquals(AudioDeviceInfo.TYPE_BLUETOOTH_SCO,
            AudioRoutes.choose(listOf(earpiece, AudioDeviceInfo.TYPE_WIRED_HEADSET, AudioDeviceInfo.TYPE_BLUETOOTH_SCO), speaker = false))
    }

    @Test
    fun `picture-in-picture aspect ratios stay within the system's limits`() {
        assertEquals(16 to 9, PipAspect.clamp(16, 9))
        assertEquals(360 to 640, PipAspect.clamp(360, 640))
        assertEquals(239 to 100, PipAspect.clamp(1000, 100))
        assertEquals(100 to 239, PipAspect.clamp(100, 1000))
    }
}
