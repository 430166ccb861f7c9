#![no_main]
//! Fuzz target `pth`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("pth");
