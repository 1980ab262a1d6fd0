//! Gathers what env-check judges: the effective settings, the go binaries on PATH and their
//! build info, the go.mod/go.work in effect, and directory states — each touch outside $HOME
//! and GOROOT through `fsinfo::with_timeout`, so a dead mount cannot hang the doctor.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fsinfo::{self, MountTable};
use crate::gosrc::buildinfo;
use crate::gosrc::goenv::{self, GorootHow, ModFile, Settings, Source};

/// How long any single probe outside $HOME and GOROOT may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// One executable found on PATH.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1-based PATH entry number.
    pub entry: usize,
    /// The PATH entry as written ("" means "."), shown lossily if not UTF-8.
    pub dir: String,
    pub path: PathBuf,
    /// The entry is relative: Go's LookPath refuses this hit (exec.ErrDot).
    pub relative: bool,
    pub real: Option<PathBuf>,
    /// Go version from build info (`go1.26.8`), or why not.
    pub version: Result<String, String>,
    /// The whole build info, for the names whose versions were read.
    pub info: Option<buildinfo::BuildInfo>,
}

/// PATH lookups, each entry on a remote filesystem under its own deadline.
#[derive(Debug, Clone, Default)]
pub struct PathScan {
    /// name → every executable with that name, in PATH order.
    pub hits: BTreeMap<String, Vec<Hit>>,
    /// Entries that did not answer within [`PROBE_TIMEOUT`]: (1-based number, as written,
    /// filesystem type). Their executables are unknown; the rest of PATH was still scanned.
    pub unanswered: Vec<(usize, String, Option<String>)>,
}

impl PathScan {
    pub fn all(&self, name: &str) -> &[Hit] {
        self.hits.get(name).map_or(&[], Vec::as_slice)
    }

    /// exec.LookPath: the first hit, which Go refuses when it comes from a relative entry.
    pub fn first(&self, name: &str) -> Option<&Hit> {
        self.all(name).first()
    }
}

/// Scans PATH for `names` (versions are read for `versioned` names). Entries on local
/// filesystems are scanned inline (microseconds each); each other entry (network, FUSE,
/// automount, or any entry when the mount table is unreadable) on its own thread, all at
/// once, each abandoned after [`PROBE_TIMEOUT`]: one entry answering in 900 ms costs one
/// `unanswered` row, not the whole scan.
pub fn scan_path_guarded(
    path_list: &[OsString],
    names: &[String],
    versioned: &[&str],
    mounts: Option<&MountTable>,
    cwd: &Path,
) -> PathScan {
    use std::sync::mpsc;
    let start = std::time::Instant::now();
    let (tx, rx) = mpsc::channel();
    let mut per_entry: Vec<Option<Vec<(String, Hit)>>> = vec![None; path_list.len()];
    let mut remote = Vec::new();
    for (i, entry) in path_list.iter().enumerate() {
        let dir = if entry.is_empty() {
            OsStr::new(".")
        } else {
            entry.as_os_str()
        };
        let mount = mounts.and_then(|t| t.lookup(&fsinfo::lexical_clean(Path::new(dir), cwd)));
        let local = mount.is_some_and(|m| m.class() == fsinfo::FsClass::Local);
        if local {
            continue;
        }
        remote.push((i, mount.map(|m| m.fs_type.clone())));
        let (tx, entry, names) = (tx.clone(), entry.clone(), names.to_vec());
        let versioned: Vec<String> = versioned.iter().map(|v| v.to_string()).collect();
        let spawned = std::thread::Builder::new()
            .name("golat-env-path".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let v: Vec<&str> = versioned.iter().map(String::as_str).collect();
                let _ = tx.send((i, scan_entry(i, &entry, &names, &v)));
            });
        if spawned.is_err() {
            // No thread: the entry stays unanswered rather than risking a hang here.
            continue;
        }
    }
    drop(tx);
    for (i, entry) in path_list.iter().enumerate() {
        if !remote.iter().any(|(r, _)| *r == i) {
            per_entry[i] = Some(scan_entry(i, entry, names, versioned));
        }
    }
    let deadline = start + PROBE_TIMEOUT;
    let mut waiting = remote.len();
    while waiting > 0 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, hits)) => {
                per_entry[i] = Some(hits);
                waiting -= 1;
            }
            Err(_) => break,
        }
    }
    let mut scan = PathScan::default();
    for (i, hits) in per_entry.into_iter().enumerate() {
        match hits {
            Some(hits) => {
                for (name, hit) in hits {
                    scan.hits.entry(name).or_default().push(hit);
                }
            }
            None => {
                let fs = remote
                    .iter()
                    .find(|(r, _)| *r == i)
                    .and_then(|(_, t)| t.clone());
                scan.unanswered
                    .push((i + 1, path_list[i].to_string_lossy().into_owned(), fs));
            }
        }
    }
    scan
}

/// The executables among `names` in one PATH entry (number `i`, 0-based).
fn scan_entry(i: usize, entry: &OsStr, names: &[String], versioned: &[&str]) -> Vec<(String, Hit)> {
    let mut out = Vec::new();
    let dir = if entry.is_empty() {
        OsStr::new(".")
    } else {
        entry
    };
    {
        for name in names {
            let p = Path::new(dir).join(name);
            if !is_executable(&p) {
                continue;
            }
            let (version, info) = if versioned.contains(&name.as_str()) {
                match buildinfo::read(&p) {
                    Ok(b) => (Ok(b.go_version.clone()), Some(b)),
                    Err(e) => (Err(format!("{e:#}")), None),
                }
            } else {
                (Err("not read".into()), None)
            };
            out.push((
                name.clone(),
                Hit {
                    entry: i + 1,
                    dir: entry.to_string_lossy().into_owned(),
                    relative: !dir.as_bytes().starts_with(b"/"),
                    real: std::fs::canonicalize(&p).ok(),
                    path: p,
                    version,
                    info,
                },
            ));
        }
    }
    out
}

/// Go's findExecutable: a non-directory with any execute bit.
pub fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| !m.is_dir() && m.permissions().mode() & 0o111 != 0)
}

/// What a directory the go command writes to looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirState {
    pub path: PathBuf,
    /// The path exists (as a directory, unless `not_dir`).
    pub exists: bool,
    pub not_dir: bool,
    /// The nearest existing directory (itself when it exists), which must be writable.
    pub writable_base: Option<PathBuf>,
    /// Why writing fails (`read-only file system`, `permission denied`), None when writable.
    pub write_error: Option<String>,
    /// statvfs says noexec.
    pub noexec: bool,
    pub fs_type: Option<String>,
    pub mount_point: Option<String>,
    /// statvfs of the nearest existing directory: bytes and inodes an unprivileged writer
    /// may still use (None when statvfs failed).
    pub free: Option<(u64, u64)>,
}

/// Examines `path` (absolute): existence, writability by this user (faccessat with
/// AT_EACCESS, which also reports EROFS for read-only mounts and immutable inodes, so it is
/// right for root too), noexec and the filesystem type.
pub fn dir_state(path: &Path, mounts: Option<&MountTable>) -> DirState {
    let (exists, not_dir) = match std::fs::metadata(path) {
        Ok(m) => (true, !m.is_dir()),
        Err(_) => (false, false),
    };
    let mut base = Some(path.to_path_buf());
    if !exists {
        base = path
            .ancestors()
            .skip(1)
            .find(|a| a.is_dir())
            .map(Path::to_path_buf);
    }
    let write_error = if not_dir {
        Some("not a directory".into())
    } else {
        match &base {
            Some(b) => access_w(b).err(),
            None => Some("no existing parent directory".into()),
        }
    };
    let noexec = base.as_deref().is_some_and(statvfs_noexec);
    // fsblkcnt_t and friends are u64 here but not on every target: keep the casts.
    #[allow(clippy::unnecessary_cast)]
    let free = base.as_deref().and_then(|b| {
        nix::sys::statvfs::statvfs(b).ok().map(|st| {
            (
                st.blocks_available() as u64 * st.fragment_size() as u64,
                st.files_available() as u64,
            )
        })
    });
    let clean = fsinfo::lexical_clean(path, Path::new("/"));
    let mount = mounts.and_then(|t| t.lookup(&clean));
    DirState {
        path: path.to_path_buf(),
        exists: exists && !not_dir,
        not_dir,
        writable_base: base,
        write_error,
        noexec,
        fs_type: mount.map(|m| m.fs_type.clone()),
        mount_point: mount.map(|m| m.mount_point.clone()),
        free,
    }
}

fn access_w(p: &Path) -> Result<(), String> {
    use nix::errno::Errno;
    use nix::unistd::AccessFlags;
    if p.as_os_str().as_bytes().contains(&0) {
        return Err("path contains NUL".into());
    }
    nix::unistd::faccessat(
        nix::fcntl::AT_FDCWD,
        p,
        AccessFlags::W_OK | AccessFlags::X_OK,
        nix::fcntl::AtFlags::AT_EACCESS,
    )
    .map_err(|e| match e {
        Errno::EROFS => "read-only file system".into(),
        Errno::EACCES => "permission denied".into(),
        Errno::EPERM => "operation not permitted (immutable?)".into(),
        other => std::io::Error::from(other).to_string(),
    })
}

fn statvfs_noexec(p: &Path) -> bool {
    use nix::sys::statvfs::{FsFlags, statvfs};
    statvfs(p).is_ok_and(|st| st.flags().contains(FsFlags::ST_NOEXEC))
}

/// Runs `f` with the probe deadline; Err carries a sentence for the report.
pub fn guarded<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    fsinfo::with_timeout(PROBE_TIMEOUT, f)
        .map_err(|e| format!("{what} {e} (a hung or very slow mount?)"))
}

/// The go.work and go.mod the go command would use from `dir`.
#[derive(Debug, Clone, Default)]
pub struct ModuleFacts {
    /// The go.mod found upward (findModuleRoot), parsed.
    pub gomod: Option<ModFile>,
    /// The go.work in effect (GOWORK or found upward), parsed, plus its `use` dirs (absolute).
    pub gowork: Option<(ModFile, Vec<PathBuf>)>,
    /// GOWORK names a file that does not exist.
    pub gowork_missing: Option<PathBuf>,
    /// Nearest directory at or above the module root containing `.git` (the repository root).
    pub repo_root: Option<PathBuf>,
    /// go.mod's text (for its require and go lines).
    pub gomod_text: Option<String>,
    /// `vendor/modules.txt` exists next to go.mod.
    pub vendor_modules_txt: bool,
    /// Its text (at most 4 MiB read).
    pub vendor_text: Option<String>,
    /// go.work `use` entries whose directory has no go.mod: (as written, absolute).
    pub work_use_missing: Vec<(String, PathBuf)>,
    /// GOWORK=off with a go.work above `dir`: that file, the modules it lists (module path,
    /// dir) and the imports of the current module's own .go files (path, file, line), so
    /// GO041 can tell whether the module builds without the workspace.
    pub off_work: Option<OffWork>,
}

/// See `ModuleFacts::off_work`.
#[derive(Debug, Clone, Default)]
pub struct OffWork {
    pub file: PathBuf,
    pub modules: Vec<(String, PathBuf)>,
    pub imports: Vec<(String, PathBuf, usize)>,
}

/// modload.FindGoMod / findWorkspaceFile from `dir` (absolute), honouring GOWORK.
pub fn find_module_files(
    dir: &Path,
    gowork_setting: &str,
    goroot: Option<&Path>,
    tmp: &Path,
) -> ModuleFacts {
    let mut out = ModuleFacts::default();
    let dir = fsinfo::lexical_clean(dir, Path::new("/"));
    for d in dir.ancestors() {
        let f = d.join("go.mod");
        if f.is_file() {
            // FindGoMod ignores a go.mod directly in the temp dir (golang.org/issue/26708).
            if d != tmp
                && let Ok(data) = std::fs::read(&f)
            {
                out.gomod = Some(ModFile::parse(f, &data));
                out.gomod_text = Some(String::from_utf8_lossy(&data).into_owned());
                let vt = d.join("vendor/modules.txt");
                out.vendor_modules_txt = vt.is_file();
                if out.vendor_modules_txt
                    && let Ok(f) = std::fs::File::open(&vt)
                {
                    let mut text = String::new();
                    let _ = std::io::Read::read_to_string(
                        &mut std::io::Read::take(f, 4 << 20),
                        &mut text,
                    );
                    out.vendor_text = Some(text);
                }
            }
            break;
        }
    }
    if gowork_setting == "off"
        && let Some(file) = work_file_above(&dir, goroot)
    {
        out.off_work = Some(off_work(file, out.gomod.as_ref().map(|m| m.path.as_path())));
    }
    let work_file = match gowork_setting {
        "off" => None,
        "" | "auto" => {
            let mut found = None;
            for d in dir.ancestors() {
                let f = d.join("go.work");
                if f.is_file() {
                    found = Some(f);
                    break;
                }
                // findWorkspaceFile does not cross GOROOT.
                if d.parent().is_some_and(|p| Some(p) == goroot) {
                    break;
                }
            }
            found
        }
        explicit => {
            let p = PathBuf::from(explicit);
            if p.is_file() {
                Some(p)
            } else {
                out.gowork_missing = Some(p);
                None
            }
        }
    };
    if let Some(f) = work_file
        && let Ok(data) = std::fs::read(&f)
    {
        let pairs = work_uses(&data, f.parent().unwrap_or(Path::new("/")));
        out.work_use_missing = pairs
            .iter()
            .filter(|(_, abs)| !abs.join("go.mod").is_file())
            .cloned()
            .collect();
        let uses = pairs.into_iter().map(|(_, abs)| abs).collect();
        out.gowork = Some((ModFile::parse(f, &data), uses));
    }
    if let Some(root) = out.gomod.as_ref().and_then(|m| m.path.parent()) {
        out.repo_root = root
            .ancestors()
            .find(|a| a.join(".git").exists())
            .map(Path::to_path_buf);
    }
    out
}

/// findWorkspaceFile's walk: the nearest go.work at or above `dir`, not crossing GOROOT.
fn work_file_above(dir: &Path, goroot: Option<&Path>) -> Option<PathBuf> {
    for d in dir.ancestors() {
        let f = d.join("go.work");
        if f.is_file() {
            return Some(f);
        }
        if d.parent().is_some_and(|p| Some(p) == goroot) {
            break;
        }
    }
    None
}

/// How many .go files of the module `off_work` reads for imports: enough for a service, and
/// a bound on a huge monorepo (this only runs with GOWORK=off and a go.work above).
const IMPORT_SCAN_FILES: usize = 2000;

fn off_work(file: PathBuf, gomod: Option<&Path>) -> OffWork {
    let base = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let data = std::fs::read(&file).unwrap_or_default();
    let modules = work_uses(&data, &base)
        .into_iter()
        .filter_map(|(_, d)| {
            let text = std::fs::read_to_string(d.join("go.mod")).ok()?;
            Some((module_path(&text)?, d))
        })
        .collect();
    let mut imports = Vec::new();
    if let Some(root) = gomod.and_then(Path::parent) {
        let mut stack = vec![root.to_path_buf()];
        let mut files = 0;
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    // What go leaves out of a module's packages: vendor, testdata, _x, .x,
                    // and nested modules.
                    if name != "vendor"
                        && name != "testdata"
                        && !name.starts_with(['.', '_'])
                        && !p.join("go.mod").exists()
                    {
                        stack.push(p);
                    }
                } else if name.ends_with(".go") && !name.ends_with("_test.go") {
                    files += 1;
                    if files > IMPORT_SCAN_FILES {
                        return OffWork {
                            file,
                            modules,
                            imports,
                        };
                    }
                    if let Ok(text) = std::fs::read_to_string(&p) {
                        for (imp, line) in go_imports(&text) {
                            imports.push((imp, p.clone(), line));
                        }
                    }
                }
            }
        }
    }
    OffWork {
        file,
        modules,
        imports,
    }
}

/// go.mod's `module` path.
pub fn module_path(gomod: &str) -> Option<String> {
    gomod.lines().find_map(|l| {
        let l = l.split("//").next()?.trim();
        let rest = l.strip_prefix("module")?;
        rest.starts_with([' ', '\t'])
            .then(|| rest.trim().trim_matches('"').to_string())
            .filter(|m| !m.is_empty())
    })
}

/// The import paths of a Go file with their 1-based lines: the import declarations before
/// the first other top-level declaration (go/parser's ImportsOnly, for the usual layouts).
pub fn go_imports(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut block = false;
    let mut in_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        if in_comment {
            match line.find("*/") {
                Some(k) => {
                    in_comment = false;
                    line = line[k + 2..].trim();
                }
                None => continue,
            }
        }
        if line.starts_with("/*") && !line.contains("*/") {
            in_comment = true;
            continue;
        }
        let line = line.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let spec = if block {
            if line.starts_with(')') {
                block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("import") {
            let rest = rest.trim();
            if let Some(inner) = rest.strip_prefix('(') {
                block = true;
                inner.trim()
            } else {
                rest
            }
        } else if line.starts_with("package") {
            continue;
        } else {
            break;
        };
        if let Some(q) = spec.find(['"', '`'])
            && let Some(end) = spec[q + 1..].find(['"', '`'])
        {
            out.push((spec[q + 1..q + 1 + end].to_string(), i + 1));
        }
    }
    out
}

/// The `use` directories of a go.work (single-line and block forms): (as written, absolute).
pub fn work_uses(data: &[u8], base: &Path) -> Vec<(String, PathBuf)> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    for item in crate::gosrc::goenv::directive_items(&text, "use") {
        let item = item.trim_matches(|c| c == '"' || c == '`');
        if item.is_empty() {
            continue;
        }
        out.push((
            item.to_string(),
            fsinfo::lexical_clean(Path::new(item), base),
        ));
    }
    out
}

/// Everything env-check knows before judging.
#[derive(Debug, Clone)]
pub struct Facts {
    pub dir: PathBuf,
    /// PATH's entries as bytes, as Go splits them.
    pub path_list: Vec<OsString>,
    pub scan: Result<PathScan, String>,
    /// The go binary that runs (LookPath("go")), if any.
    pub go: Option<Hit>,
    pub go_info: Option<buildinfo::BuildInfo>,
    /// `go1.26.8` of the go that runs (build info, else $GOROOT/VERSION).
    pub go_version: Option<String>,
    pub settings: Settings,
    /// The GOROOT the binary's own location implies (independent of $GOROOT).
    pub exe_goroot: Option<PathBuf>,
    /// First line of $GOROOT/VERSION.
    pub version_file: Option<String>,
    /// `pkg/tool/<os>_<arch>/{compile,link}` → version or error.
    pub tools: Vec<(String, Result<String, String>)>,
    pub mounts: Option<MountTable>,
    pub modules: Result<ModuleFacts, String>,
    /// `go env -json` answers, when we had to ask (`GOROOT` of a non-trimmed binary).
    pub go_env_asked: Option<Result<BTreeMap<String, String>, String>>,
    pub host: (String, String),
    /// Reading the go/env file did not finish in time (a FIFO, a dead mount): go hangs too.
    pub user_file_hung: bool,
    /// GOROOT is on a mount that did not answer within [`PROBE_TIMEOUT`]: nothing in it is
    /// read, and the checks that need it say so.
    pub goroot_hung: bool,
}

/// Go's names for the host (GOHOSTOS/GOHOSTARCH) when build info does not say.
pub fn host_os_arch() -> (String, String) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        other => other,
    };
    (std::env::consts::OS.to_string(), arch.to_string())
}

/// Builds the facts for `dir` from the process environment `env` (values shown lossily)
/// and PATH's bytes.
pub fn gather(env: BTreeMap<String, String>, path: &OsStr, dir: PathBuf) -> Facts {
    let path_list: Vec<OsString> = goenv::split_path_list(path)
        .into_iter()
        .map(OsStr::to_os_string)
        .collect();
    let mut settings = Settings {
        env: env.clone(),
        ..Settings::default()
    };

    let mut user_file_hung = false;
    // $GOENV may name any file (a FIFO, a dead mount): read it under the deadline.
    match goenv::user_env_file(&env) {
        Ok((file, _)) => {
            let f2 = file.clone();
            match guarded("reading the go/env file", move || std::fs::read(f2)) {
                Ok(Ok(data)) => settings.user_file = goenv::parse_env_file(&data),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                Ok(Err(e)) => settings.user_file_read_error = Some(e.to_string()),
                Err(e) => {
                    settings.user_file_read_error = Some(e);
                    user_file_hung = true;
                }
            }
            settings.user_file_path = Some(file);
        }
        Err(e) => settings.user_file_error = Some(e),
    }

    // CC decides which compiler name to look for; cfg uses the OS env only for that choice.
    let cc_setting = settings.val("CC").to_string();
    let cc_name = goenv::quoted_split(&cc_setting)
        .ok()
        .and_then(|w| w.into_iter().next())
        .unwrap_or_else(|| "gcc".into());
    let mut names: Vec<String> = vec!["go".into(), "gofmt".into()];
    if !cc_name.contains('/') {
        names.push(cc_name);
    }
    // gcc too, whatever CC says: a fix may only suggest falling back to it if it is there.
    if !names.iter().any(|n| n == "gcc") {
        names.push("gcc".into());
    }
    let mounts = MountTable::load().ok();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let scan: Result<PathScan, String> = Ok(scan_path_guarded(
        &path_list,
        &names,
        &["go", "gofmt"],
        mounts.as_ref(),
        &cwd,
    ));
    let go = scan.as_ref().ok().and_then(|s| s.first("go").cloned());

    // GOROOT as findGOROOT does it, plus the binary's own root for comparison.
    // The go binary may sit on any mount: resolve it under the deadline.
    let exe = go.as_ref().map(|g| g.path.clone());
    let exe_goroot = guarded("resolving the go binary", move || {
        goenv::find_goroot(None, exe.as_deref()).0
    })
    .ok()
    .flatten();
    let env_goroot = env.get("GOROOT").filter(|v| !v.is_empty()).cloned();
    let file_goroot = settings
        .user_file
        .values
        .get("GOROOT")
        .filter(|v| !v.is_empty())
        .cloned();
    let explicit = env_goroot
        .as_deref()
        .map(|v| (v, GorootHow::Env))
        .or(file_goroot.as_deref().map(|v| (v, GorootHow::UserFile)));
    let (mut goroot, mut how) = match explicit {
        Some(_) => goenv::find_goroot(explicit, None),
        None => (
            exe_goroot.clone(),
            if exe_goroot.is_some() {
                GorootHow::Executable
            } else {
                GorootHow::NotFound
            },
        ),
    };
    let go_info = go.as_ref().and_then(|g| g.info.clone());
    let mut go_env_asked = None;
    let trimmed = go_info
        .as_ref()
        .map(|b| b.setting("-trimpath") == Some("true"));
    if goroot.is_none()
        && trimmed != Some(true)
        && let Some(g) = &go
    {
        // A binary built without -trimpath remembers its GOROOT; only go itself can say it.
        let answer = go_env_json(&g.path, &env, &["GOROOT"]);
        if let Ok(m) = &answer
            && let Some(r) = m.get("GOROOT").filter(|r| !r.is_empty())
        {
            goroot = Some(PathBuf::from(r));
            how = GorootHow::BuiltIn;
        }
        go_env_asked = Some(answer);
    }
    // GOROOT is read without deadlines below (a dozen files); first make sure a GOROOT on a
    // remote or FUSE mount answers at all. If not, nothing in it is touched again.
    let goroot_hung = match &goroot {
        Some(r)
            if mounts
                .as_ref()
                .and_then(|t| t.lookup(r))
                .is_none_or(|m| m.class() != fsinfo::FsClass::Local) =>
        {
            let r2 = r.clone();
            guarded("reading GOROOT", move || r2.join("pkg/tool").is_dir()).is_err()
        }
        _ => false,
    };
    let goroot_ok = |r: &&PathBuf| !goroot_hung && r.is_dir();
    // go.env is read from the root findGOROOT(file value) gives, before $GOROOT is applied;
    // after the question above, so a root only go could name (a shim script in PATH) counts.
    let goenv_root = match (&file_goroot, &env_goroot) {
        (Some(f), Some(_)) => Some(goenv::clean(Path::new(f))),
        _ => goroot.clone(),
    };
    if let Some(root) = goenv_root.as_ref().filter(|r| !goroot_hung && r.is_dir())
        && let Ok(data) = std::fs::read(root.join("go.env"))
    {
        settings.goroot_file = goenv::parse_env_file(&data);
    }
    settings.goroot = goroot.clone();
    settings.goroot_how = Some(how);

    let version_file = goroot.as_ref().filter(|_| !goroot_hung).and_then(|r| {
        std::fs::read_to_string(r.join("VERSION"))
            .ok()
            .and_then(|s| s.lines().next().map(str::to_string))
    });
    let go_version = go_info
        .as_ref()
        .map(|b| b.go_version.clone())
        .or_else(|| version_file.clone());
    let host = go_info
        .as_ref()
        .and_then(|b| {
            Some((
                b.setting("GOOS")?.to_string(),
                b.setting("GOARCH")?.to_string(),
            ))
        })
        .unwrap_or_else(host_os_arch);
    let tools = match &goroot {
        Some(r) if goroot_ok(&r) => ["compile", "link"]
            .iter()
            .map(|t| {
                let p = r
                    .join("pkg/tool")
                    .join(format!("{}_{}", host.0, host.1))
                    .join(t);
                (
                    t.to_string(),
                    buildinfo::read(&p)
                        .map(|b| b.go_version)
                        .map_err(|e| format!("{e:#}")),
                )
            })
            .collect(),
        _ => Vec::new(),
    };

    let gowork = settings.val("GOWORK").to_string();
    let tmp = PathBuf::from(
        env.get("TMPDIR")
            .filter(|t| !t.is_empty())
            .map_or("/tmp", String::as_str),
    );
    let (d, gr) = (dir.clone(), goroot.clone());
    let modules = guarded("looking for go.mod/go.work", move || {
        find_module_files(&d, &gowork, gr.as_deref(), &tmp)
    });

    Facts {
        dir,
        path_list,
        scan,
        go,
        go_info,
        go_version,
        settings,
        exe_goroot,
        version_file,
        tools,
        mounts,
        modules,
        go_env_asked,
        host,
        user_file_hung,
        goroot_hung,
    }
}

/// `GOTOOLCHAIN=local GOFLAGS= go env -json <names>` (never plain `go env`, which can run the C
/// compiler; names here never include CGO/GOGCCFLAGS ones), with a deadline.
pub fn go_env_json(
    go: &Path,
    env: &BTreeMap<String, String>,
    names: &[&str],
) -> Result<BTreeMap<String, String>, String> {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(go);
    cmd.arg("env").arg("-json").args(names);
    cmd.env_clear()
        .envs(env)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", go.display()))?;
    let id = child.id();
    let out = fsinfo::with_timeout(Duration::from_secs(5), move || child.wait_with_output());
    let out = match out {
        Ok(r) => r.map_err(|e| e.to_string())?,
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(id as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            return Err("go env did not answer within 5 s".into());
        }
    };
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("go env -json: {e}"))
}

impl Facts {
    /// The local toolchain version without the `go` prefix (`1.26.8`).
    pub fn local_version(&self) -> Option<String> {
        self.go_version.as_deref().and_then(goenv::from_toolchain)
    }

    pub fn source_of(&self, key: &str) -> Option<Source> {
        self.settings.get(key).map(|(_, s)| s)
    }
}

/// Shell start-up files searched for an `export KEY=` line, in the order shells read them.
const RC_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshenv",
    ".zprofile",
    ".zshrc",
    ".config/fish/config.fish",
];

/// The last line in $HOME's shell start-up files that exports `key` (`export KEY=`,
/// `KEY=` followed by `export KEY`, `declare -x KEY=`, fish's `set -gx KEY`): (file, 1-based
/// line). Files over 1 MiB are skipped; a start-up file is small.
pub fn find_export(home: &Path, key: &str) -> Option<(PathBuf, usize)> {
    let mut found = None;
    for rc in RC_FILES {
        let file = home.join(rc);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if !meta.is_file() || meta.len() > 1 << 20 {
            continue;
        }
        let Ok(data) = std::fs::read(&file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&data);
        for (i, raw) in text.lines().enumerate() {
            if exports(raw, key) {
                found = Some((file.clone(), i + 1));
            }
        }
        if found.is_some() {
            return found;
        }
    }
    found
}

/// Whether one shell line sets `key` for the environment.
fn exports(line: &str, key: &str) -> bool {
    let line = line.trim_start();
    if line.starts_with('#') {
        return false;
    }
    let assigns = |rest: &str| {
        rest.strip_prefix(key)
            .is_some_and(|r| r.starts_with('=') || r.is_empty() || r.starts_with([' ', ';']))
    };
    for prefix in ["export ", "declare -x ", "typeset -x "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.split_whitespace().any(assigns);
        }
    }
    for prefix in ["set -gx ", "set -x ", "set -Ux "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.split_whitespace().next() == Some(key);
        }
    }
    // `KEY=value` alone counts: most rc files that set GO* vars export them too.
    line.strip_prefix(key).is_some_and(|r| r.starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines() {
        assert!(exports("export GOPROXY=off", "GOPROXY"));
        assert!(exports("  export A=1 GOFLAGS='-tags foo'", "GOFLAGS"));
        assert!(exports("GOFLAGS=-mod=mod", "GOFLAGS"));
        assert!(exports("set -gx GOPATH /x", "GOPATH"));
        assert!(exports("declare -x GOBIN=/x", "GOBIN"));
        assert!(!exports("# export GOPROXY=off", "GOPROXY"));
        assert!(!exports("export GOPROXYX=off", "GOPROXY"));
        assert!(!exports("echo GOPROXY=off", "GOPROXY"));
    }

    #[test]
    fn export_is_found_in_the_last_rc_line() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".profile"), "export GOPROXY=a\n").unwrap();
        std::fs::write(
            d.path().join(".bashrc"),
            "x=1\nexport GOPROXY=b\n# c\nexport GOPROXY=off\n",
        )
        .unwrap();
        assert_eq!(
            find_export(d.path(), "GOPROXY"),
            Some((d.path().join(".bashrc"), 4))
        );
        assert_eq!(find_export(d.path(), "GOFLAGS"), None);
    }
}
