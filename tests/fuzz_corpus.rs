//! Replays every file of the fuzzing corpus (`fuzz/corpus/<target>/`) through the same entry
//! points the cargo-fuzz targets use, so inputs that once crashed stay fixed and the seeds stay
//! meaningful, with or without cargo-fuzz installed.

#[test]
fn the_fuzz_corpus_replays_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in mailflow::fuzzing::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut count = 0;
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            target(&data);
            count += 1;
        }
        assert!(count > 0, "the corpus of {name} is empty");
        replayed += count;
    }
    eprintln!("replayed {replayed} corpus files");
}
