use std::process::ExitCode;

fn main() -> ExitCode {
    icsat::cli::main()
}
