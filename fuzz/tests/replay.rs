//! Replays every committed input through its target under plain `cargo test`: the seed corpora
//! (`fuzz/corpus/<target>/`, built by `fuzz/seed.py` from the conformance data and the repo's
//! fixtures) and the inputs of past findings (`fuzz/regressions/<target>/`, one file per
//! finding, each fixed). A panic fails the test and names the file.

use std::path::Path;

#[test]
fn every_committed_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut total = 0;
    for (name, target) in awsid_fuzz::TARGETS {
        let mut files = Vec::new();
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            files.extend(entries.map(|e| e.expect("readable corpus entry").path()));
        }
        assert!(
            !files.is_empty(),
            "no seed corpus for {name}: run python3 fuzz/seed.py"
        );
        files.sort();
        for file in &files {
            let data = std::fs::read(file).expect("readable corpus file");
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", file.display());
        }
        total += files.len();
    }
    assert!(total > 0);
}
