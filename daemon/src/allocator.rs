//! The process allocator: jemalloc, from Debian's `libjemalloc2` (linked by `build.rs` ahead
//! of the C library, so it serves `malloc` for Rust's allocations, RocksDB's and the C
//! libraries'). On the mixed catch-up benchmark it cut ferryd's CPU per change by about 20 %
//! against glibc's allocator (BENCHMARKS.md); the Rust allocator stays `System`, so nothing
//! but the linked library changes.

use std::ffi::{c_char, c_int, c_void, CStr};

extern "C" {
    /// jemalloc's control interface (`man 3 jemalloc`).
    fn mallctl(
        name: *const c_char,
        oldp: *mut c_void,
        oldlenp: *mut usize,
        newp: *mut c_void,
        newlen: usize,
    ) -> c_int;
}

/// Reads the jemalloc control value `name` of type `T`.
fn read<T: Copy + Default>(name: &CStr) -> Option<T> {
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>();
    // SAFETY: `name` is NUL-terminated; `value` is a valid, writable `T` of `len` bytes, the
    // size jemalloc checks against the control's type before writing; no new value is set.
    let rc = unsafe {
        mallctl(
            name.as_ptr(),
            (&mut value as *mut T).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0 && len == std::mem::size_of::<T>()).then_some(value)
}

/// jemalloc's version, e.g. `5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c`.
pub fn version() -> Option<String> {
    let p: *const c_char = read(c"version")?;
    if p.is_null() {
        return None;
    }
    // SAFETY: jemalloc returns a pointer to its static, NUL-terminated version string.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// True when jemalloc serves this thread's heap allocations (Rust's `System` allocator calls
/// `malloc`, which must resolve to jemalloc's rather than the C library's).
pub fn serves_malloc() -> bool {
    let before: Option<u64> = read(c"thread.allocated");
    let block = std::hint::black_box(vec![1u8; 1 << 16]);
    let after: Option<u64> = read(c"thread.allocated");
    drop(block);
    matches!((before, after), (Some(b), Some(a)) if a >= b + (1 << 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_serves_the_process_allocations() {
        let v = version().expect("jemalloc's version");
        assert!(v.starts_with('5'), "{v}");
        assert!(
            serves_malloc(),
            "malloc resolves to the C library's, not jemalloc's"
        );
    }
}
