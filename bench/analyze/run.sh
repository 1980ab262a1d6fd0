#!/usr/bin/env bash
# bench/analyze: analysis + rendering of a generated 1,000,000-call report (goal: < 1 s and
# < 200 MB), in process and as `golat report FILE`. Prints medians; see main.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q
cargo build --release -q --manifest-path bench/analyze/Cargo.toml --target-dir target/bench-analyze
exec target/bench-analyze/release/golat-bench-analyze --golat target/release/golat "$@"
