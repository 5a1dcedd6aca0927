package io.hotline.sdk.android

import android.content.ComponentName
import android.content.Context
import android.telecom.PhoneAccount
import android.telecom.PhoneAccountHandle
import android.telecom.TelecomManager
import android.util.Log

/** The app's self-managed PhoneAccount: how Telecom knows Hotline's calls. */
object TelecomAccount {
    const val URI_SCHEME = "hotline"
    private const val ACCOUNT_ID = "hotline"

    fun handle(context: Context) =
        PhoneAccountHandle(ComponentName(context, HotlineConnectionService::class.java), ACCOUNT_ID)

    fun register(context: Context) {
        val telecom = context.getSystemService(TelecomManager::class.java) ?: return
        val label = context.applicationInfo.loadLabel(context.packageManager)
        val account = PhoneAccount.builder(handle(context), label)
            .setCapabilities(
                PhoneAccount.CAPABILITY_SELF_MANAGED or
                    PhoneAccount.CAPABILITY_VIDEO_CALLING or
                    PhoneAccount.CAPABILITY_SUPPORTS_VIDEO_CALLING,
            )
            .addSupportedUriScheme(URI_SCHEME)
            .build()
        try {
            telecom.registerPhoneAccount(account)
        } catch (e: SecurityException) {
            // MANAGE_OWN_CALLS missing from the manifest: calls work without the system UI.
            Log.w("Hotline", "cannot register the PhoneAccount: ${e.message}")
        }
    }
}
