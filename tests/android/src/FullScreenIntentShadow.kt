// NotificationManager.canUseFullScreenIntent (API 34+) asks the system
// service, which Robolectric does not model: this shadow lets a test say
// whether the user allowed full-screen intents.
package io.hotline.sdk.android.test

import android.app.NotificationManager
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements
import org.robolectric.shadows.ShadowNotificationManager

@Implements(NotificationManager::class)
class FullScreenIntentShadow : ShadowNotificationManager() {
    @Implementation(minSdk = 34)
    protected fun canUseFullScreenIntent(): Boolean = allowed

    companion object {
        @Volatile @JvmStatic var allowed = true
    }
}
