//! `gantry`: thin entry point; the command line lives in `cli/`.

mod cli;

fn main() {
    gantry::alloc_policy::keep_freed_memory();
    if let Err(e) = cli::run() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
