//! Links Debian's jemalloc (`libjemalloc-dev`), placed before the C library so that it serves
//! `malloc` for the whole process: Rust's allocations, RocksDB's and the C libraries'. See
//! `src/allocator.rs`.

fn main() {
    println!("cargo:rustc-link-lib=dylib=jemalloc");
}
