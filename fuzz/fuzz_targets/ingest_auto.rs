#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::ingest(data, ingest::InputFormat::Auto, data.len() % 2 == 0));
