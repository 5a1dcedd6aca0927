package io.hotline.sdk.android

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.Person
import android.content.Context
import android.media.AudioAttributes
import android.media.RingtoneManager
import android.os.Build
import io.hotline.sdk.MediaType

/**
 * The call notifications: the incoming call (CallStyle.forIncomingCall in a
 * high-importance channel with ringtone and vibration, a full-screen intent
 * where allowed) and the ongoing call (CallStyle.forOngoingCall with a
 * hang-up action). One notification ID for the call, so the ongoing one
 * replaces the incoming one. Framework CallStyle on API 31+, an ordinary
 * CATEGORY_CALL notification with actions before.
 */
object CallNotifications {
    const val CALL_NOTIFICATION_ID = 0x4071
    const val INCOMING_CHANNEL = "hotline_incoming_calls"
    const val ONGOING_CHANNEL = "hotline_ongoing_calls"
    private val VIBRATION = longArrayOf(0, 800, 800)

    fun createChannels(context: Context) {
        val nm = context.getSystemService(NotificationManager::class.java) ?: return
        val incoming = NotificationChannel(
            INCOMING_CHANNEL,
            HotlineResources.string(context, "hotline_channel_incoming", "Incoming calls"),
            NotificationManager.IMPORTANCE_HIGH,
        ).apply {
            setSound(
                RingtoneManager.getDefaultUri(RingtoneManager.TYPE_RINGTONE),
                AudioAttributes.Builder()
                    .setUsage(AudioAttributes.USAGE_NOTIFICATION_RINGTONE)
                    .setContentType(AudioAttributes.CONTENT_TYPE_SONIFICATION)
                    .build(),
            )
            enableVibration(true)
            vibrationPattern = VIBRATION
            lockscreenVisibility = Notification.VISIBILITY_PUBLIC
        }
        val ongoing = NotificationChannel(
            ONGOING_CHANNEL,
            HotlineResources.string(context, "hotline_channel_ongoing", "Ongoing calls"),
            NotificationManager.IMPORTANCE_DEFAULT,
        ).apply { setSound(null, null) }
        nm.createNotificationChannel(incoming)
        nm.createNotificationChannel(ongoing)
    }

    /** Post the incoming-call notification now (a push may arrive before the service runs). */
    fun showIncoming(context: Context, ringing: CallUiState.Ringing) {
        context.getSystemService(NotificationManager::class.java)?.notify(CALL_NOTIFICATION_ID, incoming(context, ringing))
    }

    fun cancel(context: Context) {
        context.getSystemService(NotificationManager::class.java)?.cancel(CALL_NOTIFICATION_ID)
    }

    /** The notification the call service shows for [state], or null when there is no call. */
    fun forState(context: Context, state: CallUiState): Notification? = when (state) {
        is CallUiState.Ringing -> incoming(context, state)
        is CallUiState.Dialing -> ongoing(context, state.callId, state.calleeIds.joinToString(), state.mediaType, dialing = true)
        is CallUiState.InCall -> ongoing(context, state.callId, state.remoteUserIds.joinToString(), state.mediaType, dialing = false)
        else -> null
    }

    fun incoming(context: Context, ringing: CallUiState.Ringing): Notification {
        val config = Hotline.config
        val caller = ringing.callerName.ifEmpty { ringing.callerId }
        val answer = CallIntents.action(context, CallIntents.ACTION_ANSWER, ringing.callId, 1)
        val decline = CallIntents.action(context, CallIntents.ACTION_DECLINE, ringing.callId, 2)
        val fullScreen = CallIntents.activity(context, config.incomingCallActivity, ringing.callId, 3)
        val text = if (ringing.mediaType == MediaType.VIDEO) {
            HotlineResources.string(context, "hotline_incoming_video", "Incoming video call")
        } else {
            HotlineResources.string(context, "hotline_incoming_audio", "Incoming voice call")
        }
        val builder = Notification.Builder(context, INCOMING_CHANNEL)
            .setSmallIcon(HotlineResources.callIcon(context))
            .setContentTitle(caller)
            .setContentText(text)
            .setCategory(Notification.CATEGORY_CALL)
            .setOngoing(true)
            .setAutoCancel(false)
            .setVisibility(Notification.VISIBILITY_PUBLIC)
            .setContentIntent(fullScreen)
        if (ringing.deadlineMs > 0) {
            builder.setTimeoutAfter((ringing.deadlineMs - System.currentTimeMillis()).coerceAtLeast(1))
        }
        // Without the permission (API 34+) the channel's high importance makes it a heads-up notification.
        if (fullScreen != null && HotlinePermissions.canUseFullScreenIntent(context)) {
            builder.setFullScreenIntent(fullScreen, true)
        }
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            builder.setStyle(Notification.CallStyle.forIncomingCall(person(caller, ringing.callerId), decline, answer))
        } else {
            builder.addAction(action(context, "hotline_decline", "Decline", decline))
            builder.addAction(action(context, "hotline_answer", "Answer", answer))
        }
        return builder.build()
    }

    fun ongoing(context: Context, callId: String, who: String, mediaType: MediaType, dialing: Boolean): Notification {
        val hangup = CallIntents.action(context, CallIntents.ACTION_HANGUP, callId, 4)
        val open = CallIntents.activity(context, Hotline.config.inCallActivity, callId, 5)
        val text = if (dialing) {
            HotlineResources.string(context, "hotline_dialing", "Calling…")
        } else if (mediaType == MediaType.VIDEO) {
            HotlineResources.string(context, "hotline_ongoing_video", "Video call")
        } else {
            HotlineResources.string(context, "hotline_ongoing_audio", "Voice call")
        }
        val builder = Notification.Builder(context, ONGOING_CHANNEL)
            .setSmallIcon(HotlineResources.callIcon(context))
            .setContentTitle(who)
            .setContentText(text)
            .setCategory(Notification.CATEGORY_CALL)
            .setOngoing(true)
            .setContentIntent(open)
            .setUsesChronometer(!dialing)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            builder.setStyle(Notification.CallStyle.forOngoingCall(person(who, who), hangup))
        } else {
            builder.addAction(action(context, "hotline_hang_up", "Hang up", hangup))
        }
        return builder.build()
    }

    private fun person(name: String, key: String) = Person.Builder().setName(name).setKey(key).setImportant(true).build()

    private fun action(context: Context, name: String, fallback: String, intent: android.app.PendingIntent) =
        Notification.Action.Builder(
            android.graphics.drawable.Icon.createWithResource(context, HotlineResources.callIcon(context)),
            HotlineResources.string(context, name, fallback),
            intent,
        ).build()
}
