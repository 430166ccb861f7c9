#![no_main]
//! Fuzz target `idx`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("idx");
