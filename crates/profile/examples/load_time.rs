//! Loads the shared files named by the environment and prints how long each step took; a
//! quick way to check the reader's speed on large files (`cargo run --release --example
//! load_time`).

fn main() {
    let env = profile::Env::from_process();
    let locations = profile::Locations::from_env(&env);
    let start = std::time::Instant::now();
    let config = std::fs::read(&locations.config_file).unwrap_or_default();
    let credentials = std::fs::read(&locations.credentials_file).unwrap_or_default();
    let read = start.elapsed();
    let config = profile::ini::parse_bytes(&config).expect("config parses");
    let parsed_config = start.elapsed();
    let credentials = profile::ini::parse_bytes(&credentials).expect("credentials parse");
    let parsed = start.elapsed();
    let set = profile::ProfileSet::from_files(config, credentials);
    let merged = start.elapsed();
    println!(
        "{} profiles: read {read:?}, config parsed {parsed_config:?}, credentials parsed {parsed:?}, merged {merged:?}",
        set.profile_names().len()
    );
}
