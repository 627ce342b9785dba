use ingest::{ChunkOutcome, EventHandler, IngestOptions, InputFormat};
use model::Event;

/// Renders every event both ways, so the renderers are fuzzed too.
pub struct Render;

impl EventHandler for Render {
    type Output = usize;
    fn begin(&self) -> usize {
        0
    }
    fn event(&self, out: &mut usize, ev: &Event<'_>) {
        let mut buf = Vec::new();
        ev.write_jsonl(&mut buf).expect("normalized JSON renders");
        model::ocsf::write_ocsf(ev, &mut buf).expect("OCSF renders");
        *out += buf.len();
    }
}

/// Ingests `data` and checks the books balance.
pub fn ingest(data: &[u8], format: InputFormat, small: bool) {
    let mut opts = IngestOptions { threads: 1, format, ..IngestOptions::default() };
    if small {
        opts.max_record_bytes = 256;
        opts.chunk_bytes = 4096;
    }
    let mut rejected = 0u64;
    let summary = ingest::ingest_bytes("fuzz", data, &opts, &Render, |c: ChunkOutcome<usize>| rejected += c.rejections.len() as u64)
        .expect("never fails on content");
    assert_eq!(summary.rejected(), rejected);
}
