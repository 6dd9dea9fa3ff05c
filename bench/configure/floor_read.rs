//! Benchmark floor: a Rust process that reads ~/.aws/config and ~/.aws/credentials and does
//! nothing else (no parsing), to separate process start-up + file I/O from awsid's own work.
use std::io::Write;

fn main() {
    let home = std::env::var_os("HOME").expect("HOME is set");
    let dir = std::path::Path::new(&home).join(".aws");
    let mut total = 0usize;
    for name in ["config", "credentials"] {
        total += std::fs::read(dir.join(name)).map(|b| b.len()).unwrap_or(0);
    }
    // Print something derived from the bytes so the reads cannot be optimised away.
    let _ = writeln!(std::io::stdout(), "{total}");
}
