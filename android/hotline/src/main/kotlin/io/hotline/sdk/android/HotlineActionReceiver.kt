package io.hotline.sdk.android

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.util.Log
import kotlinx.coroutines.launch

/** Answer, decline and hang up from the call notifications. */
class HotlineActionReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (!Hotline.isInitialized) Hotline.init(context)
        val callId = intent.getStringExtra(CallIntents.EXTRA_CALL_ID)
        if (callId != null && callId != Hotline.callState.value.callIdOrNull) {
            Log.i("Hotline", "ignoring ${intent.action} for call $callId, which is not the current one")
            return
        }
        val pending: PendingResult? = goAsync()
        Hotline.scope.launch {
            try {
                when (intent.action) {
                    CallIntents.ACTION_ANSWER -> Hotline.accept()
                    CallIntents.ACTION_DECLINE -> Hotline.reject()
                    CallIntents.ACTION_HANGUP -> Hotline.hangup()
                }
            } catch (e: Exception) {
                Log.w("Hotline", "${intent.action} failed: ${e.message}")
            } finally {
                pending?.finish()
            }
        }
    }
}
