#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| siospec_codec_fuzz::adapter_redis(data));
