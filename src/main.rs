//! The `dapp` binary: everything happens in the library.

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
