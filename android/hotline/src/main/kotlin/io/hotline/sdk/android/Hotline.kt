package io.hotline.sdk.android

import android.annotation.SuppressLint
import android.content.Context
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.util.Log
import io.hotline.sdk.AudioPlaybackDevice
import io.hotline.sdk.CallEvent
import io.hotline.sdk.CallEventObserver
import io.hotline.sdk.CallParams
import io.hotline.sdk.CallRecord
import io.hotline.sdk.Camera
import io.hotline.sdk.EndReason
import io.hotline.sdk.EngineConfig
import io.hotline.sdk.HotlineEngine
import io.hotline.sdk.HotlineException
import io.hotline.sdk.MediaType
import io.hotline.sdk.PushEnvironment
import io.hotline.sdk.PushProvider
import io.hotline.sdk.RecordFilter
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * Hotline on Android: one engine per process, the call state for the UI,
 * and the system integration (notifications, the foreground service,
 * Telecom, camera, microphone, audio routing, network changes).
 *
 * Threads: engine events are handled on the main thread (posted from the
 * engine's thread), so [callState] changes and every system call happen
 * there. The `suspend` functions never need the main thread: call them from
 * any coroutine.
 */
@SuppressLint("StaticFieldLeak") // holds the application context only
object Hotline {
    private const val TAG = "Hotline"

    private var appContext: Context? = null
    private var engineOrNull: HotlineEngine? = null
    private val state = MutableStateFlow<CallUiState>(CallUiState.SignedOut)
    private val loginLock = Mutex()
    private lateinit var store: LoginStore
    private lateinit var effects: CallEffects
    private var network: NetworkMonitor? = null
    @Volatile private var loggedIn = false
    /** A call the user answered in the system UI before the engine reported it (push). */
    @Volatile private var acceptWhenConfirmed: String? = null
    @Volatile private var rejectWhenConfirmed: String? = null
    /** The call this user hung up or rejected, for the DisconnectCause. */
    @Volatile internal var endedLocally: String? = null

    internal var main = Handler(Looper.getMainLooper())
        private set
    internal val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    /** The app's configuration, from [init]. */
    lateinit var config: HotlineConfig
        private set

    /** The camera, microphone, speaker and renderers the engine drives. */
    lateinit var devices: HotlineDevices
        private set

    /** The engine, for anything this object does not wrap. */
    val engine: HotlineEngine
        get() = engineOrNull ?: error("call Hotline.init(context) first (in Application.onCreate)")

    /** The call screen's state; changes on the main thread. */
    val callState: StateFlow<CallUiState> = state.asStateFlow()

    /** The last successful login, kept for push wake-ups (null after [logout]). */
    val savedLogin: SavedLogin?
        get() = if (appContext == null) null else store.login

    val isInitialized: Boolean
        get() = engineOrNull != null

    /** Create the engine and hook it to the system. Idempotent: later calls are ignored. */
    @Synchronized
    fun init(context: Context, config: HotlineConfig = HotlineConfig()) {
        if (engineOrNull != null) return
        val app = context.applicationContext ?: context
        appContext = app
        main = Handler(Looper.getMainLooper())
        this.config = config
        store = LoginStore(app)
        val engine = HotlineEngine()
        engineOrNull = engine
        devices = HotlineDevices(app)
        devices.attach(engine)
        effects = CallEffects(app)
        CallNotifications.createChannels(app)
        if (config.useTelecom) TelecomAccount.register(app)
        engine.addObserver(CallEventObserver { event -> main.post { onEngineEvent(event) } })
        network = NetworkMonitor(app) { engine.notifyNetworkChangedSafely() }.also { it.start() }
        store.pushToken?.let { registerToken(it) }
    }

    /**
     * Free the engine and unhook from the system: the call (if any) ends
     * here, the saved login stays for the next [init]. For tests and apps
     * that turn calling off; [init] may be called again afterwards.
     */
    suspend fun shutdown() {
        val engine = synchronized(this) { engineOrNull.also { engineOrNull = null } } ?: return
        network?.stop()
        network = null
        runCatching { engine.unInit() }
        devices.release()
        engine.close()
        loggedIn = false
        acceptWhenConfirmed = null
        rejectWhenConfirmed = null
        endedLocally = null
        val ended = state.value
        state.value = CallUiState.SignedOut
        if (ended.isActive) {
            CallNotifications.cancel(context())
            HotlineCallService.stop(context())
        }
        TelecomCalls.reset()
        main.removeCallbacksAndMessages(null)
    }

    internal fun context(): Context = appContext ?: error("call Hotline.init(context) first")

    /** Log in (the engine's `init`) and remember the login for push wake-ups. */
    suspend fun login(serverUrl: String, userId: String, userSig: String) {
        loginLock.withLock { loginLocked(serverUrl, userId, userSig) }
    }

    /** Log in with the credentials provider or the saved login, unless logged in already (a push woke the app). */
    internal suspend fun loginIfNeeded(serverUrl: String?) {
        loginLock.withLock {
            if (loggedIn) return
            val creds = config.credentialsProvider?.credentials(serverUrl ?: store.login?.serverUrl.orEmpty())
                ?: store.login
                ?: run { Log.w(TAG, "a push arrived but there is no saved login"); return }
            loginLocked(creds.serverUrl.ifEmpty { serverUrl.orEmpty() }, creds.userId, creds.userSig)
        }
    }

    private suspend fun loginLocked(serverUrl: String, userId: String, userSig: String) {
        engine.init(
            EngineConfig(
                serverUrl = serverUrl, sdkAppId = config.sdkAppId, userId = userId, userSig = userSig,
                trustedCaPem = config.trustedCaPem,
            ),
        )
        loggedIn = true
        store.login = SavedLogin(serverUrl, userId, userSig)
        if (config.multiDevice) runCatching { engine.enableMultiDeviceAbility(true) }
        main.post { if (state.value == CallUiState.SignedOut) setState(CallUiState.Idle) }
    }

    /** Stop receiving pushes for this device, log out and forget the saved login. */
    suspend fun logout() {
        loginLock.withLock {
            runCatching { engine.unregisterPushToken() }
            runCatching { engine.unInit() }
            loggedIn = false
            store.login = null
            main.post { setState(CallUiState.SignedOut) }
        }
    }

    fun isLoggedIn(): Boolean = loggedIn

    /** Call [userIds] (more than one makes a group call). */
    suspend fun call(userIds: List<String>, mediaType: MediaType) {
        val dialing = CallUiState.Dialing("", userIds, mediaType, userIds.size > 1)
        runOnMain { setState(dialing) }
        try {
            val callId = engine.calls(userIds, mediaType, CallParams())
            runOnMain {
                val now = state.value
                if (now is CallUiState.Dialing && now.callId.isEmpty()) setState(now.copy(callId = callId))
            }
        } catch (e: HotlineException) {
            runOnMain { if (state.value === dialing) setState(CallUiState.Ended("", EndReason.UNKNOWN, connected = false)) }
            throw e
        }
    }

    /** Answer the ringing call; from a push, as soon as the engine has it. */
    suspend fun accept() {
        val ringing = state.value as? CallUiState.Ringing
        if (ringing != null && !ringing.confirmed) {
            acceptWhenConfirmed = ringing.callId
            return
        }
        engine.accept()
    }

    /** Decline the ringing call. */
    suspend fun reject() {
        val ringing = state.value as? CallUiState.Ringing
        endedLocally = ringing?.callId
        if (ringing != null && !ringing.confirmed) {
            // Known only from a push: log in so the server learns about it, then reject.
            acceptWhenConfirmed = null
            rejectWhenConfirmed = ringing.callId
            return
        }
        engine.reject()
    }

    /** Hang up (or cancel the outgoing invitation). */
    suspend fun hangup() {
        endedLocally = state.value.callIdOrNull
        engine.hangup()
    }

    fun setMicrophoneMuted(muted: Boolean) {
        if (muted) engine.closeMicrophone() else engine.openMicrophone()
        updateInCall { it.copy(micMuted = muted) }
    }

    fun setCameraOn(on: Boolean) {
        val front = (state.value as? CallUiState.InCall)?.frontCamera ?: true
        if (on) engine.openCamera(if (front) Camera.FRONT else Camera.BACK) else engine.closeCamera()
        updateInCall { it.copy(cameraOn = on) }
    }

    fun switchCamera() {
        val front = (state.value as? CallUiState.InCall)?.frontCamera ?: devices.camera.value.let { it != Camera.BACK }
        engine.switchCamera(if (front) Camera.BACK else Camera.FRONT)
        updateInCall { it.copy(frontCamera = !front) }
    }

    fun setSpeakerOn(on: Boolean) {
        engine.selectAudioPlaybackDevice(if (on) AudioPlaybackDevice.SPEAKERPHONE else AudioPlaybackDevice.EARPIECE)
        updateInCall { it.copy(speakerOn = on) }
    }

    /** Leave the [CallUiState.Ended] screen: back to Idle (or SignedOut). */
    fun dismissEndedCall() = runOnMain {
        if (state.value is CallUiState.Ended) setState(if (loggedIn) CallUiState.Idle else CallUiState.SignedOut)
    }

    /** The user's latest calls, newest first. */
    suspend fun recentCalls(count: Int = 50): List<CallRecord> =
        engine.queryRecentCalls(RecordFilter(count = count.toUInt()))

    /**
     * The engine leaves the devices to the shell: open the microphone (and,
     * for video, the front camera) when a call begins, close them when it ends.
     */
    internal fun startCallMedia(mediaType: MediaType) {
        val engine = engineOrNull ?: return
        engine.openMicrophone()
        if (mediaType == MediaType.VIDEO) engine.openCamera(Camera.FRONT)
    }

    internal fun stopCallMedia() {
        val engine = engineOrNull ?: return
        engine.closeCamera()
        engine.closeMicrophone()
    }

    /** Register this device's FCM token (now if logged in, else after the next login). */
    internal fun registerToken(token: String) {
        if (config.fcmProjectId.isEmpty()) {
            Log.w(TAG, "HotlineConfig.fcmProjectId is empty: the push token is not registered")
            return
        }
        scope.launch {
            try {
                engine.registerPushToken(PushProvider.FCM, token, config.fcmProjectId, PushEnvironment.PRODUCTION)
            } catch (e: HotlineException) {
                Log.w(TAG, "registerPushToken failed: ${e.message}")
            }
        }
    }

    internal fun rememberToken(token: String) {
        store.pushToken = token
    }

    /** Show a call known only from a push (main thread). */
    internal fun showPushedCall(ringing: CallUiState.Ringing) {
        if (state.value.isActive) return
        setState(ringing)
        // Stop ringing at the deadline if the engine never confirms the call.
        val delay = ringing.deadlineMs - System.currentTimeMillis()
        main.postDelayed({
            val now = state.value
            if (now is CallUiState.Ringing && now.callId == ringing.callId && !now.confirmed) {
                setState(CallUiState.Ended(ringing.callId, EndReason.NO_RESPONSE, connected = false, incoming = true))
            }
        }, delay.coerceIn(0, 10 * 60 * 1000))
    }

    /** End a call shown from a push because a cancel push came (main thread). */
    internal fun endPushedCall(callId: String, reason: EndReason) {
        val now = state.value
        if (now is CallUiState.Ringing && now.callId == callId) {
            setState(CallUiState.Ended(callId, reason, connected = false, incoming = true))
        }
    }

    private fun onEngineEvent(event: CallEvent) {
        if (event is CallEvent.KickedOffline || event is CallEvent.UserSigExpired) loggedIn = false
        val next = CallStateReducer.reduce(state.value, event, SystemClock.elapsedRealtime())
        setState(next)
        if (event is CallEvent.CallReceived) answerPendingPush(event.callId)
    }

    private fun answerPendingPush(callId: String) {
        if (acceptWhenConfirmed == callId) {
            acceptWhenConfirmed = null
            scope.launch { runCatching { engine.accept() }.onFailure { Log.w(TAG, "accept failed: ${it.message}") } }
        } else if (rejectWhenConfirmed == callId) {
            rejectWhenConfirmed = null
            scope.launch { runCatching { engine.reject() }.onFailure { Log.w(TAG, "reject failed: ${it.message}") } }
        }
    }

    private fun updateInCall(change: (CallUiState.InCall) -> CallUiState.InCall) = runOnMain {
        (state.value as? CallUiState.InCall)?.let { setState(change(it)) }
    }

    /** Apply a new state and its side effects (main thread only). */
    private fun setState(next: CallUiState) {
        val previous = state.value
        if (previous == next) return
        state.value = next
        effects.onTransition(previous, next)
    }

    private fun runOnMain(block: () -> Unit) {
        if (Looper.myLooper() == Looper.getMainLooper()) block() else main.post(block)
    }
}
