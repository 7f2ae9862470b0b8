//! The `runwell` binary: parse arguments, run the subcommand, exit with its status.

// Parsing allocates many small strings (words, lines, locations); mimalloc
// makes those allocations markedly cheaper than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    runwell::cli::main()
}
