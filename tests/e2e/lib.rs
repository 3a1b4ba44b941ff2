//! End-to-end tests live in `main.rs` (one test binary); this library target is empty.
