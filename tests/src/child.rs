//! A daemon a test spawned by hand (with its own config file or environment), stopped when
//! the test ends, and waiting for a process to exit with a deadline.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use crate::ferry::{send_signal, SIGTERM};

/// A spawned process, stopped when dropped if it still runs: SIGTERM, then SIGKILL after
/// 10 s.
pub struct Spawned(pub Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            send_signal(self.0.id(), SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(self.0.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Waits up to `within` for `child` to exit; kills it and panics if it does not.
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().expect("polling the child") {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("process {} did not exit within {within:?}", child.id());
}
