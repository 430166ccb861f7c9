#![no_main]
//! Fuzz target `config`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("config");
