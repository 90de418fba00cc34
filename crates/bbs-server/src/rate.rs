//! Token-bucket rate limits keyed by IP address or user name, and the
//! per-IP connection count.
//!
//! Memory is bounded: a limiter tracks at most [`MAX_KEYS`] keys. When it
//! is full it forgets the keys whose buckets have refilled (they behave
//! exactly as unseen keys), and if that is not enough, the oldest half.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Rate;

/// Most keys a limiter remembers.
const MAX_KEYS: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Limits how often each key may act.
#[derive(Debug)]
pub(crate) struct RateLimiter<K> {
    /// The rate, which a reload may change; buckets keep their tokens.
    rate: Mutex<Rate>,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub(crate) fn new(rate: Rate) -> RateLimiter<K> {
        RateLimiter { rate: Mutex::new(rate), buckets: Mutex::new(HashMap::new()) }
    }

    /// Applies a new rate from now on (a configuration reload). If it
    /// differs, every key starts again with a full bucket of the new rate:
    /// old tokens were counted against another burst.
    pub(crate) fn set_rate(&self, rate: Rate) {
        let mut current = self.rate.lock().expect("rate lock");
        if *current != rate {
            *current = rate;
            self.buckets.lock().expect("rate limiter lock").clear();
        }
    }

    /// Takes one token for `key`; if there is none, how long until there is.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let rate = *self.rate.lock().expect("rate lock");
        let burst = f64::from(rate.burst);
        let per_second = burst / rate.period.as_secs_f64();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second < burst);
            if buckets.len() >= MAX_KEYS {
                let mut ages: Vec<Instant> = buckets.values().map(|b| b.updated).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                buckets.retain(|_, b| b.updated > cut);
            }
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: burst, updated: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Gives `key` a full bucket again (a successful login).
    pub(crate) fn reset(&self, key: &K) {
        self.buckets.lock().expect("rate limiter lock").remove(key);
    }
}

/// Who a per-address limit counts: an IPv4 address as it is, an IPv6
/// client by its /64. One IPv6 host is usually handed a whole /64 and can
/// pick any address in it, so counting single IPv6 addresses would give it
/// 2^64 fresh budgets. An IPv4 address mapped into IPv6 (a dual-stack
/// socket's view of an IPv4 client) counts as that IPv4 address. Every
/// per-address limit keys by this, so the TCP, SSH, web and UDP doors
/// agree on who is who.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(IpAddr);

impl ClientKey {
    pub(crate) fn of(ip: IpAddr) -> ClientKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                ClientKey(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }
}

/// Whole seconds to wait, rounded up, for an answer a person reads.
pub(crate) fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Counts open TCP connections, in total and per IP address.
#[derive(Debug)]
pub(crate) struct ConnectionCount {
    /// The caps (total, per address), which a reload may change.
    limits: Mutex<(usize, usize)>,
    open: Mutex<(usize, HashMap<ClientKey, usize>)>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Full(usize),
    TooManyFromIp(usize),
}

impl Refused {
    /// What the refused peer reads before the connection closes.
    pub(crate) fn message(self) -> String {
        match self {
            Refused::Full(max) => {
                format!("Server full: {max} connections are open. Please try again later.")
            }
            Refused::TooManyFromIp(max) => format!(
                "Too many connections from your address (the limit is {max}). \
                 Please close one and try again."
            ),
        }
    }
}

impl ConnectionCount {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionCount> {
        Arc::new(ConnectionCount { limits: Mutex::new((max_total, max_per_ip)), open: Mutex::new((0, HashMap::new())) })
    }

    /// New caps for connections admitted from now on; open ones stay.
    pub(crate) fn set_limits(&self, max_total: usize, max_per_ip: usize) {
        *self.limits.lock().expect("connection limits lock") = (max_total, max_per_ip);
    }

    /// Counts a new connection from `ip` (by its [`ClientKey`]), or says
    /// why it is refused. The slot is given back when the returned guard is
    /// dropped.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refused> {
        let ip = ClientKey::of(ip);
        let (max_total, max_per_ip) = *self.limits.lock().expect("connection limits lock");
        let mut open = self.open.lock().expect("connection count lock");
        if open.0 >= max_total {
            return Err(Refused::Full(max_total));
        }
        let from_ip = open.1.entry(ip).or_insert(0);
        if *from_ip >= max_per_ip {
            return Err(Refused::TooManyFromIp(max_per_ip));
        }
        *from_ip += 1;
        open.0 += 1;
        Ok(ConnectionSlot { count: Arc::clone(self), ip })
    }
}

/// One counted connection.
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    count: Arc<ConnectionCount>,
    ip: ClientKey,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.count.open.lock().expect("connection count lock");
        open.0 -= 1;
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_how_long_to_wait() {
        let limiter = RateLimiter::new(Rate::new(3, Duration::from_secs(30)));
        for _ in 0..3 {
            assert!(limiter.check(&"a").is_ok());
        }
        let wait = limiter.check(&"a").unwrap_err();
        assert!(wait > Duration::from_secs(9) && wait <= Duration::from_secs(10), "{wait:?}");
        assert_eq!(seconds(wait), 10);
        assert!(limiter.check(&"b").is_ok(), "keys are independent");
        limiter.reset(&"a");
        assert!(limiter.check(&"a").is_ok());
    }

    #[test]
    fn connection_slots_are_given_back() {
        let count = ConnectionCount::new(3, 2);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let a = count.admit(ip).unwrap();
        let _b = count.admit(ip).unwrap();
        assert_eq!(count.admit(ip).unwrap_err(), Refused::TooManyFromIp(2));
        let _c = count.admit(other).unwrap();
        assert_eq!(count.admit(other).unwrap_err(), Refused::Full(3));
        drop(a);
        assert!(count.admit(ip).is_ok());
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_itself() {
        let key = |s: &str| ClientKey::of(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(key("2001:db8:1:2::5"), ClientKey("2001:db8:1:2::".parse().unwrap()));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"), "another /64 is another client");
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"), "IPv4 addresses stay whole");

        let count = ConnectionCount::new(10, 2);
        let _a = count.admit("2001:db8::1".parse().unwrap()).unwrap();
        let _b = count.admit("2001:db8::2".parse().unwrap()).unwrap();
        assert_eq!(count.admit("2001:db8::3".parse().unwrap()).unwrap_err(), Refused::TooManyFromIp(2));
        assert!(count.admit("2001:db8:0:1::1".parse().unwrap()).is_ok());

        let limiter = RateLimiter::new(Rate::new(1, Duration::from_secs(60)));
        assert!(limiter.check(&key("2001:db8::1")).is_ok());
        assert!(limiter.check(&key("2001:db8::2")).is_err(), "the same /64 shares one bucket");
    }
}
