//! Replays the committed fuzz inputs (fuzz/seeds/<target>/ and past findings
//! in fuzz/regressions/<target>/) through the fuzz targets' own checks, so
//! CI guards them on the stable toolchain without running the fuzzer. The
//! decoder inputs are also sent to a real server, which must survive them.
//!
//! `FUZZ_INPUT=target:path cargo test --test fuzz_regressions -- --nocapture`
//! replays one file (a fresh crash, say) instead.

mod common;

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

const TARGETS: [&str; 3] = ["decoder", "split_args", "glob"];

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files: Vec<PathBuf> = ["seeds", "regressions"]
        .iter()
        .filter_map(|dir| std::fs::read_dir(fuzz.join(dir).join(target)).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn committed_inputs_pass_the_fuzz_checks() {
    if let Ok(one) = std::env::var("FUZZ_INPUT") {
        let (target, path) = one.split_once(':').expect("FUZZ_INPUT=target:path");
        harness::run_case(target, &std::fs::read(path).expect("read FUZZ_INPUT"));
        return;
    }
    let mut count = 0;
    for target in TARGETS {
        let files = inputs(target);
        assert!(!files.is_empty(), "no committed inputs for fuzz target {target}");
        for path in files {
            let data = std::fs::read(&path).expect("read fuzz input");
            let res = std::panic::catch_unwind(|| harness::run_case(target, &data));
            assert!(res.is_ok(), "fuzz target {target} fails on {}", path.display());
            count += 1;
        }
    }
    println!("{count} fuzz inputs replayed");
}

#[test]
fn server_survives_the_decoder_inputs() {
    let mut srv = common::TestServer::start();
    for path in inputs("decoder") {
        let data = std::fs::read(&path).expect("read fuzz input");
        // The first 5 bytes steer the harness; the rest is what a client sends.
        let Some(stream) = data.get(5..) else { continue };
        let mut c = srv.raw();
        c.send(stream);
        drop(c);
        assert!(srv.alive(), "server died on {}", path.display());
    }
    assert_eq!(srv.raw().cmd(&["PING"]), common::Resp::Simple("PONG".into()));
}
