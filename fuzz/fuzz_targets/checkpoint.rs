#![no_main]
//! Fuzz target `checkpoint`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("checkpoint");
