//! The reconnection delay of socket.io-client (its bundled `backo2`).

use std::time::Duration;

/// Exponential backoff with jitter, computed exactly as socket.io-client 4.8
/// does (protocol.md §7):
///
/// ```text
/// ms = min × factor^attempts;  attempts += 1
/// deviation = floor(r × jitter × ms)
/// ms = (floor(r × 10) is even) ? ms − deviation : ms + deviation
/// delay = min(ms, max) | 0
/// ```
///
/// with `r` the caller's random value in `[0, 1)` (JavaScript's
/// `Math.random()`; the same `r` picks the deviation and its sign).
///
/// ```
/// use std::time::Duration;
/// use siospec_codec::session::socket::Backoff;
///
/// let mut b = Backoff::default(); // 1000 ms, max 5000 ms, factor 2, jitter 0.5
/// // r = 0.25: deviation floor(0.25 × 0.5 × 1000) = 125; floor(2.5) = 2 is even: minus
/// assert_eq!(b.duration(0.25), Duration::from_millis(875));
/// // r = 0.15: deviation floor(0.15 × 0.5 × 2000) = 150; floor(1.5) = 1 is odd: plus
/// assert_eq!(b.duration(0.15), Duration::from_millis(2150));
/// assert_eq!(b.duration(0.0), Duration::from_millis(4000));
/// assert_eq!(b.duration(0.0), Duration::from_millis(5000)); // capped
/// b.reset();
/// assert_eq!(b.attempts(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// `reconnectionDelay`, default 1000 ms.
    pub min: Duration,
    /// `reconnectionDelayMax`, default 5000 ms.
    pub max: Duration,
    /// Growth factor, 2.
    pub factor: f64,
    /// `randomizationFactor`, default 0.5.
    pub jitter: f64,
    attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(1000),
            max: Duration::from_millis(5000),
            factor: 2.0,
            jitter: 0.5,
            attempts: 0,
        }
    }
}

impl Backoff {
    /// A backoff with these settings.
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        Backoff {
            min,
            max,
            jitter,
            ..Backoff::default()
        }
    }

    /// The next delay, counting one more attempt. `random` is clamped into `[0, 1)`.
    pub fn duration(&mut self, random: f64) -> Duration {
        let r = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0 - f64::EPSILON)
        };
        let base = self.min.as_millis() as f64;
        let mut ms = base * self.factor.powi(self.attempts.min(i32::MAX as u32) as i32);
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter != 0.0 {
            let deviation = (r * self.jitter * ms).floor();
            ms = if ((r * 10.0).floor() as i64) & 1 == 0 {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        // Math.min propagates NaN (f64::min would not).
        let capped = if ms.is_nan() {
            ms
        } else {
            ms.min(self.max.as_millis() as f64)
        };
        Duration::from_millis(to_int32(capped).max(0) as u64)
    }

    /// Attempts counted since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over (after a successful reconnection, or a close).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// JavaScript's `x | 0`.
fn to_int32(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    let t = x.trunc();
    let m = t.rem_euclid(4_294_967_296.0);
    let m = if m >= 2_147_483_648.0 {
        m - 4_294_967_296.0
    } else {
        m
    };
    m as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_jitter_it_doubles_up_to_the_max() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000), 0.0);
        let got: Vec<u64> = (0..6).map(|_| b.duration(0.7).as_millis() as u64).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.attempts(), 6);
    }

    #[test]
    fn jitter_sign_follows_the_tenths_digit() {
        for (r, expect) in [(0.05, 975), (0.15, 1075), (0.95, 1475), (0.99, 1495)] {
            let mut b = Backoff::default();
            assert_eq!(b.duration(r), Duration::from_millis(expect), "r = {r}");
        }
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff::default();
        for _ in 0..2000 {
            let d = b.duration(0.3);
            assert!(d <= Duration::from_millis(5000));
        }
        // like JavaScript: Infinity - NaN deviation with r = 0 gives 0
        assert_eq!(b.duration(0.0), Duration::from_millis(0));
    }

    #[test]
    fn int32_truncation() {
        assert_eq!(to_int32(4_294_967_297.0), 1);
        assert_eq!(to_int32(-1.5), -1);
        assert_eq!(to_int32(f64::NAN), 0);
    }
}
