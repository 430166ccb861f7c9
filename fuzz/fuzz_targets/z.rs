#![no_main]
//! Fuzz target `z`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("z");
