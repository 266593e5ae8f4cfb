fn main() -> std::process::ExitCode {
    boxoffice::cli::main()
}
