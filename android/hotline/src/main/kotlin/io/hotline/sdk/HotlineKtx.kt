// Hotline's thin Kotlin layer over the UniFFI-generated bindings
// (io.hotline.sdk, generated into build/bindings/kotlin by scripts/bindings.sh).
// It only adapts: events as a Flow, observers with empty defaults, an
// AutoCloseable subscription, lambda sinks, sources and log listeners, FCM
// data maps for handlePushPayload. Every
// call goes straight to the generated HotlineEngine, whose methods are
// already `suspend`.
package io.hotline.sdk

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/** One engine event: TUICallEngine's observer callbacks as values. */
sealed interface CallEvent {
    /** An invitation arrived (`onCallReceived`). */
    data class CallReceived(
        val callId: String,
        val callerId: String,
        val calleeIdList: List<String>,
        val mediaType: MediaType,
        val userData: String,
        val isGroup: Boolean,
        val chatGroupId: String,
    ) : CallEvent

    /** The call connected for this user (`onCallBegin`): start media. */
    data class CallBegin(val callId: String, val roomId: String, val mediaType: MediaType, val isGroup: Boolean) : CallEvent

    /** A connected call ended for this user (`onCallEnd`). */
    data class CallEnd(val callId: String, val mediaType: MediaType, val reason: EndReason, val totalTimeS: ULong) : CallEvent

    /** The call ended before it connected (`onCallNotConnected`). */
    data class CallNotConnected(val callId: String, val mediaType: MediaType, val reason: EndReason) : CallEvent

    /** The media type changed (`onCallMediaTypeChanged`). */
    data class CallMediaTypeChanged(val callId: String, val oldMediaType: MediaType, val newMediaType: MediaType) : CallEvent

    /** Someone is being invited (`onUserInviting`). */
    data class UserInviting(val callId: String, val userId: String) : CallEvent

    /** An invitee rejected (`onUserReject`). */
    data class UserReject(val callId: String, val userId: String) : CallEvent

    /** An invitee did not answer in time (`onUserNoResponse`). */
    data class UserNoResponse(val callId: String, val userId: String) : CallEvent

    /** An invitee was busy or ignored the call (`onUserLineBusy`). */
    data class UserLineBusy(val callId: String, val userId: String) : CallEvent

    /** Someone entered the call (`onUserJoin`). */
    data class UserJoin(val callId: String, val userId: String) : CallEvent

    /** Someone left the call (`onUserLeave`). */
    data class UserLeave(val callId: String, val userId: String) : CallEvent

    /** Someone turned their camera on or off (`onUserVideoAvailable`). */
    data class UserVideoAvailable(val callId: String, val userId: String, val available: Boolean) : CallEvent

    /** Someone turned their microphone on or off (`onUserAudioAvailable`). */
    data class UserAudioAvailable(val callId: String, val userId: String, val available: Boolean) : CallEvent

    /** Speaking levels 0–100 by user ID, this user included (`onUserVoiceVolumeChanged`). */
    data class UserVoiceVolumeChanged(val callId: String, val volumeMap: Map<String, UInt>) : CallEvent

    /** Link quality per user, every two seconds (`onUserNetworkQualityChanged`). */
    data class UserNetworkQualityChanged(val callId: String, val networkQualityList: List<NetworkQualityInfo>) : CallEvent

    /** Another login replaced this one (`onKickedOffline`). */
    data object KickedOffline : CallEvent

    /** The UserSig expired (`onUserSigExpired`). */
    data object UserSigExpired : CallEvent

    /** An error not tied to an API call (`onError`). */
    data class Error(val code: Int, val message: String) : CallEvent
}

/**
 * A [CallObserver] whose callbacks do nothing; override the ones you need.
 * Callbacks run on the engine's event thread: hop to your main thread yourself.
 */
open class CallObserverAdapter : CallObserver {
    override fun onCallReceived(callId: String, callerId: String, calleeIdList: List<String>, mediaType: MediaType, userData: String, isGroup: Boolean, chatGroupId: String) {}
    override fun onCallBegin(callId: String, roomId: String, mediaType: MediaType, isGroup: Boolean) {}
    override fun onCallEnd(callId: String, mediaType: MediaType, reason: EndReason, totalTimeS: ULong) {}
    override fun onCallNotConnected(callId: String, mediaType: MediaType, reason: EndReason) {}
    override fun onCallMediaTypeChanged(callId: String, oldMediaType: MediaType, newMediaType: MediaType) {}
    override fun onUserInviting(callId: String, userId: String) {}
    override fun onUserReject(callId: String, userId: String) {}
    override fun onUserNoResponse(callId: String, userId: String) {}
    override fun onUserLineBusy(callId: String, userId: String) {}
    override fun onUserJoin(callId: String, userId: String) {}
    override fun onUserLeave(callId: String, userId: String) {}
    override fun onUserVideoAvailable(callId: String, userId: String, available: Boolean) {}
    override fun onUserAudioAvailable(callId: String, userId: String, available: Boolean) {}
    override fun onUserVoiceVolumeChanged(callId: String, volumeMap: Map<String, UInt>) {}
    override fun onUserNetworkQualityChanged(callId: String, networkQualityList: List<NetworkQualityInfo>) {}
    override fun onKickedOffline() {}
    override fun onUserSigExpired() {}
    override fun onError(code: Int, message: String) {}
}

/**
 * A [DeviceDelegate] whose methods do nothing; override the ones your shell
 * handles (camera, microphone, audio route). Called on the thread that called
 * the engine method, or on an engine thread when a call's media starts or stops.
 */
open class DeviceDelegateAdapter : DeviceDelegate {
    override fun openCamera(camera: Camera) {}
    override fun closeCamera() {}
    override fun switchCamera(camera: Camera) {}
    override fun openMicrophone() {}
    override fun closeMicrophone() {}
    override fun selectAudioPlaybackDevice(device: AudioPlaybackDevice) {}
    override fun setVideoRenderParams(userId: String, params: VideoRenderParams) {}
}

/** A [CallObserver] that turns every callback into a [CallEvent] for [onEvent]. */
class CallEventObserver(private val onEvent: (CallEvent) -> Unit) : CallObserver {
    override fun onCallReceived(callId: String, callerId: String, calleeIdList: List<String>, mediaType: MediaType, userData: String, isGroup: Boolean, chatGroupId: String) =
        onEvent(CallEvent.CallReceived(callId, callerId, calleeIdList, mediaType, userData, isGroup, chatGroupId))
    override fun onCallBegin(callId: String, roomId: String, mediaType: MediaType, isGroup: Boolean) =
        onEvent(CallEvent.CallBegin(callId, roomId, mediaType, isGroup))
    override fun onCallEnd(callId: String, mediaType: MediaType, reason: EndReason, totalTimeS: ULong) =
        onEvent(CallEvent.CallEnd(callId, mediaType, reason, totalTimeS))
    override fun onCallNotConnected(callId: String, mediaType: MediaType, reason: EndReason) =
        onEvent(CallEvent.CallNotConnected(callId, mediaType, reason))
    override fun onCallMediaTypeChanged(callId: String, oldMediaType: MediaType, newMediaType: MediaType) =
        onEvent(CallEvent.CallMediaTypeChanged(callId, oldMediaType, newMediaType))
    override fun onUserInviting(callId: String, userId: String) = onEvent(CallEvent.UserInviting(callId, userId))
    override fun onUserReject(callId: String, userId: String) = onEvent(CallEvent.UserReject(callId, userId))
    override fun onUserNoResponse(callId: String, userId: String) = onEvent(CallEvent.UserNoResponse(callId, userId))
    override fun onUserLineBusy(callId: String, userId: String) = onEvent(CallEvent.UserLineBusy(callId, userId))
    override fun onUserJoin(callId: String, userId: String) = onEvent(CallEvent.UserJoin(callId, userId))
    override fun onUserLeave(callId: String, userId: String) = onEvent(CallEvent.UserLeave(callId, userId))
    override fun onUserVideoAvailable(callId: String, userId: String, available: Boolean) =
        onEvent(CallEvent.UserVideoAvailable(callId, userId, available))
    override fun onUserAudioAvailable(callId: String, userId: String, available: Boolean) =
        onEvent(CallEvent.UserAudioAvailable(callId, userId, available))
    override fun onUserVoiceVolumeChanged(callId: String, volumeMap: Map<String, UInt>) =
        onEvent(CallEvent.UserVoiceVolumeChanged(callId, volumeMap))
    override fun onUserNetworkQualityChanged(callId: String, networkQualityList: List<NetworkQualityInfo>) =
        onEvent(CallEvent.UserNetworkQualityChanged(callId, networkQualityList))
    override fun onKickedOffline() = onEvent(CallEvent.KickedOffline)
    override fun onUserSigExpired() = onEvent(CallEvent.UserSigExpired)
    override fun onError(code: Int, message: String) = onEvent(CallEvent.Error(code, message))
}

/**
 * The engine's events as a cold [Flow]: collecting registers an observer,
 * cancelling the collection removes it. Events are buffered without limit (they
 * are few), so the engine's event thread never waits for a slow collector.
 * Collect on the dispatcher you want (e.g. `Dispatchers.Main`).
 */
fun HotlineEngine.events(): Flow<CallEvent> = callbackFlow {
    val id = addObserver(CallEventObserver { trySend(it) })
    awaitClose { removeObserver(id) }
}.buffer(Channel.UNLIMITED)

/** An observer registration; [close] removes the observer. */
class ObserverSubscription internal constructor(private val engine: HotlineEngine, val id: ULong) : AutoCloseable {
    private var closed = false

    /** Stop delivering events to the observer. Idempotent. */
    @Synchronized
    override fun close() {
        if (!closed) {
            closed = true
            engine.removeObserver(id)
        }
    }
}

/** Register [observer]; close the returned subscription to remove it. */
fun HotlineEngine.observe(observer: CallObserver): ObserverSubscription = ObserverSubscription(this, addObserver(observer))

/** The TUICallEngine-style code of this error (for example -1203). */
val HotlineException.code: Int
    get() = when (this) {
        is HotlineException.Api -> this.code
    }

/**
 * The frame's pixels in place, without a copy: a read-only direct ByteBuffer
 * over Rust's memory (hand it straight to `glTexImage2D` and the like). Valid
 * only until this buffer is closed: close it when the frame is rendered, and
 * copy anything you keep longer.
 */
fun FrameBuffer.asByteBuffer(): java.nio.ByteBuffer =
    com.sun.jna.Pointer(address().toLong()).getByteBuffer(0, len().toLong()).asReadOnlyBuffer()

/** A [VideoSink] from a lambda. It runs on the sink's own Rust delivery thread; return quickly. */
fun videoSink(block: (VideoFrame) -> Unit): VideoSink = object : VideoSink {
    override fun onFrame(frame: VideoFrame) = block(frame)
}

/** An [AudioSink] from a lambda. It runs on the sink's own thread every 10 ms, in order; return quickly. */
fun audioSink(block: (AudioFrame) -> Unit): AudioSink = object : AudioSink {
    override fun onAudio(frame: AudioFrame) = block(frame)
}

/** A [VideoSource] from a lambda, pulled on the engine's video thread at the encoder's frame rate. */
fun videoSource(block: () -> CapturedFrame?): VideoSource = object : VideoSource {
    override fun readFrame(): CapturedFrame? = block()
}

/** An [AudioSource] from a lambda, pulled on the engine's audio thread every 10 ms. */
fun audioSource(block: () -> AudioFrame?): AudioSource = object : AudioSource {
    override fun readAudio(): AudioFrame? = block()
}

/**
 * A [LogListener] from a lambda, for [setLogListener]: e.g.
 * `setLogListener(logListener { level, target, message -> Timber.tag("Hotline").d("%s: %s", target, message) })`.
 * It runs on the SDK's logging thread, one record at a time, in order; return quickly.
 */
fun logListener(block: (level: LogLevel, target: String, message: String) -> Unit): LogListener = object : LogListener {
    override fun onLog(level: LogLevel, target: String, message: String) = block(level, target, message)
}

/**
 * Read an FCM push from its data map (`RemoteMessage.data`): passes `data["hotline"]`
 * to [HotlineEngine.handlePushPayload]. Throws `HotlineException.Api(-1202, …)`
 * when the map has no `hotline` key (a push that is not Hotline's).
 */
fun HotlineEngine.handlePushPayload(data: Map<String, String>): PushAction {
    val payload = data["hotline"]
        ?: throw HotlineException.Api(-1202, "not a Hotline push: the data has no \"hotline\" key")
    return handlePushPayload(payload)
}

/** Log out and free the engine now (instead of when it is garbage collected). */
suspend fun HotlineEngine.shutdown() {
    try {
        unInit()
    } finally {
        close()
    }
}
