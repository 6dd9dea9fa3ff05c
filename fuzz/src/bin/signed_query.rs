//! libFuzzer entry point of [`awsid_fuzz::signed_query`] (built by scripts/fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| awsid_fuzz::signed_query(data));
