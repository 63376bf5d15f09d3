#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mailflow::fuzzing::smtp_session(data));
