// bench/overhead/floor.c: the floor of golat's mechanism, measured in the same run.
//
// A tracer that does the least any exact seccomp+ptrace tracer of golat's syscall set must
// do: the same filter (golat's traced calls on x86_64 and the i386 compat ABI, without the
// inittrace `write`), one stop at the entry of every traced call, fork/vfork/clone/exec
// followed, EXITKILL. At each stop it only resumes the tracee: it reads no registers, no
// paths, takes no times and makes no exit stops. Whatever golat costs above this line is
// golat's own work; this line itself is the price of counting the calls with ptrace.
//
//   cc -O2 -o floor floor.c && ./floor go build ./...
//
// With FLOOR_EXACT=1 it also does, at each stop, the kernel work every exact record of a
// call needs and nothing else: the call's number and arguments (PTRACE_GET_SYSCALL_INFO),
// its path (one process_vm_readv of 256 bytes) and, for a side-effect-free lookup (stat,
// access, readlink, open without O_CREAT) of an absolute path, a timed copy of it (fstatat
// between two clock_gettime; relative paths, which golat resolves first, are skipped, so
// this stays a lower bound). No model, no interning, no report: the least an exact tracer that times
// calls by replay at the entry stop pays above the bare floor.
//
// Prints "floor: N stops" on stderr and exits with the command's code (128+N for signal N).
// Simplification: every SIGSTOP is swallowed (the initial stop of an auto-attached child
// or thread is one); a benchmark command never gets a real one.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// src/tracer/syscalls.rs, without write.
static const unsigned nr64[] = {2,   4,   6,   21,  42,  59,  78,  80,  81,  82,
                                83,  84,  85,  87,  89,  217, 257, 258, 262, 263,
                                264, 267, 269, 316, 322, 332, 437, 439};
static const unsigned nr32[] = {5,   8,   10,  11,  12,  33,  38,  39,  40,  85,
                                106, 107, 133, 141, 195, 196, 220, 295, 296, 300,
                                301, 302, 305, 307, 353, 358, 362, 383, 437, 439};
#define N64 (sizeof nr64 / sizeof nr64[0])
#define N32 (sizeof nr32 / sizeof nr32[0])

static void install_filter(void) {
  // Layout: load arch; x86_64? -> block64; i386? -> block32; allow.
  // block: load nr; one JEQ per call to TRACE; ALLOW.
  struct sock_filter f[8 + N64 + N32 + 8];
  int n = 0;
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  // if arch != x86_64 skip the 64-bit block (1 load + N64 jumps + 1 ret).
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, N64 + 2);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (unsigned i = 0; i < N64; i++) {
    // Jump to the TRACE return at the very end.
    unsigned to_trace = (N64 - 1 - i) + 1 /* ret allow */ + 1 /* jeq i386 */ + 1 /* ld */ + N32 + 1 /* ret allow */ + 1 /* ret allow */;
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr64[i], to_trace, 0);
  }
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, N32 + 2);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (unsigned i = 0; i < N32; i++) {
    unsigned to_trace = (N32 - 1 - i) + 1 + 1;
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr32[i], to_trace, 0);
  }
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
    perror("floor: seccomp");
    _exit(126);
  }
}

// x86_64: which argument holds the path (-1: none) and whether a copy is side-effect free.
static int path_arg(unsigned nr, const __uint64_t *a, int *replayable) {
  *replayable = 0;
  switch (nr) {
    case 4: case 6: case 21: case 89: *replayable = 1; return 0;   // stat lstat access readlink
    case 2: *replayable = !(a[1] & (O_CREAT | __O_TMPFILE)); return 0;  // open
    case 262: case 332: case 267: case 269: case 439: *replayable = 1; return 1;
    case 257: *replayable = !(a[2] & (O_CREAT | __O_TMPFILE)); return 1;  // openat
    case 59: case 80: case 82: case 83: case 84: case 85: case 87: return 0;
    case 258: case 263: case 264: case 316: case 322: case 437: return 1;
    default: return -1;  // getdents64, fchdir, connect: no path argument
  }
}

static double replayed_ns;  // kept so the compiler cannot drop the clock reads
static long paths_read, replays;

static void exact_work(pid_t t) {
  struct __ptrace_syscall_info info;
  if (ptrace(PTRACE_GET_SYSCALL_INFO, t, sizeof info, &info) <= 0 ||
      info.op != PTRACE_SYSCALL_INFO_SECCOMP || info.arch != AUDIT_ARCH_X86_64)
    return;
  int replayable;
  int arg = path_arg((unsigned)info.seccomp.nr, info.seccomp.args, &replayable);
  if (arg < 0) return;
  char path[257];
  struct iovec local = {path, 256}, remote = {(void *)info.seccomp.args[arg], 256};
  ssize_t n = process_vm_readv(t, &local, 1, &remote, 1, 0);
  if (n <= 0) return;
  path[n] = 0;
  paths_read++;
  if (!replayable || path[0] != '/') return;
  struct timespec t0, t1;
  struct stat st;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  fstatat(AT_FDCWD, path, &st, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  replays++;
  replayed_ns += (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
}

int main(int argc, char **argv) {
  const char *exact_env = getenv("FLOOR_EXACT");
  int exact = exact_env && *exact_env == '1';
  if (argc < 2) {
    fprintf(stderr, "usage: floor COMMAND [ARGS...]\n");
    return 2;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("floor: fork");
    return 126;
  }
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0)) {
      perror("floor: PTRACE_TRACEME");
      _exit(126);
    }
    raise(SIGSTOP);
    install_filter();
    execvp(argv[1], argv + 1);
    perror("floor: exec");
    _exit(127);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
    fprintf(stderr, "floor: child did not stop\n");
    return 126;
  }
  long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
              PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS, child, 0, opts) || ptrace(PTRACE_CONT, child, 0, 0)) {
    perror("floor: ptrace");
    return 126;
  }
  long stops = 0, seccomp_stops = 0;
  int code = 0;
  for (;;) {
    pid_t t = waitpid(-1, &status, __WALL);
    if (t < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: the whole tree is gone.
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (t == child) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    stops++;
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    int inject = 0;
    if (sig == SIGTRAP && event) {
      if (event == PTRACE_EVENT_SECCOMP) {
        seccomp_stops++;
        if (exact) exact_work(t);
      }
    } else if (sig != SIGSTOP) {
      inject = sig;  // a real signal: deliver it
    }
    ptrace(PTRACE_CONT, t, 0, inject);
  }
  fprintf(stderr, "floor: %ld stops (%ld at traced calls)\n", stops, seccomp_stops);
  if (exact)
    fprintf(stderr, "floor: %ld paths read, %ld lookups replayed (%.1f ms)\n", paths_read, replays,
            replayed_ns / 1e6);
  return code;
}
