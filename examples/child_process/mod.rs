//! Running a benchmarked command as a child process, shared by the examples that time the
//! real `icsat` binary whole.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident memory of a process in KiB, while it runs.
pub fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `command` to completion with its standard output into `stdout`, polling its peak
/// memory every 2 ms; returns its wall time and peak KiB. A failure carries its stderr.
pub fn measure(
    mut command: Command,
    stdout: impl Into<Stdio>,
) -> Result<(Duration, u64), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut child = command
        .stdout(stdout.into())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr)?;
        }
        return Err(format!("{command:?} failed: {status}\n{stderr}").into());
    }
    Ok((elapsed, peak))
}

/// The release `icsat` beside the running example (target/release/examples/NAME ->
/// target/release/icsat).
pub fn icsat_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target folder")?;
    let binary = dir.join("icsat");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: run `cargo build --release --bin icsat` first",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}
