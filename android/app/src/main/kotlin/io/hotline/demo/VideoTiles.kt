package io.hotline.demo

import android.graphics.Color
import android.view.Gravity
import android.view.View
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.FrameLayout
import android.widget.LinearLayout
import android.widget.TextView
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallUiState
import kotlin.math.ceil
import kotlin.math.sqrt

/**
 * The in-call grid: one tile for this user and one per remote user, each
 * with the user's name and network quality; in a video call a tile holds
 * that user's video. Tiles are rebuilt only when the people change.
 */
class VideoTiles(
    private val grid: LinearLayout,
    private val me: String,
    /** Called with the first remote user's video view (for picture-in-picture). */
    private val onFirstRemoteVideo: (View) -> Unit = {},
) {
    private val context = grid.context
    private var people: List<String> = emptyList()
    private var video = false
    private val videoViews = mutableListOf<View>()
    /** Each tile's label, by user ID ([me] for this user). */
    val labels = linkedMapOf<String, TextView>()

    fun render(state: CallUiState.InCall) {
        val everyone = listOf(me) + state.remoteUserIds
        val wantVideo = state.mediaType == MediaType.VIDEO
        if (everyone != people || wantVideo != video) rebuild(everyone, wantVideo)
        for ((user, label) in labels) {
            val name = if (user == me) "$me (you)" else user
            val camera = if (user == me && video && !state.cameraOn) " · camera off" else ""
            label.text = "$name$camera · ${Labels.quality(state.networkQuality[user])}"
        }
    }

    fun clear() {
        videoViews.forEach { Demo.controller.releaseVideoView(it) }
        videoViews.clear()
        labels.clear()
        grid.removeAllViews()
        people = emptyList()
    }

    private fun rebuild(everyone: List<String>, withVideo: Boolean) {
        clear()
        people = everyone
        video = withVideo
        val columns = ceil(sqrt(everyone.size.toDouble())).toInt().coerceAtLeast(1)
        everyone.chunked(columns).forEach { rowUsers ->
            val row = LinearLayout(context).apply { orientation = LinearLayout.HORIZONTAL }
            rowUsers.forEach { user -> row.addView(tile(user), LinearLayout.LayoutParams(0, MATCH_PARENT, 1f)) }
            grid.addView(row, LinearLayout.LayoutParams(MATCH_PARENT, 0, 1f))
        }
    }

    private fun tile(user: String): FrameLayout {
        val tile = FrameLayout(context).apply { setBackgroundColor(Color.rgb(0x26, 0x32, 0x38)) }
        if (video) {
            val view = Demo.controller.videoView(context, if (user == me) null else user)
            if (people.indexOf(user) == 1) onFirstRemoteVideo(view) // people[0] is this user
            videoViews += view
            tile.addView(view, FrameLayout.LayoutParams(MATCH_PARENT, MATCH_PARENT))
        }
        val label = TextView(context).apply {
            setTextColor(Color.WHITE)
            setShadowLayer(2f, 0f, 0f, Color.BLACK)
            setPadding(context.dp(6), context.dp(4), context.dp(6), context.dp(4))
        }
        labels[user] = label
        tile.addView(label, FrameLayout.LayoutParams(WRAP_CONTENT, WRAP_CONTENT, Gravity.BOTTOM or Gravity.START))
        return tile
    }
}
