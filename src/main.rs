//! The `dapp` binary: everything happens in the library.

// mimalloc: parsing a big `versions/` folder on two threads is allocation-bound, and glibc's
// per-thread arenas cost a fifth of the wall time there (measured on 10,000 files).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cwd = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code =
        dapp_migrate::main_with(std::env::args_os().collect(), &mut out, &mut err, &env, cwd);
    drop(out);
    std::process::exit(code);
}
