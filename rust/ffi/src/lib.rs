//! Hotline's UniFFI bindings: the call engine for Kotlin and Swift.
//!
//! This crate is thin on purpose. It converts types between
//! [`hotline_engine`] and what UniFFI can carry, maps every failure to one
//! error ([`HotlineError`], `HotlineException` in Kotlin), and adapts the
//! engine's [`Event`](hotline_engine::Event) enum to one method per
//! TUICallEngine callback on [`CallObserver`]. There is no call logic here.
//!
//! Media: the app's camera and microphone are foreign [`VideoSource`] and
//! [`AudioSource`] objects the engine pulls, renderers and speakers are
//! [`VideoSink`] and [`AudioSink`] objects it pushes to, and the
//! [`DeviceDelegate`] carries out device requests. Foreign code that throws
//! is logged and ignored (`guard`), never a panic on an engine thread.
//!
//! Logs: every crate logs with `log`; the first engine installs our logger
//! (`logging`), which writes to logcat, the unified log or stderr and passes
//! records to the app's [`LogListener`]; [`set_log_level`] sets the level.
//!
//! Generated with the workspace's `uniffi-bindgen` in library mode; see
//! `scripts/bindings.sh` and `docs/bindings.md`.

use std::sync::Arc;

uniffi::setup_scaffolding!();

mod bench;
mod convert;
mod devices;
mod encoder;
mod guard;
mod logging;
mod observer;
mod stats;
mod testing;
mod video;

pub use bench::{
    fire_test_events, pull_test_frames, push_test_frames, FramePullStats, FramePushStats,
};
pub use convert::{
    CallParams, CallRecord, EngineConfig, OfflinePushInfo, PushAction, PushCancelReason,
    PushEnvironment, PushProvider, RecordFilter,
};
pub use devices::{
    AudioFrame, AudioSink, AudioSource, CapturedFrame, DeviceDelegate, FrameFormat,
    VideoRenderParams, VideoSource,
};
pub use encoder::{ResolutionMode, VideoEncoderParams, VideoEncoderSettings, VideoResolution};
pub use hotline_engine::media::devices::{AudioPlaybackDevice, Camera, FillMode};
pub use logging::{set_log_level, set_log_listener, LogLevel, LogListener};
pub use observer::CallObserver;
pub use stats::{CallStats, NetworkQuality, NetworkQualityInfo, RemoteUserStats};
pub use testing::{synthetic_camera, tone_microphone};
pub use video::{FrameBuffer, VideoFrame, VideoSink};

use devices::{AudioSinkAdapter, AudioSourceAdapter, DelegateAdapter, VideoSourceAdapter};
use hotline_engine::media::devices as engine_devices;
use hotline_engine::CallEngine;
pub use hotline_engine::{CallResult, EndReason, MediaType, VideoStreamType};
use video::VideoSinkAdapter;

/// Audio only, or audio and video.
#[uniffi::remote(Enum)]
pub enum MediaType {
    /// Audio only.
    Audio,
    /// Audio and video.
    Video,
}

/// A remote user's video stream to receive (TRTC's big and small streams).
#[uniffi::remote(Enum)]
pub enum VideoStreamType {
    /// The largest size the link takes (the default).
    Big,
    /// The smallest size, for a thumbnail.
    Small,
}

/// Why a call, or one participant's part in it, ended (TUICallEngine's reasons).
#[uniffi::remote(Enum)]
pub enum EndReason {
    /// No more specific reason.
    Unknown,
    /// Someone hung up.
    Hangup,
    /// The callee rejected the invitation.
    Reject,
    /// The callee did not answer before the invitation timed out.
    NoResponse,
    /// The participant went offline and did not come back in time.
    Offline,
    /// The callee was already in another call, or ignored the invitation.
    LineBusy,
    /// The caller cancelled the invitation before it was answered.
    Canceled,
    /// Another device of the same user accepted the invitation.
    OtherDeviceAccepted,
    /// Another device of the same user rejected the invitation.
    OtherDeviceReject,
    /// The server ended the call.
    EndByServer,
}

/// How a call went, from one user's point of view.
#[uniffi::remote(Enum)]
pub enum CallResult {
    /// An invitation the user never answered (or rejected).
    Missed,
    /// An invitation the user answered.
    Incoming,
    /// A call the user placed.
    Outgoing,
}

/// Every failure of the Hotline API (`HotlineException` in Kotlin,
/// `HotlineError` in Swift).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HotlineError {
    /// A failed API call: a TUICallEngine-style `code` (for example -1203
    /// `REQUEST_REFUSED`, -1202 `PARAM_INVALID`, -1301 `NOT_LOGGED_IN`; see
    /// docs/protocol.md) and `msg`, why, for people (never for parsing).
    /// (`msg`, not `message`: Kotlin exceptions already have a `message`.)
    #[error("{code}: {msg}")]
    Api {
        /// The TUICallEngine-style error code, always negative.
        code: i32,
        /// Why, for people.
        msg: String,
    },
}

impl HotlineError {
    /// The TUICallEngine-style code.
    pub fn code(&self) -> i32 {
        match self {
            HotlineError::Api { code, .. } => *code,
        }
    }
}

/// An exception thrown by a Kotlin or Swift implementation of a foreign
/// trait (observer, source, sink, delegate): `-1` (`FAILED`) with the
/// exception's text. It is logged and ignored, never thrown to the app.
impl From<uniffi::UnexpectedUniFFICallbackError> for HotlineError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HotlineError::Api {
            code: hotline_proto::ErrorCode::Failed.as_i32(),
            msg: e.reason,
        }
    }
}

impl From<hotline_engine::CallError> for HotlineError {
    fn from(e: hotline_engine::CallError) -> Self {
        HotlineError::Api {
            code: e.code.as_i32(),
            msg: e.message,
        }
    }
}

/// The call engine, shaped like TUICallEngine. One per logged-in user.
///
/// Methods may be called from any thread; the `suspend`/`async` ones finish
/// on the engine's own threads. Observer callbacks arrive on one engine event
/// thread, in order. Free it deterministically with `close()` (Kotlin,
/// `AutoCloseable`) or by dropping the last reference (Swift `deinit`); using
/// it after `close()` throws `IllegalStateException` in Kotlin.
#[derive(uniffi::Object)]
pub struct HotlineEngine {
    inner: Arc<CallEngine>,
}

#[uniffi::export]
impl HotlineEngine {
    /// A new engine with its own runtime and event thread. Call `init` next.
    /// The first engine installs the SDK's logger (see `set_log_level`).
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        logging::install();
        Arc::new(HotlineEngine {
            inner: Arc::new(CallEngine::new()),
        })
    }

    /// Connect and log in. Returns when the first login succeeded, or throws
    /// (for example -1302 `USERSIG_INVALID`). Afterwards the engine reconnects
    /// by itself.
    pub async fn init(&self, config: EngineConfig) -> Result<(), HotlineError> {
        Ok(self.inner.init(config.into()).await?)
    }

    /// The device's network changed: reconnect signaling now instead of
    /// waiting for the old connection to time out. Calls go on. Call it from
    /// the platform's network callback (Android's ConnectivityManager,
    /// iOS's NWPathMonitor); a no-op before `init`.
    pub fn notify_network_changed(&self) {
        self.inner.notify_network_changed()
    }

    /// Log out and disconnect. Observers stay registered.
    pub async fn un_init(&self) {
        self.inner.un_init().await
    }

    /// Register an observer. Returns an ID for `remove_observer`.
    pub fn add_observer(&self, observer: Arc<dyn CallObserver>) -> u64 {
        self.inner
            .add_observer(Arc::new(observer::Adapter(observer)))
    }

    /// Stop delivering events to an observer (and release it).
    pub fn remove_observer(&self, id: u64) {
        self.inner.remove_observer(id)
    }

    /// Call one user (1v1) or several (group). Returns the call ID.
    pub async fn calls(
        &self,
        user_ids: Vec<String>,
        media_type: MediaType,
        params: CallParams,
    ) -> Result<String, HotlineError> {
        Ok(self
            .inner
            .calls(user_ids, media_type, params.into())
            .await?)
    }

    /// Answer the ringing call.
    pub async fn accept(&self) -> Result<(), HotlineError> {
        Ok(self.inner.accept().await?)
    }

    /// Decline the ringing call.
    pub async fn reject(&self) -> Result<(), HotlineError> {
        Ok(self.inner.reject().await?)
    }

    /// Stop ringing without answering; the caller sees a busy line.
    pub async fn ignore(&self) -> Result<(), HotlineError> {
        Ok(self.inner.ignore().await?)
    }

    /// Leave the current call (the caller cancels it while it rings).
    pub async fn hangup(&self) -> Result<(), HotlineError> {
        Ok(self.inner.hangup().await?)
    }

    /// Invite more users into the current call (it becomes a group call).
    /// `timeout_s`: 0 means 30 s; otherwise 10–600.
    pub async fn invite_user(
        &self,
        user_ids: Vec<String>,
        timeout_s: u32,
    ) -> Result<(), HotlineError> {
        Ok(self.inner.invite_user(user_ids, timeout_s).await?)
    }

    /// Join an ongoing group call one was invited to.
    pub async fn join(&self, call_id: String) -> Result<(), HotlineError> {
        Ok(self.inner.join(call_id).await?)
    }

    /// Switch the current call's media type (only video to audio).
    pub async fn switch_call_media_type(&self, media_type: MediaType) -> Result<(), HotlineError> {
        Ok(self.inner.switch_call_media_type(media_type).await?)
    }

    /// Set one's nickname and avatar.
    pub async fn set_self_info(
        &self,
        nickname: String,
        avatar_url: String,
    ) -> Result<(), HotlineError> {
        Ok(self.inner.set_self_info(nickname, avatar_url).await?)
    }

    /// Let every logged-in device of this user ring (off by default: a new
    /// login kicks the old one). Takes effect at once, and for later logins.
    pub async fn enable_multi_device_ability(&self, enabled: bool) -> Result<(), HotlineError> {
        Ok(self.inner.enable_multi_device_ability(enabled).await?)
    }

    /// This user's call records, newest first.
    pub async fn query_recent_calls(
        &self,
        filter: RecordFilter,
    ) -> Result<Vec<CallRecord>, HotlineError> {
        Ok(self
            .inner
            .query_recent_calls(filter.into())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Delete some of this user's call records (IDs from `CallRecord.record_id`).
    pub async fn delete_record_calls(&self, record_ids: Vec<String>) -> Result<(), HotlineError> {
        Ok(self.inner.delete_record_calls(record_ids).await?)
    }

    /// This engine's device ID (random, stable for the engine's life).
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }
}

/// Offline push: invitations reach the phone through APNs or FCM while the
/// app has no connection (docs/bindings.md, "Offline push").
#[uniffi::export]
impl HotlineEngine {
    /// Register this device's push token (PushKit's VoIP token as hex, or
    /// FCM's registration token; 1–512 bytes) for `app` (the iOS bundle ID
    /// or the FCM project ID; 1–155 bytes); `environment` matters for APNs
    /// only. Remembered and sent after every login, later `init`s included.
    /// Logged in: returns the server's answer. Before `init` or while
    /// reconnecting: returns at once, and the token goes out after the next
    /// login (a refusal then comes as `onError`). Throws -1202
    /// `PARAM_INVALID` for bad lengths.
    pub async fn register_push_token(
        &self,
        provider: PushProvider,
        token: String,
        app: String,
        environment: PushEnvironment,
    ) -> Result<(), HotlineError> {
        Ok(self
            .inner
            .register_push_token(provider.into(), token, app, environment.into())
            .await?)
    }

    /// Forget this device's push token (the user logs out or turns calls
    /// off). Logged in: returns the server's answer; otherwise returns at
    /// once and the request goes out after the next login. `un_init` does
    /// not unregister.
    pub async fn unregister_push_token(&self) -> Result<(), HotlineError> {
        Ok(self.inner.unregister_push_token().await?)
    }

    /// Read a push (immediate, no network; before or after `init`): FCM's
    /// `data["hotline"]`, or the whole APNs payload as JSON. For
    /// `IncomingCall` the engine remembers the call, so the next login
    /// reports it (`onCallReceived`, or `onCallNotConnected` if it ended).
    /// Throws -1202 `PARAM_INVALID` with the reason for a push that is not
    /// Hotline's.
    pub fn handle_push_payload(&self, payload: String) -> Result<PushAction, HotlineError> {
        Ok(self.inner.handle_push_payload(&payload)?.into())
    }
}

/// Devices and media (TUICallEngine's camera, microphone, audio-route and
/// view methods). The engine owns no device: it pulls pictures and audio from
/// the app's sources, pushes decoded media to the app's sinks, and passes
/// device requests to the app's [`DeviceDelegate`]. None of these block or
/// talk to the server; they take effect at once, also during a call.
#[uniffi::export]
impl HotlineEngine {
    /// The app's device delegate, which carries out camera, microphone and
    /// audio-route requests (`None` removes it).
    pub fn set_device_delegate(&self, delegate: Option<Arc<dyn DeviceDelegate>>) {
        self.inner.set_device_delegate(
            delegate
                .map(|d| Arc::new(DelegateAdapter(d)) as Arc<dyn engine_devices::DeviceDelegate>),
        )
    }

    /// Where camera pictures come from: pulled at the encoder's frame rate
    /// while the camera is open (`None` sends no video).
    pub fn set_video_source(&self, source: Option<Arc<dyn VideoSource>>) {
        self.inner.set_video_source(
            source.map(|s| Arc::new(VideoSourceAdapter(s)) as Arc<dyn engine_devices::VideoSource>),
        )
    }

    /// Where microphone audio comes from: pulled every 10 ms while the
    /// microphone is open (`None` sends silence).
    pub fn set_audio_source(&self, source: Option<Arc<dyn AudioSource>>) {
        self.inner.set_audio_source(
            source.map(|s| Arc::new(AudioSourceAdapter(s)) as Arc<dyn engine_devices::AudioSource>),
        )
    }

    /// Where the mix of everyone's audio plays (the speaker), 10 ms at a
    /// time (`None` stops playout).
    pub fn set_audio_playback_sink(&self, sink: Option<Arc<dyn AudioSink>>) {
        self.inner.set_audio_playback_sink(
            sink.map(|s| Arc::new(AudioSinkAdapter(s)) as Arc<dyn engine_devices::AudioSink>),
        )
    }

    /// Receive `user_id`'s decoded audio alone (for recording or analysis),
    /// replacing an earlier sink for that user.
    pub fn start_remote_audio(&self, user_id: String, sink: Arc<dyn AudioSink>) {
        self.inner
            .start_remote_audio(&user_id, Arc::new(AudioSinkAdapter(sink)))
    }

    /// Stop `start_remote_audio` for `user_id`.
    pub fn stop_remote_audio(&self, user_id: String) {
        self.inner.stop_remote_audio(&user_id)
    }

    /// Open the camera (`openCamera`): the delegate starts capturing, and
    /// video is sent in video calls; the others see the video available.
    pub fn open_camera(&self, camera: Camera) {
        self.inner.open_camera(camera)
    }

    /// Close the camera (`closeCamera`); the others see video unavailable.
    pub fn close_camera(&self) {
        self.inner.close_camera()
    }

    /// Switch between the front and back camera (`switchCamera`).
    pub fn switch_camera(&self, camera: Camera) {
        self.inner.switch_camera(camera)
    }

    /// Unmute (`openMicrophone`). The microphone is open by default.
    pub fn open_microphone(&self) {
        self.inner.open_microphone()
    }

    /// Mute (`closeMicrophone`); the others see audio unavailable.
    pub fn close_microphone(&self) {
        self.inner.close_microphone()
    }

    /// Route audio to the loudspeaker or the earpiece (`selectAudioPlaybackDevice`).
    pub fn select_audio_playback_device(&self, device: AudioPlaybackDevice) {
        self.inner.select_audio_playback_device(device)
    }

    /// Show this user's own camera pictures in `sink` (`startLocalView`),
    /// as they are captured.
    pub fn start_local_view(&self, sink: Arc<dyn VideoSink>) {
        self.inner
            .start_local_view(Arc::new(VideoSinkAdapter(sink)))
    }

    /// Stop the local view.
    pub fn stop_local_view(&self) {
        self.inner.stop_local_view()
    }

    /// Render `user_id`'s decoded video into `sink` (`startRemoteView`),
    /// replacing an earlier sink for that user. May be called before the
    /// call connects. The video is decoded only while a view shows it, so
    /// an app saves the decoding by stopping views it does not display; a
    /// new view asks the sender for a keyframe and shows it from there.
    pub fn start_remote_view(&self, user_id: String, sink: Arc<dyn VideoSink>) {
        self.inner
            .start_remote_view(&user_id, Arc::new(VideoSinkAdapter(sink)))
    }

    /// Receive `user_id`'s big or small video stream
    /// (`setRemoteVideoStreamType`): the small stream for a thumbnail, the
    /// big one (the default) for the best the link takes. Kept across
    /// calls; it matters in group calls, where senders send several sizes.
    pub fn set_remote_video_stream_type(&self, user_id: String, stream_type: VideoStreamType) {
        self.inner
            .set_remote_video_stream_type(&user_id, stream_type)
    }

    /// Stop rendering `user_id`'s video (`stopRemoteView`).
    pub fn stop_remote_view(&self, user_id: String) {
        self.inner.stop_remote_view(&user_id)
    }

    /// Encoder resolution, bitrate and frame rate (`setVideoEncoderParams`);
    /// takes effect at the next picture, also during a call. Throws -1202
    /// `PARAM_INVALID` for a bitrate outside 30–20000 kbps or fps outside 1–60.
    pub fn set_video_encoder_params(&self, params: VideoEncoderParams) -> Result<(), HotlineError> {
        Ok(self.inner.set_video_encoder_params(params.into())?)
    }

    /// The encoder settings in force (640×360, 550 kbps, 15 fps until set).
    pub fn video_encoder_params(&self) -> VideoEncoderSettings {
        self.inner.video_encoder_params().into()
    }

    /// How `user_id`'s video is rendered (`setVideoRenderParams`; `""` is
    /// the local view). Handed to the device delegate, whose renderers apply
    /// it. Throws -1202 `PARAM_INVALID` for a rotation other than 0, 90, 180
    /// or 270.
    pub fn set_video_render_params(
        &self,
        user_id: String,
        params: VideoRenderParams,
    ) -> Result<(), HotlineError> {
        Ok(self
            .inner
            .set_video_render_params(&user_id, params.into())?)
    }

    /// The current call's media statistics, or nothing when no call has
    /// media (`getCallStatistics`-style). Rates cover the time since the
    /// previous call of this method.
    pub async fn call_stats(&self) -> Option<CallStats> {
        self.inner.call_stats().await.map(Into::into)
    }
}

/// FOR DEVELOPMENT AND TESTS ONLY: sign a UserSig on the device. In a real
/// app the secret key never leaves your backend, which issues UserSigs.
/// Valid for `expire_s` seconds from now.
#[uniffi::export]
pub fn gen_user_sig(sdk_app_id: u64, secret_key: String, user_id: String, expire_s: u64) -> String {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    hotline_proto::usersig::generate(sdk_app_id, &secret_key, &user_id, expire_s, now_s)
}
