//! A sliding-window rate limiter keyed by string (an address, an account).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `max` events per `window` for each key.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// A limiter of `max` events per `window` (0 disables the limit).
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Records an event for `key` at `now`; `false` when over the limit
    /// (the refused event is not counted).
    pub fn check_at(&self, key: &str, now: Instant) -> bool {
        if self.max == 0 {
            return true;
        }
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        // Forget idle keys now and then so memory stays bounded.
        if hits.len() > 10_000 {
            let window = self.window;
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = hits.entry(key.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max as usize {
            return false;
        }
        q.push_back(now);
        true
    }

    /// [`Self::check_at`] with the current instant.
    pub fn check(&self, key: &str) -> bool {
        self.check_at(key, Instant::now())
    }

    /// Forgets a key (e.g. after a successful sign-in).
    pub fn reset(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_per_window_then_recovers() {
        let l = RateLimiter::new(2, Duration::from_secs(10));
        let t = Instant::now();
        assert!(l.check_at("a", t));
        assert!(l.check_at("a", t + Duration::from_secs(1)));
        assert!(!l.check_at("a", t + Duration::from_secs(2)));
        assert!(
            l.check_at("b", t + Duration::from_secs(2)),
            "keys are separate"
        );
        assert!(
            l.check_at("a", t + Duration::from_secs(10)),
            "window slides"
        );
        l.reset("a");
        assert!(l.check_at("a", t + Duration::from_secs(10)));
    }

    #[test]
    fn zero_disables() {
        let l = RateLimiter::new(0, Duration::from_secs(1));
        assert!((0..100).all(|_| l.check("x")));
    }
}
