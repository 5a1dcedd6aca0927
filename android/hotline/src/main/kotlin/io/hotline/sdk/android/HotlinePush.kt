package io.hotline.sdk.android

import android.content.Context
import android.util.Log
import io.hotline.sdk.EndReason
import io.hotline.sdk.HotlineException
import io.hotline.sdk.PushAction
import io.hotline.sdk.PushCancelReason
import io.hotline.sdk.handlePushPayload
import kotlinx.coroutines.launch

/**
 * The entry point for FCM: an app's FirebaseMessagingService passes each
 * message's data map and each new token here. The SDK itself does not
 * depend on Firebase.
 *
 * ```kotlin
 * class PushService : FirebaseMessagingService() {
 *     override fun onMessageReceived(message: RemoteMessage) { HotlinePush.onMessageReceived(this, message.data) }
 *     override fun onNewToken(token: String) = HotlinePush.onNewToken(this, token)
 * }
 * ```
 */
object HotlinePush {
    /**
     * Handle one FCM data message. A call rings at once from the payload (no
     * network), then the engine logs in (saved login or credentials
     * provider) and takes the call over. Returns false for a message that is
     * not Hotline's.
     */
    fun onMessageReceived(context: Context, data: Map<String, String>): Boolean {
        if (!Hotline.isInitialized) Hotline.init(context)
        val action = try {
            Hotline.engine.handlePushPayload(data)
        } catch (e: HotlineException) {
            return false
        }
        when (action) {
            is PushAction.IncomingCall -> {
                val ringing = CallUiState.Ringing(
                    callId = action.callId, callerId = action.callerId,
                    callerName = action.callerNickname.ifEmpty { action.callerId },
                    mediaType = action.mediaType, isGroup = action.isGroup, invitees = action.invitees,
                    confirmed = false, deadlineMs = action.deadlineMs,
                )
                Hotline.main.post { Hotline.showPushedCall(ringing) }
                Hotline.scope.launch {
                    try {
                        Hotline.loginIfNeeded(action.serverUrl)
                    } catch (e: HotlineException) {
                        Log.w("Hotline", "login after a push failed: ${e.message}")
                    }
                }
            }
            is PushAction.Cancel -> Hotline.main.post { Hotline.endPushedCall(action.callId, endReason(action.reason)) }
            is PushAction.Expired -> {} // it stopped ringing before it arrived: show nothing
        }
        return true
    }

    /** FCM gave this device a (new) token: keep it and register it with the server. */
    fun onNewToken(context: Context, token: String) {
        if (!Hotline.isInitialized) Hotline.init(context)
        Hotline.rememberToken(token)
        Hotline.registerToken(token)
    }

    internal fun endReason(reason: PushCancelReason) = when (reason) {
        PushCancelReason.CANCELED -> EndReason.CANCELED
        PushCancelReason.NO_RESPONSE -> EndReason.NO_RESPONSE
        PushCancelReason.ANSWERED_ELSEWHERE -> EndReason.OTHER_DEVICE_ACCEPTED
        PushCancelReason.REJECTED_ELSEWHERE -> EndReason.OTHER_DEVICE_REJECT
    }
}
