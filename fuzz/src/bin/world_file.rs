//! libFuzzer entry point of [`awsid_fuzz::world_file`] (built by scripts/fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| awsid_fuzz::world_file(data));
