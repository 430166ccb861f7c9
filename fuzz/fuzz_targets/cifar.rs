#![no_main]
//! Fuzz target `cifar`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("cifar");
