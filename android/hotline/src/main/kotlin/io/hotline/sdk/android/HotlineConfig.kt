package io.hotline.sdk.android

import android.app.Activity

/**
 * How [Hotline] runs in this app. Pass it to [Hotline.init] from
 * `Application.onCreate`, which also runs before a push wakes the app.
 */
data class HotlineConfig(
    /** The SDKAppID the server was started with. */
    val sdkAppId: ULong = 1400000000uL,
    /** Opened full screen (lock screen) for an incoming call; null: the app's launcher activity. */
    val incomingCallActivity: Class<out Activity>? = null,
    /** Opened by tapping the ongoing-call notification; null: the app's launcher activity. */
    val inCallActivity: Class<out Activity>? = null,
    /** Report calls to the system through a self-managed ConnectionService (Telecom). */
    val useTelecom: Boolean = true,
    /** The Firebase project ID that FCM tokens are registered for; empty: tokens are not registered. */
    val fcmProjectId: String = "",
    /** Ring on every device of the user (TUICallEngine's multi-device ability). */
    val multiDevice: Boolean = false,
    /**
     * Where a push-woken app gets credentials to log in with. Null: the last
     * successful [Hotline.login], kept in the app's private SharedPreferences.
     */
    val credentialsProvider: CredentialsProvider? = null,
    /**
     * PEM certificates to trust, besides the engine's built-in roots, for a
     * wss:// server and its turns: relays (a private CA or a self-signed
     * server certificate). Null: the built-in roots only.
     */
    val trustedCaPem: String? = null,
)

/** Supplies a fresh login (for example a new UserSig from the app's backend) when a push wakes the app. */
fun interface CredentialsProvider {
    /** The login to use for [serverUrl] (the push's server), or null to stay signed out. */
    suspend fun credentials(serverUrl: String): SavedLogin?
}

/** A login: where, who, and the UserSig that proves it. */
data class SavedLogin(val serverUrl: String, val userId: String, val userSig: String)
