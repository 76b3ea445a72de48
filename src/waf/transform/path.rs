//! NORMALIZE_PATH and NORMALIZE_PATH_WIN: remove repeated slashes, `./` and
//! `dir/../` (never climbing above the start of the input), as ModSecurity's
//! `normalizePath` does; the Windows variant first turns `\` into `/`.
//!
//! This is a direct port of the reference's in-place algorithm (read and write
//! cursors over one buffer), because its edge cases (leading `..` in relative
//! paths, the trailing slash) are what the public test vectors pin.

pub fn normalize(input: &[u8], win: bool) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    let interesting = |b: u8| b == b'/' || b == b'.' || (win && b == b'\\');
    if !input.iter().any(|&b| interesting(b)) {
        return None;
    }
    let mut buf = input.to_vec();
    let out_len = normalize_in_place(&mut buf, win);
    buf.truncate(out_len);
    (buf != input).then_some(buf)
}

fn is_sep(b: u8, win: bool) -> bool {
    b == b'/' || (win && b == b'\\')
}

fn normalize_in_place(b: &mut [u8], win: bool) -> usize {
    let end = b.len() - 1;
    let relative = !is_sep(b[0], win);
    let trailing = is_sep(b[end], win);
    let mut hitroot = false;
    let mut done = false;
    let mut src = 0usize;
    let mut dst = 0usize;

    while !done && src <= end && dst <= end {
        if win {
            if b[src] == b'\\' {
                b[src] = b'/';
            }
            if src < end && b[src + 1] == b'\\' {
                b[src + 1] = b'/';
            }
        }
        let mut skip_copy = false;
        let normalize_segment = if src == end {
            done = true;
            true
        } else {
            b[src + 1] == b'/'
        };
        if normalize_segment {
            if src != end && b[src] == b'/' {
                // An empty segment: the copy below collapses the slashes.
            } else if b[src] == b'.' {
                if dst > 0 && b[dst - 1] == b'.' {
                    // A back-reference.
                    if relative && (hitroot || dst < 2 || dst - 2 == 0) {
                        hitroot = true;
                    } else {
                        // Remove the back-reference and the previous segment.
                        let mut d = dst as isize - 3;
                        while d > 0 && b[d as usize] != b'/' {
                            d -= 1;
                        }
                        if d <= 0 {
                            hitroot = true;
                            d = 0;
                            if !relative && src == end {
                                d = 1;
                            }
                        }
                        dst = d as usize;
                        if done {
                            skip_copy = true;
                        } else {
                            src += 1;
                        }
                    }
                } else if dst == 0 {
                    // A relative self-reference at the start.
                    if done {
                        skip_copy = true;
                    } else {
                        src += 1;
                    }
                } else if b[dst - 1] == b'/' {
                    // A self-reference.
                    if done {
                        skip_copy = true;
                    } else {
                        dst -= 1;
                        src += 1;
                    }
                }
            } else if dst > 0 {
                hitroot = false;
            }
        }
        if skip_copy {
            continue;
        }
        // Copy one byte, collapsing runs of slashes to their last one.
        if b[src] == b'/' {
            while src < end && is_sep(b[src + 1], win) {
                src += 1;
                if win {
                    b[src] = b'/';
                }
            }
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        b[dst] = b[src];
        dst += 1;
        src += 1;
    }
    if !trailing && dst > 0 && b[dst - 1] == b'/' {
        dst -= 1;
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        String::from_utf8(normalize(s.as_bytes(), false).unwrap_or_else(|| s.as_bytes().to_vec()))
            .unwrap()
    }

    #[test]
    fn examples() {
        assert_eq!(n("/dir/foo//bar"), "/dir/foo/bar");
        assert_eq!(n("dir/../../foo"), "../foo");
        assert_eq!(n("/a/./b/../c"), "/a/c");
        assert_eq!(n("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(n("."), "");
        assert_eq!(n("x"), "x");
    }
}
