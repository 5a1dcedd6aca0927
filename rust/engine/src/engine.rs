//! The public, TUICallEngine-shaped API.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use hotline_core::{CallParams, Command, CommandOk, CoreConfig, CoreError, Event, Input};
use hotline_proto::push::{PushEnvironment, PushProvider};
use hotline_proto::{
    user_id::validate_user_id, CallRecord, ErrorCode, MediaType, RecordFilter, VideoStreamType,
};
use rand::Rng;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::actor::{self, ActorMsg};
use crate::events::{spawn_event_thread, CallObserver, Observers};
use crate::media::devices::{
    AudioPlaybackDevice, AudioSink, AudioSource, Camera, DeviceDelegate, VideoRenderParams,
    VideoSink, VideoSource,
};
use crate::media::stats::CallStats;
use crate::media::{AudioOut, Media, VideoView};
use crate::push::PushAction;
use hotline_media::VideoEncoderParams;

/// What `init` needs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The WebSocket URL the server printed, e.g. `ws://host:port/ws`.
    pub server_url: String,
    /// The application's SDKAppID.
    pub sdk_app_id: u64,
    /// Who this engine logs in as.
    pub user_id: String,
    /// The user's UserSig (issued by your backend).
    pub user_sig: String,
    /// PEM certificates to trust, besides Mozilla's built-in roots, for a
    /// `wss://` server and the `turns:` relays it lists (ones with a private
    /// or self-signed certificate). `None`: the built-in roots only.
    pub trusted_ca_pem: Option<String>,
}

/// An API failure: a TUICallEngine-style code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CallError {
    /// The code (for example [`ErrorCode::RequestRefused`], -1203).
    pub code: ErrorCode,
    /// Why, for people.
    pub message: String,
}

impl From<CoreError> for CallError {
    fn from(e: CoreError) -> CallError {
        CallError {
            code: e.code,
            message: e.message,
        }
    }
}

fn error(code: ErrorCode, message: &str) -> CallError {
    CallError {
        code,
        message: message.to_string(),
    }
}

/// Identifies an observer for [`CallEngine::remove_observer`].
pub type ObserverId = u64;

/// The call engine. One per logged-in user; cheap to share behind an `Arc`.
pub struct CallEngine {
    runtime: Option<Runtime>,
    actor: Mutex<Option<mpsc::UnboundedSender<ActorMsg>>>,
    observers: Observers,
    events: std::sync::mpsc::Sender<Event>,
    next_observer: AtomicU64,
    multi_device: AtomicBool,
    device_id: String,
    media: Arc<Media>,
    /// The app's last push request (`RegisterPush` or `UnregisterPush`),
    /// handed to every new actor so each login sends it.
    push: Mutex<Option<Command>>,
    /// Calls learned of from pushes before `init`, for its login.
    pushed: Mutex<Vec<Input>>,
}

impl Default for CallEngine {
    fn default() -> Self {
        CallEngine::new()
    }
}

impl CallEngine {
    /// A new engine with its own runtime and event thread. Call [`init`](Self::init) next.
    pub fn new() -> CallEngine {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hotline-engine")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let observers: Observers = Arc::default();
        let events = spawn_event_thread(observers.clone());
        CallEngine {
            runtime: Some(runtime),
            actor: Mutex::new(None),
            observers,
            events,
            next_observer: AtomicU64::new(1),
            multi_device: AtomicBool::new(false),
            device_id: format!("{:016x}", rand::thread_rng().gen::<u64>()),
            media: Arc::new(Media::new()),
            push: Mutex::new(None),
            pushed: Mutex::new(Vec::new()),
        }
    }

    /// This engine's device ID (random, stable for the engine's life).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Connect and log in. Resolves when the first login succeeds or fails;
    /// afterwards the engine reconnects by itself.
    pub async fn init(&self, config: EngineConfig) -> Result<(), CallError> {
        validate_user_id(&config.user_id).map_err(|m| error(ErrorCode::ParamInvalid, &m))?;
        if !(config.server_url.starts_with("ws://") || config.server_url.starts_with("wss://")) {
            return Err(error(
                ErrorCode::ParamInvalid,
                "server_url must start with ws:// or wss://",
            ));
        }
        let tls = crate::tls::client_config(config.trusted_ca_pem.as_deref())
            .map_err(|m| error(ErrorCode::ParamInvalid, &m))?;
        let (login_tx, login_rx) = oneshot::channel();
        {
            let mut slot = self.actor.lock().expect("actor slot");
            if slot.is_some() {
                return Err(error(
                    ErrorCode::RequestRepeated,
                    "already initialised; call un_init first",
                ));
            }
            let core_config = CoreConfig {
                sdk_app_id: config.sdk_app_id,
                user_id: config.user_id.clone(),
                user_sig: config.user_sig.clone(),
                device_id: self.device_id.clone(),
                multi_device: self.multi_device.load(Relaxed),
            };
            let runtime = self
                .runtime
                .as_ref()
                .expect("runtime lives as long as the engine");
            // Read under the actor slot's lock, which the push methods take
            // too: whatever they remembered before this point goes in here,
            // anything later goes to the actor.
            let mut before = self.pushed.lock().expect("pushed calls").clone();
            if let Some(push) = self.push.lock().expect("push").clone() {
                before.push(Input::Command {
                    id: 0,
                    command: push,
                });
            }
            let tx = actor::spawn(
                runtime.handle(),
                config.server_url.clone(),
                core_config,
                before,
                self.events.clone(),
                login_tx,
                self.media.clone(),
                tls,
            );
            *slot = Some(tx);
        }
        match login_rx.await {
            Ok(Ok(())) => {
                // That login asked for them and reported them.
                self.pushed.lock().expect("pushed calls").clear();
                Ok(())
            }
            Ok(Err(e)) => {
                self.un_init().await;
                Err(e.into())
            }
            Err(_) => Err(error(ErrorCode::Failed, "engine stopped during login")),
        }
    }

    /// The device's network changed (Wi-Fi to cellular, a new Wi-Fi, back
    /// online): reconnect signaling now rather than when the old connection
    /// times out or the reconnect backoff (up to 5 s) expires. Calls go on:
    /// the server keeps them through its reconnect grace. Shells call this
    /// from the platform's network callback; it returns at once and does
    /// nothing before `init` or after the server ended the session
    /// (`onKickedOffline`, `onUserSigExpired`).
    pub fn notify_network_changed(&self) {
        if let Some(tx) = self.actor.lock().expect("actor slot").as_ref() {
            let _ = tx.send(ActorMsg::NetworkChanged);
        }
    }

    /// Log out and disconnect. Observers stay registered.
    pub async fn un_init(&self) {
        let tx = self.actor.lock().expect("actor slot").take();
        if let Some(tx) = tx {
            let (done_tx, done_rx) = oneshot::channel();
            if tx.send(ActorMsg::Stop(done_tx)).is_ok() {
                let _ = done_rx.await;
            }
        }
    }

    /// Register an observer; returns an ID for [`remove_observer`](Self::remove_observer).
    pub fn add_observer(&self, observer: Arc<dyn CallObserver>) -> ObserverId {
        let id = self.next_observer.fetch_add(1, Relaxed);
        self.observers
            .lock()
            .expect("observer list")
            .push((id, observer));
        id
    }

    /// Stop delivering events to an observer.
    pub fn remove_observer(&self, id: ObserverId) {
        self.observers
            .lock()
            .expect("observer list")
            .retain(|(i, _)| *i != id);
    }

    async fn run(&self, command: Command) -> Result<CommandOk, CallError> {
        let tx = self.actor.lock().expect("actor slot").clone();
        let Some(tx) = tx else {
            return Err(error(ErrorCode::NotLoggedIn, "call init first"));
        };
        let (reply, result) = oneshot::channel();
        tx.send(ActorMsg::Command { command, reply })
            .map_err(|_| error(ErrorCode::NotLoggedIn, "engine stopped"))?;
        result
            .await
            .map_err(|_| error(ErrorCode::NotLoggedIn, "engine stopped"))?
            .map_err(CallError::from)
    }

    /// Call one user (1v1) or several (group). Returns the call ID.
    pub async fn calls(
        &self,
        user_ids: Vec<String>,
        media_type: MediaType,
        params: CallParams,
    ) -> Result<String, CallError> {
        let ok = self
            .run(Command::Calls {
                user_ids,
                media_type,
                params,
            })
            .await?;
        ok.call_id
            .ok_or_else(|| error(ErrorCode::Failed, "the server returned no call"))
    }

    /// Answer the ringing call.
    pub async fn accept(&self) -> Result<(), CallError> {
        self.run(Command::Accept).await.map(drop)
    }

    /// Decline the ringing call.
    pub async fn reject(&self) -> Result<(), CallError> {
        self.run(Command::Reject).await.map(drop)
    }

    /// Stop ringing without answering; the caller sees a busy line.
    pub async fn ignore(&self) -> Result<(), CallError> {
        self.run(Command::Ignore).await.map(drop)
    }

    /// Leave the current call (the caller cancels it while it rings).
    pub async fn hangup(&self) -> Result<(), CallError> {
        self.run(Command::Hangup).await.map(drop)
    }

    /// Invite more users into the current call (it becomes a group call).
    pub async fn invite_user(
        &self,
        user_ids: Vec<String>,
        timeout_s: u32,
    ) -> Result<(), CallError> {
        self.run(Command::InviteUser {
            user_ids,
            timeout_s,
        })
        .await
        .map(drop)
    }

    /// Join an ongoing group call one was invited to.
    pub async fn join(&self, call_id: String) -> Result<(), CallError> {
        self.run(Command::Join { call_id }).await.map(drop)
    }

    /// Switch the current call from video to audio.
    pub async fn switch_call_media_type(&self, media_type: MediaType) -> Result<(), CallError> {
        self.run(Command::SwitchCallMediaType { media_type })
            .await
            .map(drop)
    }

    /// Set one's nickname and avatar.
    pub async fn set_self_info(
        &self,
        nickname: String,
        avatar_url: String,
    ) -> Result<(), CallError> {
        self.run(Command::SetSelfInfo {
            nickname,
            avatar_url,
        })
        .await
        .map(drop)
    }

    /// Let every logged-in device of this user ring (off by default: a new
    /// login kicks the old one). Takes effect at once, and for later logins.
    pub async fn enable_multi_device_ability(&self, enabled: bool) -> Result<(), CallError> {
        self.multi_device.store(enabled, Relaxed);
        if self.actor.lock().expect("actor slot").is_none() {
            return Ok(());
        }
        self.run(Command::EnableMultiDeviceAbility { enabled })
            .await
            .map(drop)
    }

    /// Register this device's push token, so that invitations reach the
    /// phone through APNs or FCM while it has no connection. `token` (1–512
    /// bytes) is PushKit's VoIP token (hex) or FCM's registration token;
    /// `app` (1–155 bytes) the iOS bundle ID or the FCM project ID;
    /// `environment` matters for APNs only (sandbox for development builds).
    ///
    /// The engine remembers it and sends it after every login from now on,
    /// this engine's later `init`s included. When logged in it returns the
    /// server's answer; before `init` (or while reconnecting) it returns at
    /// once and the token goes out after the next login (a refusal then is
    /// reported through `onError`). Bad lengths are `PARAM_INVALID` at once.
    pub async fn register_push_token(
        &self,
        provider: PushProvider,
        token: String,
        app: String,
        environment: PushEnvironment,
    ) -> Result<(), CallError> {
        hotline_core::validate_push_registration(&token, &app)?;
        self.push_request(Command::RegisterPush {
            provider,
            token,
            app,
            environment,
        })
        .await
    }

    /// Forget this device's push token (the user logs out, or turned calls
    /// off): the server stops pushing to it, and later logins no longer send
    /// it. When logged in it returns the server's answer; otherwise it
    /// returns at once and the request goes out after the next login.
    /// `un_init` does not do this: a phone that merely goes offline keeps
    /// receiving pushes.
    pub async fn unregister_push_token(&self) -> Result<(), CallError> {
        self.push_request(Command::UnregisterPush).await
    }

    async fn push_request(&self, command: Command) -> Result<(), CallError> {
        let tx = {
            let slot = self.actor.lock().expect("actor slot");
            *self.push.lock().expect("push") = Some(command.clone());
            slot.clone()
        };
        let Some(tx) = tx else {
            return Ok(());
        };
        let (reply, result) = oneshot::channel();
        if tx.send(ActorMsg::Command { command, reply }).is_err() {
            return Ok(()); // stopping: remembered for the next init
        }
        match result.await {
            Ok(r) => r.map(drop).map_err(CallError::from),
            Err(_) => Ok(()),
        }
    }

    /// Read a push the app received (never touches the network; call it
    /// before or after `init`): the `hotline` value of FCM's data map, the
    /// whole APNs payload (PushKit's `dictionaryPayload` as JSON), or the
    /// `hotline` object alone. An unreadable push is `PARAM_INVALID` with
    /// the reason.
    ///
    /// For [`PushAction::IncomingCall`] the engine also remembers the call:
    /// the next login asks the server for it, so it is reported as usual even
    /// if the app was not running: `CallReceived` if it still rings for this
    /// user, otherwise `CallNotConnected` with the reason (`Canceled`,
    /// `NoResponse`, `OtherDeviceAccepted`, …). A call this engine already
    /// knows is not reported twice. [`PushAction::Expired`] is a call push
    /// whose deadline passed (by the system clock); [`PushAction::Cancel`]
    /// changes nothing in the engine.
    pub fn handle_push_payload(&self, payload: &str) -> Result<PushAction, CallError> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let action = PushAction::from_payload(payload, now_ms)?;
        if let PushAction::IncomingCall {
            call_id,
            media_type,
            ..
        } = &action
        {
            let input = Input::PushedCall {
                call_id: call_id.clone(),
                media_type: *media_type,
            };
            let slot = self.actor.lock().expect("actor slot");
            let sent = slot
                .as_ref()
                .is_some_and(|tx| tx.send(ActorMsg::Input(input.clone())).is_ok());
            if !sent {
                let mut pushed = self.pushed.lock().expect("pushed calls");
                if !pushed.contains(&input) {
                    pushed.push(input);
                    // The core keeps the newest few; so does this list.
                    let excess = pushed.len().saturating_sub(hotline_core::MAX_KNOWN_CALLS);
                    pushed.drain(..excess);
                }
            }
        }
        Ok(action)
    }

    /// This user's call records, newest first.
    pub async fn query_recent_calls(
        &self,
        filter: RecordFilter,
    ) -> Result<Vec<CallRecord>, CallError> {
        Ok(self
            .run(Command::QueryRecentCalls { filter })
            .await?
            .records)
    }

    /// Delete some of this user's call records.
    pub async fn delete_record_calls(&self, record_ids: Vec<String>) -> Result<(), CallError> {
        self.run(Command::DeleteRecordCalls { record_ids })
            .await
            .map(drop)
    }
}

/// Devices and media (TUICallEngine's camera, microphone, audio-route and
/// view methods). The engine owns no device: these calls record the app's
/// sources and sinks and pass device requests to the [`DeviceDelegate`].
impl CallEngine {
    /// The app's device delegate (camera, microphone and audio-route requests go there).
    pub fn set_device_delegate(&self, delegate: Option<Arc<dyn DeviceDelegate>>) {
        *self.media.shared.delegate.lock().expect("delegate") = delegate;
    }

    /// Where camera frames come from (pulled at the encoder frame rate while the camera is open).
    pub fn set_video_source(&self, source: Option<Arc<dyn VideoSource>>) {
        *self.media.shared.video_source.lock().expect("video source") = source;
    }

    /// Where microphone audio comes from (pulled every 10 ms while the microphone is open).
    pub fn set_audio_source(&self, source: Option<Arc<dyn AudioSource>>) {
        *self.media.shared.audio_source.lock().expect("audio source") = source;
    }

    /// Where the mix of everyone's audio plays (the speaker), 10 ms at a time.
    pub fn set_audio_playback_sink(&self, sink: Option<Arc<dyn AudioSink>>) {
        *self.media.shared.playback.lock().expect("playback") = sink.map(AudioOut::new);
    }

    /// Receive `user_id`'s decoded audio alone (for recording or analysis).
    pub fn start_remote_audio(&self, user_id: &str, sink: Arc<dyn AudioSink>) {
        self.media
            .shared
            .remote_audio_sinks
            .lock()
            .expect("audio sinks")
            .insert(user_id.to_string(), AudioOut::new(sink));
    }

    /// Stop [`start_remote_audio`](Self::start_remote_audio).
    pub fn stop_remote_audio(&self, user_id: &str) {
        self.media
            .shared
            .remote_audio_sinks
            .lock()
            .expect("audio sinks")
            .remove(user_id);
    }

    /// Open the camera (`openCamera`): the delegate starts capturing, and
    /// video is sent in video calls.
    pub fn open_camera(&self, camera: Camera) {
        if let Some(d) = self.delegate() {
            d.open_camera(camera);
        }
        self.media.shared.camera_open.store(true, Relaxed);
        self.media.media_state_changed();
    }

    /// Close the camera (`closeCamera`); the others see video unavailable.
    pub fn close_camera(&self) {
        if let Some(d) = self.delegate() {
            d.close_camera();
        }
        self.media.shared.camera_open.store(false, Relaxed);
        self.media.media_state_changed();
    }

    /// Switch between the front and back camera (`switchCamera`).
    pub fn switch_camera(&self, camera: Camera) {
        if let Some(d) = self.delegate() {
            d.switch_camera(camera);
        }
    }

    /// Unmute (`openMicrophone`). The microphone is open by default.
    pub fn open_microphone(&self) {
        if let Some(d) = self.delegate() {
            d.open_microphone();
        }
        self.media.shared.microphone_open.store(true, Relaxed);
        self.media.media_state_changed();
    }

    /// Mute (`closeMicrophone`); the others see audio unavailable.
    pub fn close_microphone(&self) {
        if let Some(d) = self.delegate() {
            d.close_microphone();
        }
        self.media.shared.microphone_open.store(false, Relaxed);
        self.media.media_state_changed();
    }

    /// Route audio to the loudspeaker or the earpiece (`selectAudioPlaybackDevice`).
    pub fn select_audio_playback_device(&self, device: AudioPlaybackDevice) {
        if let Some(d) = self.delegate() {
            d.select_audio_playback_device(device);
        }
    }

    /// Show this user's camera in `sink` (`startLocalView`... as frames are captured).
    pub fn start_local_view(&self, sink: Arc<dyn VideoSink>) {
        *self.media.shared.local_view.lock().expect("local view") =
            Some(VideoView::new("hotline-local-view", sink));
    }

    /// Stop the local view.
    pub fn stop_local_view(&self) {
        *self.media.shared.local_view.lock().expect("local view") = None;
    }

    /// Render `user_id`'s video into `sink` (`startRemoteView`). The video
    /// is decoded only while a view shows it; a new view asks the sender for
    /// a keyframe and shows it from there.
    pub fn start_remote_view(&self, user_id: &str, sink: Arc<dyn VideoSink>) {
        let view = VideoView::new(&format!("hotline-view-{user_id}"), sink);
        self.media
            .shared
            .remote_views
            .lock()
            .expect("remote views")
            .insert(user_id.to_string(), view);
    }

    /// Receive `user_id`'s big or small video stream
    /// (`setRemoteVideoStreamType`): the small stream for a thumbnail, the
    /// big one (the default) for the best the link takes. Kept for later
    /// calls too; it matters in group calls, where senders send several
    /// sizes.
    pub fn set_remote_video_stream_type(&self, user_id: &str, stream_type: VideoStreamType) {
        self.media.set_stream_type(user_id, stream_type);
    }

    /// Stop rendering `user_id`'s video (`stopRemoteView`).
    pub fn stop_remote_view(&self, user_id: &str) {
        self.media
            .shared
            .remote_views
            .lock()
            .expect("remote views")
            .remove(user_id);
    }

    /// Encoder resolution, bitrate and frame rate (`setVideoEncoderParams`);
    /// takes effect at the next frame, also during a call.
    pub fn set_video_encoder_params(&self, params: VideoEncoderParams) -> Result<(), CallError> {
        hotline_media::H264Encoder::new(params)
            .map_err(|e| error(ErrorCode::ParamInvalid, &e.to_string()))?;
        *self
            .media
            .shared
            .encoder_params
            .lock()
            .expect("encoder params") = Some(params);
        Ok(())
    }

    /// The encoder settings in force.
    pub fn video_encoder_params(&self) -> VideoEncoderParams {
        self.media.shared.encoder_params()
    }

    /// How `user_id`'s video is rendered (`setVideoRenderParams`); passed to the delegate.
    pub fn set_video_render_params(
        &self,
        user_id: &str,
        params: VideoRenderParams,
    ) -> Result<(), CallError> {
        if !params.rotation.is_multiple_of(90) || params.rotation >= 360 {
            return Err(error(
                ErrorCode::ParamInvalid,
                "rotation must be 0, 90, 180 or 270",
            ));
        }
        if let Some(d) = self.delegate() {
            d.set_video_render_params(user_id, params);
        }
        Ok(())
    }

    /// The current call's media statistics (`None` when no call has media).
    pub async fn call_stats(&self) -> Option<CallStats> {
        self.media.stats().await
    }

    fn delegate(&self) -> Option<Arc<dyn DeviceDelegate>> {
        self.media.shared.delegate.lock().expect("delegate").clone()
    }
}

impl Drop for CallEngine {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Safe from any thread, including inside another runtime.
            rt.shutdown_background();
        }
    }
}
