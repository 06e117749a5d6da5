//! The attempt limit of the older `encrypted_data` phone flow (README "What an anonymous
//! caller cannot do").
//!
//! The caller chooses the iv and the ciphertext, so an unlimited decryption is a padding
//! oracle: with enough tries it forges data for a number the caller does not own. Every
//! failure therefore gets one answer, and a session may fail at most `MAX_FAILURES` times
//! in `WINDOW_SECS`; then it is refused until the oldest failure leaves the window. The
//! count lives in the database so every instance of a cluster sees it.

use crate::error::{AppError, AppResult};
use crate::store::Db;
use crate::store::users::{self as store, Attempts};

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECS: i64 = 600;

/// The one answer for every failure of the flow: which step failed is not told.
pub fn undecryptable() -> AppError {
    AppError::invalid(
        "encrypted_data",
        "无法解密出本小程序的手机号(请重新 wx.login 登录后再获取,或改用手机号快速验证组件的 code)",
    )
}

/// 429 while the session has used up its failures.
pub async fn check(db: &Db, session_id: i64, now: i64) -> AppResult<()> {
    let attempts = store::phone_attempts(db, session_id, now - WINDOW_SECS).await?;
    refuse_past(attempts, MAX_FAILURES, now)
}

/// Runs one attempt of the flow: it takes one of the session's `MAX_FAILURES` slots
/// first (so concurrent attempts, on any instance, cannot exceed the limit), gives it
/// back when it succeeds; a failure keeps its slot for `WINDOW_SECS`.
pub async fn attempt<T, E>(
    db: &Db,
    session_id: i64,
    now: i64,
    decrypt: impl FnOnce() -> Result<T, E>,
) -> AppResult<Result<T, E>> {
    let id = match store::begin_phone_attempt(db, session_id, now, now - WINDOW_SECS, MAX_FAILURES)
        .await?
    {
        Ok(id) => id,
        Err(attempts) => {
            return Err(refusal(attempts, now));
        }
    };
    let outcome = decrypt();
    if outcome.is_ok() {
        store::forget_phone_attempt(db, id).await?;
    }
    Ok(outcome)
}

fn refuse_past(attempts: Attempts, limit: i64, now: i64) -> AppResult<()> {
    if attempts.count < limit {
        return Ok(());
    }
    Err(refusal(attempts, now))
}

/// The 429, with a `Retry-After` for when the oldest failure leaves the window.
fn refusal(attempts: Attempts, now: i64) -> AppError {
    // One failure leaves the window when the oldest is WINDOW_SECS old.
    let free_at = attempts.oldest_at.unwrap_or(now) + WINDOW_SECS;
    AppError::RateLimited {
        msg: format!("手机号解密失败次数过多: 每个登录会话 10 分钟内最多失败 {MAX_FAILURES} 次,请稍后再试或重新登录").into(),
        wechat: None,
        retry_after: Some((free_at - now).max(1) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_refuses_once_reached_and_says_when_to_come_back() {
        let now = 10_000;
        let under = Attempts {
            count: 4,
            oldest_at: Some(now - 100),
        };
        assert!(refuse_past(under, MAX_FAILURES, now).is_ok());
        let at = Attempts {
            count: 5,
            oldest_at: Some(now - 100),
        };
        match refuse_past(at, MAX_FAILURES, now) {
            Err(AppError::RateLimited { retry_after, .. }) => assert_eq!(retry_after, Some(500)),
            other => panic!("expected 429, got {other:?}"),
        }
    }
}
