#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenwatch_fuzz::report(data));
