//! Stopping a broker process the way an operator would.

use crate::wait_until;
use std::process::{Child, Command};
use std::time::Duration;

/// How long a broker may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// SIGTERM, then waits for the exit (SIGKILL after `STOP_TIMEOUT`); true when the process
/// exited successfully on its own.
pub(crate) fn stop_child(mut child: Child) -> bool {
    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    if !sent {
        let _ = child.kill();
    }
    let exited = wait_until(STOP_TIMEOUT, || matches!(child.try_wait(), Ok(Some(_))));
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return false;
    }
    matches!(child.wait(), Ok(s) if s.success())
}
