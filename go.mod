// The Go fixtures golat's tests trace (fixtures/...). Not part of golat itself: golat
// is a Rust crate. This file lets `go run ./fixtures/hello` work from the repository root.
module golat.test/fixtures

go 1.22
