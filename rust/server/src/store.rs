//! Durable state in SQLite (sqlx, with migrations): calls (with views of
//! their participants and pending invitations), call records and profiles.

use std::path::Path;
use std::str::FromStr;

use hotline_proto::push::{PushEnvironment, PushProvider};
use hotline_proto::{CallInfo, CallRecord, CallResult, MediaType, OfflinePushInfo, RecordFilter};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

/// Rows per multi-row INSERT (well under SQLite's bound-variable limit).
const ROWS_PER_STATEMENT: usize = 500;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored snapshot could not be read back.
    #[error("corrupt stored call {call_id}: {reason}")]
    Corrupt {
        /// The call.
        call_id: String,
        /// Why.
        reason: String,
    },
}

/// The store.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Store {
    /// Open (creating if needed) the SQLite file at `path` and migrate it.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        // One writer connection: SQLite serialises writes anyway, and a single
        // connection keeps the hub's writes in order.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Write the newest snapshot of each call, and any records, in one
    /// transaction. Each table gets one multi-row statement per batch: the
    /// SQLite driver runs on its own thread, so round trips, not rows, cost.
    pub async fn save(
        &self,
        calls: &[CallInfo],
        push: &(dyn Fn(&str) -> Option<OfflinePushInfo> + Sync),
        records: &[CallRecord],
    ) -> Result<(), StoreError> {
        // A batch may hold several versions of one call; only the newest matters.
        let mut newest: Vec<&CallInfo> = Vec::with_capacity(calls.len());
        for call in calls {
            match newest.iter_mut().find(|c| c.call_id == call.call_id) {
                Some(slot) if slot.version < call.version => *slot = call,
                Some(_) => {}
                None => newest.push(call),
            }
        }
        let mut tx = self.pool.begin().await?;
        for chunk in newest.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO calls (call_id, caller_id, media_type, state, is_group, room_id, timeout_s, created_at_ms,
                    began_at_ms, ended_at_ms, end_reason, version, offline_push, snapshot) ",
            );
            q.push_values(chunk, |mut row, call| {
                row.push_bind(call.call_id.clone())
                    .push_bind(call.caller_id.clone())
                    .push_bind(call.media_type.as_str())
                    .push_bind(enum_str(&call.state))
                    .push_bind(call.is_group)
                    .push_bind(call.room_id.clone())
                    .push_bind(call.timeout_s as i64)
                    .push_bind(call.created_at_ms)
                    .push_bind(call.began_at_ms)
                    .push_bind(call.ended_at_ms)
                    .push_bind(call.end_reason.as_ref().map(enum_str))
                    .push_bind(call.version as i64)
                    .push_bind(
                        push(&call.call_id)
                            .map(|p| serde_json::to_string(&p).expect("push serialises")),
                    )
                    .push_bind(serde_json::to_string(call).expect("CallInfo serialises"));
            });
            q.push(
                " ON CONFLICT (call_id) DO UPDATE SET media_type = excluded.media_type, state = excluded.state,
                    is_group = excluded.is_group, began_at_ms = excluded.began_at_ms, ended_at_ms = excluded.ended_at_ms,
                    end_reason = excluded.end_reason, version = excluded.version,
                    offline_push = COALESCE(excluded.offline_push, calls.offline_push), snapshot = excluded.snapshot
                 WHERE excluded.version > calls.version",
            );
            q.build().execute(&mut *tx).await?;
        }
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO call_records (record_id, user_id, call_id, caller_id, callee_ids, media_type,
                    is_group, result, begin_time_ms, total_time_s) ",
            );
            q.push_values(chunk, |mut row, r| {
                row.push_bind(r.record_id.clone())
                    .push_bind(r.user_id.clone())
                    .push_bind(r.call_id.clone())
                    .push_bind(r.caller_id.clone())
                    .push_bind(serde_json::to_string(&r.callee_ids).expect("ids serialise"))
                    .push_bind(r.media_type.as_str())
                    .push_bind(r.is_group)
                    .push_bind(enum_str(&r.result))
                    .push_bind(r.begin_time_ms)
                    .push_bind(r.total_time_s as i64);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every call that has not ended, with its offline push content.
    pub async fn unfinished_calls(
        &self,
    ) -> Result<Vec<(CallInfo, Option<OfflinePushInfo>)>, StoreError> {
        let rows =
            sqlx::query("SELECT call_id, snapshot, offline_push FROM calls WHERE state != 'ended'")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|row| {
                let call_id: String = row.get(0);
                let snapshot: String = row.get(1);
                let push: Option<String> = row.get(2);
                let corrupt = |reason: String| StoreError::Corrupt {
                    call_id: call_id.clone(),
                    reason,
                };
                let call = serde_json::from_str(&snapshot).map_err(|e| corrupt(e.to_string()))?;
                let push = push
                    .map(|p| serde_json::from_str(&p))
                    .transpose()
                    .map_err(|e| corrupt(e.to_string()))?;
                Ok((call, push))
            })
            .collect()
    }

    /// The stored snapshot of a call, if `user_id` was a participant.
    pub async fn call_for_user(
        &self,
        call_id: &str,
        user_id: &str,
    ) -> Result<Option<CallInfo>, StoreError> {
        let row = sqlx::query(
            "SELECT c.snapshot FROM calls c JOIN participants p ON p.call_id = c.call_id
             WHERE c.call_id = ? AND p.user_id = ? LIMIT 1",
        )
        .bind(call_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let s: String = r.get(0);
            serde_json::from_str(&s).map_err(|e| StoreError::Corrupt {
                call_id: call_id.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// A user's call records, newest first: by begin time, and records that
    /// began in the same millisecond by the order they were stored (SQLite's
    /// rowid grows with each insert). A page never splits a millisecond: it
    /// holds `count` records plus any others that began in the same
    /// millisecond as its last, so paging on `before_ms` skips and repeats
    /// nothing. `filter.count` must already be checked (at most
    /// [`RecordFilter::MAX_COUNT`]).
    pub async fn records(
        &self,
        user_id: &str,
        filter: &RecordFilter,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let limit = match filter.count {
            0 => RecordFilter::DEFAULT_COUNT,
            n => n,
        };
        let rows = sqlx::query(
            "WITH matching AS (
                 SELECT rowid AS stored, * FROM call_records WHERE user_id = ?
                   AND (? IS NULL OR media_type = ?) AND (? IS NULL OR result = ?) AND (? IS NULL OR begin_time_ms < ?)
             ),
             page AS (SELECT begin_time_ms FROM matching ORDER BY begin_time_ms DESC, stored DESC LIMIT ?)
             SELECT record_id, call_id, caller_id, callee_ids, media_type, is_group, result, begin_time_ms, total_time_s
             FROM matching WHERE begin_time_ms >= (SELECT MIN(begin_time_ms) FROM page)
             ORDER BY begin_time_ms DESC, stored DESC",
        )
        .bind(user_id)
        .bind(filter.media_type.map(|m| m.as_str()))
        .bind(filter.media_type.map(|m| m.as_str()))
        .bind(filter.result.as_ref().map(enum_str))
        .bind(filter.result.as_ref().map(enum_str))
        .bind(filter.before_ms)
        .bind(filter.before_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let record_id: String = r.get(0);
                let corrupt = |reason: String| StoreError::Corrupt {
                    call_id: record_id.clone(),
                    reason,
                };
                let callee_ids: String = r.get(3);
                let media: String = r.get(4);
                let result: String = r.get(6);
                Ok(CallRecord {
                    user_id: user_id.to_string(),
                    call_id: r.get(1),
                    caller_id: r.get(2),
                    callee_ids: serde_json::from_str(&callee_ids)
                        .map_err(|e| corrupt(e.to_string()))?,
                    media_type: serde_json::from_value::<MediaType>(media.into())
                        .map_err(|e| corrupt(e.to_string()))?,
                    is_group: r.get(5),
                    result: serde_json::from_value::<CallResult>(result.into())
                        .map_err(|e| corrupt(e.to_string()))?,
                    begin_time_ms: r.get(7),
                    total_time_s: r.get::<i64, _>(8) as u64,
                    record_id,
                })
            })
            .collect()
    }

    /// Delete some of a user's records; returns how many were deleted.
    pub async fn delete_records(
        &self,
        user_id: &str,
        record_ids: &[String],
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for id in record_ids {
            n += sqlx::query("DELETE FROM call_records WHERE user_id = ? AND record_id = ?")
                .bind(user_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Set a user's nickname and avatar.
    pub async fn set_profile(
        &self,
        user_id: &str,
        nickname: &str,
        avatar_url: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO profiles (user_id, nickname, avatar_url) VALUES (?, ?, ?)",
        )
        .bind(user_id)
        .bind(nickname)
        .bind(avatar_url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user's nickname and avatar URL (empty strings if never set).
    pub async fn profile(&self, user_id: &str) -> Result<(String, String), StoreError> {
        let row = sqlx::query("SELECT nickname, avatar_url FROM profiles WHERE user_id = ?")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map_or_else(Default::default, |r| (r.get(0), r.get(1))))
    }

    /// Store the push token of `token.user_id`'s device `token.device_id`,
    /// replacing the device's previous one. A token registered before by
    /// another user or device moves here (the phone changed hands).
    pub async fn set_push_token(&self, token: &PushToken, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM push_tokens WHERE provider = ? AND token = ?")
            .bind(token.provider.as_str())
            .bind(&token.token)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT OR REPLACE INTO push_tokens (user_id, device_id, provider, token, app, environment, updated_at_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.user_id)
        .bind(&token.device_id)
        .bind(token.provider.as_str())
        .bind(&token.token)
        .bind(&token.app)
        .bind(token.environment.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forget a device's push token; true if it had one.
    pub async fn delete_push_token(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM push_tokens WHERE user_id = ? AND device_id = ?")
            .bind(user_id)
            .bind(device_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forget a token its provider called dead, wherever it is registered.
    pub async fn delete_dead_push_token(
        &self,
        provider: PushProvider,
        token: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM push_tokens WHERE provider = ? AND token = ?")
            .bind(provider.as_str())
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every push token of a user's devices.
    pub async fn push_tokens(&self, user_id: &str) -> Result<Vec<PushToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT device_id, provider, token, app, environment FROM push_tokens WHERE user_id = ? ORDER BY device_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let device_id: String = r.get(0);
                let corrupt = |what: &str| StoreError::Corrupt {
                    call_id: format!("push token of {user_id}/{device_id}"),
                    reason: format!("unknown {what}"),
                };
                let provider: String = r.get(1);
                let environment: String = r.get(4);
                Ok(PushToken {
                    user_id: user_id.to_string(),
                    provider: serde_json::from_value(provider.into())
                        .map_err(|_| corrupt("provider"))?,
                    token: r.get(2),
                    app: r.get(3),
                    environment: serde_json::from_value(environment.into())
                        .map_err(|_| corrupt("environment"))?,
                    device_id,
                })
            })
            .collect()
    }

    /// Check the database file is readable (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close the pool, flushing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One device's push registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushToken {
    /// Whose device.
    pub user_id: String,
    /// Which device.
    pub device_id: String,
    /// Who delivers its pushes.
    pub provider: PushProvider,
    /// The platform's token.
    pub token: String,
    /// iOS bundle ID or FCM project ID.
    pub app: String,
    /// APNs endpoint.
    pub environment: PushEnvironment,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Limits, NewCall, Registry};

    fn record(n: u32, begin_time_ms: i64) -> CallRecord {
        CallRecord {
            record_id: format!("c{n}-bob"),
            user_id: "bob".into(),
            call_id: format!("c{n}"),
            caller_id: "alice".into(),
            callee_ids: vec!["bob".into()],
            media_type: MediaType::Video,
            is_group: false,
            result: CallResult::Missed,
            begin_time_ms,
            total_time_s: 0,
        }
    }

    fn call_ids(records: &[CallRecord]) -> Vec<&str> {
        records.iter().map(|r| r.call_id.as_str()).collect()
    }

    /// Records that share a begin time come newest-stored first, and paging
    /// by `before_ms` walks every record exactly once whatever the page size.
    #[tokio::test]
    async fn records_are_totally_ordered_and_pages_never_split_a_millisecond() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        // Stored one by one, as calls end: c1..c4 began in the same millisecond.
        let begins = [
            (0, 900),
            (1, 1_000),
            (2, 1_000),
            (3, 1_000),
            (4, 1_000),
            (5, 1_100),
        ];
        for (n, at) in begins {
            store.save(&[], &|_| None, &[record(n, at)]).await.unwrap();
        }
        let everything = store
            .records("bob", &RecordFilter::default())
            .await
            .unwrap();
        assert_eq!(call_ids(&everything), ["c5", "c4", "c3", "c2", "c1", "c0"]);

        for count in 1..=6 {
            let mut walked = vec![];
            let mut before_ms = None;
            loop {
                let filter = RecordFilter {
                    count,
                    before_ms,
                    ..Default::default()
                };
                let page = store.records("bob", &filter).await.unwrap();
                let Some(last) = page.last() else { break };
                before_ms = Some(last.begin_time_ms);
                walked.extend(page.iter().map(|r| r.call_id.clone()));
            }
            assert_eq!(walked, call_ids(&everything), "pages of {count}");
        }
        // The page is `count` long unless its last millisecond holds more.
        let two = RecordFilter {
            count: 2,
            ..Default::default()
        };
        assert_eq!(
            call_ids(&store.records("bob", &two).await.unwrap()),
            ["c5", "c4", "c3", "c2", "c1"]
        );
        let one = RecordFilter {
            count: 1,
            ..Default::default()
        };
        assert_eq!(call_ids(&store.records("bob", &one).await.unwrap()), ["c5"]);
    }

    #[tokio::test]
    async fn snapshots_round_trip_and_the_views_show_participants_and_invitations() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        let mut reg = Registry::new(Limits::default());
        let req = NewCall {
            offline_push: Some(OfflinePushInfo {
                title: "t".into(),
                ..Default::default()
            }),
            ..NewCall::for_test("c1", &["b", "c"])
        };
        let change = reg.call("a", "da", req, 1_000).unwrap();
        let change2 = reg.accept("b", "db", "c1", 2_000).unwrap();
        let push = |id: &str| reg.offline_push(id).cloned();
        store.save(&change.calls, &push, &[]).await.unwrap();
        store.save(&change2.calls, &push, &[]).await.unwrap();
        // An older version arriving late must not overwrite a newer one.
        store.save(&change.calls, &push, &[]).await.unwrap();

        let unfinished = store.unfinished_calls().await.unwrap();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].0, change2.calls[0]);
        assert_eq!(unfinished[0].1.as_ref().unwrap().title, "t");

        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_id, state FROM participants WHERE call_id = 'c1' ORDER BY user_id",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("a".into(), "in_call".into()),
                ("b".into(), "in_call".into()),
                ("c".into(), "ringing".into())
            ]
        );
        let inv: Vec<(String, i64)> =
            sqlx::query_as("SELECT user_id, deadline_ms FROM invitations")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        assert_eq!(inv, vec![("c".into(), 31_000)]);
        assert!(store.call_for_user("c1", "c").await.unwrap().is_some());
        assert!(store
            .call_for_user("c1", "stranger")
            .await
            .unwrap()
            .is_none());
    }
}
