package io.hotline.sdk.android

import android.content.Context

/**
 * The last successful login and the push token, in the app's private
 * SharedPreferences, so a push can log in while the app's own code has not
 * run. The UserSig is a credential: it stays in this app's private storage
 * and is never logged.
 */
internal class LoginStore(context: Context) {
    private val prefs = context.getSharedPreferences("io.hotline.sdk.login", Context.MODE_PRIVATE)

    var login: SavedLogin?
        get() {
            val url = prefs.getString(KEY_URL, null) ?: return null
            val user = prefs.getString(KEY_USER, null) ?: return null
            val sig = prefs.getString(KEY_SIG, null) ?: return null
            return SavedLogin(url, user, sig)
        }
        set(value) {
            val edit = prefs.edit()
            if (value == null) {
                edit.remove(KEY_URL).remove(KEY_USER).remove(KEY_SIG)
            } else {
                edit.putString(KEY_URL, value.serverUrl).putString(KEY_USER, value.userId).putString(KEY_SIG, value.userSig)
            }
            edit.apply()
        }

    var pushToken: String?
        get() = prefs.getString(KEY_TOKEN, null)
        set(value) {
            prefs.edit().putString(KEY_TOKEN, value).apply()
        }

    private companion object {
        const val KEY_URL = "server_url"
        const val KEY_USER = "user_id"
        const val KEY_SIG = "user_sig"
        const val KEY_TOKEN = "fcm_token"
    }
}
