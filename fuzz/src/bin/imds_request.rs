//! libFuzzer entry point of [`awsid_fuzz::imds_request`] (built by scripts/fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| awsid_fuzz::imds_request(data));
