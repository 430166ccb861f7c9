#![no_main]
//! Fuzz target `safetensors`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("safetensors");
