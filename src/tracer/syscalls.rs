//! The traced system calls of each ABI (x86_64 and its i386 compat ABI): numbers, strace
//! names, and how each call's arguments are laid out.

/// `AUDIT_ARCH_X86_64` and `AUDIT_ARCH_I386`, as `seccomp_data.arch` and
/// `ptrace_syscall_info.arch` report them.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// What golat does with a call, by argument layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// open(path, flags, mode)
    Open,
    /// openat(dirfd, path, flags, mode)
    OpenAt,
    /// openat2(dirfd, path, struct open_how *, size)
    OpenAt2,
    /// creat(path, mode)
    Creat,
    /// stat/lstat(path, buf); `nofollow` for lstat
    Stat { nofollow: bool },
    /// newfstatat/fstatat64(dirfd, path, buf, flags)
    StatAt,
    /// statx(dirfd, path, flags, mask, buf)
    Statx,
    /// readlink(path, buf, size)
    Readlink,
    /// readlinkat(dirfd, path, buf, size)
    ReadlinkAt,
    /// access(path, mode)
    Access,
    /// faccessat(dirfd, path, mode) and faccessat2(dirfd, path, mode, flags)
    AccessAt { has_flags: bool },
    /// getdents/getdents64(fd, buf, count)
    Getdents,
    /// mkdir(path, mode) / rmdir(path) / unlink(path)
    PathOnly,
    /// mkdirat(dirfd, path, mode) / unlinkat(dirfd, path, flags)
    PathAt,
    /// rename(old, new)
    Rename,
    /// renameat/renameat2(olddirfd, old, newdirfd, new[, flags])
    RenameAt,
    /// chdir(path)
    Chdir,
    /// fchdir(fd)
    Fchdir,
    /// execve(path, argv, envp)
    Execve,
    /// execveat(dirfd, path, argv, envp, flags)
    ExecveAt,
    /// connect(fd, addr, len)
    Connect,
    /// i386 socketcall(call, args): the multiplexed socket calls, which Go's linux/386
    /// syscall package uses for all of them. Only connect (call 3) is traced (the filter
    /// checks); `args` then points at three 4-byte words: fd, addr, len.
    SocketCallConnect,
    /// write(fd, buf, count), only fd 2 is traced (the filter checks), for inittrace
    WriteStderr,
}

#[derive(Debug, Clone, Copy)]
pub struct Sys {
    pub nr: u32,
    pub name: &'static str,
    pub kind: Kind,
}

const fn sys(nr: u32, name: &'static str, kind: Kind) -> Sys {
    Sys { nr, name, kind }
}

/// x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
pub const X86_64: &[Sys] = &[
    sys(1, "write", Kind::WriteStderr),
    sys(2, "open", Kind::Open),
    sys(4, "stat", Kind::Stat { nofollow: false }),
    sys(6, "lstat", Kind::Stat { nofollow: true }),
    sys(21, "access", Kind::Access),
    sys(42, "connect", Kind::Connect),
    sys(59, "execve", Kind::Execve),
    sys(78, "getdents", Kind::Getdents),
    sys(80, "chdir", Kind::Chdir),
    sys(81, "fchdir", Kind::Fchdir),
    sys(82, "rename", Kind::Rename),
    sys(83, "mkdir", Kind::PathOnly),
    sys(84, "rmdir", Kind::PathOnly),
    sys(85, "creat", Kind::Creat),
    sys(87, "unlink", Kind::PathOnly),
    sys(89, "readlink", Kind::Readlink),
    sys(217, "getdents64", Kind::Getdents),
    sys(257, "openat", Kind::OpenAt),
    sys(258, "mkdirat", Kind::PathAt),
    sys(262, "newfstatat", Kind::StatAt),
    sys(263, "unlinkat", Kind::PathAt),
    sys(264, "renameat", Kind::RenameAt),
    sys(267, "readlinkat", Kind::ReadlinkAt),
    sys(269, "faccessat", Kind::AccessAt { has_flags: false }),
    sys(316, "renameat2", Kind::RenameAt),
    sys(322, "execveat", Kind::ExecveAt),
    sys(332, "statx", Kind::Statx),
    sys(437, "openat2", Kind::OpenAt2),
    sys(439, "faccessat2", Kind::AccessAt { has_flags: true }),
];

/// i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). connect comes both direct (362)
/// and through socketcall (102), as GOARCH=386 programs make it.
pub const I386: &[Sys] = &[
    sys(4, "write", Kind::WriteStderr),
    sys(5, "open", Kind::Open),
    sys(8, "creat", Kind::Creat),
    sys(10, "unlink", Kind::PathOnly),
    sys(11, "execve", Kind::Execve),
    sys(12, "chdir", Kind::Chdir),
    sys(33, "access", Kind::Access),
    sys(38, "rename", Kind::Rename),
    sys(39, "mkdir", Kind::PathOnly),
    sys(40, "rmdir", Kind::PathOnly),
    sys(85, "readlink", Kind::Readlink),
    sys(102, "connect", Kind::SocketCallConnect),
    sys(106, "stat", Kind::Stat { nofollow: false }),
    sys(107, "lstat", Kind::Stat { nofollow: true }),
    sys(133, "fchdir", Kind::Fchdir),
    sys(141, "getdents", Kind::Getdents),
    sys(195, "stat64", Kind::Stat { nofollow: false }),
    sys(196, "lstat64", Kind::Stat { nofollow: true }),
    sys(220, "getdents64", Kind::Getdents),
    sys(295, "openat", Kind::OpenAt),
    sys(296, "mkdirat", Kind::PathAt),
    sys(300, "fstatat64", Kind::StatAt),
    sys(301, "unlinkat", Kind::PathAt),
    sys(302, "renameat", Kind::RenameAt),
    sys(305, "readlinkat", Kind::ReadlinkAt),
    sys(307, "faccessat", Kind::AccessAt { has_flags: false }),
    sys(353, "renameat2", Kind::RenameAt),
    sys(358, "execveat", Kind::ExecveAt),
    sys(362, "connect", Kind::Connect),
    sys(383, "statx", Kind::Statx),
    sys(437, "openat2", Kind::OpenAt2),
    sys(439, "faccessat2", Kind::AccessAt { has_flags: true }),
];

/// The table for an audit arch, if golat knows it.
pub fn table(arch: u32) -> Option<&'static [Sys]> {
    match arch {
        AUDIT_ARCH_X86_64 => Some(X86_64),
        AUDIT_ARCH_I386 => Some(I386),
        _ => None,
    }
}

/// socketcall's call number for connect (linux/net.h SYS_CONNECT).
pub const SOCKETCALL_CONNECT: u32 = 3;

/// Looks a syscall up by arch and number.
pub fn lookup(arch: u32, nr: u64) -> Option<&'static Sys> {
    table(arch)?.iter().find(|s| u64::from(s.nr) == nr)
}

/// Every traced syscall name of the native ABI, comma-separated, as `strace -e trace=`
/// takes them (the benchmarks trace the same set with strace).
pub fn strace_set() -> String {
    X86_64
        .iter()
        .map(|s| s.name)
        .filter(|n| *n != "write")
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_per_abi() {
        for table in [X86_64, I386] {
            let mut nrs: Vec<u32> = table.iter().map(|s| s.nr).collect();
            nrs.sort_unstable();
            nrs.dedup();
            assert_eq!(nrs.len(), table.len());
        }
    }

    #[test]
    fn libc_agrees_on_native_numbers() {
        let pairs = [
            ("openat", libc::SYS_openat),
            ("newfstatat", libc::SYS_newfstatat),
            ("execve", libc::SYS_execve),
            ("readlink", libc::SYS_readlink),
            ("getdents64", libc::SYS_getdents64),
            ("statx", libc::SYS_statx),
            ("faccessat2", libc::SYS_faccessat2),
            ("connect", libc::SYS_connect),
            ("renameat2", libc::SYS_renameat2),
            ("openat2", libc::SYS_openat2),
        ];
        for (name, nr) in pairs {
            let sys = X86_64.iter().find(|s| s.name == name).unwrap();
            assert_eq!(i64::from(sys.nr), nr, "{name}");
        }
    }
}
