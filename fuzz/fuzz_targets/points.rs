#![no_main]
//! Fuzz target `points`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("points");
