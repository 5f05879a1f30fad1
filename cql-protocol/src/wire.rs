//! The spec's notation (section 3): `[short]`, `[string]`, `[bytes]`, `[value]`,
//! `[inet]`, `[consistency]` and the maps and lists built from them. This module owns
//! a bounds-checked cursor for reading them and one writer per notation; it knows
//! nothing about frames or messages.
//!
//! Readers never allocate more than the input could hold: every declared length or
//! count is checked against the bytes left before any `Vec` or `String` is made.
//! Writers cannot fail; a string, byte string or list too long for its length prefix
//! is cut to the largest length the prefix can carry (at a UTF-8 boundary for
//! strings), so the output always stays well-formed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use uuid::Uuid;

use crate::error::{Context, DecodeError};

/// A consistency level, as carried by `[consistency]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    Any = 0x00,
    One = 0x01,
    Two = 0x02,
    Three = 0x03,
    Quorum = 0x04,
    All = 0x05,
    LocalQuorum = 0x06,
    EachQuorum = 0x07,
    Serial = 0x08,
    LocalSerial = 0x09,
    LocalOne = 0x0A,
}

impl Consistency {
    /// Every level, in wire order.
    pub const ALL: [Consistency; 11] = [
        Consistency::Any,
        Consistency::One,
        Consistency::Two,
        Consistency::Three,
        Consistency::Quorum,
        Consistency::All,
        Consistency::LocalQuorum,
        Consistency::EachQuorum,
        Consistency::Serial,
        Consistency::LocalSerial,
        Consistency::LocalOne,
    ];

    pub fn from_u16(value: u16) -> Option<Consistency> {
        Consistency::ALL.into_iter().find(|c| c.as_u16() == value)
    }

    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// The name Cassandra uses (`LOCAL_QUORUM`).
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Any => "ANY",
            Consistency::One => "ONE",
            Consistency::Two => "TWO",
            Consistency::Three => "THREE",
            Consistency::Quorum => "QUORUM",
            Consistency::All => "ALL",
            Consistency::LocalQuorum => "LOCAL_QUORUM",
            Consistency::EachQuorum => "EACH_QUORUM",
            Consistency::Serial => "SERIAL",
            Consistency::LocalSerial => "LOCAL_SERIAL",
            Consistency::LocalOne => "LOCAL_ONE",
        }
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded `[bytes map]`, in wire order; a null value is `None`. Custom payloads
/// have this type.
pub type BytesMap = Vec<(String, Option<Vec<u8>>)>;

/// A `[value]`: bytes, a null (length -1) or "not set" (length -2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawValue<'a> {
    Null,
    NotSet,
    Bytes(&'a [u8]),
}

/// A cursor over a frame body. Every read either advances past a whole item or
/// fails and leaves the cursor somewhere inside it; a failed reader is not reused.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Fails with `TrailingBytes` unless everything was read.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what,
                count: self.buf.len(),
            })
        }
    }

    /// The next `n` bytes, as they are.
    pub fn read_raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.take(n, "raw bytes")
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.buf.split_at_checked(n) {
            Some((head, tail)) => {
                self.buf = tail;
                Ok(head)
            }
            None => Err(DecodeError::Truncated {
                what,
                needed: n,
                available: self.buf.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// How much room to reserve for `count` items of at least `min_size` bytes each:
    /// never more than the rest of the input could hold, so a lying count cannot make
    /// us allocate.
    pub fn capacity_for(&self, count: usize, min_size: usize) -> usize {
        count.min(self.buf.len() / min_size.max(1))
    }

    /// Fails unless `count` items of at least `min_size` bytes each could still follow.
    pub fn check_room(&self, count: usize, min_size: usize, what: &'static str) -> Result<(), DecodeError> {
        let needed = count.saturating_mul(min_size);
        if needed > self.buf.len() {
            Err(DecodeError::Truncated {
                what,
                needed,
                available: self.buf.len(),
            })
        } else {
            Ok(())
        }
    }

    pub fn read_byte(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>("[byte]")?;
        Ok(b)
    }

    pub fn read_short(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array("[short]")?))
    }

    pub fn read_int(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array("[int]")?))
    }

    pub fn read_long(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array("[long]")?))
    }

    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        let n = self.read_short().context("[string]")?;
        let bytes = self.take(usize::from(n), "[string]")?;
        utf8(bytes, "[string]")
    }

    pub fn read_long_string(&mut self) -> Result<String, DecodeError> {
        let n = self.read_int().context("[long string]")?;
        let n = non_negative(n, "[long string]")?;
        let bytes = self.take(n, "[long string]")?;
        utf8(bytes, "[long string]")
    }

    pub fn read_uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.array("[uuid]")?))
    }

    pub fn read_string_list(&mut self) -> Result<Vec<String>, DecodeError> {
        let n = usize::from(self.read_short().context("[string list]")?);
        self.check_room(n, 2, "[string list]")?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.read_string()?);
        }
        Ok(out)
    }

    /// `[bytes]`: `None` for a negative length (a null).
    pub fn read_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let n = self.read_int().context("[bytes]")?;
        match usize::try_from(n) {
            Ok(n) => Ok(Some(self.take(n, "[bytes]")?)),
            Err(_) => Ok(None),
        }
    }

    pub fn read_value(&mut self) -> Result<RawValue<'a>, DecodeError> {
        let n = self.read_int().context("[value]")?;
        match n {
            -1 => Ok(RawValue::Null),
            -2 => Ok(RawValue::NotSet),
            n => match usize::try_from(n) {
                Ok(n) => Ok(RawValue::Bytes(self.take(n, "[value]")?)),
                Err(_) => Err(DecodeError::InvalidValueLength {
                    what: "[value]",
                    length: n,
                }),
            },
        }
    }

    pub fn read_short_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.read_short().context("[short bytes]")?;
        self.take(usize::from(n), "[short bytes]")
    }

    pub fn read_inet(&mut self) -> Result<SocketAddr, DecodeError> {
        let n = self.read_byte().context("[inet]")?;
        let ip = match n {
            4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>("[inet]")?)),
            16 => IpAddr::V6(Ipv6Addr::from(self.array::<16>("[inet]")?)),
            length => return Err(DecodeError::InvalidInetLength { what: "[inet]", length }),
        };
        let port = self.read_int().context("[inet]")?;
        let port = u16::try_from(port).map_err(|_| DecodeError::InvalidPort { what: "[inet]", port })?;
        Ok(SocketAddr::new(ip, port))
    }

    pub fn read_consistency(&mut self) -> Result<Consistency, DecodeError> {
        let value = self.read_short().context("[consistency]")?;
        Consistency::from_u16(value).ok_or(DecodeError::UnknownConsistency { value })
    }

    /// `[string map]`, in wire order (duplicate keys are kept).
    pub fn read_string_map(&mut self) -> Result<Vec<(String, String)>, DecodeError> {
        let n = usize::from(self.read_short().context("[string map]")?);
        self.check_room(n, 4, "[string map]")?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.read_string()?;
            let v = self.read_string()?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// `[string multimap]`, in wire order.
    pub fn read_string_multimap(&mut self) -> Result<Vec<(String, Vec<String>)>, DecodeError> {
        let n = usize::from(self.read_short().context("[string multimap]")?);
        self.check_room(n, 4, "[string multimap]")?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.read_string()?;
            let v = self.read_string_list()?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// `[bytes map]`, in wire order; a null value is `None`.
    pub fn read_bytes_map(&mut self) -> Result<BytesMap, DecodeError> {
        let n = usize::from(self.read_short().context("[bytes map]")?);
        self.check_room(n, 6, "[bytes map]")?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.read_string()?;
            let v = self.read_bytes()?.map(<[u8]>::to_vec);
            out.push((k, v));
        }
        Ok(out)
    }
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, DecodeError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| DecodeError::InvalidUtf8 { what })
}

fn non_negative(n: i32, what: &'static str) -> Result<usize, DecodeError> {
    usize::try_from(n).map_err(|_| DecodeError::NegativeLength {
        what,
        length: i64::from(n),
    })
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn str_prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

const MAX_INT_LEN: usize = i32::MAX as usize;

/// Writes a `[short]` count, cut to 65535, and returns the count written.
pub fn write_count(out: &mut Vec<u8>, len: usize) -> usize {
    let n = u16::try_from(len).unwrap_or(u16::MAX);
    write_short(out, n);
    usize::from(n)
}

pub fn write_byte(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub fn write_short(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn write_int(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn write_long(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn write_string(out: &mut Vec<u8>, s: &str) {
    let s = str_prefix(s, usize::from(u16::MAX));
    write_count(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

pub fn write_long_string(out: &mut Vec<u8>, s: &str) {
    let s = str_prefix(s, MAX_INT_LEN);
    write_int(out, i32::try_from(s.len()).unwrap_or(i32::MAX));
    out.extend_from_slice(s.as_bytes());
}

pub fn write_uuid(out: &mut Vec<u8>, uuid: Uuid) {
    out.extend_from_slice(uuid.as_bytes());
}

pub fn write_string_list<S: AsRef<str>>(out: &mut Vec<u8>, list: &[S]) {
    let n = write_count(out, list.len());
    for s in list.iter().take(n) {
        write_string(out, s.as_ref());
    }
}

/// `[bytes]`; `None` is written as a null (length -1).
pub fn write_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => write_int(out, -1),
        Some(b) => write_sized(out, b),
    }
}

fn write_sized(out: &mut Vec<u8>, b: &[u8]) {
    let b = b.get(..MAX_INT_LEN).unwrap_or(b);
    write_int(out, i32::try_from(b.len()).unwrap_or(i32::MAX));
    out.extend_from_slice(b);
}

pub fn write_value(out: &mut Vec<u8>, value: RawValue<'_>) {
    match value {
        RawValue::Null => write_int(out, -1),
        RawValue::NotSet => write_int(out, -2),
        RawValue::Bytes(b) => write_sized(out, b),
    }
}

pub fn write_short_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let bytes = bytes.get(..usize::from(u16::MAX)).unwrap_or(bytes);
    write_count(out, bytes.len());
    out.extend_from_slice(bytes);
}

pub fn write_inet(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => {
            write_byte(out, 4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            write_byte(out, 16);
            out.extend_from_slice(&ip.octets());
        }
    }
    write_int(out, i32::from(addr.port()));
}

pub fn write_consistency(out: &mut Vec<u8>, consistency: Consistency) {
    write_short(out, consistency.as_u16());
}

pub fn write_string_map<K: AsRef<str>, V: AsRef<str>>(out: &mut Vec<u8>, map: &[(K, V)]) {
    let n = write_count(out, map.len());
    for (k, v) in map.iter().take(n) {
        write_string(out, k.as_ref());
        write_string(out, v.as_ref());
    }
}

pub fn write_string_multimap<K: AsRef<str>, V: AsRef<str>>(out: &mut Vec<u8>, map: &[(K, Vec<V>)]) {
    let n = write_count(out, map.len());
    for (k, v) in map.iter().take(n) {
        write_string(out, k.as_ref());
        write_string_list(out, v);
    }
}

pub fn write_bytes_map<K: AsRef<str>>(out: &mut Vec<u8>, map: &[(K, Option<Vec<u8>>)]) {
    let n = write_count(out, map.len());
    for (k, v) in map.iter().take(n) {
        write_string(out, k.as_ref());
        write_bytes(out, v.as_deref());
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn consistency() -> impl Strategy<Value = Consistency> {
        proptest::sample::select(Consistency::ALL.to_vec())
    }

    pub fn string() -> impl Strategy<Value = String> {
        "\\PC{0,12}"
    }

    pub fn blob() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..24)
    }

    pub fn socket_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_string_is_a_short_length_then_utf8() {
        let mut out = Vec::new();
        write_string(&mut out, "héllo");
        assert_eq!(out, b"\x00\x06h\xC3\xA9llo");
        assert_eq!(Reader::new(&out).read_string().unwrap(), "héllo");
    }

    #[test]
    fn a_truncated_long_string_names_the_bytes_needed_and_left() {
        let body = [0, 0, 0, 12, b'a', b'b', b'c'];
        let err = Reader::new(&body).read_long_string().context("query string").unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame body truncated while reading query string: needed 12 bytes, 3 left"
        );
    }

    #[test]
    fn a_negative_long_string_length_is_an_error() {
        let err = Reader::new(&[0xFF, 0xFF, 0xFF, 0xFE]).read_long_string().unwrap_err();
        assert_eq!(
            err,
            DecodeError::NegativeLength {
                what: "[long string]",
                length: -2
            }
        );
    }

    #[test]
    fn invalid_utf8_in_a_string_is_an_error() {
        let err = Reader::new(&[0, 1, 0xFF]).read_string().unwrap_err();
        assert_eq!(err, DecodeError::InvalidUtf8 { what: "[string]" });
    }

    #[test]
    fn bytes_with_a_negative_length_are_null() {
        let mut r = Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 7]);
        assert_eq!(r.read_bytes().unwrap(), None);
        assert_eq!(r.read_bytes().unwrap(), None);
        assert_eq!(r.read_bytes().unwrap(), Some(&[7u8][..]));
        assert!(r.is_empty());
    }

    #[test]
    fn a_value_is_null_not_set_or_bytes_and_nothing_else() {
        let mut out = Vec::new();
        write_value(&mut out, RawValue::Null);
        write_value(&mut out, RawValue::NotSet);
        write_value(&mut out, RawValue::Bytes(&[1, 2]));
        assert_eq!(out, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 0, 2, 1, 2]);
        let mut r = Reader::new(&out);
        assert_eq!(r.read_value().unwrap(), RawValue::Null);
        assert_eq!(r.read_value().unwrap(), RawValue::NotSet);
        assert_eq!(r.read_value().unwrap(), RawValue::Bytes(&[1, 2]));
        let err = Reader::new(&[0xFF, 0xFF, 0xFF, 0xFD]).read_value().unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidValueLength {
                what: "[value]",
                length: -3
            }
        );
    }

    #[test]
    fn an_inet_is_a_size_the_address_and_an_int_port() {
        let addr: SocketAddr = "127.0.0.1:9042".parse().unwrap();
        let mut out = Vec::new();
        write_inet(&mut out, &addr);
        assert_eq!(out, [4, 127, 0, 0, 1, 0, 0, 0x23, 0x52]);
        assert_eq!(Reader::new(&out).read_inet().unwrap(), addr);
        let err = Reader::new(&[5, 1, 2, 3, 4, 5, 0, 0, 0, 0]).read_inet().unwrap_err();
        assert_eq!(err, DecodeError::InvalidInetLength { what: "[inet]", length: 5 });
        let err = Reader::new(&[4, 1, 2, 3, 4, 0, 1, 0, 0]).read_inet().unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidPort {
                what: "[inet]",
                port: 65536
            }
        );
    }

    #[test]
    fn consistency_levels_have_cassandra_names_and_codes() {
        assert_eq!(Consistency::LocalQuorum.to_string(), "LOCAL_QUORUM");
        assert_eq!(Consistency::LocalOne.as_u16(), 0x0A);
        assert_eq!(Consistency::from_u16(0x0A), Some(Consistency::LocalOne));
        assert_eq!(Consistency::from_u16(0x0B), None);
        let err = Reader::new(&[0, 0x0B]).read_consistency().unwrap_err();
        assert_eq!(err, DecodeError::UnknownConsistency { value: 0x0B });
        for c in Consistency::ALL {
            assert_eq!(Consistency::from_u16(c.as_u16()), Some(c));
        }
    }

    #[test]
    fn a_huge_list_count_is_refused_before_allocating() {
        let err = Reader::new(&[0xFF, 0xFF, 0, 0]).read_string_list().unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "[string list]",
                needed: 131070,
                available: 2
            }
        );
        let err = Reader::new(&[0x7F, 0xFF, 0xFF, 0xFF]).read_bytes().unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "[bytes]",
                needed: i32::MAX as usize,
                available: 0
            }
        );
    }

    #[test]
    fn an_overlong_string_is_cut_at_a_char_boundary() {
        let s = "é".repeat(40_000); // 80_000 bytes
        let mut out = Vec::new();
        write_string(&mut out, &s);
        let back = Reader::new(&out).read_string().unwrap();
        assert_eq!(back.len(), 65534);
        assert!(s.starts_with(&back));
    }

    #[test]
    fn maps_keep_their_wire_order() {
        let mut out = Vec::new();
        write_string_map(&mut out, &[("b", "1"), ("a", "2")]);
        assert_eq!(out, b"\x00\x02\x00\x01b\x00\x011\x00\x01a\x00\x012");
    }

    proptest! {
        #[test]
        fn every_notation_round_trips(
            byte in any::<u8>(), short in any::<u16>(), int in any::<i32>(), long in any::<i64>(),
            s in string(), ls in string(), uuid in any::<[u8; 16]>(),
            list in proptest::collection::vec(string(), 0..4),
            bytes in proptest::option::of(blob()), short_bytes in blob(),
            inet in socket_addr(), cl in consistency(),
            smap in proptest::collection::vec((string(), string()), 0..4),
            mmap in proptest::collection::vec((string(), proptest::collection::vec(string(), 0..3)), 0..4),
            bmap in proptest::collection::vec((string(), proptest::option::of(blob())), 0..4),
        ) {
            let uuid = Uuid::from_bytes(uuid);
            let mut out = Vec::new();
            write_byte(&mut out, byte);
            write_short(&mut out, short);
            write_int(&mut out, int);
            write_long(&mut out, long);
            write_string(&mut out, &s);
            write_long_string(&mut out, &ls);
            write_uuid(&mut out, uuid);
            write_string_list(&mut out, &list);
            write_bytes(&mut out, bytes.as_deref());
            write_value(&mut out, RawValue::Bytes(&short_bytes));
            write_short_bytes(&mut out, &short_bytes);
            write_inet(&mut out, &inet);
            write_consistency(&mut out, cl);
            write_string_map(&mut out, &smap);
            write_string_multimap(&mut out, &mmap);
            write_bytes_map(&mut out, &bmap);

            let mut r = Reader::new(&out);
            prop_assert_eq!(r.read_byte().unwrap(), byte);
            prop_assert_eq!(r.read_short().unwrap(), short);
            prop_assert_eq!(r.read_int().unwrap(), int);
            prop_assert_eq!(r.read_long().unwrap(), long);
            prop_assert_eq!(r.read_string().unwrap(), s);
            prop_assert_eq!(r.read_long_string().unwrap(), ls);
            prop_assert_eq!(r.read_uuid().unwrap(), uuid);
            prop_assert_eq!(r.read_string_list().unwrap(), list);
            prop_assert_eq!(r.read_bytes().unwrap(), bytes.as_deref());
            prop_assert_eq!(r.read_value().unwrap(), RawValue::Bytes(&short_bytes));
            prop_assert_eq!(r.read_short_bytes().unwrap(), &short_bytes[..]);
            prop_assert_eq!(r.read_inet().unwrap(), inet);
            prop_assert_eq!(r.read_consistency().unwrap(), cl);
            prop_assert_eq!(r.read_string_map().unwrap(), smap);
            prop_assert_eq!(r.read_string_multimap().unwrap(), mmap);
            prop_assert_eq!(r.read_bytes_map().unwrap(), bmap);
            prop_assert!(r.finish("test input").is_ok());
        }

        #[test]
        fn every_reader_survives_random_bytes(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            // Only that nothing panics or hangs; errors are expected.
            let _ = Reader::new(&input).read_string();
            let _ = Reader::new(&input).read_long_string();
            let _ = Reader::new(&input).read_string_list();
            let _ = Reader::new(&input).read_bytes();
            let _ = Reader::new(&input).read_value();
            let _ = Reader::new(&input).read_short_bytes();
            let _ = Reader::new(&input).read_inet();
            let _ = Reader::new(&input).read_consistency();
            let _ = Reader::new(&input).read_string_map();
            let _ = Reader::new(&input).read_string_multimap();
            let _ = Reader::new(&input).read_bytes_map();
        }
    }
}
