#![no_main]
//! Fuzz target `npz`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("npz");
