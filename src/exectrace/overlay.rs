//! Capturing a runtime trace of a program a `go` command builds (placeholder, filled below).
