//! libFuzzer entry point of [`awsid_fuzz::client_response`] (built by scripts/fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| awsid_fuzz::client_response(data));
