-- Hotline's store. `calls.snapshot` (the CallInfo JSON) is what a restart
-- reloads; the other columns and tables are written in the same transaction
-- so operators can query them with plain SQL.

CREATE TABLE calls (
    call_id        TEXT PRIMARY KEY NOT NULL,
    caller_id      TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    state          TEXT NOT NULL,          -- ringing | active | ended
    is_group       INTEGER NOT NULL,
    room_id        TEXT NOT NULL,
    timeout_s      INTEGER NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    began_at_ms    INTEGER,
    ended_at_ms    INTEGER,
    end_reason     TEXT,
    version        INTEGER NOT NULL,
    offline_push   TEXT,                   -- OfflinePushInfo JSON
    snapshot       TEXT NOT NULL           -- CallInfo JSON
);
CREATE INDEX calls_unfinished ON calls (state) WHERE state != 'ended';

CREATE TABLE participants (
    call_id        TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    state          TEXT NOT NULL,          -- ringing | in_call | gone
    reason         TEXT,
    device_id      TEXT,
    inviter_id     TEXT NOT NULL,
    joined_at_ms   INTEGER,
    left_at_ms     INTEGER,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX participants_by_user ON participants (user_id);

-- Pending invitations only: a row disappears once it is answered or expires.
CREATE TABLE invitations (
    call_id        TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    inviter_id     TEXT NOT NULL,
    deadline_ms    INTEGER NOT NULL,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX invitations_by_deadline ON invitations (deadline_ms);

CREATE TABLE call_records (
    record_id      TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL,
    call_id        TEXT NOT NULL,
    caller_id      TEXT NOT NULL,
    callee_ids     TEXT NOT NULL,          -- JSON array
    media_type     TEXT NOT NULL,
    is_group       INTEGER NOT NULL,
    result         TEXT NOT NULL,          -- missed | incoming | outgoing
    begin_time_ms  INTEGER NOT NULL,
    total_time_s   INTEGER NOT NULL
);
CREATE INDEX call_records_by_user ON call_records (user_id, begin_time_ms DESC);

CREATE TABLE profiles (
    user_id        TEXT PRIMARY KEY NOT NULL,
    nickname       TEXT NOT NULL,
    avatar_url     TEXT NOT NULL
);
