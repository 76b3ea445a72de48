//! Package inventories: the JSON shape
//! `{"instances": [{"resource", "os", "packages": [{name, version, manager, arch?, path?, source?}]}]}`
//! and raw `dpkg-query -W` / `rpm -qa` listings.

use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::doc::Pos;
use crate::load::LoadError;

/// One installed package, with the line of its entry in the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// `dpkg`, `rpm`, `apk`, `npm`, `pip`, `cargo`, `gem`, `maven`, `go`.
    pub manager: String,
    pub arch: Option<String>,
    pub path: Option<String>,
    /// The source package (Debian and Ubuntu advisories name source packages).
    pub source: Option<String>,
    pub pos: Pos,
}

/// The packages of one instance, image or host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The template's logical id or Terraform address, or any other name.
    pub resource: String,
    /// `ID:VERSION` as in /etc/os-release (`debian:12`), if known.
    pub os: Option<String>,
    pub packages: Vec<Package>,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inventory {
    pub path: String,
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory<'a> {
    #[serde(borrow)]
    instances: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawInstance<'a> {
    resource: String,
    #[serde(default)]
    os: Option<String>,
    #[serde(borrow)]
    packages: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    name: String,
    version: String,
    manager: String,
    #[serde(default)]
    arch: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default, rename = "sourceVersion")]
    _source_version: Option<String>,
}

/// Line and column of a byte offset, counting forward from a known point.
struct Lines<'t> {
    text: &'t str,
    offset: usize,
    line: u32,
    col_start: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        Lines {
            text,
            offset: 0,
            line: 1,
            col_start: 0,
        }
    }

    fn pos(&mut self, at: usize) -> Pos {
        if at < self.offset {
            *self = Lines::new(self.text);
        }
        for (i, b) in self.text.as_bytes()[self.offset..at].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.col_start = self.offset + i + 1;
            }
        }
        self.offset = at;
        Pos::new(self.line, (at - self.col_start + 1) as u32)
    }
}

const SHAPE: &str = r#"expected {"instances": [{"resource": ID, "os": "debian:12", "packages": [{"name", "version", "manager", "arch"?, "path"?}]}]}"#;

impl Inventory {
    /// Read an inventory file: the JSON shape, or a `dpkg-query -W` / `rpm -qa`
    /// listing (named by the file stem, OS detected from its release package).
    pub fn read(path: &Path) -> Result<Inventory, LoadError> {
        let display = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::file(&display, format!("cannot read the inventory: {e}")))?;
        if text.trim_start().starts_with('{') {
            Inventory::parse(&display, &text)
        } else {
            let resource = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Inventory::from_listing(&resource, None, &display, &text)
        }
    }

    /// Parse the JSON shape. Every package keeps the line of its entry.
    pub fn parse(path: &str, text: &str) -> Result<Inventory, LoadError> {
        let err_at = |e: &serde_json::Error, base: Pos, what: &str| {
            // serde places a missing field at the object's end; the object's
            // start names the entry that lacks it.
            let missing = e.to_string().starts_with("missing field");
            let pos = if e.line() == 0 || missing {
                base
            } else if e.line() == 1 {
                Pos::new(base.line, base.col + e.column() as u32 - 1)
            } else {
                Pos::new(base.line + e.line() as u32 - 1, e.column() as u32)
            };
            // serde's own position is relative to the part parsed; ours is the file's.
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg);
            LoadError::at(path, pos, format!("{what}: {msg}; {SHAPE}"))
        };
        let raw: RawInventory = serde_json::from_str(text)
            .map_err(|e| err_at(&e, Pos::new(1, 1), "not an inventory"))?;
        let mut lines = Lines::new(text);
        let base_ptr = text.as_ptr() as usize;
        let mut entries = Vec::with_capacity(raw.instances.len());
        for raw_inst in raw.instances {
            let entry_pos = lines.pos(raw_inst.get().as_ptr() as usize - base_ptr);
            let inst: RawInstance = serde_json::from_str(raw_inst.get())
                .map_err(|e| err_at(&e, entry_pos, "instance entry"))?;
            let mut packages = Vec::with_capacity(inst.packages.len());
            for p in inst.packages {
                let offset = p.get().as_ptr() as usize - base_ptr;
                let pos = lines.pos(offset);
                let rp: RawPackage = serde_json::from_str(p.get())
                    .map_err(|e| err_at(&e, pos, &format!("package entry of {}", inst.resource)))?;
                if rp.name.trim().is_empty() {
                    return Err(LoadError::at(path, pos, "package entry with an empty name"));
                }
                packages.push(Package {
                    name: rp.name,
                    version: rp.version,
                    manager: rp.manager.to_ascii_lowercase(),
                    arch: rp.arch,
                    path: rp.path,
                    source: rp.source,
                    pos,
                });
            }
            entries.push(Entry {
                resource: inst.resource,
                os: inst.os,
                packages,
                pos: entry_pos,
            });
        }
        Ok(Inventory {
            path: path.to_string(),
            entries,
        })
    }

    /// A `dpkg-query -W` listing (`name<TAB>version`, optionally
    /// `<TAB>source<TAB>source-version` from `-f`) or an `rpm -qa` listing
    /// (`name-version-release.arch`, or `name<TAB>[epoch:]version-release<TAB>arch`).
    /// `os` may be given; otherwise it is read from the listing's release
    /// package (`base-files`, `*-release`), and stays unknown when there is none.
    pub fn from_listing(
        resource: &str,
        os: Option<&str>,
        path: &str,
        text: &str,
    ) -> Result<Inventory, LoadError> {
        let mut packages = Vec::new();
        let mut kind: Option<&str> = None;
        for (i, raw_line) in text.lines().enumerate() {
            let line = raw_line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let pos = Pos::new(i as u32 + 1, 1);
            let cols: Vec<&str> = line.split('\t').collect();
            let this_kind = if cols.len() >= 2 && !cols[1].is_empty() {
                // Tab-separated: dpkg-query -W, or rpm --qf with an arch column.
                if cols.len() == 3 && is_rpm_arch(cols[2]) {
                    "rpm"
                } else {
                    "dpkg"
                }
            } else if !line.contains(char::is_whitespace) {
                "rpm"
            } else {
                return Err(LoadError::at(path, pos, format!("expected `name<TAB>version` (dpkg-query -W) or `name-version-release.arch` (rpm -qa), found {:?}", truncate(line))));
            };
            if kind.is_some_and(|k| k != this_kind) {
                return Err(LoadError::at(path, pos, "this line is in another format than the lines before it (dpkg-query and rpm listings are not mixed)"));
            }
            kind = Some(this_kind);
            let pkg = match this_kind {
                "dpkg" => {
                    let (name, arch) = match cols[0].split_once(':') {
                        Some((n, a)) => (n, Some(a.to_string())),
                        None => (cols[0], None),
                    };
                    Package {
                        name: name.trim().to_string(),
                        version: cols[1].trim().to_string(),
                        manager: "dpkg".into(),
                        arch,
                        path: None,
                        source: cols
                            .get(2)
                            .map(|s| s.trim())
                            .filter(|s| !s.is_empty())
                            .map(|s| s.split(' ').next().unwrap_or(s).to_string()),
                        pos,
                    }
                }
                _ => {
                    let (name, version, arch) = if cols.len() == 3 {
                        (
                            cols[0].to_string(),
                            cols[1].to_string(),
                            Some(cols[2].to_string()),
                        )
                    } else {
                        split_nvra(line).ok_or_else(|| {
                            LoadError::at(
                                path,
                                pos,
                                format!(
                                    "expected name-version-release.arch (rpm -qa), found {:?}",
                                    truncate(line)
                                ),
                            )
                        })?
                    };
                    Package {
                        name,
                        version,
                        manager: "rpm".into(),
                        arch,
                        path: None,
                        source: None,
                        pos,
                    }
                }
            };
            packages.push(pkg);
        }
        if packages.is_empty() {
            return Err(LoadError::file(
                path,
                "the listing holds no packages; expected `dpkg-query -W` or `rpm -qa` output",
            ));
        }
        let os = os.map(str::to_string).or_else(|| detect_os(&packages));
        Ok(Inventory {
            path: path.to_string(),
            entries: vec![Entry {
                resource: resource.to_string(),
                os,
                packages,
                pos: Pos::new(1, 1),
            }],
        })
    }
}

impl Inventory {
    /// What may make matches incomplete without being an error: a Debian entry
    /// whose dpkg packages name no source package (Debian's advisories name
    /// source packages: `glibc`, not `libc6`; Ubuntu's also list the binaries).
    /// One warning per inventory, naming the first entries.
    pub fn warnings(&self) -> Vec<LoadError> {
        let without: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.os.as_deref().is_some_and(|os| os.starts_with("debian")))
            .filter(|e| {
                let mut dpkg = e.packages.iter().filter(|p| p.manager == "dpkg");
                dpkg.clone().count() > 1 && dpkg.all(|p| p.source.is_none())
            })
            .collect();
        let Some(first) = without.first() else {
            return Vec::new();
        };
        let mut names: Vec<String> = without
            .iter()
            .take(5)
            .map(|e| format!("{} (line {})", e.resource, e.pos.line))
            .collect();
        if without.len() > 5 {
            names.push(format!("and {} more", without.len() - 5));
        }
        vec![LoadError::at(
            &self.path,
            first.pos,
            format!(
                "no dpkg package of {} names its source package, and Debian advisories name source packages (glibc, not libc6): binary packages built from a source of another name match only where an advisory lists them; list with dpkg-query -W -f '${{Package}}\t${{Version}}\t${{source:Package}}\n', or give \"source\" in the JSON",
                names.join(", ")
            ),
        )]
    }
}

/// One `--inventory` argument: `FILE`, or `RESOURCE=FILE` / `RESOURCE@OS=FILE`
/// for a raw listing that names its instance (and OS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryArg {
    pub resource: Option<String>,
    pub os: Option<String>,
    pub path: std::path::PathBuf,
}

impl InventoryArg {
    /// Parses the argument. A path that exists is a path even if it holds `=`.
    pub fn parse(s: &str) -> Result<InventoryArg, String> {
        let whole = InventoryArg {
            resource: None,
            os: None,
            path: s.into(),
        };
        if Path::new(s).exists() {
            return Ok(whole);
        }
        let Some((left, file)) = s.split_once('=') else {
            return Ok(whole);
        };
        let (resource, os) = match left.split_once('@') {
            Some((r, os)) => (r.trim(), Some(os.trim())),
            None => (left.trim(), None),
        };
        if resource.is_empty() || file.is_empty() {
            return Err(format!(
                "`{s}` is not FILE, RESOURCE=FILE or RESOURCE@OS=FILE"
            ));
        }
        if let Some(os) = os {
            if !os.contains(':') {
                return Err(format!(
                    "`{os}` is not an OS as ID:VERSION from /etc/os-release (debian:12, ubuntu:22.04, almalinux:9, amazonlinux:2023, alpine:3.19)"
                ));
            }
        }
        Ok(InventoryArg {
            resource: Some(resource.to_string()),
            os: os.map(str::to_string),
            path: file.into(),
        })
    }

    /// Reads the inventory the argument names.
    pub fn read(&self) -> Result<Inventory, LoadError> {
        let Some(resource) = &self.resource else {
            return Inventory::read(&self.path);
        };
        let display = self.path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| LoadError::file(&display, format!("cannot read the inventory: {e}")))?;
        if text.trim_start().starts_with('{') {
            return Err(LoadError::file(
                &display,
                format!("a JSON inventory names its own resources: give it as --inventory {display}, without {resource}="),
            ));
        }
        Inventory::from_listing(resource, self.os.as_deref(), &display, &text)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

const RPM_ARCHES: &[&str] = &[
    "x86_64", "noarch", "i686", "i386", "aarch64", "ppc64le", "ppc64", "s390x", "armv7hl", "src",
];

fn is_rpm_arch(s: &str) -> bool {
    RPM_ARCHES.contains(&s) || s == "(none)"
}

/// `openssl-libs-3.0.7-27.el9.x86_64` → (`openssl-libs`, `3.0.7-27.el9`, `x86_64`).
fn split_nvra(s: &str) -> Option<(String, String, Option<String>)> {
    let (nvr, arch) = match s.rsplit_once('.') {
        Some((rest, a)) if is_rpm_arch(a) => (rest, Some(a.to_string())),
        _ => (s, None),
    };
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_string(), format!("{version}-{release}"), arch))
}

/// The OS of a listing from its release package.
fn detect_os(packages: &[Package]) -> Option<String> {
    for p in packages {
        let major = |v: &str| {
            v.split(|c: char| !c.is_ascii_digit())
                .next()
                .filter(|m| !m.is_empty())
                .map(str::to_string)
        };
        match p.name.as_str() {
            // Debian's base-files is versioned by release (12.4+deb12u5).
            "base-files" if p.manager == "dpkg" && !p.version.contains("ubuntu") => {
                return major(&p.version).map(|m| format!("debian:{m}"));
            }
            "almalinux-release" => return major(&p.version).map(|m| format!("almalinux:{m}")),
            "rocky-release" => return major(&p.version).map(|m| format!("rocky:{m}")),
            "redhat-release" => return major(&p.version).map(|m| format!("rhel:{m}")),
            "system-release" if p.version.contains("amzn2023") => {
                return Some("amazonlinux:2023".into())
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_positions_per_package() {
        let text = "{\"instances\": [\n {\"resource\": \"Web\", \"os\": \"debian:12\", \"packages\": [\n  {\"name\": \"openssl\", \"version\": \"3.0.11-1~deb12u1\", \"manager\": \"dpkg\"},\n  {\"name\": \"curl\", \"version\": \"7.88.1-10\", \"manager\": \"dpkg\"}]}]}";
        let inv = Inventory::parse("inv.json", text).unwrap();
        let e = &inv.entries[0];
        assert_eq!(e.os.as_deref(), Some("debian:12"));
        assert_eq!(e.packages[0].pos, Pos::new(3, 3));
        assert_eq!(e.packages[1].pos, Pos::new(4, 3));
    }

    #[test]
    fn wrong_shape_names_line() {
        let e = Inventory::parse("inv.json", "{\"instances\": [\n {\"resource\": \"Web\", \"packages\": [\n  {\"name\": \"openssl\", \"manager\": \"dpkg\"}]}]}").unwrap_err();
        assert_eq!(e.line(), 3, "{e}");
        assert!(e.message.contains("missing field `version`"), "{e}");
        let e = Inventory::parse("inv.json", "[1, 2]").unwrap_err();
        assert!(e.message.starts_with("not an inventory"), "{e}");
    }

    #[test]
    fn listings() {
        let inv = Inventory::from_listing(
            "web",
            None,
            "dpkg.txt",
            "base-files\t12.4+deb12u5\nlibssl3:amd64\t3.0.11-1~deb12u2\topenssl\n",
        )
        .unwrap();
        let e = &inv.entries[0];
        assert_eq!(e.os.as_deref(), Some("debian:12"));
        assert_eq!(e.packages[1].name, "libssl3");
        assert_eq!(e.packages[1].source.as_deref(), Some("openssl"));
        assert_eq!(e.packages[1].pos.line, 2);
        let inv = Inventory::from_listing("db", None, "rpm.txt", "almalinux-release-9.3-1.el9.x86_64\nopenssl-libs-3.0.7-24.el9.x86_64\ngpg-pubkey-fd431d51-4ae0493b\n").unwrap();
        let e = &inv.entries[0];
        assert_eq!(e.os.as_deref(), Some("almalinux:9"));
        assert_eq!(
            (e.packages[1].name.as_str(), e.packages[1].version.as_str()),
            ("openssl-libs", "3.0.7-24.el9")
        );
        assert!(
            Inventory::from_listing("x", None, "bad.txt", "hello world\n")
                .unwrap_err()
                .message
                .contains("dpkg-query")
        );
    }
}
