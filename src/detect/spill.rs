//! Groups moved to disk when they outgrow memory, so a log of any size is
//! scanned in bounded memory.
//!
//! A windowed detection cannot judge a group before all input is read (records
//! arrive out of order across files), so every matching record's entry is
//! kept until the end. When a thread's groups exceed its budget they are
//! written, hashed by (detection, key), to one of [`PARTS`] files in a private
//! temporary directory; at the end each file is read back alone, its groups
//! merged and swept, so memory holds one partition at a time. Results are the
//! same as in memory: every entry is kept, only where it waits changes.
//!
//! A write that fails (a full disk) is undone and the groups stay in memory:
//! slower or larger, never wrong.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::sync::Mutex;

use rustc_hash::FxHasher;

use super::engine::{Group, GroupInfo, GroupKey};
use super::window::{AggVal, Entry, Vals};
use crate::eval::records::KeyPart;

/// Partitions: at the end, memory holds about 1/PARTS of what was spilled.
pub const PARTS: usize = 128;

/// Entries a thread holds before it spills, unless `DEADBOLT_SPILL_ENTRIES`
/// says otherwise (tests set it to 1 to run every group through the disk).
/// Small on purpose: on 2 M flow records, 32 Ki entries ran as fast as
/// 512 Ki (smaller maps stay in cache) with 47 MB peak instead of 400 MB.
const DEFAULT_BUDGET: usize = 32 * 1024;

pub fn budget() -> usize {
    std::env::var("DEADBOLT_SPILL_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(DEFAULT_BUDGET)
}

/// The partition files; each holds whole encoded groups, written under its lock.
pub struct Spill {
    dir: tempfile::TempDir,
    /// Each file with the length of its complete records.
    parts: Vec<Mutex<(File, u64)>>,
}

pub fn part_of(di: usize, key: &GroupKey) -> usize {
    let mut h = FxHasher::default();
    di.hash(&mut h);
    key.hash(&mut h);
    (h.finish() % PARTS as u64) as usize
}

impl Spill {
    pub fn create() -> std::io::Result<Spill> {
        let dir = tempfile::Builder::new()
            .prefix("deadbolt-detect-")
            .tempdir()?;
        let mut parts = Vec::with_capacity(PARTS);
        for i in 0..PARTS {
            let f = std::fs::OpenOptions::new()
                .create_new(true)
                .read(true)
                .write(true)
                .open(dir.path().join(format!("{i}.part")))?;
            parts.push(Mutex::new((f, 0)));
        }
        Ok(Spill { dir, parts })
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes `groups` to their partitions. The groups whose partition could
    /// not be written are handed back, with the first error.
    #[allow(clippy::type_complexity)]
    pub fn write(
        &self,
        groups: Vec<((usize, GroupKey), Group)>,
    ) -> (Vec<((usize, GroupKey), Group)>, Option<std::io::Error>) {
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); PARTS];
        let mut members: Vec<Vec<((usize, GroupKey), Group)>> =
            (0..PARTS).map(|_| Vec::new()).collect();
        for (k, g) in groups {
            let p = part_of(k.0, &k.1);
            encode(&mut bufs[p], k.0, &k.1, &g);
            members[p].push((k, g));
        }
        let mut back = Vec::new();
        let mut first_err = None;
        for (p, (buf, mine)) in bufs.into_iter().zip(members).enumerate() {
            if buf.is_empty() {
                continue;
            }
            let res = match self.parts[p].lock() {
                Ok(mut guard) => {
                    let (file, len) = &mut *guard;
                    let r = file
                        .seek(SeekFrom::Start(*len))
                        .and_then(|_| file.write_all(&buf));
                    match r {
                        Ok(()) => {
                            *len += buf.len() as u64;
                            Ok(())
                        }
                        Err(e) => {
                            // Undo a partial record so the file stays readable.
                            let _ = file.set_len(*len);
                            Err(e)
                        }
                    }
                }
                Err(_) => Err(std::io::Error::other("a spill file's lock was poisoned")),
            };
            if let Err(e) = res {
                first_err.get_or_insert(e);
                back.extend(mine);
            }
        }
        (back, first_err)
    }

    /// Every group written to partition `p`, in the order written.
    #[allow(clippy::type_complexity)]
    pub fn read(&self, p: usize) -> Result<Vec<((usize, GroupKey), Group)>, String> {
        let mut guard = self.parts[p]
            .lock()
            .map_err(|_| "a spill file's lock was poisoned".to_string())?;
        let (file, len) = &mut *guard;
        let mut buf = Vec::with_capacity(*len as usize);
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.take(*len).read_to_end(&mut buf))
            .map_err(|e| e.to_string())?;
        // The partition is consumed: give its disk space back.
        let _ = file.set_len(0);
        *len = 0;
        let mut r = Reader { buf: &buf, at: 0 };
        let mut out = Vec::new();
        while r.at < buf.len() {
            out.push(decode(&mut r).ok_or_else(|| format!("spill partition {p} is damaged"))?);
        }
        Ok(out)
    }
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

fn put_entry(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(&e.time.to_le_bytes());
    put_u32(out, e.file);
    put_u32(out, e.line);
    let vals: &[AggVal] = match &e.vals {
        Vals::None => &[],
        Vals::One(v) => std::slice::from_ref(v),
        Vals::Many(vs) => vs,
    };
    put_u32(out, vals.len() as u32);
    for v in vals {
        match v {
            AggVal::Absent => out.push(0),
            AggVal::Num(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_bits().to_le_bytes());
            }
            AggVal::Text(t) => {
                out.push(2);
                put_str(out, t);
            }
        }
    }
}

fn put_part(out: &mut Vec<u8>, k: &KeyPart) {
    match k {
        KeyPart::Absent => out.push(0),
        KeyPart::Num(bits) => {
            out.push(1);
            out.extend_from_slice(&bits.to_le_bytes());
        }
        KeyPart::Ip(IpAddr::V4(a)) => {
            out.push(2);
            out.extend_from_slice(&a.octets());
        }
        KeyPart::Ip(IpAddr::V6(a)) => {
            out.push(3);
            out.extend_from_slice(&a.octets());
        }
        KeyPart::Text(t) => {
            out.push(4);
            put_str(out, t);
        }
    }
}

/// One group: detection, key, first record, details, entries.
pub fn encode(out: &mut Vec<u8>, di: usize, key: &GroupKey, g: &Group) {
    put_u32(out, di as u32);
    let parts: &[KeyPart] = match key {
        GroupKey::One(a) => std::slice::from_ref(a),
        GroupKey::Two(a, b) => {
            out.push(2);
            put_part(out, a);
            put_part(out, b);
            return encode_rest(out, g);
        }
        GroupKey::Many(p) => p,
    };
    // `Two` is its own shape so that decoding gives back the same variant.
    out.push(if matches!(key, GroupKey::One(_)) {
        1
    } else {
        3
    });
    put_u32(out, parts.len() as u32);
    for p in parts {
        put_part(out, p);
    }
    encode_rest(out, g)
}

fn encode_rest(out: &mut Vec<u8>, g: &Group) {
    out.extend_from_slice(&g.first.0.to_le_bytes());
    put_u32(out, g.first.1);
    put_u32(out, g.first.2);
    match &g.info {
        Some(info) => {
            let json = serde_json::to_string(info).unwrap_or_default();
            out.push(1);
            put_str(out, &json);
        }
        None => out.push(0),
    }
    put_u32(out, 1 + g.rest.len() as u32);
    put_entry(out, &g.head);
    for e in &g.rest {
        put_entry(out, e);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<&str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
    fn part(&mut self) -> Option<KeyPart> {
        Some(match self.u8()? {
            0 => KeyPart::Absent,
            1 => KeyPart::Num(self.u64()?),
            2 => {
                let o: [u8; 4] = self.bytes(4)?.try_into().ok()?;
                KeyPart::Ip(IpAddr::from(o))
            }
            3 => {
                let o: [u8; 16] = self.bytes(16)?.try_into().ok()?;
                KeyPart::Ip(IpAddr::from(o))
            }
            4 => KeyPart::Text(self.str()?.into()),
            _ => return None,
        })
    }
    fn entry(&mut self) -> Option<Entry> {
        let time = self.u64()? as i64;
        let file = self.u32()?;
        let line = self.u32()?;
        let n = self.u32()? as usize;
        let mut vals = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            vals.push(match self.u8()? {
                0 => AggVal::Absent,
                1 => AggVal::Num(f64::from_bits(self.u64()?)),
                2 => AggVal::Text(self.str()?.into()),
                _ => return None,
            });
        }
        Some(Entry {
            time,
            file,
            line,
            vals: Vals::from_vec(vals),
        })
    }
}

fn decode(r: &mut Reader<'_>) -> Option<((usize, GroupKey), Group)> {
    let di = r.u32()? as usize;
    let key = match r.u8()? {
        2 => GroupKey::Two(r.part()?, r.part()?),
        shape @ (1 | 3) => {
            let n = r.u32()? as usize;
            let mut parts = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                parts.push(r.part()?);
            }
            if shape == 1 {
                GroupKey::One(parts.pop()?)
            } else {
                GroupKey::Many(parts.into_boxed_slice())
            }
        }
        _ => return None,
    };
    let first = (r.u64()? as i64, r.u32()?, r.u32()?);
    let info = match r.u8()? {
        0 => None,
        1 => Some(Box::new(serde_json::from_str::<GroupInfo>(r.str()?).ok()?)),
        _ => return None,
    };
    let n = r.u32()? as usize;
    let head = r.entry()?;
    let mut rest = Vec::with_capacity(n.saturating_sub(1).min(1 << 20));
    for _ in 1..n {
        rest.push(r.entry()?);
    }
    Some((
        (di, key),
        Group {
            head,
            rest,
            first,
            info,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64, vals: Vals) -> Entry {
        Entry {
            time,
            file: 3,
            line: 7,
            vals,
        }
    }

    #[test]
    fn groups_come_back_as_they_went() {
        let spill = Spill::create().expect("temp dir");
        let info = GroupInfo {
            resource: "i-0abc".into(),
            parts: vec![Some("a".into()), None],
            summary: serde_json::Map::new(),
        };
        let keys = [
            GroupKey::One(KeyPart::Text("x\u{1}y".into())),
            GroupKey::Two(
                KeyPart::Ip("10.0.0.1".parse().unwrap()),
                KeyPart::Ip("2001:db8::1".parse().unwrap()),
            ),
            GroupKey::Many(vec![KeyPart::Absent, KeyPart::Num(22f64.to_bits())].into()),
        ];
        let groups: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    (i, k.clone()),
                    Group {
                        head: entry(-5, Vals::None),
                        rest: vec![
                            entry(9, Vals::One(AggVal::Num(1.5))),
                            entry(
                                10,
                                Vals::Many(vec![AggVal::Absent, AggVal::Text("p".into())].into()),
                            ),
                        ],
                        first: (-5, 3, 7),
                        info: (i == 1).then(|| Box::new(info.clone())),
                    },
                )
            })
            .collect();
        let (back, err) = spill.write(groups);
        assert!(back.is_empty() && err.is_none());
        let mut read: Vec<_> = (0..PARTS).flat_map(|p| spill.read(p).unwrap()).collect();
        read.sort_by_key(|((di, _), _)| *di);
        assert_eq!(read.len(), 3);
        for (i, ((di, key), g)) in read.iter().enumerate() {
            assert_eq!(*di, i);
            assert_eq!(key, &keys[i]);
            assert_eq!(g.first, (-5, 3, 7));
            assert_eq!(g.rest.len(), 2);
            assert_eq!(g.rest[1].time, 10);
            assert_eq!(g.rest[1].vals.get(1), Some(&AggVal::Text("p".into())));
            assert_eq!(g.rest[0].vals.get(0), Some(&AggVal::Num(1.5)));
            assert_eq!(
                g.info.as_ref().map(|i| i.resource.as_str()),
                (i == 1).then_some("i-0abc")
            );
        }
        // A partition is read once: its space is given back.
        assert!((0..PARTS).all(|p| spill.read(p).unwrap().is_empty()));
    }

    #[test]
    fn a_damaged_partition_is_an_error_not_a_panic() {
        let spill = Spill::create().expect("temp dir");
        {
            let mut g = spill.parts[5].lock().unwrap();
            g.0.write_all(&[1, 0, 0, 0, 9, 9]).unwrap();
            g.1 = 6;
        }
        assert_eq!(spill.read(5).unwrap_err(), "spill partition 5 is damaged");
    }
}
