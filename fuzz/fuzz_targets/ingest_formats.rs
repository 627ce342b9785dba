#![no_main]
#[path = "common.rs"]
mod common;

use ingest::InputFormat;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = [InputFormat::CloudTrail, InputFormat::VpcFlow, InputFormat::GuardDuty, InputFormat::SecurityHub, InputFormat::CloudWatchLogs]
        [usize::from(pick) % 5];
    common::ingest(rest, format, pick & 0x80 != 0);
});
