//! Tool names as the tables group them: a C compiler driver under any of its names
//! (`gcc-12`, `x86_64-linux-gnu-gcc-12`, `clang-17`) is one tool, `cc`, and which processes
//! belong to the C toolchain at all.

/// The C toolchain's programs under their plain names; drivers under other names are
/// recognised by [`c_driver`].
const C_TOOLS: &[&str] = &[
    "cc1", "cc1plus", "cc1obj", "gcc", "cc", "g++", "c++", "clang", "clang++", "cpp", "as",
    "collect2", "ld", "ld.bfd", "ld.gold", "ld.lld",
];

/// True for a process of the C toolchain: a compiler driver, the compiler proper, the
/// assembler or the linker, also under a target triplet (`x86_64-linux-gnu-ld`).
pub fn is_c_tool(tool: &str) -> bool {
    C_TOOLS.contains(&tool)
        || c_driver(tool).is_some()
        || tool.strip_suffix("-gcc").is_some()
        || tool.contains("-linux-gnu-")
        || tool.starts_with("gcc-")
        || tool.starts_with("clang-")
}

/// The group a C or C++ compiler driver belongs to: `cc` for gcc, cc and clang, `c++` for
/// g++, c++ and clang++, under a target triplet and with a version suffix or not
/// (`x86_64-linux-gnu-gcc-12`, `clang-17`, `g++-13`). None for anything else, also for the
/// driver's helpers (`gcc-ar-12`, `clang-format`): those are other programs.
pub fn c_driver(tool: &str) -> Option<&'static str> {
    // Which CC cgo runs depends on the machine (`go env CC`, a cross compiler), while what
    // the user wants to compare is the time spent compiling C.
    let name = match tool.rsplit_once('-') {
        Some((rest, last)) if is_version(last) => rest.rsplit('-').next().unwrap_or(rest),
        Some((_, last)) => last,
        None => tool,
    };
    match name {
        "cc" | "gcc" | "clang" => Some("cc"),
        "c++" | "g++" | "clang++" => Some("c++"),
        _ => None,
    }
}

/// `12`, `17.0.6`: a version suffix as distributions put on compiler names.
fn is_version(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit()) && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The name a process is listed under: its C compiler group, or its own tool name.
pub fn group(tool: &str) -> &str {
    c_driver(tool).unwrap_or(tool)
}

/// The process's own tool name when the tables list it under another ([`group`]).
pub fn real_name(tool: &str) -> Option<String> {
    (group(tool) != tool).then(|| tool.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_compiler_drivers_group_as_cc_under_any_name() {
        for t in [
            "gcc",
            "cc",
            "clang",
            "gcc-12",
            "clang-17",
            "clang-17.0.6",
            "x86_64-linux-gnu-gcc-12",
            "x86_64-linux-gnu-gcc",
            "aarch64-linux-gnu-gcc-13",
            "x86_64-pc-linux-gnu-clang",
            "musl-gcc",
        ] {
            assert_eq!(group(t), "cc", "{t}");
            assert!(is_c_tool(t), "{t}");
        }
        for t in ["g++", "c++", "clang++", "g++-13", "x86_64-linux-gnu-g++-12"] {
            assert_eq!(group(t), "c++", "{t}");
        }
        assert_eq!(
            real_name("x86_64-linux-gnu-gcc-12").as_deref(),
            Some("x86_64-linux-gnu-gcc-12")
        );
        assert_eq!(real_name("gcc").as_deref(), Some("gcc"));
        assert_eq!(real_name("cc"), None);
    }

    #[test]
    fn other_tools_keep_their_names() {
        for t in [
            "cc1",
            "as",
            "ld",
            "collect2",
            "x86_64-linux-gnu-ld",
            "gcc-ar-12",
            "gcc-nm",
            "clang-format",
            "go",
            "compile",
            "link",
            "cgo",
            "hello-12",
            "12",
            "",
        ] {
            assert_eq!(group(t), t, "{t}");
            assert_eq!(real_name(t), None, "{t}");
        }
        assert!(is_c_tool("cc1") && is_c_tool("x86_64-linux-gnu-ld") && is_c_tool("gcc-ar-12"));
        assert!(!is_c_tool("go") && !is_c_tool("compile") && !is_c_tool("cgo"));
    }
}
