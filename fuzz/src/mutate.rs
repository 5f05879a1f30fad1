//! How the driver makes a new input from inputs it has: byte flips, interesting
//! values written over length fields (big-endian ints and postcard varints),
//! small length tweaks, truncations, deletions, insertions, duplications,
//! splices of two inputs and dictionary words. One to four are stacked. Pure:
//! the same random numbers give the same input.

use crate::rng::Rng;

/// Inputs are cut to this many bytes; decoders see real frames far longer, but
/// the bugs a fuzzer finds sit in the first few fields.
pub const MAX_INPUT: usize = 64 << 10;

const INTERESTING_8: [u8; 8] = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 16, 64];
const INTERESTING_16: [u16; 6] = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32: [u32; 8] = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff, 0x0100_0000, 0x0000_ffff];
const INTERESTING_64: [u64; 6] = [
    0,
    1,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff,
];

/// A new input from `base`, `other` (for splices) and `dictionary` words.
pub fn mutate(rng: &mut Rng, base: &[u8], other: &[u8], dictionary: &[&[u8]]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..=rng.below(4) {
        mutate_once(rng, &mut out, other, dictionary);
    }
    out.truncate(MAX_INPUT);
    out
}

fn mutate_once(rng: &mut Rng, out: &mut Vec<u8>, other: &[u8], dictionary: &[&[u8]]) {
    let len = out.len();
    match rng.below(15) {
        0 => {
            if let Some(b) = out.get_mut(rng.below(len)) {
                *b ^= 1 << rng.below(8);
            }
        }
        1 => {
            let v = rng.byte();
            if let Some(b) = out.get_mut(rng.below(len)) {
                *b = v;
            }
        }
        2 => {
            let v = INTERESTING_8[rng.below(INTERESTING_8.len())];
            if let Some(b) = out.get_mut(rng.below(len)) {
                *b = v;
            }
        }
        3 => overwrite(out, rng.below(len), &INTERESTING_16[rng.below(INTERESTING_16.len())].to_be_bytes()),
        4 => overwrite(out, rng.below(len), &INTERESTING_32[rng.below(INTERESTING_32.len())].to_be_bytes()),
        5 => overwrite(out, rng.below(len), &INTERESTING_64[rng.below(INTERESTING_64.len())].to_be_bytes()),
        6 => tweak_length(rng, out),
        7 => {
            let at = rng.below(len + 1);
            let varint = varint(INTERESTING_64[rng.below(INTERESTING_64.len())] >> rng.below(64));
            overwrite(out, at, &varint);
        }
        8 => out.truncate(rng.below(len + 1)),
        9 => {
            let at = rng.below(len + 1);
            let n = rng.below(len - at + 1).min(1 + rng.below(16));
            out.drain(at..at + n);
        }
        10 => {
            let at = rng.below(len + 1);
            let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
            out.splice(at..at, bytes);
        }
        11 => {
            let from = rng.below(len + 1);
            let n = rng.below(len - from + 1).min(1 + rng.below(64));
            let copy = out.get(from..from + n).map(<[u8]>::to_vec).unwrap_or_default();
            let at = rng.below(len + 1);
            out.splice(at..at, copy);
        }
        12 | 13 => {
            // Splice: a prefix of this input, then a suffix of the other.
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            out.truncate(cut);
            out.extend_from_slice(other.get(from..).unwrap_or_default());
        }
        _ => {
            if let Some(word) = rng.pick(dictionary) {
                let at = rng.below(len + 1);
                if rng.chance(2) {
                    out.splice(at..at, word.iter().copied());
                } else {
                    overwrite(out, at, word);
                }
            }
        }
    }
}

/// Adds a small signed amount to a big-endian u8/u16/u32 at a random offset:
/// a length field off by a few bytes.
fn tweak_length(rng: &mut Rng, out: &mut [u8]) {
    let delta = rng.below(33) as i64 - 16;
    let width = [1usize, 2, 4][rng.below(3)];
    let at = rng.below(out.len());
    let Some(field) = out.get_mut(at..at + width) else {
        return;
    };
    let value = field.iter().fold(0i64, |v, b| (v << 8) | i64::from(*b));
    let value = value.wrapping_add(delta);
    for (i, b) in field.iter_mut().enumerate() {
        *b = (value >> (8 * (width - 1 - i))) as u8;
    }
}

fn overwrite(out: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(out.len());
    let end = (at + bytes.len()).min(out.len());
    out.splice(at..end, bytes.iter().copied());
}

/// A LEB128 varint, as postcard writes lengths and integers.
fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_bounded() {
        let base = vec![7u8; 100];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200)
                .map(|_| mutate(&mut rng, &base, b"other", &[b"SELECT"]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert!(run(3).iter().all(|m| m.len() <= MAX_INPUT));
        assert!(run(3).iter().any(|m| m != &base), "some mutation changes the input");
    }

    #[test]
    fn mutating_an_empty_input_does_not_panic() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let _ = mutate(&mut rng, &[], &[], &[]);
        }
    }

    #[test]
    fn varints_are_postcards() {
        assert_eq!(varint(0), [0]);
        assert_eq!(varint(300), [0xac, 0x02]);
        assert_eq!(varint(u64::MAX).len(), 10);
    }
}
