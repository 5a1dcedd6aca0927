#!/usr/bin/env bash
# The APK step of scripts/build-android.sh: the SDK (android/hotline) and the
# demo app (android/app) built into a signed debug APK without Gradle and
# without Google's Android SDK:
#
#   libraries   android/apk-dependencies/pom.xml, from Maven Central with mvn;
#               android.jar is org.robolectric:android-all (API 35), d8 is
#               com.android.tools:r8
#   manifests   the app's, with the SDK's and the AARs' merged in
#               (scripts/android/MergeManifests.java)
#   resources   aapt2 (Debian): the app's, the SDK's and the AARs', with an R
#               class for each package
#   code        kotlinc: the SDK, then the app against it; d8; zipalign;
#               apksigner with a debug key made in build/android/
#
#   scripts/android/build-apk.sh yes|no   # whether jniLibs/<abi>/libhotline_ffi.so goes in
#
# The generated Kotlin must be in android/hotline/src/main/kotlin/io/hotline/sdk/generated/
# (scripts/build-android.sh writes it). Steps whose inputs did not change are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

native="${1:?usage: $0 yes|no}"
APP_ID=io.hotline.demo          # android/app/build.gradle.kts: namespace, applicationId
SDK_NAMESPACE=io.hotline.sdk    # android/hotline/build.gradle.kts: namespace
MIN_SDK=26
TARGET_SDK=35
VERSION_CODE=1
VERSION_NAME=0.1
ANDROID_ALL=org.robolectric:android-all:15-robolectric-13954326
# aapt2 links resources against API 34's: Debian's aapt2 (2.19) cannot read
# API 35's resources.arsc ("RES_TABLE_TYPE_TYPE entry offsets overlap"). The
# code still compiles against API 35, and targetSdkVersion is 35.
ANDROID_ALL_RES=org.robolectric:android-all:14-robolectric-10818077
R8=com.android.tools:r8:8.5.35
ABIS=(arm64-v8a armeabi-v7a x86_64)
sdk_dir=android/hotline/src/main
app_dir=android/app/src/main
b=build/android
apk_name=hotline-demo-debug
[ "$native" = no ] && apk_name=hotline-demo-debug-no-native

step() { say "apk: [${SECONDS}s] $*"; }
fail() { echo "error: $*" >&2; exit 1; }
# A stamp of the given files and strings; a step reruns when it changes.
stamp_of() { { cat "$@" 2>/dev/null; echo "$*"; } | sha256sum | cut -c1-16; }
fresh() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }

# --- tools ---------------------------------------------------------------------
command -v java >/dev/null && command -v javac >/dev/null || need_apt default-jdk-headless
need_apt maven aapt zipalign apksigner zip unzip
need_kotlinc
[ -f "$sdk_dir/kotlin/io/hotline/sdk/generated/hotline_ffi.kt" ] ||
  fail "the generated Kotlin is missing; run scripts/build-android.sh"

# --- libraries from Maven Central ------------------------------------------------
# Quiet Maven prints only errors (and stray colour codes, dropped here).
mvn_get() { mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$PWD/$b/m2" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^$' || [ "${PIPESTATUS[0]}" -eq 0 ]; }
pom=android/apk-dependencies/pom.xml
libs_stamp="$(stamp_of "$pom" "$ANDROID_ALL" "$ANDROID_ALL_RES" "$R8")"
if ! fresh "$b/libs" "$libs_stamp"; then
  step "fetching the libraries, android-all for API $TARGET_SDK (186 MB) and 34 (138 MB), and d8 from Maven Central into $b/m2"
  rm -rf "$b/libs" "$b/tools" "$b/res-sdk"
  mvn_get -f "$pom" dependency:copy-dependencies -DoutputDirectory="$PWD/$b/libs" ||
    fail "mvn could not fetch the libraries of $pom (is Maven Central reachable?)"
  mvn_get -f "$pom" dependency:copy -Dartifact="$ANDROID_ALL" -DoutputDirectory="$PWD/$b/tools" ||
    fail "mvn could not fetch $ANDROID_ALL"
  mvn_get -f "$pom" dependency:copy -Dartifact="$R8" -DoutputDirectory="$PWD/$b/tools" ||
    fail "mvn could not fetch $R8"
  mvn_get -f "$pom" dependency:copy -Dartifact="$ANDROID_ALL_RES" -DoutputDirectory="$PWD/$b/res-sdk" ||
    fail "mvn could not fetch $ANDROID_ALL_RES"
  echo "$libs_stamp" > "$b/libs/.stamp"
fi
android_jar="$(ls "$b"/tools/android-all-*.jar)"
android_res_jar="$(ls "$b"/res-sdk/android-all-*.jar)"
r8_jar="$(ls "$b"/tools/r8-*.jar)"

# --- AARs: classes, resources, manifests, native libraries ----------------------------
if ! fresh "$b/aars" "$libs_stamp"; then
  step "unpacking the AARs"
  rm -rf "$b/aars"
  for aar in "$b"/libs/*.aar; do
    d="$b/aars/$(basename "$aar" .aar)"
    mkdir -p "$d"
    unzip -q "$aar" -d "$d"
  done
  echo "$libs_stamp" > "$b/aars/.stamp"
fi
# Jars with classes (Kotlin Multiplatform roots such as annotation-1.8.1.jar hold only metadata).
runtime_jars=()
for j in "$b"/libs/*.jar "$b"/aars/*/classes.jar; do
  [ -f "$j" ] && unzip -Z1 "$j" | grep '\.class$' >/dev/null && runtime_jars+=("$j")
done
aar_packages=()
for m in "$b"/aars/*/AndroidManifest.xml; do
  aar_packages+=("$(sed -n 's/.*package="\([^"]*\)".*/\1/p' "$m" | head -n1)")
done

# --- manifests ----------------------------------------------------------------------
step "merging the manifests: the app's, the SDK's and ${#aar_packages[@]} AARs'"
mkdir -p "$b/merged"
lib_manifests=()
[ -f "$sdk_dir/AndroidManifest.xml" ] && lib_manifests+=("$sdk_dir/AndroidManifest.xml")
lib_manifests+=("$b"/aars/*/AndroidManifest.xml)
java scripts/android/MergeManifests.java --package "$APP_ID" --out "$b/merged/AndroidManifest.xml" \
  "$app_dir/AndroidManifest.xml" "${lib_manifests[@]}"

# --- resources ----------------------------------------------------------------------
step "compiling and linking the resources (aapt2)"
rm -rf "$b/res" "$b/gen" "$b/base.apk"
mkdir -p "$b/res" "$b/gen"
overlays=()
# Libraries first, the app last: a later overlay wins, as the app wins in Gradle.
for d in "$b"/aars/*/res "$sdk_dir/res" "$app_dir/res"; do
  [ -d "$d" ] || continue
  z="$b/res/$(echo "$d" | tr '/' '_').zip"
  aapt2 compile --dir "$d" -o "$z"
  overlays+=(-R "$z")
done
extra_packages="$SDK_NAMESPACE"
for p in "${aar_packages[@]}"; do extra_packages+=":$p"; done
aapt2 link -o "$b/base.apk" -I "$android_res_jar" --manifest "$b/merged/AndroidManifest.xml" \
  --min-sdk-version "$MIN_SDK" --target-sdk-version "$TARGET_SDK" \
  --version-code "$VERSION_CODE" --version-name "$VERSION_NAME" --debug-mode \
  --auto-add-overlay "${overlays[@]}" --java "$b/gen" --extra-packages "$extra_packages" \
  2> >(grep -v "Unknown chunk type '200'" >&2) ||
  fail "aapt2 link failed (see above)"
step "compiling the R classes of $APP_ID, $SDK_NAMESPACE and ${#aar_packages[@]} AARs (javac)"
rm -rf "$b/r-classes"
mkdir -p "$b/r-classes"
find "$b/gen" -name '*.java' -print0 | xargs -0 javac -nowarn --release 17 -d "$b/r-classes"

# --- dex the libraries (in the background, while kotlinc runs) --------------------------
d8() { java -cp "$r8_jar" com.android.tools.r8.D8 --release --min-api "$MIN_SDK" --lib "$android_jar" "$@"; }
dex_libs_pid=""
if ! fresh "$b/dex-libs" "$libs_stamp"; then
  step "dexing ${#runtime_jars[@]} library jars (d8, in the background)"
  rm -rf "$b/dex-libs"; mkdir -p "$b/dex-libs"
  ( d8 --intermediate --output "$b/dex-libs" "${runtime_jars[@]}" && echo "$libs_stamp" > "$b/dex-libs/.stamp" ) &
  dex_libs_pid=$!
fi

# --- Kotlin -----------------------------------------------------------------------------
# The Kotlin standard library is kotlin-stdlib from the pom (the compiler's version).
compile_cp="$android_jar:$b/r-classes"
for j in "${runtime_jars[@]}"; do compile_cp+=":$j"; done
kotlinc_to() { # out-dir classpath sources...
  local out="$1" cp="$2"; shift 2
  rm -rf "$out"; mkdir -p "$out"
  # One code-generation thread: kotlinc's parallel back end (-Xbackend-threads=0)
  # once crashed in a fresh-clone run with an ArrayIndexOutOfBoundsException
  # from its own thread pool (JvmIrCodegenFactory.invokeCodegen).
  "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -no-stdlib -no-reflect -Xbackend-threads=1 -cp "$cp" -d "$out" "$@"
}
mapfile -t sdk_sources < <(find "$sdk_dir/kotlin" -name '*.kt' | sort)
find "$b/r-classes" -name '*.class' | sort > "$b/r-classes.list"
sdk_stamp="$(stamp_of "${sdk_sources[@]}" "$b/r-classes.list" "$compile_cp")"
if fresh "$b/sdk-classes" "$sdk_stamp"; then
  step "SDK sources unchanged; reusing $b/sdk-classes"
else
  step "compiling the SDK: ${#sdk_sources[@]} Kotlin files (kotlinc $KOTLIN_VERSION, about a minute)"
  kotlinc_to "$b/sdk-classes" "$compile_cp" "${sdk_sources[@]}" || fail "the SDK does not compile (see above)"
  echo "$sdk_stamp" > "$b/sdk-classes/.stamp"
fi
mapfile -t app_sources < <(find "$app_dir/kotlin" -name '*.kt' | sort)
app_stamp="$(stamp_of "${app_sources[@]}" "$b/r-classes.list" "$sdk_stamp")"
if fresh "$b/app-classes" "$app_stamp"; then
  step "app sources unchanged; reusing $b/app-classes"
else
  step "compiling the app: ${#app_sources[@]} Kotlin files"
  kotlinc_to "$b/app-classes" "$compile_cp:$b/sdk-classes" "${app_sources[@]}" || fail "the app does not compile (see above)"
  echo "$app_stamp" > "$b/app-classes/.stamp"
fi

# --- dex ----------------------------------------------------------------------------------
if [ -n "$dex_libs_pid" ]; then
  step "waiting for the libraries' d8"
  wait "$dex_libs_pid" || fail "d8 failed on the libraries"
fi
mapfile -t r_sources < <(find "$b/gen" -name '*.java' | sort)
dex_stamp="$(stamp_of "${r_sources[@]}" "$sdk_stamp" "$app_stamp" "$libs_stamp")"
if fresh "$b/dex" "$dex_stamp"; then
  step "classes unchanged; reusing $b/dex"
else
  step "dexing the SDK, the app and the R classes, and merging with the libraries (d8)"
  rm -rf "$b/classes-jar" "$b/dex"; mkdir -p "$b/classes-jar" "$b/dex"
  for d in sdk-classes app-classes r-classes; do
    (cd "$b/$d" && zip -q -r "$OLDPWD/$b/classes-jar/$d.jar" . -i '*.class')
  done
  d8 --output "$b/dex" "$b"/dex-libs/*.dex "$b"/classes-jar/*.jar || fail "d8 failed on the SDK, the app or the merge"
  echo "$dex_stamp" > "$b/dex/.stamp"
fi

# --- package -------------------------------------------------------------------------------
step "packaging: dex, Java service files, native libraries"
rm -rf "$b/pkg"; mkdir -p "$b/pkg"
cp "$b/base.apk" "$b/pkg/unaligned.apk"
(cd "$b/dex" && zip -q "$OLDPWD/$b/pkg/unaligned.apk" classes*.dex)
# ServiceLoader files (kotlinx-coroutines-android's Dispatchers.Main is found this way).
mkdir -p "$b/pkg/java-res"
for j in "${runtime_jars[@]}"; do
  unzip -qo "$j" 'META-INF/services/*' -d "$b/pkg/java-res" 2>/dev/null || true
done
[ -d "$b/pkg/java-res/META-INF" ] && (cd "$b/pkg/java-res" && zip -q -r "$OLDPWD/$b/pkg/unaligned.apk" META-INF)
mkdir -p "$b/pkg/native"
for abi in "${ABIS[@]}"; do
  mkdir -p "$b/pkg/native/lib/$abi"
  for d in "$b"/aars/*/jni/"$abi"; do [ -d "$d" ] && cp "$d"/*.so "$b/pkg/native/lib/$abi/"; done
  if [ "$native" = yes ]; then
    so="$sdk_dir/jniLibs/$abi/libhotline_ffi.so"
    [ -f "$so" ] || fail "$so is missing"
    cp "$so" "$b/pkg/native/lib/$abi/"
  fi
done
(cd "$b/pkg/native" && zip -q -r "$OLDPWD/$b/pkg/unaligned.apk" lib)

step "aligning and signing with the debug key"
zipalign -p -f 4 "$b/pkg/unaligned.apk" "$b/pkg/aligned.apk"
keystore="$b/debug.keystore"
if [ ! -f "$keystore" ]; then
  keytool -genkeypair -keystore "$keystore" -storepass android -keypass android -alias androiddebugkey \
    -keyalg RSA -keysize 2048 -validity 10000 -dname "CN=Android Debug,O=Android,C=US" 2>/dev/null
fi
rm -f "$b"/hotline-demo-debug*.apk "$b"/hotline-demo-debug*.apk.idsig
apk="$b/$apk_name.apk"
apksigner sign --ks "$keystore" --ks-pass pass:android --key-pass pass:android --out "$apk" "$b/pkg/aligned.apk"
rm -f "$apk.idsig"

# --- check ---------------------------------------------------------------------------------
step "checking $apk"
apksigner verify "$apk" || fail "apksigner verify failed"
aapt dump badging "$apk" 2>/dev/null | grep -E "^(package|sdkVersion|targetSdkVersion|launchable-activity|native-code)" || true
echo "apk: $apk ($(du -k "$apk" | cut -f1) KB), signed with $keystore"
if [ "$native" = no ]; then
  echo "apk: it has no libhotline_ffi.so (no Android NDK): it installs and shows its screens, but cannot log in or call." \
    "Set ANDROID_NDK_HOME to build the library into it (docs/android.md)."
fi
