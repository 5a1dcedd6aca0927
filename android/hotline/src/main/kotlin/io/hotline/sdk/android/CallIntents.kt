package io.hotline.sdk.android

import android.app.PendingIntent
import android.content.Context
import android.content.Intent

/** The PendingIntents of the call notifications: actions for the SDK's receiver, activities for taps. */
internal object CallIntents {
    const val ACTION_ANSWER = "io.hotline.sdk.action.ANSWER"
    const val ACTION_DECLINE = "io.hotline.sdk.action.DECLINE"
    const val ACTION_HANGUP = "io.hotline.sdk.action.HANGUP"
    const val EXTRA_CALL_ID = "io.hotline.sdk.extra.CALL_ID"

    private const val FLAGS = PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE

    fun action(context: Context, action: String, callId: String, requestCode: Int): PendingIntent {
        val intent = Intent(context, HotlineActionReceiver::class.java)
            .setAction(action)
            .setPackage(context.packageName)
            .putExtra(EXTRA_CALL_ID, callId)
        return PendingIntent.getBroadcast(context, requestCode, intent, FLAGS)
    }

    /** The app's activity for [target] (or its launcher activity), with the call ID. */
    fun activity(context: Context, target: Class<out android.app.Activity>?, callId: String, requestCode: Int): PendingIntent? {
        val intent = if (target != null) Intent(context, target)
        else context.packageManager.getLaunchIntentForPackage(context.packageName) ?: return null
        intent.addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_SINGLE_TOP)
            .putExtra(EXTRA_CALL_ID, callId)
        return PendingIntent.getActivity(context, requestCode, intent, FLAGS)
    }
}
