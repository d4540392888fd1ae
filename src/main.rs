// A quarter of dfopt's time went to glibc's malloc/free on small strings (perf over the corpus);
// mimalloc halves that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(dfopt::cli::main());
}
