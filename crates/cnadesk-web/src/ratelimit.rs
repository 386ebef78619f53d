//! A sliding-window rate limiter keyed by string (an address, an account),
//! and the sign-in throttle built so that nobody can lock a member out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `max` events per `window` for each key.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<Hits>,
}

/// The events of a [`RateLimiter`] per key, and when idle keys were last
/// forgotten.
#[derive(Debug, Default)]
struct Hits {
    keys: HashMap<String, VecDeque<Instant>>,
    calls_since_sweep: u32,
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    /// A limiter of `max` events per `window` (0 disables the limit).
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            hits: Mutex::new(Hits::default()),
        }
    }

    /// Records an event for `key` at `now`; `false` when over the limit
    /// (the refused event is not counted).
    pub fn check_at(&self, key: &str, now: Instant) -> bool {
        self.try_at(key, now).is_ok()
    }

    /// [`Self::check_at`] that says, when over the limit, how long until an
    /// event for `key` would be allowed again.
    pub fn try_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.max == 0 {
            return Ok(());
        }
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        // Forget idle keys now and then (not on every call: the scan holds
        // the lock) so memory stays bounded.
        hits.calls_since_sweep = hits.calls_since_sweep.saturating_add(1);
        let due = hits.calls_since_sweep >= SWEEP_EVERY_CALLS
            || hits.last_sweep.is_none_or(|t| {
                now.saturating_duration_since(t) >= Duration::from_millis(SWEEP_EVERY_MS as u64)
            });
        if due {
            hits.calls_since_sweep = 0;
            hits.last_sweep = Some(now);
            if hits.keys.len() > SWEEP_ABOVE_KEYS {
                let window = self.window;
                hits.keys
                    .retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
            }
        }
        let q = hits.keys.entry(key.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max as usize {
            // Room comes back when the oldest event that keeps it full leaves the window.
            let oldest = q[q.len() - self.max as usize];
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }

    /// [`Self::check_at`] with the current instant.
    pub fn check(&self, key: &str) -> bool {
        self.check_at(key, Instant::now())
    }

    /// [`Self::try_at`] with the current instant.
    pub fn try_now(&self, key: &str) -> Result<(), Duration> {
        self.try_at(key, Instant::now())
    }

    /// Forgets a key (e.g. after a successful sign-in).
    pub fn reset(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .remove(key);
    }
}

/// Whole seconds to announce in `Retry-After` for a wait of `wait`: rounded
/// up, at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// A wait of `secs` seconds as a page says it: "1 second", "40 seconds"
/// under a minute, else whole minutes rounded up ("1 minute", "15 minutes").
pub fn wait_in_words(secs: u64) -> String {
    let (n, unit) = if secs < 60 {
        (secs, "second")
    } else {
        (secs.div_ceil(60), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The longest slow-down one failure can cost an address for an account
/// under attack.
pub const MAX_SLOWDOWN: Duration = Duration::from_secs(5 * 60);

/// Sign-in throttling that limits guessing without letting anyone lock a
/// member out.
///
/// - **Per address**: `5 × budget` attempts per window, whatever the
///   accounts (one address guessing many accounts).
/// - **Per account and address**: `budget` failed attempts per window; then
///   that address waits, even with the right password. Another address is
///   not affected.
/// - **Per account**, over all addresses, only a slow-down: once an account
///   has had more than `budget` failures in the window (more than one
///   address may make), each further failure makes *the address that
///   failed* wait before its next attempt for this account: 1 s, doubling
///   with every failure, at most [`MAX_SLOWDOWN`]. An address that has not
///   failed for the account is never refused because of it.
///
/// Times are milliseconds from the desk's clock.
#[derive(Debug)]
pub struct LoginThrottle {
    budget: u32,
    window_ms: i64,
    state: Mutex<ThrottleState>,
}

#[derive(Debug, Default)]
struct ThrottleState {
    /// Attempts per address.
    address: HashMap<String, VecDeque<i64>>,
    /// Failures per account and address.
    pair: HashMap<String, VecDeque<i64>>,
    /// Failures per account, from any address.
    account: HashMap<String, VecDeque<i64>>,
    /// Per account and address: no attempt before this time (the slow-down).
    slowed: HashMap<String, i64>,
    /// Calls since idle keys were last forgotten.
    calls_since_sweep: u32,
    /// When idle keys were last forgotten.
    last_sweep_ms: i64,
}

/// Above this many keys a map of a limiter or of the throttle forgets its
/// idle ones, at most once per [`SWEEP_EVERY_CALLS`] calls or
/// [`SWEEP_EVERY_MS`].
const SWEEP_ABOVE_KEYS: usize = 10_000;
/// Calls between two sweeps of idle keys, at most.
const SWEEP_EVERY_CALLS: u32 = 1_000;
/// Milliseconds between two sweeps of idle keys, at most.
const SWEEP_EVERY_MS: i64 = 10_000;

/// Failures of an account beyond the budget after which the slow-down has
/// reached [`MAX_SLOWDOWN`] (1 s doubling: 2⁹ s > 5 min). Only this many
/// failures past the budget are kept per account: more change nothing.
const SLOWDOWN_SATURATES_AFTER: usize = 10;

impl ThrottleState {
    /// Forgets idle keys when a map has grown large, but not on every call:
    /// the scan holds the one lock.
    fn sweep_now_and_then(&mut self, now_ms: i64, window_ms: i64) {
        self.calls_since_sweep = self.calls_since_sweep.saturating_add(1);
        let due = self.calls_since_sweep >= SWEEP_EVERY_CALLS
            || now_ms.saturating_sub(self.last_sweep_ms) >= SWEEP_EVERY_MS;
        if !due {
            return;
        }
        self.calls_since_sweep = 0;
        self.last_sweep_ms = now_ms;
        forget_idle(&mut self.address, now_ms, window_ms);
        forget_idle(&mut self.pair, now_ms, window_ms);
        forget_idle(&mut self.account, now_ms, window_ms);
        if self.slowed.len() > SWEEP_ABOVE_KEYS {
            self.slowed.retain(|_, until| *until > now_ms);
        }
    }
}

/// Keeps only the events of `q` inside the window ending at `now_ms`.
fn slide(q: &mut VecDeque<i64>, now_ms: i64, window_ms: i64) {
    while q.front().is_some_and(|t| now_ms - *t >= window_ms) {
        q.pop_front();
    }
}

/// Appends `now_ms` to `q`, keeping only its newest `cap` events (older
/// ones would leave the window first, and no count above `cap` matters).
fn push_capped(q: &mut VecDeque<i64>, now_ms: i64, cap: usize) {
    q.push_back(now_ms);
    while q.len() > cap.max(1) {
        q.pop_front();
    }
}

/// How long until `q` (already slid) holds fewer than `max` events.
fn wait_for_room(q: &VecDeque<i64>, max: usize, now_ms: i64, window_ms: i64) -> Option<i64> {
    (max > 0 && q.len() >= max).then(|| q[q.len() - max] + window_ms - now_ms)
}

fn forget_idle(map: &mut HashMap<String, VecDeque<i64>>, now_ms: i64, window_ms: i64) {
    if map.len() > SWEEP_ABOVE_KEYS {
        map.retain(|_, q| q.back().is_some_and(|t| now_ms - *t < window_ms));
    }
}

fn pair_key(account: &str, address: &str) -> String {
    format!("{account}\u{0}{address}")
}

fn ms(wait_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))
}

impl LoginThrottle {
    /// `budget` failures per account and address per `window` (0 disables
    /// every limit).
    pub fn new(budget: u32, window: Duration) -> Self {
        Self {
            budget,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            state: Mutex::new(ThrottleState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ThrottleState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// May `address` try a password for `account` now? Counts the attempt
    /// against the address when the address itself is within its limit;
    /// `Err(wait)`: not before `wait` has passed.
    pub fn admit(&self, account: &str, address: &str, now_ms: i64) -> Result<(), Duration> {
        if self.budget == 0 {
            return Ok(());
        }
        let window = self.window_ms;
        let mut s = self.lock();
        s.sweep_now_and_then(now_ms, window);
        let q = s.address.entry(address.to_owned()).or_default();
        slide(q, now_ms, window);
        let per_address = self.budget.saturating_mul(5) as usize;
        if let Some(wait) = wait_for_room(q, per_address, now_ms, window) {
            return Err(ms(wait));
        }
        q.push_back(now_ms);
        let key = pair_key(account, address);
        if let Some(q) = s.pair.get_mut(&key) {
            slide(q, now_ms, window);
            if let Some(wait) = wait_for_room(q, self.budget as usize, now_ms, window) {
                return Err(ms(wait));
            }
        }
        match s.slowed.get(&key) {
            Some(until) if *until > now_ms => Err(ms(until - now_ms)),
            _ => Ok(()),
        }
    }

    /// Records a wrong password (or unknown account) for `account` from
    /// `address`.
    pub fn failed(&self, account: &str, address: &str, now_ms: i64) {
        if self.budget == 0 {
            return;
        }
        let window = self.window_ms;
        let mut s = self.lock();
        s.sweep_now_and_then(now_ms, window);
        let budget = self.budget as usize;
        let key = pair_key(account, address);
        let q = s.pair.entry(key.clone()).or_default();
        slide(q, now_ms, window);
        // Only the newest `budget` failures of a pair decide its wait.
        push_capped(q, now_ms, budget);
        let q = s.account.entry(account.to_owned()).or_default();
        slide(q, now_ms, window);
        // From any number of addresses: bounded all the same.
        push_capped(q, now_ms, budget.saturating_add(SLOWDOWN_SATURATES_AFTER));
        let excess = q.len().saturating_sub(self.budget as usize);
        if excess > 0 {
            let doubling = u32::try_from(excess - 1).unwrap_or(u32::MAX).min(20);
            let delay = Duration::from_secs(1u64 << doubling).min(MAX_SLOWDOWN);
            let until = now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(0));
            s.slowed.insert(key, until);
        }
    }

    /// Records a good password for `account` from `address`: that address
    /// starts afresh for the account.
    pub fn succeeded(&self, account: &str, address: &str) {
        let key = pair_key(account, address);
        let mut s = self.lock();
        s.pair.remove(&key);
        s.slowed.remove(&key);
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
    fn a_limiter_forgets_idle_keys_now_and_then() {
        let l = RateLimiter::new(1, Duration::from_secs(60));
        let t = Instant::now();
        for i in 0..=SWEEP_ABOVE_KEYS {
            assert!(l.check_at(&format!("a{i}"), t));
        }
        let keys = |l: &RateLimiter| l.hits.lock().unwrap().keys.len();
        assert_eq!(keys(&l), SWEEP_ABOVE_KEYS + 1);
        assert!(l.check_at("b", t + Duration::from_secs(60)));
        assert_eq!(keys(&l), 1, "swept once the window passed");
    }

    #[test]
    fn zero_disables() {
        let l = RateLimiter::new(0, Duration::from_secs(1));
        assert!((0..100).all(|_| l.check("x")));
    }

    #[test]
    fn try_says_how_long_to_wait() {
        let l = RateLimiter::new(2, Duration::from_secs(10));
        let t = Instant::now();
        assert!(l.try_at("a", t).is_ok());
        assert!(l.try_at("a", t + Duration::from_secs(3)).is_ok());
        assert_eq!(
            l.try_at("a", t + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn waits_in_words_agree_in_number() {
        for (secs, words) in [
            (0, "0 seconds"),
            (1, "1 second"),
            (40, "40 seconds"),
            (59, "59 seconds"),
            (60, "1 minute"),
            (61, "2 minutes"),
            (15 * 60, "15 minutes"),
            (3600, "60 minutes"),
        ] {
            assert_eq!(wait_in_words(secs), words, "{secs}");
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn failures_elsewhere_never_refuse_a_fresh_address() {
        let t = LoginThrottle::new(3, Duration::from_secs(15 * 60));
        // Many addresses fail for the account.
        for i in 0..50 {
            let a = format!("10.0.0.{i}");
            assert!(t.admit("x", &a, i).is_ok());
            t.failed("x", &a, i);
        }
        // A fresh address may always try.
        assert!(t.admit("x", "10.9.9.9", 100).is_ok());
        t.succeeded("x", "10.9.9.9");
        // A failing address is slowed down, growing but bounded.
        let wait = t.admit("x", "10.0.0.49", 100).unwrap_err();
        assert!(
            wait > Duration::from_secs(60) && wait <= MAX_SLOWDOWN,
            "{wait:?}"
        );
        assert!(t
            .admit("x", "10.0.0.49", 49 + MAX_SLOWDOWN.as_millis() as i64)
            .is_ok());
    }

    #[test]
    fn per_pair_and_per_address_limits_hold_until_the_window_slides() {
        let t = LoginThrottle::new(2, Duration::from_secs(15 * 60));
        for now in [0, MIN] {
            t.admit("x", "a", now).unwrap();
            t.failed("x", "a", now);
        }
        let wait = t.admit("x", "a", 2 * MIN).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(13 * 60),
            "the first failure leaves at 15 min"
        );
        assert!(t.admit("y", "a", 2 * MIN).is_ok(), "other accounts from a");
        assert!(t.admit("x", "b", 2 * MIN).is_ok(), "x from elsewhere");
        assert!(t.admit("x", "a", 15 * MIN).is_ok(), "the window slid");
        // The address: 10 attempts per window (five times the budget); in
        // this window so far: 4 (a refused attempt counts too).
        for i in 0..6 {
            assert!(t.admit(&format!("u{i}"), "a", 15 * MIN).is_ok());
        }
        assert!(t.admit("v", "a", 15 * MIN).is_err());
        // A success clears the pair.
        let t = LoginThrottle::new(2, Duration::from_secs(15 * 60));
        t.failed("x", "a", 0);
        t.succeeded("x", "a");
        t.failed("x", "a", 1);
        assert!(t.admit("x", "a", 2).is_ok());
    }

    #[test]
    fn an_account_keeps_only_the_failures_that_matter() {
        assert!(Duration::from_secs(1 << (SLOWDOWN_SATURATES_AFTER - 1)) >= MAX_SLOWDOWN);
        assert!(Duration::from_secs(1 << (SLOWDOWN_SATURATES_AFTER - 2)) < MAX_SLOWDOWN);
        let t = LoginThrottle::new(3, Duration::from_secs(15 * 60));
        for i in 0..5_000 {
            let a = format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256);
            t.failed("x", &a, i);
            t.failed("x", &a, i);
        }
        {
            let s = t.lock();
            assert_eq!(s.account["x"].len(), 3 + SLOWDOWN_SATURATES_AFTER);
            assert!(s.pair.values().all(|q| q.len() <= 2));
        }
        // The last failing address waits the longest slow-down; a fresh one
        // may try.
        assert_eq!(
            t.admit("x", "10.0.19.135", 5_000),
            Err(MAX_SLOWDOWN - ms(1))
        );
        assert!(t.admit("x", "10.9.9.9", 5_000).is_ok());
    }

    #[test]
    fn idle_keys_are_forgotten_now_and_then() {
        let t = LoginThrottle::new(1, Duration::from_secs(60));
        for i in 0..=SWEEP_ABOVE_KEYS {
            assert!(t.admit("x", &format!("a{i}"), 0).is_ok());
        }
        // A sweep (due by time) while nothing is idle yet.
        assert!(t.admit("x", "b", 59_999).is_ok());
        assert_eq!(t.lock().address.len(), SWEEP_ABOVE_KEYS + 2);
        // The `a…` keys are idle now, but the last sweep was 1 ms ago.
        let _ = t.admit("x", "c", 60_000);
        assert_eq!(t.lock().address.len(), SWEEP_ABOVE_KEYS + 3);
        // Enough calls make the next sweep due all the same.
        for _ in 1..SWEEP_EVERY_CALLS {
            let _ = t.admit("y", "c", 60_000);
        }
        assert_eq!(t.lock().address.len(), 2, "b and c are kept");
    }

    #[test]
    fn zero_budget_disables_the_throttle() {
        let t = LoginThrottle::new(0, Duration::from_secs(1));
        for i in 0..100 {
            t.failed("x", "a", i);
            assert!(t.admit("x", "a", i).is_ok());
        }
    }
}
