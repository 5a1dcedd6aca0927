// Plugin versions for both modules (settings.gradle.kts lists them).
plugins {
    id("com.android.application") version "8.7.3" apply false
    id("com.android.library") version "8.7.3" apply false
    kotlin("android") version "2.1.0" apply false
}
