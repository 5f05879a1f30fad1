//! Cassandra's Murmur3Partitioner: the token of a partition key, the partition key
//! bytes that get hashed (one column's bytes, or a CompositeType for several), and
//! random tokens for a node's vnodes. This module owns token math only; which
//! replicas own a token and how partitions are ordered on disk live elsewhere
//! (`storage::key` encodes a (token, key) position as bytes).
//!
//! The hash is hand-rolled because Cassandra's `MurmurHash.hash3_x64_128` differs
//! from the reference MurmurHash3 (and from the `murmur3` crate): it reads the tail
//! bytes as *signed* Java bytes, so any key whose length is not a multiple of 16 and
//! whose tail holds a byte >= 0x80 hashes differently.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;

/// The smallest token. It is the token of the empty partition key and is never
/// the token of any other key, so it can serve as the ring's start.
pub const MIN_TOKEN: i64 = i64::MIN;

/// The largest token.
pub const MAX_TOKEN: i64 = i64::MAX;

/// The longest component of a composite partition key: its length is written in
/// two bytes. Cassandra rejects longer keys when it validates a write.
pub const MAX_COMPONENT_LEN: usize = u16::MAX as usize;

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// The token Cassandra's Murmur3Partitioner gives a partition key (the serialised
/// key as [`partition_key_bytes`] builds it).
pub fn murmur3_token(key: &[u8]) -> i64 {
    if key.is_empty() {
        return MIN_TOKEN;
    }
    let h1 = hash3_x64_128(key, 0).0 as i64;
    // Cassandra's `normalize`: MIN_TOKEN is reserved for the empty key.
    if h1 == i64::MIN {
        i64::MAX
    } else {
        h1
    }
}

/// MurmurHash3 x64 128 exactly as Cassandra's `MurmurHash.hash3_x64_128`,
/// returning (h1, h2).
fn hash3_x64_128(key: &[u8], seed: u64) -> (u64, u64) {
    let mut h1 = seed;
    let mut h2 = seed;

    let mut blocks = key.chunks_exact(16);
    for block in &mut blocks {
        let (lo, hi) = block.split_at(8);
        let k1 = mix_k1(u64_le(lo));
        let k2 = mix_k2(u64_le(hi));

        h1 ^= k1;
        h1 = h1.rotate_left(27).wrapping_add(h2);
        h1 = h1.wrapping_mul(5).wrapping_add(0x52dc_e729);

        h2 ^= k2;
        h2 = h2.rotate_left(31).wrapping_add(h1);
        h2 = h2.wrapping_mul(5).wrapping_add(0x3849_5ab5);
    }

    let tail = blocks.remainder();
    let mut k1: u64 = 0;
    let mut k2: u64 = 0;
    for (i, &b) in tail.iter().enumerate() {
        // Java's `(long) key.get(i)`: a signed byte, sign-extended to 64 bits. The
        // XOR of sign-extended bytes is where Cassandra departs from the reference.
        let signed = i64::from(b as i8) as u64;
        if i < 8 {
            k1 ^= signed << (8 * i);
        } else {
            k2 ^= signed << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }

    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;

    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);

    h1 = fmix(h1);
    h2 = fmix(h2);

    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);

    (h1, h2)
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// A little-endian u64 from up to eight bytes (exactly eight in a block).
fn u64_le(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The bytes Cassandra hashes for a partition key: a single column's serialised
/// value as is, or for several columns a CompositeType: for each component a
/// 2-byte big-endian length, the bytes and a 0x00 end-of-component byte.
///
/// A component longer than [`MAX_COMPONENT_LEN`] cannot be written faithfully (the
/// caller must reject such keys, as Cassandra does); its length is saturated so
/// that this never panics, and [`split_partition_key`] will refuse the result.
pub fn partition_key_bytes(components: &[&[u8]]) -> Vec<u8> {
    match components {
        [single] => single.to_vec(),
        _ => {
            let total: usize = components.iter().map(|c| c.len() + 3).sum();
            let mut out = Vec::with_capacity(total);
            for component in components {
                let len = u16::try_from(component.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(component);
                out.push(0x00);
            }
            out
        }
    }
}

/// The inverse of [`partition_key_bytes`] for a key of `n` columns; `None` when
/// the bytes are not a well-formed key of exactly `n` components.
pub fn split_partition_key(bytes: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    match n {
        0 => None,
        1 => Some(vec![bytes]),
        _ => {
            let mut rest = bytes;
            let mut components = Vec::with_capacity(n.min(bytes.len() / 3 + 1));
            while !rest.is_empty() {
                let (len, after_len) = rest.split_first_chunk::<2>()?;
                let len = usize::from(u16::from_be_bytes(*len));
                if after_len.len() <= len {
                    return None;
                }
                let (component, after) = after_len.split_at(len);
                let (&end_of_component, after) = after.split_first()?;
                if end_of_component != 0x00 {
                    return None;
                }
                components.push(component);
                rest = after;
            }
            (components.len() == n).then_some(components)
        }
    }
}

/// `n` distinct random tokens, sorted, for a node's vnodes. Like Cassandra's
/// `getRandomToken` it never picks [`MIN_TOKEN`], which belongs to the empty key.
pub fn random_tokens(n: usize, rng: &mut impl rand::Rng) -> Vec<i64> {
    let mut tokens = BTreeSet::new();
    while tokens.len() < n {
        let token: i64 = rng.gen();
        if token != MIN_TOKEN {
            tokens.insert(token);
        }
    }
    tokens.into_iter().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn int_one_has_cassandras_token() {
        assert_eq!(murmur3_token(&1i32.to_be_bytes()), -4069959284402364209);
    }

    #[test]
    fn int_minus_one_has_cassandras_token() {
        assert_eq!(murmur3_token(&(-1i32).to_be_bytes()), 7297452126230313552);
    }

    #[test]
    fn int_128_has_cassandras_token() {
        assert_eq!(murmur3_token(&128i32.to_be_bytes()), -9081975895656599623);
    }

    #[test]
    fn text_123_has_cassandras_token() {
        assert_eq!(murmur3_token(b"123"), -7468325962851647638);
    }

    #[test]
    fn blob_of_eight_0xfe_bytes_has_cassandras_token() {
        assert_eq!(murmur3_token(&[0xfe; 8]), -8927430733708461935);
    }

    #[test]
    fn empty_key_has_the_minimum_token() {
        assert_eq!(murmur3_token(&[]), MIN_TOKEN);
    }

    #[test]
    fn keys_of_a_whole_block_and_a_tail_hash_deterministically() {
        let key: Vec<u8> = (0u8..=40).map(|b| b.wrapping_mul(37)).collect();
        for len in [15, 16, 17, 31, 32, 33] {
            let a = murmur3_token(&key[..len]);
            let b = murmur3_token(&key[..len]);
            assert_eq!(a, b);
            assert_ne!(a, murmur3_token(&key[..len - 1]));
        }
    }

    #[test]
    fn single_component_key_is_its_bytes() {
        assert_eq!(partition_key_bytes(&[b"abc"]), b"abc".to_vec());
        assert_eq!(split_partition_key(b"abc", 1), Some(vec![&b"abc"[..]]));
    }

    #[test]
    fn composite_key_is_length_bytes_and_end_of_component() {
        let bytes = partition_key_bytes(&[&1i32.to_be_bytes(), b"ab"]);
        assert_eq!(bytes, vec![0, 4, 0, 0, 0, 1, 0, 0, 2, b'a', b'b', 0]);
        assert_eq!(split_partition_key(&bytes, 2), Some(vec![&[0u8, 0, 0, 1][..], &b"ab"[..]]));
    }

    #[test]
    fn composite_key_of_the_wrong_arity_does_not_split() {
        let bytes = partition_key_bytes(&[b"a", b"b", b"c"]);
        assert_eq!(split_partition_key(&bytes, 2), None);
        assert_eq!(split_partition_key(&bytes, 4), None);
        assert_eq!(split_partition_key(&bytes, 0), None);
    }

    #[test]
    fn composite_key_with_a_bad_end_of_component_byte_does_not_split() {
        let mut bytes = partition_key_bytes(&[b"a", b"b"]);
        bytes[3] = 1;
        assert_eq!(split_partition_key(&bytes, 2), None);
    }

    #[test]
    fn random_tokens_are_sorted_distinct_and_never_the_minimum() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let tokens = random_tokens(256, &mut rng);
        assert_eq!(tokens.len(), 256);
        assert!(tokens.windows(2).all(|w| w[0] < w[1]), "{tokens:?}");
        assert!(!tokens.contains(&MIN_TOKEN));
        assert_eq!(random_tokens(0, &mut rng), Vec::<i64>::new());
    }

    proptest! {
        #[test]
        fn only_the_empty_key_has_the_minimum_token(key in proptest::collection::vec(any::<u8>(), 0..100)) {
            let token = murmur3_token(&key);
            prop_assert_eq!(token == MIN_TOKEN, key.is_empty());
        }

        #[test]
        fn composite_keys_split_back_into_their_components(
            components in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 2..5)
        ) {
            let slices: Vec<&[u8]> = components.iter().map(Vec::as_slice).collect();
            let bytes = partition_key_bytes(&slices);
            prop_assert_eq!(split_partition_key(&bytes, slices.len()), Some(slices));
        }

        #[test]
        fn splitting_random_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            n in 0usize..5
        ) {
            if let Some(parts) = split_partition_key(&bytes, n) {
                prop_assert_eq!(parts.len(), n);
                if n > 1 {
                    prop_assert_eq!(partition_key_bytes(&parts), bytes);
                }
            }
        }
    }
}
