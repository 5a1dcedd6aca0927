//! Scripted answers: what the fakes reply to a given device or registration
//! token instead of the usual success.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// One scripted reply to one request for a token.
///
/// Answers are consumed in order, one per request that passes the provider's
/// own checks (authentication, headers, payload); once the queue is empty the
/// token gets successes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The usual success.
    Ok,
    /// An error reply with this HTTP status.
    Status {
        /// HTTP status code, e.g. 410 or 429.
        code: u16,
        /// For APNs the `reason` (e.g. `Unregistered`); for FCM the
        /// `errorCode` (e.g. `UNREGISTERED`, `QUOTA_EXCEEDED`) or, failing
        /// that, the status name (e.g. `NOT_FOUND`).
        reason: String,
        /// Sent as a `retry-after` header (seconds) when set.
        retry_after_s: Option<u64>,
    },
    /// Wait this long, then answer with the usual success.
    Delay(Duration),
}

impl Answer {
    /// An error reply without `retry-after`.
    pub fn status(code: u16, reason: &str) -> Answer {
        Answer::Status {
            code,
            reason: reason.to_owned(),
            retry_after_s: None,
        }
    }

    /// An error reply with a `retry-after` header of `secs` seconds.
    pub fn retry_after(code: u16, reason: &str, secs: u64) -> Answer {
        Answer::Status {
            code,
            reason: reason.to_owned(),
            retry_after_s: Some(secs),
        }
    }
}

/// Queues of scripted answers, one per token.
#[derive(Default)]
pub(crate) struct AnswerBook {
    queues: Mutex<HashMap<String, VecDeque<Answer>>>,
}

impl AnswerBook {
    /// Appends `answers` to the queue of `token`.
    pub(crate) fn script(&self, token: &str, answers: Vec<Answer>) {
        let mut queues = self.queues.lock().unwrap();
        queues.entry(token.to_owned()).or_default().extend(answers);
    }

    /// The next answer for `token`: the head of its queue, else `Ok`.
    pub(crate) fn next(&self, token: &str) -> Answer {
        let mut queues = self.queues.lock().unwrap();
        let Some(queue) = queues.get_mut(token) else {
            return Answer::Ok;
        };
        let answer = queue.pop_front().unwrap_or(Answer::Ok);
        if queue.is_empty() {
            queues.remove(token);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_used_in_order_then_ok() {
        let book = AnswerBook::default();
        book.script(
            "t",
            vec![
                Answer::status(410, "Unregistered"),
                Answer::Delay(Duration::ZERO),
            ],
        );
        book.script("t", vec![Answer::retry_after(429, "TooManyRequests", 3)]);
        assert_eq!(book.next("other"), Answer::Ok);
        assert_eq!(book.next("t"), Answer::status(410, "Unregistered"));
        assert_eq!(book.next("t"), Answer::Delay(Duration::ZERO));
        assert_eq!(
            book.next("t"),
            Answer::retry_after(429, "TooManyRequests", 3)
        );
        assert_eq!(book.next("t"), Answer::Ok);
    }
}
