//! `awsid`: argument parsing and output formatting only; the work happens in the library crates.

fn main() {
    eprintln!("awsid: not built yet");
    std::process::exit(255);
}
