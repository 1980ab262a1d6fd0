//! Decoding of call arguments into the strings a report shows: open flags, access modes,
//! AT_* flags, socket addresses; and lexical path cleaning.

fn join_flags(parts: &mut Vec<&'static str>, value: i64, table: &[(i64, &'static str)]) -> i64 {
    let mut rest = value;
    for &(bit, name) in table {
        if bit != 0 && value & bit == bit {
            parts.push(name);
            rest &= !bit;
        }
    }
    rest
}

fn finish(parts: Vec<&'static str>, rest: i64) -> String {
    let mut s = parts.join("|");
    if rest != 0 {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str(&format!("{rest:#x}"));
    }
    s
}

pub fn open_flags(flags: i64) -> String {
    let mut parts = vec![match flags & i64::from(libc::O_ACCMODE) {
        x if x == i64::from(libc::O_WRONLY) => "O_WRONLY",
        x if x == i64::from(libc::O_RDWR) => "O_RDWR",
        _ => "O_RDONLY",
    }];
    let table: &[(i64, &str)] = &[
        (libc::O_CREAT as i64, "O_CREAT"),
        (libc::O_EXCL as i64, "O_EXCL"),
        (libc::O_NOCTTY as i64, "O_NOCTTY"),
        (libc::O_TRUNC as i64, "O_TRUNC"),
        (libc::O_APPEND as i64, "O_APPEND"),
        (libc::O_NONBLOCK as i64, "O_NONBLOCK"),
        (libc::O_DSYNC as i64, "O_DSYNC"),
        (libc::O_DIRECT as i64, "O_DIRECT"),
        (libc::O_LARGEFILE as i64, "O_LARGEFILE"),
        (libc::O_NOFOLLOW as i64, "O_NOFOLLOW"),
        (libc::O_NOATIME as i64, "O_NOATIME"),
        (libc::O_CLOEXEC as i64, "O_CLOEXEC"),
        (libc::O_PATH as i64, "O_PATH"),
        (libc::O_TMPFILE as i64, "O_TMPFILE"),
        (libc::O_DIRECTORY as i64, "O_DIRECTORY"),
        (libc::O_SYNC as i64, "O_SYNC"),
    ];
    let rest = join_flags(&mut parts, flags & !i64::from(libc::O_ACCMODE), table);
    finish(parts, rest)
}

pub fn access_mode(mode: i64) -> String {
    if mode == 0 {
        return "F_OK".into();
    }
    let mut parts = Vec::new();
    let rest = join_flags(
        &mut parts,
        mode,
        &[
            (libc::R_OK as i64, "R_OK"),
            (libc::W_OK as i64, "W_OK"),
            (libc::X_OK as i64, "X_OK"),
        ],
    );
    finish(parts, rest)
}

/// AT_* flags of the *at calls (0x200 is AT_REMOVEDIR here).
pub fn at_flags(flags: i64) -> Option<String> {
    flag_list(
        flags,
        &[
            (libc::AT_SYMLINK_NOFOLLOW as i64, "AT_SYMLINK_NOFOLLOW"),
            (libc::AT_REMOVEDIR as i64, "AT_REMOVEDIR"),
            (libc::AT_SYMLINK_FOLLOW as i64, "AT_SYMLINK_FOLLOW"),
            (libc::AT_NO_AUTOMOUNT as i64, "AT_NO_AUTOMOUNT"),
            (libc::AT_EMPTY_PATH as i64, "AT_EMPTY_PATH"),
        ],
    )
}

/// [`at_flags`] as the interned text a call records, decoded once per value: the tracer
/// asks for it before it resumes the thread, and a build passes a handful of values
/// thousands of times.
pub fn at_flags_atom(flags: i64) -> Option<crate::model::Atom> {
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<(i64, Option<crate::model::Atom>)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    if flags == 0 {
        return None;
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some((_, atom)) = seen.iter().find(|(f, _)| *f == flags) {
            return atom.clone();
        }
        let atom = at_flags(flags).map(crate::model::Atom::from);
        if seen.len() < 64 {
            seen.push((flags, atom.clone()));
        }
        atom
    })
}

/// faccessat2's flags: 0x200 is AT_EACCESS here (AT_REMOVEDIR in unlinkat).
pub fn access_at_flags(flags: i64) -> Option<String> {
    flag_list(
        flags,
        &[
            (libc::AT_SYMLINK_NOFOLLOW as i64, "AT_SYMLINK_NOFOLLOW"),
            (libc::AT_EACCESS as i64, "AT_EACCESS"),
            (libc::AT_EMPTY_PATH as i64, "AT_EMPTY_PATH"),
        ],
    )
}

/// `None` for no flags, else the names joined with `|` (unknown bits in hex).
fn flag_list(flags: i64, table: &[(i64, &'static str)]) -> Option<String> {
    if flags == 0 {
        return None;
    }
    let mut parts = Vec::new();
    let rest = join_flags(&mut parts, flags, table);
    Some(finish(parts, rest))
}

/// A `struct sockaddr` as text: `127.0.0.1:443`, `[::1]:80`, `/run/x.sock`, `@abstract`.
pub fn sockaddr(bytes: &[u8]) -> Option<String> {
    let family = u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?);
    match i32::from(family) {
        libc::AF_INET => {
            let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
            let ip = std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes.get(4..8)?).ok()?);
            Some(format!("{ip}:{port}"))
        }
        libc::AF_INET6 => {
            let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
            let ip = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes.get(8..24)?).ok()?);
            Some(format!("[{ip}]:{port}"))
        }
        libc::AF_UNIX => {
            let path = bytes.get(2..)?;
            if path.first() == Some(&0) {
                let name = &path[1..];
                Some(format!(
                    "@{}",
                    String::from_utf8_lossy(name).trim_end_matches('\0')
                ))
            } else {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                Some(String::from_utf8_lossy(&path[..end]).into_owned())
            }
        }
        other => Some(format!("family {other}")),
    }
}

/// Lexical clean as Go's filepath.Clean does it, for an absolute path. Returns the input
/// unchanged (no allocation) when it is already clean.
/// True when `clean` would return the path unchanged.
pub fn is_clean(path: &str) -> bool {
    !path.contains("//")
        && !path.contains("/./")
        && !path.contains("/../")
        && !path.ends_with("/.")
        && !path.ends_with("/..")
        && (path.len() == 1 || !path.ends_with('/'))
}

pub fn clean(path: String) -> String {
    if is_clean(&path) {
        return path;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_read_like_strace() {
        let f = i64::from(libc::O_RDONLY | libc::O_CLOEXEC);
        assert_eq!(open_flags(f), "O_RDONLY|O_CLOEXEC");
        let f = i64::from(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC);
        assert_eq!(open_flags(f), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
    }

    #[test]
    fn cached_at_flags_read_as_decoded() {
        for _ in 0..2 {
            assert_eq!(at_flags_atom(0), None);
            let nofollow = i64::from(libc::AT_SYMLINK_NOFOLLOW);
            assert_eq!(
                at_flags_atom(nofollow).as_deref(),
                at_flags(nofollow).as_deref()
            );
            assert_eq!(
                at_flags_atom(0x200 | 0x10_0000).as_deref(),
                Some("AT_REMOVEDIR|0x100000")
            );
        }
    }

    #[test]
    fn access_flags_are_not_unlink_flags() {
        assert_eq!(access_at_flags(0x200).as_deref(), Some("AT_EACCESS"));
        assert_eq!(at_flags(0x200).as_deref(), Some("AT_REMOVEDIR"));
    }

    #[test]
    fn clean_matches_go() {
        assert_eq!(clean("/a/b/../c/./d//e/".into()), "/a/c/d/e");
        assert_eq!(clean("/..".into()), "/");
        assert_eq!(clean("/".into()), "/");
        assert_eq!(clean("/usr/bin/gcc".into()), "/usr/bin/gcc");
    }

    #[test]
    fn sockaddrs() {
        let mut v4 = vec![0u8; 16];
        v4[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&443u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(sockaddr(&v4).unwrap(), "127.0.0.1:443");
        let mut un = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        un.extend_from_slice(b"/run/x.sock\0");
        assert_eq!(sockaddr(&un).unwrap(), "/run/x.sock");
        assert_eq!(sockaddr(&[1]), None);
    }
}
