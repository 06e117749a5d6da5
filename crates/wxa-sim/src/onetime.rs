//! Single-use, expiring codes: wx.login codes, phone codes, pre-auth and auth codes.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::Rng;
use rand::distributions::Alphanumeric;

use super::state::lock;

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug)]
struct Slot<T> {
    value: T,
    expires_at: i64,
    used: bool,
}

/// Used codes are remembered this long after they expire (to answer "used" rather than
/// "unknown"), then forgotten.
const KEEP_AFTER_EXPIRY_SECS: i64 = 86_400;

#[derive(Debug)]
pub struct OneTimeStore<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

impl<T> Default for OneTimeStore<T> {
    fn default() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> OneTimeStore<T> {
    /// Stores `value` under a new random code with `prefix`; returns the code.
    pub fn mint(&self, prefix: &str, value: T, expires_at: i64, now: i64) -> String {
        let code = format!("{prefix}{}", random_alnum(32));
        let mut slots = lock(&self.slots);
        if slots.len() % 1024 == 1023 {
            slots.retain(|_, s| s.expires_at + KEEP_AFTER_EXPIRY_SECS > now);
        }
        slots.insert(
            code.clone(),
            Slot {
                value,
                expires_at,
                used: false,
            },
        );
        code
    }

    /// Uses the code once. `accept` may refuse it without using it up (e.g. another app's code).
    pub fn take_if<E>(
        &self,
        code: &str,
        now: i64,
        accept: impl FnOnce(&T) -> Result<(), E>,
    ) -> Result<Result<T, E>, Refused> {
        let mut slots = lock(&self.slots);
        let slot = slots.get_mut(code).ok_or(Refused::Unknown)?;
        if slot.used {
            return Err(Refused::Used);
        }
        if now >= slot.expires_at {
            return Err(Refused::Expired);
        }
        if let Err(e) = accept(&slot.value) {
            return Ok(Err(e));
        }
        slot.used = true;
        Ok(Ok(slot.value.clone()))
    }

    /// Uses the code once, whoever asks.
    pub fn take(&self, code: &str, now: i64) -> Result<T, Refused> {
        self.take_if(code, now, |_| Ok::<(), ()>(()))
            .and_then(|r| r.map_err(|()| Refused::Unknown))
    }
}

/// Random letters and digits.
pub fn random_alnum(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_not_after_expiry() {
        let store = OneTimeStore::default();
        let code = store.mint("c_", 7, 100, 0);
        assert_eq!(store.take(&code, 50), Ok(7));
        assert_eq!(store.take(&code, 51), Err(Refused::Used));
        let late = store.mint("c_", 8, 100, 0);
        assert_eq!(store.take(&late, 100), Err(Refused::Expired));
        assert_eq!(store.take("nope", 0), Err(Refused::Unknown));
    }
}
