//! A miette source that never hands the renderer more than a window of a line.
//!
//! `terraform show -json` writes a whole plan on one line: a finding at column
//! 150,000 would otherwise print 240 KB (and miette panics formatting columns past
//! 65,535). Lines that fit are shown with their context lines as usual; a line
//! that does not is shown alone, as a window around the span, which is still a
//! contiguous slice of the text so every offset stays exact.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::mask_controls;

/// Lines longer than this (in bytes) are shown as a window.
const MAX_LINE: usize = 240;
/// Bytes shown on each side of the span in a window.
const WINDOW_SIDE: usize = 100;

/// A file's text (control characters masked) with its line index, shared by every
/// snippet of the file, so each snippet costs a binary search, not a scan.
#[derive(Clone, Debug)]
pub struct BoundedSource {
    name: String,
    text: Arc<str>,
    line_starts: Arc<Vec<usize>>,
    /// Characters before every `CHECKPOINT`th byte, so a column in a 200 KB line
    /// costs a short count, not a scan from the line's start.
    char_marks: Arc<Vec<usize>>,
}

const CHECKPOINT: usize = 4096;

impl BoundedSource {
    pub fn new(name: &str, text: &str) -> BoundedSource {
        let text: Arc<str> = Arc::from(mask_controls(text).as_ref());
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut char_marks = Vec::with_capacity(text.len() / CHECKPOINT + 1);
        let (mut chars, mut at) = (0, 0);
        for mark in (0..=text.len()).step_by(CHECKPOINT) {
            let b = floor_boundary(&text, mark);
            chars += text[at..b].chars().count();
            at = b;
            char_marks.push(chars);
        }
        BoundedSource {
            name: name.to_string(),
            text,
            line_starts: Arc::new(line_starts),
            char_marks: Arc::new(char_marks),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset of a 1-based line and character column (clamped to the line).
    pub fn offset(&self, line: u32, col: u32) -> usize {
        let Some(&start) = self.line_starts.get((line as usize).saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self.line_end(line as usize - 1);
        let target = self.chars_before(start) + col.saturating_sub(1) as usize;
        self.byte_of_char(target).min(end)
    }

    /// Byte offset of the `n`th character (0-based), or the end of the text.
    fn byte_of_char(&self, n: usize) -> usize {
        let k = self
            .char_marks
            .partition_point(|&c| c <= n)
            .saturating_sub(1);
        let b = floor_boundary(&self.text, k * CHECKPOINT);
        let skip = n - self.char_marks[k];
        self.text[b..]
            .char_indices()
            .nth(skip)
            .map_or(self.text.len(), |(i, _)| b + i)
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_boundary(&self.text, offset);
        let line = self.line_of(offset);
        (line + 1, self.column(line, offset) + 1)
    }

    /// 0-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// End of a 0-based line, without its newline.
    fn line_end(&self, line: usize) -> usize {
        let next = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&s| s.saturating_sub(1));
        next.max(self.line_starts[line])
    }

    /// The largest char boundary at or before `i`.
    pub fn char_floor(&self, i: usize) -> usize {
        floor_boundary(&self.text, i)
    }

    fn floor_char(&self, i: usize) -> usize {
        floor_boundary(&self.text, i)
    }

    fn ceil_char(&self, mut i: usize) -> usize {
        while i < self.text.len() && !self.text.is_char_boundary(i) {
            i += 1;
        }
        i
    }

    /// Characters before byte `offset` (a char boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let k = offset / CHECKPOINT;
        let b = floor_boundary(&self.text, k * CHECKPOINT);
        self.char_marks[k] + self.text[b..offset].chars().count()
    }

    fn column(&self, line: usize, offset: usize) -> usize {
        self.chars_before(offset) - self.chars_before(self.line_starts[line])
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceCode for BoundedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let off = span.offset().min(self.text.len());
        let end_off = (off + span.len()).min(self.text.len());
        let line = self.line_of(off);
        let first = line.saturating_sub(before);
        let last = (self.line_of(end_off) + after).min(self.line_starts.len() - 1);
        let fits = (first..=last).all(|l| self.line_end(l) - self.line_starts[l] <= MAX_LINE);
        let (start, stop, first_line) = if before == 0 {
            // As miette's own sources do: without context before, the contents
            // start at the span, so the reported column is the span's.
            let stop = if fits {
                self.line_end(last)
            } else {
                self.ceil_char((end_off.max(off + 1) + WINDOW_SIDE).min(self.line_end(line)))
            };
            (off, stop.max(off), line)
        } else if fits {
            (self.line_starts[first], self.line_end(last), first)
        } else {
            let ls = self.line_starts[line];
            let start = self.floor_char(off.saturating_sub(WINDOW_SIDE).max(ls));
            let stop = self.ceil_char((end_off + WINDOW_SIDE).min(self.line_end(line)));
            (start, stop.max(start), line)
        };
        let data = &self.text.as_bytes()[start..stop];
        let line_count = if fits { last - first_line + 1 } else { 1 };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data,
            SourceSpan::new(start.into(), stop - start),
            first_line,
            self.column(first_line, start),
            line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_keep_their_context_and_long_lines_are_windowed() {
        let s = BoundedSource::new("f", "a: 1\nb: 2\nc: 3\n");
        let off = s.offset(2, 1);
        let c = s.read_span(&SourceSpan::new(off.into(), 1), 1, 1).unwrap();
        assert_eq!(std::str::from_utf8(c.data()).unwrap(), "a: 1\nb: 2\nc: 3");
        assert_eq!((c.line(), c.line_count()), (0, 3));

        let long = format!(
            "{{\"x\": \"{}\", \"bad\": true, \"y\": \"{}\"}}",
            "p".repeat(100_000),
            "q".repeat(100_000)
        );
        let s = BoundedSource::new("plan.json", &long);
        let off = long.find("\"bad\"").unwrap();
        let c = s.read_span(&SourceSpan::new(off.into(), 5), 1, 1).unwrap();
        assert!(c.data().len() <= 2 * WINDOW_SIDE + 5, "{}", c.data().len());
        assert!(std::str::from_utf8(c.data())
            .unwrap()
            .contains("\"bad\": true"));
        let c = s.read_span(&SourceSpan::new(off.into(), 5), 0, 0).unwrap();
        assert_eq!(c.column(), off, "the reported column is the real one");
    }
}
