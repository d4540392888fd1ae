fn main() {
    std::process::exit(dfopt::cli::main());
}
