//! libFuzzer entry point of [`awsid_fuzz::profile_round_trip`] (built by scripts/fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| awsid_fuzz::profile_round_trip(data));
