// Android library module for Hotline. UNVERIFIED: Gradle and the Android
// Gradle Plugin cannot run on the build machine (Google's Maven is not
// reachable there); the Kotlin sources are compiled and tested on the JVM by
// tests/kotlin/run.sh instead. Run scripts/build-android.sh first: it writes
// src/main/jniLibs/<abi>/libhotline_ffi.so and the generated Kotlin.
plugins {
    id("com.android.library")
    kotlin("android")
}

android {
    namespace = "io.hotline.sdk"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
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
    // UniFFI's Kotlin calls Rust through JNA; the AAR carries JNA's own native libraries.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
    // The generated Kotlin (uniffi-android.toml, `android = true`) imports
    // androidx.annotation.RequiresApi for its Android cleaner (API 34+).
    implementation("androidx.annotation:annotation:1.9.1")
}
