package io.hotline.demo

import android.content.Context
import android.view.View
import io.hotline.sdk.CallRecord
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.Hotline
import io.hotline.sdk.android.HotlineVideoView
import io.hotline.sdk.android.SavedLogin
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.StateFlow

/**
 * Everything the screens read from and ask of Hotline, in one interface so
 * that tests can show any state without an engine.
 */
interface CallController {
    val state: StateFlow<CallUiState>
    val savedLogin: SavedLogin?

    suspend fun login(serverUrl: String, userId: String, userSig: String)
    suspend fun logout()
    suspend fun call(userIds: List<String>, mediaType: MediaType)
    suspend fun accept()
    suspend fun reject()
    suspend fun hangup()
    fun setMicrophoneMuted(muted: Boolean)
    fun setCameraOn(on: Boolean)
    fun switchCamera()
    fun setSpeakerOn(on: Boolean)
    suspend fun recentCalls(): List<CallRecord>

    /** A view showing this user's camera ([userId] null) or a remote user's video. */
    fun videoView(context: Context, userId: String?): View

    /** Stop rendering into a view from [videoView]. */
    fun releaseVideoView(view: View)
}

/** The real thing: [Hotline]. */
object HotlineController : CallController {
    override val state: StateFlow<CallUiState> get() = Hotline.callState
    override val savedLogin: SavedLogin? get() = Hotline.savedLogin

    override suspend fun login(serverUrl: String, userId: String, userSig: String) = Hotline.login(serverUrl, userId, userSig)
    override suspend fun logout() = Hotline.logout()
    override suspend fun call(userIds: List<String>, mediaType: MediaType) = Hotline.call(userIds, mediaType)
    override suspend fun accept() = Hotline.accept()
    override suspend fun reject() = Hotline.reject()
    override suspend fun hangup() = Hotline.hangup()
    override fun setMicrophoneMuted(muted: Boolean) = Hotline.setMicrophoneMuted(muted)
    override fun setCameraOn(on: Boolean) = Hotline.setCameraOn(on)
    override fun switchCamera() = Hotline.switchCamera()
    override fun setSpeakerOn(on: Boolean) = Hotline.setSpeakerOn(on)
    override suspend fun recentCalls(): List<CallRecord> = Hotline.recentCalls()

    override fun videoView(context: Context, userId: String?): View =
        HotlineVideoView(context).apply { if (userId == null) showLocal() else showRemote(userId) }

    override fun releaseVideoView(view: View) {
        (view as? HotlineVideoView)?.clear()
    }
}

/** What the activities use; tests replace both. */
object Demo {
    @Volatile var controller: CallController = HotlineController

    /** Where the screens run Hotline's suspend functions. */
    @Volatile var background: CoroutineDispatcher = Dispatchers.Default
}
