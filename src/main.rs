fn main() -> std::process::ExitCode {
    wxa_backend::cli::run()
}
