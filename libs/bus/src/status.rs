//! Broker health as this process sees it: each loop reports whether its connection works.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Default)]
pub struct BusStatus {
    relay: Arc<AtomicBool>,
    consumer: Arc<AtomicBool>,
    has_consumer: Arc<AtomicBool>,
}

impl BusStatus {
    pub fn set_relay(&self, up: bool) {
        self.relay.store(up, Ordering::Relaxed);
    }
    pub fn set_consumer(&self, up: bool) {
        self.has_consumer.store(true, Ordering::Relaxed);
        self.consumer.store(up, Ordering::Relaxed);
    }
    /// Ready when the relay is connected and, if this service consumes, its consumer too.
    pub fn is_ready(&self) -> bool {
        self.relay.load(Ordering::Relaxed)
            && (!self.has_consumer.load(Ordering::Relaxed) || self.consumer.load(Ordering::Relaxed))
    }
}
