-- Hotline's store. `calls.snapshot` (the CallInfo JSON) is what a restart
-- reloads; the other columns of `calls` are copies for operators' SQL, written
-- in the same statement.

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

-- Participants and pending invitations are views over the snapshot, so the
-- snapshot stays the single truth and each change is one row write.
CREATE VIEW participants AS
SELECT c.call_id                                  AS call_id,
       json_extract(p.value, '$.user_id')         AS user_id,
       json_extract(p.value, '$.state')           AS state,      -- ringing | in_call | gone
       json_extract(p.value, '$.reason')          AS reason,
       json_extract(p.value, '$.device_id')       AS device_id,
       json_extract(p.value, '$.inviter_id')      AS inviter_id,
       json_extract(p.value, '$.joined_at_ms')    AS joined_at_ms,
       json_extract(p.value, '$.left_at_ms')      AS left_at_ms
FROM calls c, json_each(c.snapshot, '$.participants') p;

-- Invitations still waiting for an answer, with their deadlines.
CREATE VIEW invitations AS
SELECT c.call_id                                  AS call_id,
       json_extract(p.value, '$.user_id')         AS user_id,
       json_extract(p.value, '$.inviter_id')      AS inviter_id,
       json_extract(p.value, '$.deadline_ms')     AS deadline_ms
FROM calls c, json_each(c.snapshot, '$.participants') p
WHERE c.state != 'ended' AND json_extract(p.value, '$.state') = 'ringing';

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
