//! Loads the shared files named by the environment, looks one profile up, and prints how long
//! that took; a quick check of the reader's speed on large files
//! (`cargo run --release -p awsid-profile --example load_time -- PROFILE`).

fn main() {
    let profile = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "default".to_owned());
    let env = awsid_profile::Env::from_process();
    let locations = awsid_profile::Locations::from_env(&env);
    let start = std::time::Instant::now();
    let set = awsid_profile::ProfileSet::load(&locations).expect("files parse");
    let loaded = start.elapsed();
    let region = set
        .profile(&profile)
        .and_then(|p| p.get_str("region"))
        .map(str::to_owned);
    let looked_up = start.elapsed();
    println!(
        "{} profiles: loaded {loaded:?}, {profile}.region = {region:?} after {looked_up:?}",
        set.profile_names().len()
    );
}
