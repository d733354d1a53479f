// rustc links without default libraries; the C library provides the start
// files' `__libc_start_main`, and `aligned_alloc`, `write` and `exit`.
fn main() {
    println!("cargo:rustc-link-arg-bins=-lc");
}
