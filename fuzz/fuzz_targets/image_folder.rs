#![no_main]
//! Fuzz target `image_folder`: see `fuzz/README.md` and `gantry_fuzz::READERS`.
gantry_fuzz::fuzz_reader!("image_folder");
