//! `gantry`: thin entry point; the command line lives in `cli/`.

mod cli;

fn main() {
    gantry::alloc_policy::keep_freed_memory();
    file_size_limit_is_an_error();
    if let Err(e) = cli::run() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

/// A write past the file-size limit (`ulimit -f`) fails with an error that names the file, as a
/// full disk does, instead of killing the process with SIGXFSZ.
fn file_size_limit_is_an_error() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any other thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
