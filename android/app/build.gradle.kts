// The demo app. `./gradlew :app:assembleDebug` from android/ builds
// app/build/outputs/apk/debug/app-debug.apk with the SDK module and, per ABI,
// libhotline_ffi.so (built by the :hotline module's cargo-ndk task) and JNA's
// libjnidispatch.so. Not run on the Linux build machine; there,
// scripts/build-android.sh builds the same APK without Gradle.
plugins {
    id("com.android.application")
    kotlin("android")
}

android {
    namespace = "io.hotline.demo"
    compileSdk = 35
    defaultConfig {
        applicationId = "io.hotline.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1"
        // The ABIs the SDK ships libhotline_ffi.so for.
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(project(":hotline"))
    // Plain framework views: no AppCompat, Material or Compose.
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // In a real app, Firebase Cloud Messaging delivers the push that rings
    // while the app is not running (docs/android.md, "Push"):
    // implementation(platform("com.google.firebase:firebase-bom:33.7.0"))
    // implementation("com.google.firebase:firebase-messaging")
}
