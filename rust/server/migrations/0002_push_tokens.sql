-- Offline push: one token per (user, device). A token is unique per
-- provider: registering it again (another user on the same phone) moves it.
CREATE TABLE push_tokens (
    user_id        TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    provider       TEXT NOT NULL,          -- apns_voip | apns | fcm
    token          TEXT NOT NULL,
    app            TEXT NOT NULL,          -- iOS bundle ID or FCM project ID
    environment    TEXT NOT NULL,          -- production | sandbox (APNs)
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE UNIQUE INDEX push_tokens_by_token ON push_tokens (provider, token);
