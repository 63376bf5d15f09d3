#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mailflow::fuzzing::settings(data));
