//! The product's own count of the links WeChat caps: schemes and URL links per app per
//! Beijing day, permanent short links per app for life. Counted in the shared database,
//! so a cluster refuses with 429 before WeChat would (44993, 85400), without a call.

use crate::error::{AppError, AppResult};
use crate::store::{Db, links};

/// Beijing is UTC+8 all year: WeChat's day turns at 16:00 UTC.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// Which count a link goes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket(String);

impl Bucket {
    /// Schemes and URL links of the Beijing day holding `now`.
    pub fn day(now: i64) -> Self {
        Bucket(format!(
            "day:{}",
            (now + BEIJING_OFFSET_SECS).div_euclid(86_400)
        ))
    }

    pub fn permanent_short() -> Self {
        Bucket("permanent_short".to_owned())
    }
}

/// Takes a unit of `bucket`, or refuses with 429.
pub async fn take(db: &Db, app_id: &str, bucket: &Bucket, limit: u64, now: i64) -> AppResult<()> {
    if links::take_count(db, app_id, &bucket.0, limit).await? {
        return Ok(());
    }
    let (msg, retry_after) = if bucket.0.starts_with("day:") {
        let next_day =
            ((now + BEIJING_OFFSET_SECS).div_euclid(86_400) + 1) * 86_400 - BEIJING_OFFSET_SECS;
        (
            format!("今日链接生成数已达上限 {limit} 个(scheme 与 URL Link 合计,北京时间次日恢复)"),
            Some((next_day - now).max(1) as u64),
        )
    } else {
        (format!("永久 Short Link 已达上限 {limit} 个"), None)
    };
    Err(AppError::RateLimited {
        msg: msg.into(),
        wechat: None,
        retry_after,
    })
}

/// Gives the unit back: WeChat made nothing.
pub async fn give_back(db: &Db, app_id: &str, bucket: &Bucket) {
    if let Err(e) = links::give_back_count(db, app_id, &bucket.0).await {
        tracing::warn!(error = %e, "could not give back a link count");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_turns_at_midnight_in_beijing() {
        // 2026-12-05 15:59:59 UTC is 23:59:59 in Beijing; a second later the next day.
        let before = 1_796_486_399;
        assert_ne!(Bucket::day(before), Bucket::day(before + 1));
        assert_eq!(Bucket::day(before + 1), Bucket::day(before + 86_400));
    }
}
