package io.hotline.demo

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.HotlinePermissions
import io.hotline.sdk.android.isActive
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * The launcher screen: the sign-in form when signed out; when signed in, the
 * field to call one or more users and the call history. A call (ringing,
 * dialing, connected) opens [CallActivity].
 */
class MainActivity : Activity() {
    private val controller get() = Demo.controller
    private lateinit var scope: CoroutineScope
    private lateinit var observer: StateObserver<CallUiState>
    private lateinit var permissions: PermissionGate
    private var shownState: CallUiState? = null

    // Sign-in form.
    internal lateinit var signInForm: LinearLayout
    internal lateinit var serverUrl: EditText
    internal lateinit var userId: EditText
    internal lateinit var userSig: EditText
    // Signed in.
    internal lateinit var home: LinearLayout
    internal lateinit var whoAmI: TextView
    internal lateinit var callees: EditText
    internal lateinit var history: LinearLayout
    internal lateinit var fullScreenHint: TextView
    /** Errors and progress. */
    internal lateinit var status: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        scope = CoroutineScope(SupervisorJob() + Demo.background)
        permissions = PermissionGate(this) { denied -> showStatus("Not granted: ${denied.joinToString { it.substringAfterLast('.') }}", error = true) }
        setContentView(ScrollView(this).apply { addView(buildViews()) })
        observer = StateObserver(controller.state, ::render)
    }

    override fun onResume() {
        super.onResume()
        fullScreenHint.shown = home.shown && !HotlinePermissions.canUseFullScreenIntent(this)
    }

    override fun onDestroy() {
        observer.close()
        scope.cancel()
        super.onDestroy()
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) =
        this.permissions.onResult(requestCode, permissions, grantResults)

    private fun buildViews(): LinearLayout {
        val root = column()
        status = label(size = 14f)
        val saved = controller.savedLogin
        serverUrl = field("Server URL").apply { setText(saved?.serverUrl ?: "ws://10.0.2.2:8080/ws") }
        userId = field("User ID").apply { setText(saved?.userId.orEmpty()) }
        userSig = field("UserSig (empty: fetch one from a --dev-usersig server)", password = true)
        signInForm = column(0).add(label("Sign in", 22f)).add(serverUrl).add(userId).add(userSig)
            .add(button("Sign in") { signIn() })
        callees = field("User IDs to call, separated by commas")
        whoAmI = label(size = 18f)
        history = column(0)
        fullScreenHint = button("Allow incoming calls to show full screen") {
            HotlinePermissions.fullScreenIntentSettings(this)?.let { startActivity(it) }
        }
        home = column(0)
            .add(row().add(whoAmI, 1f).add(button("Sign out") { signOut() }))
            .add(fullScreenHint)
            .add(callees)
            .add(row().add(button("Audio call") { call(MediaType.AUDIO) }, 1f).add(button("Video call") { call(MediaType.VIDEO) }, 1f))
            .add(row().add(label("Recent calls", 18f), 1f).add(button("Refresh") { loadHistory() }))
            .add(history)
        return root.add(signInForm).add(home).add(status)
    }

    /** Show [state]: the form when signed out, the home screen otherwise. */
    internal fun render(state: CallUiState) {
        val previous = shownState
        shownState = state
        val signedOut = state is CallUiState.SignedOut
        signInForm.shown = signedOut
        home.shown = !signedOut
        fullScreenHint.shown = !signedOut && !HotlinePermissions.canUseFullScreenIntent(this)
        if (!signedOut) whoAmI.text = "Signed in as ${controller.savedLogin?.userId ?: userId.text}"
        val entering = previous == null || previous is CallUiState.SignedOut || previous.isActive
        if (state is CallUiState.Idle && entering) loadHistory()
        if (state.isActive && previous?.isActive != true) {
            startActivity(Intent(this, CallActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_SINGLE_TOP))
        }
    }

    private fun signIn() {
        val url = serverUrl.text.toString().trim()
        val user = userId.text.toString().trim()
        val sig = userSig.text.toString().trim()
        if (url.isEmpty() || user.isEmpty()) return showStatus("Enter the server URL and a user ID", error = true)
        showStatus(if (sig.isEmpty()) "Fetching a development UserSig…" else "Signing in…")
        scope.launch {
            try {
                controller.login(url, user, sig.ifEmpty { DevUserSig.fetch(url, user) })
                runOnUiThread { showStatus("") }
            } catch (e: Exception) {
                runOnUiThread { showStatus("Sign-in failed: ${e.message}", error = true) }
            }
        }
    }

    private fun signOut() {
        scope.launch { runCatching { controller.logout() } }
    }

    private fun call(mediaType: MediaType) {
        val ids = Labels.userIds(callees.text.toString())
        if (ids.isEmpty()) return showStatus("Enter one or more user IDs to call", error = true)
        permissions.runWith(video = mediaType == MediaType.VIDEO) {
            showStatus("")
            scope.launch {
                try {
                    controller.call(ids, mediaType)
                } catch (e: Exception) {
                    runOnUiThread { showStatus("Call failed: ${e.message}", error = true) }
                }
            }
        }
    }

    private fun loadHistory() {
        val me = controller.savedLogin?.userId
        scope.launch {
            val lines = try {
                controller.recentCalls().map { Labels.record(it, me) }.ifEmpty { listOf("No calls yet") }
            } catch (e: Exception) {
                listOf("Cannot load the call history: ${e.message}")
            }
            runOnUiThread {
                history.removeAllViews()
                lines.forEach { history.add(label(it, 14f)) }
            }
        }
    }

    private fun showStatus(text: String, error: Boolean = false) {
        status.text = text
        status.setTextColor(if (error) ERROR_COLOR else whoAmI.currentTextColor)
    }
}
