//! The `runwell` binary: parse arguments, run the subcommand, exit with its status.

fn main() -> std::process::ExitCode {
    runwell::cli::main()
}
