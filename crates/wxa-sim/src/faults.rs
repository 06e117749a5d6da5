//! Injected faults: a busy `-1`, an HTTP 5xx, or a delay, per API or for all APIs.

use std::sync::Mutex;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::state::lock;

/// One fault rule, as the control API receives and lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// API name (`cgi-bin/token`, `wxa/getwxacodeunlimit`, ...) or `*` for every API.
    #[serde(default = "all_apis")]
    pub api: String,
    /// Probability (0..=1) of answering `{"errcode":-1,"errmsg":"system error ..."}`.
    #[serde(default)]
    pub busy: f64,
    /// Probability (0..=1) of answering with HTTP `status` and a non-JSON body.
    #[serde(default)]
    pub http_5xx: f64,
    /// The status used for `http_5xx` (500..=599).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Delay added before answering, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// Probability (0..=1) that the delay applies (default 1).
    #[serde(default = "one")]
    pub delay_rate: f64,
    /// Apply to this many more matching calls only, then remove the rule (absent: forever).
    #[serde(default)]
    pub times: Option<u64>,
}

fn all_apis() -> String {
    "*".to_owned()
}
fn default_status() -> u16 {
    503
}
fn one() -> f64 {
    1.0
}

impl FaultRule {
    /// Checks ranges; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("busy", self.busy),
            ("http_5xx", self.http_5xx),
            ("delay_rate", self.delay_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be a probability between 0 and 1"));
            }
        }
        if !(500..=599).contains(&self.status) {
            return Err("status must be between 500 and 599".to_owned());
        }
        if self.api.is_empty() {
            return Err("api must be an API name or *".to_owned());
        }
        Ok(())
    }
}

/// What to do to one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultAction {
    pub delay_ms: u64,
    pub outcome: FaultOutcome,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultOutcome {
    #[default]
    Normal,
    Busy,
    Http(u16),
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    /// Adds a rule, replacing any rule for the same API.
    pub fn set(&self, rule: FaultRule) {
        let mut rules = lock(&self.rules);
        rules.retain(|r| r.api != rule.api);
        rules.push(rule);
    }

    /// Removes the rule for `api`, or every rule when `api` is None.
    pub fn clear(&self, api: Option<&str>) -> usize {
        let mut rules = lock(&self.rules);
        let before = rules.len();
        match api {
            Some(api) => rules.retain(|r| r.api != api),
            None => rules.clear(),
        }
        before - rules.len()
    }

    pub fn list(&self) -> Vec<FaultRule> {
        lock(&self.rules).clone()
    }

    /// Decides the fault for one call of `api`: its own rule first, else the `*` rule.
    pub fn pick(&self, api: &str) -> FaultAction {
        let mut rules = lock(&self.rules);
        if rules.is_empty() {
            return FaultAction::default();
        }
        let Some(index) = rules
            .iter()
            .position(|r| r.api == api)
            .or_else(|| rules.iter().position(|r| r.api == "*"))
        else {
            return FaultAction::default();
        };
        let rule = rules[index].clone();
        if let Some(times) = rule.times {
            if times <= 1 {
                rules.remove(index);
            } else {
                rules[index].times = Some(times - 1);
            }
        }
        drop(rules);
        let mut rng = rand::thread_rng();
        let delay_ms = if rule.delay_ms > 0 && rng.gen_bool(rule.delay_rate) {
            rule.delay_ms
        } else {
            0
        };
        let outcome = if rng.gen_bool(rule.http_5xx) {
            FaultOutcome::Http(rule.status)
        } else if rng.gen_bool(rule.busy) {
            FaultOutcome::Busy
        } else {
            FaultOutcome::Normal
        };
        FaultAction { delay_ms, outcome }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(api: &str, busy: f64, times: Option<u64>) -> FaultRule {
        FaultRule {
            api: api.to_owned(),
            busy,
            http_5xx: 0.0,
            status: 503,
            delay_ms: 0,
            delay_rate: 1.0,
            times,
        }
    }

    #[test]
    fn a_rule_with_times_expires_after_that_many_calls() {
        let faults = Faults::default();
        faults.set(rule("cgi-bin/token", 1.0, Some(2)));
        assert_eq!(faults.pick("cgi-bin/token").outcome, FaultOutcome::Busy);
        assert_eq!(faults.pick("cgi-bin/token").outcome, FaultOutcome::Busy);
        assert_eq!(faults.pick("cgi-bin/token").outcome, FaultOutcome::Normal);
    }

    #[test]
    fn the_api_rule_wins_over_the_wildcard() {
        let faults = Faults::default();
        faults.set(rule("*", 1.0, None));
        faults.set(rule("wxa/getwxacode", 0.0, None));
        assert_eq!(faults.pick("wxa/getwxacode").outcome, FaultOutcome::Normal);
        assert_eq!(faults.pick("cgi-bin/token").outcome, FaultOutcome::Busy);
    }
}
