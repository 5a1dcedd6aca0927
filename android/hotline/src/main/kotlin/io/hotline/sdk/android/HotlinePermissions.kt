package io.hotline.sdk.android

import android.Manifest
import android.app.NotificationManager
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.Settings

/**
 * The permissions calls need. Runtime ones ([required], [missing]) are
 * requested by the app's activity; USE_FULL_SCREEN_INTENT (API 34+) is
 * granted in Settings ([fullScreenIntentSettings]); MANAGE_OWN_CALLS is
 * granted at install (it is in the module's manifest).
 */
object HotlinePermissions {
    /** The runtime permissions a call needs on this device. */
    fun required(context: Context, video: Boolean): List<String> = buildList {
        add(Manifest.permission.RECORD_AUDIO)
        if (video) add(Manifest.permission.CAMERA)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) add(Manifest.permission.POST_NOTIFICATIONS)
    }

    /** The ones of [required] not granted yet: pass them to `requestPermissions`. */
    fun missing(context: Context, video: Boolean): List<String> = required(context, video).filterNot { granted(context, it) }

    fun granted(context: Context, permission: String): Boolean =
        context.checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED

    /** Whether an incoming call may take the screen (API 34+ asks the user; before, always). */
    fun canUseFullScreenIntent(context: Context): Boolean {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.UPSIDE_DOWN_CAKE) return true
        return context.getSystemService(NotificationManager::class.java)?.canUseFullScreenIntent() ?: false
    }

    /** Settings' page for the full-screen permission (API 34+), or null before. */
    fun fullScreenIntentSettings(context: Context): Intent? {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.UPSIDE_DOWN_CAKE) return null
        return Intent(Settings.ACTION_MANAGE_APP_USE_FULL_SCREEN_INTENT, Uri.parse("package:${context.packageName}"))
    }

    /** Whether the app may report its calls to Telecom. */
    fun canManageOwnCalls(context: Context): Boolean = granted(context, Manifest.permission.MANAGE_OWN_CALLS)

    /** Whether notifications are on (POST_NOTIFICATIONS on API 33+, and the user's switch). */
    fun notificationsEnabled(context: Context): Boolean =
        context.getSystemService(NotificationManager::class.java)?.areNotificationsEnabled() ?: false
}
