#!/usr/bin/env bash
# Measures, with strace, how many times each go command probes a PATH entry and for which
# names: the source of the probe table in src/audit/path/cost.rs.
#
# Method: PATH = <pre> : /usr/local/go/bin-equivalent : /usr/bin : /bin : <post>, where pre and
# post are empty directories. Every syscall on "<pre>/NAME" is one probe of NAME that any entry
# ahead of NAME's real home would also pay; a probe on "<post>/NAME" means the lookup missed
# everywhere (the whole PATH was walked). Commands run once to warm the caches, then traced.
#
# Usage: bash bench/path-audit/probe-counts.sh   (needs go, strace, gcc, git)
set -euo pipefail
command -v strace >/dev/null || { echo "needs strace" >&2; exit 1; }
GO=$(command -v go)
GOROOT=$("$GO" env GOROOT)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pre" "$work/post" "$work/hello" "$work/hellogit" "$work/hellocgo"
# GOENV=off: measure defaults, not this machine's go/env file (it may set GOFLAGS=-buildvcs=false).
export GOTOOLCHAIN=local GOENV=off GOFLAGS=
unset CC GCCGO
for d in hello hellogit; do
  printf 'module example.com/%s\n\ngo 1.22\n' "$d" >"$work/$d/go.mod"
  printf 'package main\n\nimport (\n\t"fmt"\n\t"net"\n)\n\nfunc main() { fmt.Println(net.IPv4len) }\n' >"$work/$d/main.go"
done
printf 'module example.com/hellocgo\n\ngo 1.22\n' >"$work/hellocgo/go.mod"
printf 'package main\n\n// int add(int a, int b) { return a + b; }\nimport "C"\nimport "fmt"\n\nfunc main() { fmt.Println(C.add(1, 2)) }\n' >"$work/hellocgo/main.go"
(cd "$work/hellogit" && git init -q && git add . && git -c user.email=a@b -c user.name=n commit -qm init)
# The hello and hellocgo modules must not be inside a git checkout, or VCS stamping kicks in.
export PATH="$work/pre:$GOROOT/bin:/usr/local/bin:/usr/bin:/bin:$work/post"
run() { # label dir cmd...
  local label=$1 dir=$2; shift 2
  (cd "$dir" && "$@" >/dev/null 2>&1) || true
  (cd "$dir" && strace -f -qq -o "$work/trace" \
     -e trace=newfstatat,statx,stat,lstat,access,faccessat,faccessat2,execve "$@" >/dev/null 2>&1) || true
  for where in pre post; do
    grep -o "\"$work/$where/[^\"]*\"" "$work/trace" | sed "s|\"$work/$where/||; s|\"$||" |
      sort | uniq -c | awk -v l="$label" -v w="$where" '{printf "%s\t%s\t%s\t%d\n", l, w, $2, $1}'
  done
}
echo "# go: $("$GO" env GOVERSION); gcc: $(gcc -dumpversion); git: $(git --version | cut -d' ' -f3)"
echo "# command	where	name	probes"
run "go version" "$work/hello" go version
run "go env" "$work/hello" go env
run "go build" "$work/hello" go build -o /dev/null .
run "go build (git)" "$work/hellogit" go build -o /dev/null .
run "go build (cgo)" "$work/hellocgo" go build -o /dev/null .
