// Android library module for Hotline. UNVERIFIED: Gradle and the Android
// Gradle Plugin cannot run on the build machine (Google's Maven is not
// reachable there). Instead the Kotlin layer is compiled and tested on the
// JVM by tests/kotlin/run.sh, and the whole module (io.hotline.sdk.android
// included) by tests/android/run.sh under Robolectric. Run
// scripts/build-android.sh first: it writes src/main/jniLibs/<abi>/libhotline_ffi.so
// and the generated Kotlin.
plugins {
    id("com.android.library")
    kotlin("android")
}

android {
    namespace = "io.hotline.sdk"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    testOptions { targetSdk = 35 }
    lint { targetSdk = 35 }
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
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // The generated Kotlin (uniffi-android.toml, `android = true`) imports
    // androidx.annotation.RequiresApi for its Android cleaner (API 34+).
    implementation("androidx.annotation:annotation:1.9.1")
}

// libhotline_ffi.so for arm64-v8a, armeabi-v7a and x86_64 (cargo-ndk) into
// src/main/jniLibs, and the generated Kotlin read from it, before every build:
// scripts/build-android.sh --native-only. Needs Rust with the three Android
// targets, cargo-ndk and the NDK of `ndkVersion` (docs/android.md).
android.ndkVersion = "27.2.12479018"
val buildRustLibrary by tasks.registering(Exec::class) {
    val repo = rootDir.parentFile
    workingDir = repo
    commandLine(repo.resolve("scripts/build-android.sh").path, "--native-only")
    doFirst { environment("ANDROID_NDK_HOME", android.ndkDirectory.path) }
    inputs.dir(repo.resolve("rust"))
    outputs.dir("src/main/jniLibs")
    outputs.dir("src/main/kotlin/io/hotline/sdk/generated")
}
tasks.named("preBuild") { dependsOn(buildRustLibrary) }
