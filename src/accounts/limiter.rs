//! Failed log-ins are rate-limited per email and per client address (`governor`'s keyed GCRA
//! limiters count the failures): past a burst of failures, further log-ins for that email, or
//! from that address, are refused with `RATE_LIMITED` and the seconds to wait, before any
//! password is checked, until the limiter lets one through again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult};

/// Failures allowed for one email in a burst, and how fast that allowance comes back.
const EMAIL_BURST: u32 = 5;
const EMAIL_REFILL: Duration = Duration::from_secs(12);
/// Failures allowed from one client address (which may be many users behind one NAT).
const CLIENT_BURST: u32 = 20;
const CLIENT_REFILL: Duration = Duration::from_secs(3);

pub struct LoginLimiter {
    by_email: DefaultKeyedRateLimiter<String>,
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    /// Keys over their allowance, until when.
    blocked: Mutex<HashMap<String, Instant>>,
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            by_email: RateLimiter::keyed(quota(EMAIL_BURST, EMAIL_REFILL)),
            by_client: RateLimiter::keyed(quota(CLIENT_BURST, CLIENT_REFILL)),
            blocked: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginLimiter {
    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `RATE_LIMITED` if the email or the client is over its allowance of failures.
    pub fn check(&self, email: &str, client: Option<IpAddr>) -> AppResult<()> {
        let now = Instant::now();
        let blocked = self.blocked();
        let keys = [Some(email_key(email)), client.map(client_key)];
        let wait = keys
            .iter()
            .flatten()
            .filter_map(|key| blocked.get(key))
            .filter(|until| **until > now)
            .map(|until| until.duration_since(now))
            .max();
        match wait {
            Some(wait) => Err(AppError::RateLimited {
                retry_after_secs: wait.as_secs() + 1,
            }),
            None => Ok(()),
        }
    }

    /// Counts a failed log-in against the email and the client.
    pub fn record_failure(&self, email: &str, client: Option<IpAddr>) {
        let clock = DefaultClock::default();
        let now = Instant::now();
        let mut blocked = self.blocked();
        blocked.retain(|_, until| *until > now);
        if let Err(not_until) = self.by_email.check_key(&email.to_string()) {
            blocked.insert(
                email_key(email),
                now + not_until.wait_time_from(clock.now()),
            );
        }
        if let Some(client) = client {
            if let Err(not_until) = self.by_client.check_key(&client) {
                blocked.insert(
                    client_key(client),
                    now + not_until.wait_time_from(clock.now()),
                );
            }
        }
        self.by_email.retain_recent();
        self.by_client.retain_recent();
    }
}

fn email_key(email: &str) -> String {
    format!("email:{email}")
}

fn client_key(client: IpAddr) -> String {
    format!("client:{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_limited_after_its_burst_of_failures() {
        let limiter = LoginLimiter::default();
        let client: IpAddr = "127.0.0.1".parse().expect("an address");
        for _ in 0..=EMAIL_BURST {
            assert!(limiter.check("ann@example.com", Some(client)).is_ok());
            limiter.record_failure("ann@example.com", Some(client));
        }
        match limiter.check("ann@example.com", Some(client)) {
            Err(AppError::RateLimited { retry_after_secs }) => {
                assert!((1..=EMAIL_REFILL.as_secs() + 1).contains(&retry_after_secs));
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        // Another email from the same client is not limited yet.
        assert!(limiter.check("bob@example.com", Some(client)).is_ok());
    }
}
