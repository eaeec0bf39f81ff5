//! `ferryctl`: dmctl-compatible control CLI of `ferryd` (see [`ferry_daemon::ctl`]).

fn main() -> std::process::ExitCode {
    ferry_daemon::ctl::main()
}
