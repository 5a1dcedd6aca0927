// A CallController for the demo app's screen tests: a state the test sets,
// and a record of what the screens asked for. No engine, no server.
package io.hotline.demo.test

import android.content.Context
import android.view.View
import io.hotline.demo.CallController
import io.hotline.sdk.CallRecord
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.SavedLogin
import kotlinx.coroutines.flow.MutableStateFlow

class FakeCalls(initial: CallUiState, override var savedLogin: SavedLogin? = null) : CallController {
    override val state = MutableStateFlow(initial)
    var records: List<CallRecord> = emptyList()
    val asked = mutableListOf<String>()
    val videoViews = mutableListOf<String?>()
    val released = mutableListOf<View>()

    override suspend fun login(serverUrl: String, userId: String, userSig: String) {
        asked += "login $serverUrl $userId $userSig"
    }
    override suspend fun logout() { asked += "logout" }
    override suspend fun call(userIds: List<String>, mediaType: MediaType) { asked += "call ${userIds.joinToString(",")} $mediaType" }
    override suspend fun accept() { asked += "accept" }
    override suspend fun reject() { asked += "reject" }
    override suspend fun hangup() { asked += "hangup" }
    override fun setMicrophoneMuted(muted: Boolean) { asked += "mute $muted" }
    override fun setCameraOn(on: Boolean) { asked += "camera $on" }
    override fun switchCamera() { asked += "switch camera" }
    override fun setSpeakerOn(on: Boolean) { asked += "speaker $on" }
    override suspend fun recentCalls(): List<CallRecord> = records

    override fun videoView(context: Context, userId: String?): View {
        videoViews += userId
        return View(context)
    }
    override fun releaseVideoView(view: View) { released += view }
}
