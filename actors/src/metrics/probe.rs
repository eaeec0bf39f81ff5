//! Values published as gauges when `/metrics` is scraped.
//!
//! The recorder forgets a gauge that was not set for a while (ferryd's idle timeout), so a
//! level that changes rarely (a mailbox's capacity, the size of a schema history, a queue that
//! stays empty) must be set again at each scrape. A [`Level`] is such a value: the code sets
//! it where it changes (one atomic store) and [`publish`] copies every live level into its
//! gauge before the scrape is rendered. Other probes (a mailbox's depth) are read at scrape
//! time only ([`register`]). A probe whose owner is gone is dropped at the next scrape.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A probe: publishes its gauges; false once what it watches is gone (it is then dropped).
type Probe = Box<dyn Fn() -> bool + Send + Sync>;

static PROBES: Mutex<Vec<Probe>> = Mutex::new(Vec::new());

fn probes() -> std::sync::MutexGuard<'static, Vec<Probe>> {
    PROBES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds a probe, called at each scrape until it returns false.
pub fn register(probe: impl Fn() -> bool + Send + Sync + 'static) {
    probes().push(Box::new(probe));
}

/// Publishes every probe (call before rendering `/metrics`); drops those whose owner is gone.
pub fn publish() {
    probes().retain(|p| p());
}

struct Inner {
    bits: AtomicU64,
    set: AtomicBool,
    gauge: ::metrics::Gauge,
}

/// A value kept by the code and published into `gauge` at each scrape while this handle (or
/// a clone) lives. Nothing is published before the first [`Level::set`].
#[derive(Clone)]
pub struct Level(Arc<Inner>);

impl std::fmt::Debug for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Level").field(&self.get()).finish()
    }
}

impl Level {
    /// A level published into `gauge`.
    pub fn new(gauge: ::metrics::Gauge) -> Self {
        let inner = Arc::new(Inner {
            bits: AtomicU64::new(0f64.to_bits()),
            set: AtomicBool::new(false),
            gauge,
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        register(move || match weak.upgrade() {
            Some(l) => {
                if l.set.load(Ordering::Relaxed) {
                    l.gauge.set(f64::from_bits(l.bits.load(Ordering::Relaxed)));
                }
                true
            }
            None => false,
        });
        Self(inner)
    }

    /// A level published into the gauge `name` with `labels`.
    pub fn named(name: &'static str, labels: &[(&'static str, String)]) -> Self {
        Self::new(::metrics::gauge!(name, labels))
    }

    /// Sets the value (published at the next scrape, and into the gauge now).
    pub fn set(&self, v: f64) {
        self.0.bits.store(v.to_bits(), Ordering::Relaxed);
        self.0.set.store(true, Ordering::Relaxed);
        self.0.gauge.set(v);
    }

    /// Adds `d` (may be negative) to the value.
    pub fn add(&self, d: f64) {
        let _ = self
            .0
            .bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + d).to_bits())
            });
        self.0.set.store(true, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.bits.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_adds_and_its_probe_goes_with_it() {
        let l = Level::new(::metrics::Gauge::noop());
        l.set(3.0);
        l.add(2.0);
        l.add(-4.0);
        assert_eq!(l.get(), 1.0);
        let weak = Arc::downgrade(&l.0);
        drop(l);
        publish();
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn a_probe_runs_until_it_says_it_is_done() {
        let runs = Arc::new(AtomicU64::new(0));
        let r = runs.clone();
        register(move || r.fetch_add(1, Ordering::Relaxed) < 1);
        publish();
        publish();
        publish();
        assert_eq!(runs.load(Ordering::Relaxed), 2);
    }
}
