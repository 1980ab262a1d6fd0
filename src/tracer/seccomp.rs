//! The seccomp-bpf program installed in the tracee before exec: only traced calls stop.
//!
//! Hand-built because it is small and must cover two ABIs in one program (x86_64 and the
//! i386 compat ABI); seccompiler builds one filter per arch.

use super::syscalls::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Kind, SOCKETCALL_CONNECT, Sys};

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets into `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Low 32 bits of args[0] (little-endian).
const OFF_ARG0_LO: u32 = 16;

/// One instruction before jumps are resolved.
enum Insn {
    LoadAbs(u32),
    /// Jump to `label` if A == k, else fall through.
    JeqTo(u32, Label),
    /// If A == k fall through, else jump to `label`.
    JneTo(u32, Label),
    Ret(u32),
    Mark(Label),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Trace,
    Allow,
    I386,
    WriteCheck64,
    WriteCheck32,
    SocketCallCheck,
}

/// Builds the filter for the given tables: RET_TRACE for traced calls, ALLOW otherwise.
/// `write` is traced only when `trace_stderr_writes` and its fd argument is 2; i386
/// `socketcall` only for connect.
pub fn build(x86_64: &[Sys], i386: &[Sys], trace_stderr_writes: bool) -> Vec<libc::sock_filter> {
    let mut prog = vec![
        Insn::LoadAbs(OFF_ARCH),
        Insn::JneTo(AUDIT_ARCH_X86_64, Label::I386),
    ];
    emit_abi(&mut prog, x86_64, trace_stderr_writes, Label::WriteCheck64);
    prog.push(Insn::Mark(Label::I386));
    prog.push(Insn::JneTo(AUDIT_ARCH_I386, Label::Allow));
    emit_abi(&mut prog, i386, trace_stderr_writes, Label::WriteCheck32);
    // BPF jumps only forward: the shared returns come last.
    for check in [Label::WriteCheck64, Label::WriteCheck32] {
        prog.push(Insn::Mark(check));
        prog.push(Insn::LoadAbs(OFF_ARG0_LO));
        prog.push(Insn::JeqTo(2, Label::Trace));
        prog.push(Insn::Ret(libc::SECCOMP_RET_ALLOW));
    }
    prog.push(Insn::Mark(Label::SocketCallCheck));
    prog.push(Insn::LoadAbs(OFF_ARG0_LO));
    prog.push(Insn::JeqTo(SOCKETCALL_CONNECT, Label::Trace));
    prog.push(Insn::Mark(Label::Allow));
    prog.push(Insn::Ret(libc::SECCOMP_RET_ALLOW));
    prog.push(Insn::Mark(Label::Trace));
    prog.push(Insn::Ret(libc::SECCOMP_RET_TRACE));
    assemble(&prog)
}

fn emit_abi(prog: &mut Vec<Insn>, table: &[Sys], trace_stderr_writes: bool, write_check: Label) {
    prog.push(Insn::LoadAbs(OFF_NR));
    for sys in table {
        if sys.kind == Kind::WriteStderr {
            if trace_stderr_writes {
                prog.push(Insn::JeqTo(sys.nr, write_check));
            }
        } else if sys.kind == Kind::SocketCallConnect {
            prog.push(Insn::JeqTo(sys.nr, Label::SocketCallCheck));
        } else {
            prog.push(Insn::JeqTo(sys.nr, Label::Trace));
        }
    }
    prog.push(Insn::Ret(libc::SECCOMP_RET_ALLOW));
}

fn assemble(prog: &[Insn]) -> Vec<libc::sock_filter> {
    // Index of each real instruction, and where each label lands.
    let mut index = Vec::with_capacity(prog.len());
    let mut labels = Vec::new();
    let mut at = 0usize;
    for insn in prog {
        index.push(at);
        match insn {
            Insn::Mark(label) => labels.push((*label, at)),
            _ => at += 1,
        }
    }
    let target = |label: Label| {
        labels
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, at)| *at)
            .expect("every label used is marked")
    };
    let jump = |from: usize, label: Label| -> u8 {
        let offset = target(label)
            .checked_sub(from + 1)
            .expect("BPF jumps go forward");
        u8::try_from(offset).expect("filter jumps fit in a byte")
    };
    let mut out = Vec::with_capacity(at);
    for (i, insn) in prog.iter().enumerate() {
        let pc = index[i];
        let filter = match *insn {
            Insn::Mark(_) => continue,
            Insn::LoadAbs(k) => stmt(BPF_LD_W_ABS, k),
            Insn::JeqTo(k, label) => jmp(k, jump(pc, label), 0),
            Insn::JneTo(k, label) => jmp(k, 0, jump(pc, label)),
            Insn::Ret(k) => stmt(BPF_RET_K, k),
        };
        out.push(filter);
    }
    out
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jmp(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: BPF_JEQ_K,
        jt,
        jf,
        k,
    }
}

#[cfg(test)]
mod tests {
    use super::super::syscalls::{I386, X86_64};
    use super::*;

    /// A tiny BPF interpreter for the instructions the builder emits.
    fn run(prog: &[libc::sock_filter], nr: u32, arch: u32, arg0: u64) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[16..24].copy_from_slice(&arg0.to_le_bytes());
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let insn = prog[pc];
            match insn.code {
                BPF_LD_W_ABS => {
                    let k = insn.k as usize;
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                    pc += 1;
                }
                BPF_JEQ_K => {
                    pc += 1 + usize::from(if acc == insn.k { insn.jt } else { insn.jf });
                }
                BPF_RET_K => return insn.k,
                other => panic!("unexpected opcode {other}"),
            }
        }
    }

    #[test]
    fn traces_exactly_the_tables_on_both_abis() {
        let prog = build(X86_64, I386, true);
        for (arch, table) in [(AUDIT_ARCH_X86_64, X86_64), (AUDIT_ARCH_I386, I386)] {
            for nr in 0..512u32 {
                let traced = table.iter().find(|s| s.nr == nr);
                let want = match traced {
                    // arg0 = 1: neither fd 2 nor socketcall's connect.
                    Some(s) if s.kind == Kind::WriteStderr => libc::SECCOMP_RET_ALLOW,
                    Some(s) if s.kind == Kind::SocketCallConnect => libc::SECCOMP_RET_ALLOW,
                    Some(_) => libc::SECCOMP_RET_TRACE,
                    None => libc::SECCOMP_RET_ALLOW,
                };
                assert_eq!(run(&prog, nr, arch, 1), want, "arch {arch:x} nr {nr}");
            }
        }
    }

    #[test]
    fn write_is_traced_only_to_fd_2_and_only_when_asked() {
        let with = build(X86_64, I386, true);
        let without = build(X86_64, I386, false);
        assert_eq!(run(&with, 1, AUDIT_ARCH_X86_64, 2), libc::SECCOMP_RET_TRACE);
        assert_eq!(run(&with, 1, AUDIT_ARCH_X86_64, 1), libc::SECCOMP_RET_ALLOW);
        assert_eq!(run(&with, 4, AUDIT_ARCH_I386, 2), libc::SECCOMP_RET_TRACE);
        assert_eq!(
            run(&without, 1, AUDIT_ARCH_X86_64, 2),
            libc::SECCOMP_RET_ALLOW
        );
    }

    #[test]
    fn socketcall_is_traced_only_for_connect() {
        let prog = build(X86_64, I386, false);
        assert_eq!(run(&prog, 102, AUDIT_ARCH_I386, 3), libc::SECCOMP_RET_TRACE);
        for call in [1, 2, 4, 5, 9, 10, 11, 12] {
            assert_eq!(
                run(&prog, 102, AUDIT_ARCH_I386, call),
                libc::SECCOMP_RET_ALLOW
            );
        }
        // 102 on x86_64 is getuid.
        assert_eq!(
            run(&prog, 102, AUDIT_ARCH_X86_64, 3),
            libc::SECCOMP_RET_ALLOW
        );
    }

    #[test]
    fn unknown_arch_is_allowed() {
        let prog = build(X86_64, I386, true);
        assert_eq!(run(&prog, 257, 0xdead, 0), libc::SECCOMP_RET_ALLOW);
    }
}
