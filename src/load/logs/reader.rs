//! Reading a log file in bounded pieces: transparent gunzip (by magic bytes),
//! chunks of whole lines with their first line number, over-long lines skipped
//! without being held in memory, and a pipeline that hands chunks to rayon
//! workers while the next one is read or decompressed.

use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flate2::read::MultiGzDecoder;

/// The two bytes every gzip member starts with.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(crate) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&GZIP_MAGIC)
}

/// An opened log: the decompressed byte stream and whether it was gzip.
pub(crate) struct Input {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
}

/// Gzip or not is decided by the first two bytes, never by the file name.
pub(crate) fn open_reader(mut r: Box<dyn Read + Send>) -> io::Result<Input> {
    let mut magic = [0u8; 2];
    let n = read_full(&mut r, &mut magic)?;
    let gzip = is_gzip(&magic[..n]);
    let stream = io::Cursor::new(magic[..n].to_vec()).chain(r);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            stream,
        )))
    } else {
        Box::new(stream)
    };
    Ok(Input { reader, gzip })
}

/// Read until `buf` is full or the stream ends; the count read.
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Read into the spare capacity of `buf` (at least `want` bytes of room), retrying
/// on EINTR. Ok(0) at the end of the stream.
pub(crate) fn read_more(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let len = buf.len();
    buf.resize(len + want.max(1), 0);
    loop {
        match r.read(&mut buf[len..]) {
            Ok(k) => {
                buf.truncate(len + k);
                return Ok(k);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
}

/// Words for a read error in the middle of a file: a truncated or corrupt gzip
/// stream says so, with what was read before it.
pub(crate) fn describe_read_error(e: &io::Error, gzip: bool, last_good: &str) -> String {
    if gzip && e.kind() == io::ErrorKind::UnexpectedEof {
        return format!(
            "truncated gzip file: the compressed data ends early; {last_good}, the rest is missing (re-download or re-copy the file)"
        );
    }
    if gzip {
        return format!("corrupt gzip data ({e}); {last_good}, the rest was not read");
    }
    format!("read error ({e}); {last_good}, the rest was not read")
}

/// A piece of a line-oriented log: whole lines (`data[..len]`), the number of
/// the first one. Bytes past `len` are left over from the buffer's earlier use.
pub(crate) struct TextChunk {
    pub data: Vec<u8>,
    pub len: usize,
    pub first_line: u64,
}

impl TextChunk {
    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// What the chunker hands out next.
pub(crate) enum Piece {
    Chunk(TextChunk),
    /// A line longer than the bound, skipped unread (its number and length).
    LongLine {
        line: u64,
        bytes: u64,
    },
    /// The stream failed (truncated gzip, I/O error) after `last_line` lines.
    Failed {
        error: io::Error,
        last_line: u64,
    },
}

/// Splits a byte stream into chunks of whole lines of about `chunk_bytes`.
pub(crate) struct LineChunker<'p> {
    r: Box<dyn Read + Send>,
    chunk_bytes: usize,
    max_line: usize,
    /// Bytes read past the last complete line.
    carry: Vec<u8>,
    /// Number of the line `carry` starts.
    next_line: u64,
    done: bool,
    pending: Option<Piece>,
    pool: &'p BufferPool,
}

/// Grow `buf` to at least `n` initialised bytes. Buffers are reused with their
/// contents, so memory is zeroed once per buffer, not once per read.
fn ensure(buf: &mut Vec<u8>, n: usize) {
    if buf.len() < n {
        buf.resize(n, 0);
    }
}

impl<'p> LineChunker<'p> {
    pub fn new(
        r: Box<dyn Read + Send>,
        chunk_bytes: usize,
        max_line: usize,
        pool: &'p BufferPool,
    ) -> Self {
        LineChunker {
            r,
            chunk_bytes: chunk_bytes.max(1),
            max_line: max_line.max(1),
            carry: Vec::new(),
            next_line: 1,
            done: false,
            pending: None,
            pool,
        }
    }

    /// The next piece, None at the end.
    pub fn next_piece(&mut self) -> Option<Piece> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        if self.done {
            return None;
        }
        let mut buf = self.pool.take();
        ensure(&mut buf, self.carry.len());
        buf[..self.carry.len()].copy_from_slice(&self.carry);
        let mut filled = self.carry.len();
        self.carry.clear();
        // The last newline seen, and how far the buffer has been searched.
        let mut last_nl: Option<usize> = None;
        let mut scanned = 0;
        loop {
            if let Some(i) = memchr::memrchr(b'\n', &buf[scanned..filled]) {
                last_nl = Some(scanned + i);
            }
            scanned = filled;
            let partial = filled - last_nl.map_or(0, |i| i + 1);
            if partial > self.max_line {
                if let Some(i) = last_nl {
                    // Lines before the long one go first; it is skipped next call.
                    return Some(self.cut(buf, filled, i + 1));
                }
                self.pool.give(buf);
                return Some(self.skip_long_line(partial as u64));
            }
            if let (true, Some(i)) = (filled >= self.chunk_bytes, last_nl) {
                return Some(self.cut(buf, filled, i + 1));
            }
            let want =
                (self.chunk_bytes.saturating_sub(filled)).max(self.chunk_bytes.min(64 * 1024));
            ensure(&mut buf, filled + want);
            match read_retry(&mut *self.r, &mut buf[filled..filled + want]) {
                Ok(0) => {
                    self.done = true;
                    if filled == 0 {
                        self.pool.give(buf);
                        return None;
                    }
                    return Some(self.cut(buf, filled, filled));
                }
                Ok(k) => filled += k,
                Err(error) => {
                    self.done = true;
                    // Complete lines before the failure are still good.
                    let end = last_nl.map_or(0, |i| i + 1);
                    let chunk_lines = count_lines(&buf[..end]);
                    let last_line = self.next_line - 1 + chunk_lines;
                    let failed = Piece::Failed { error, last_line };
                    if end == 0 {
                        self.pool.give(buf);
                        return Some(failed);
                    }
                    self.pending = Some(failed);
                    let first_line = self.next_line;
                    self.next_line += chunk_lines;
                    return Some(Piece::Chunk(TextChunk {
                        data: buf,
                        len: end,
                        first_line,
                    }));
                }
            }
        }
    }

    /// Hand out `buf[..end]` (whole lines) and keep `buf[end..filled]` for the
    /// next chunk.
    fn cut(&mut self, buf: Vec<u8>, filled: usize, end: usize) -> Piece {
        self.carry.extend_from_slice(&buf[end..filled]);
        let first_line = self.next_line;
        self.next_line += count_lines(&buf[..end]);
        if end > 0 && buf[end - 1] != b'\n' {
            // The last line of a file without a final newline.
            self.next_line += 1;
        }
        Piece::Chunk(TextChunk {
            data: buf,
            len: end,
            first_line,
        })
    }

    /// The current line is longer than the bound: read through to its end
    /// without keeping it.
    fn skip_long_line(&mut self, already: u64) -> Piece {
        let line = self.next_line;
        let mut bytes = already;
        let mut scratch = vec![0u8; 256 * 1024];
        loop {
            match self.r.read(&mut scratch) {
                Ok(0) => {
                    self.done = true;
                    self.next_line += 1;
                    return Piece::LongLine { line, bytes };
                }
                Ok(k) => {
                    if let Some(i) = memchr::memchr(b'\n', &scratch[..k]) {
                        bytes += i as u64;
                        self.carry.extend_from_slice(&scratch[i + 1..k]);
                        self.next_line += 1;
                        return Piece::LongLine { line, bytes };
                    }
                    bytes += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.done = true;
                    self.pending = Some(Piece::Failed {
                        error,
                        last_line: line - 1,
                    });
                    return Piece::LongLine { line, bytes };
                }
            }
        }
    }
}

/// One read, retried on EINTR.
fn read_retry(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

pub(crate) fn count_lines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Reusable chunk buffers, so a large file does not fault in fresh pages for
/// every chunk.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    pub fn take(&self) -> Vec<u8> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.pop().unwrap_or_default()
    }

    /// Keep `buf` (with its contents) for reuse, unless enough are kept or it
    /// grew far past a chunk for one long line.
    pub fn give(&self, buf: Vec<u8>) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < 16 && buf.len() <= 64 << 20 {
            free.push(buf);
        }
    }
}

/// Runs `consume` on every item `produce` yields, on rayon workers, while
/// `produce` (reading, decompressing) goes on in the calling thread. At most a
/// few items wait at once; when they do, the caller consumes the item itself,
/// so memory stays bounded and a one-thread pool cannot deadlock.
pub(crate) fn pipeline<T: Send>(
    mut produce: impl FnMut() -> Option<T> + Send,
    consume: &(dyn Fn(T) + Sync),
) {
    let threads = rayon::current_num_threads();
    if threads <= 1 {
        while let Some(item) = produce() {
            consume(item);
        }
        return;
    }
    let limit = threads + 1;
    let in_flight = AtomicUsize::new(0);
    let in_flight = &in_flight;
    rayon::scope(|s| {
        while let Some(item) = produce() {
            if in_flight.load(Ordering::Acquire) < limit {
                in_flight.fetch_add(1, Ordering::AcqRel);
                s.spawn(move |_| {
                    consume(item);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                });
            } else {
                consume(item);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out a few bytes at a time, as a pipe might.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3);
            self.0.read(&mut buf[..n])
        }
    }

    fn pieces(text: &[u8], chunk: usize, max_line: usize) -> Vec<String> {
        let pool = BufferPool::default();
        let r = Trickle(io::Cursor::new(text.to_vec()));
        let mut c = LineChunker::new(Box::new(r), chunk, max_line, &pool);
        let mut out = Vec::new();
        while let Some(p) = c.next_piece() {
            out.push(match p {
                Piece::Chunk(t) => {
                    format!("{}:{}", t.first_line, String::from_utf8_lossy(t.bytes()))
                }
                Piece::LongLine { line, bytes } => format!("long {line} {bytes}"),
                Piece::Failed { last_line, .. } => format!("failed {last_line}"),
            });
        }
        out
    }

    #[test]
    fn chunks_are_whole_lines_with_numbers() {
        assert_eq!(
            pieces(b"a\nb\nc\nd", 3, 100),
            vec!["1:a\n", "2:b\nc\n", "4:d"]
        );
        assert_eq!(
            pieces(b"a\nb\nc\n", 1, 100),
            vec!["1:a\n", "2:b\n", "3:c\n"]
        );
        assert_eq!(pieces(b"", 4, 100), Vec::<String>::new());
    }

    #[test]
    fn long_lines_are_skipped_and_counted() {
        let mut text = b"ok1\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 50));
        text.extend_from_slice(b"\nok3\n");
        assert_eq!(
            pieces(&text, 4, 10),
            vec!["1:ok1\n", "long 2 50", "3:ok3\n"]
        );
        // A long last line without a newline.
        assert_eq!(
            pieces(b"ok\nxxxxxxxxxxxxxxxxxxxxxxxx", 2, 5),
            vec!["1:ok\n", "long 2 24"]
        );
    }

    #[test]
    fn truncated_gzip_reports_the_last_complete_line() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut text = Vec::new();
        for i in 0..20_000 {
            writeln!(
                text,
                "line {i} with some words that do not compress to nothing {}",
                i * 7919 % 10007
            )
            .unwrap();
        }
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&text).unwrap();
        let gz = enc.finish().unwrap();
        let cut = &gz[..gz.len() / 2];
        let input = open_reader(Box::new(io::Cursor::new(cut.to_vec()))).unwrap();
        assert!(input.gzip);
        let pool = BufferPool::default();
        let mut c = LineChunker::new(input.reader, 64 * 1024, 1 << 20, &pool);
        let mut lines = 0;
        let mut failed = None;
        while let Some(p) = c.next_piece() {
            match p {
                Piece::Chunk(t) => {
                    assert_eq!(t.first_line, lines + 1);
                    assert!(t.bytes().ends_with(b"\n"));
                    lines += count_lines(t.bytes());
                }
                Piece::Failed { error, last_line } => failed = Some((error.kind(), last_line)),
                Piece::LongLine { .. } => unreachable!(),
            }
        }
        let (kind, last) = failed.expect("truncation reported");
        assert_eq!(kind, io::ErrorKind::UnexpectedEof);
        assert_eq!(last, lines);
        assert!(lines > 1000 && lines < 20_000, "{lines}");
    }
}
