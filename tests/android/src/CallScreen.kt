// Stands in for the app's incoming-call and in-call activities (HotlineConfig).
package io.hotline.sdk.android.test

import android.app.Activity

class CallScreen : Activity()
