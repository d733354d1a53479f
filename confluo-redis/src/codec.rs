//! How records become bytes in Redis and back: the user's choice, as a
//! [`Codec`] or a pair of closures.

use std::fmt;

/// Turns records into bytes for Redis and back.
///
/// A record that [`decode`](Codec::decode) refuses goes to the run's
/// dead-letter stream with the reason, and the consumer goes on.
///
/// # Examples
///
/// ```
/// use confluo_redis::Codec;
///
/// /// Readings as 8 little-endian bytes.
/// struct Le;
///
/// impl Codec<f64> for Le {
///     fn encode(&self, record: &f64, out: &mut Vec<u8>) {
///         out.extend_from_slice(&record.to_le_bytes());
///     }
///     fn decode(&self, bytes: &[u8]) -> Result<f64, String> {
///         let bytes = bytes.try_into().map_err(|_| format!("{} bytes, not 8", bytes.len()))?;
///         Ok(f64::from_le_bytes(bytes))
///     }
/// }
///
/// let mut out = Vec::new();
/// Le.encode(&21.5, &mut out);
/// assert_eq!(Le.decode(&out), Ok(21.5));
/// assert_eq!(Le.decode(b"x"), Err("1 bytes, not 8".to_string()));
/// ```
pub trait Codec<T> {
    /// Appends the bytes of `record` to `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo_redis::{Bytes, Codec};
    ///
    /// let mut out = b"already here ".to_vec();
    /// Bytes.encode(&b"and this".to_vec(), &mut out);
    /// assert_eq!(out, b"already here and this");
    /// ```
    fn encode(&self, record: &T, out: &mut Vec<u8>);

    /// The record of `bytes`.
    ///
    /// # Errors
    ///
    /// Why `bytes` is not a record: the reason kept in the dead letter.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo_redis::{codec_fn, Codec};
    ///
    /// let codec = codec_fn(
    ///     |_: &u8, _: &mut Vec<u8>| {},
    ///     |bytes: &[u8]| match bytes {
    ///         [one] => Ok(*one),
    ///         _ => Err(format!("{} bytes, not 1", bytes.len())),
    ///     },
    /// );
    /// assert_eq!(codec.decode(&[7]), Ok(7));
    /// assert_eq!(codec.decode(&[]), Err("0 bytes, not 1".to_string()));
    /// ```
    fn decode(&self, bytes: &[u8]) -> Result<T, String>;
}

/// A [`Codec`] from two closures, made by [`codec_fn`].
///
/// # Examples
///
/// ```
/// use confluo_redis::{codec_fn, Codec};
///
/// let codec = codec_fn(
///     |n: &u32, out: &mut Vec<u8>| out.extend_from_slice(n.to_string().as_bytes()),
///     |bytes: &[u8]| std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()).ok_or("not a number".to_string()),
/// );
/// let mut out = Vec::new();
/// codec.encode(&42, &mut out);
/// assert_eq!(out, b"42");
/// assert_eq!(codec.decode(b"42"), Ok(42));
/// ```
#[derive(Clone, Copy)]
pub struct FnCodec<E, D> {
    encode: E,
    decode: D,
}

/// A [`Codec`] from an encoding and a decoding closure.
///
/// # Examples
///
/// ```
/// use confluo_redis::{codec_fn, Codec};
///
/// let codec = codec_fn(
///     |s: &String, out: &mut Vec<u8>| out.extend_from_slice(s.as_bytes()),
///     |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string()),
/// );
/// assert_eq!(codec.decode(b"hello"), Ok("hello".to_string()));
/// ```
pub fn codec_fn<T, E, D>(encode: E, decode: D) -> FnCodec<E, D>
where
    E: Fn(&T, &mut Vec<u8>),
    D: Fn(&[u8]) -> Result<T, String>,
{
    FnCodec { encode, decode }
}

impl<T, E, D> Codec<T> for FnCodec<E, D>
where
    E: Fn(&T, &mut Vec<u8>),
    D: Fn(&[u8]) -> Result<T, String>,
{
    fn encode(&self, record: &T, out: &mut Vec<u8>) {
        (self.encode)(record, out)
    }

    fn decode(&self, bytes: &[u8]) -> Result<T, String> {
        (self.decode)(bytes)
    }
}

impl<E, D> fmt::Debug for FnCodec<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCodec").finish_non_exhaustive()
    }
}

/// The bytes as they are: a [`Codec`] for `Vec<u8>` records.
///
/// # Examples
///
/// ```
/// use confluo_redis::{Bytes, Codec};
///
/// let mut out = Vec::new();
/// Bytes.encode(&vec![1, 2], &mut out);
/// assert_eq!(Bytes.decode(&out), Ok(vec![1, 2]));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Bytes;

impl Codec<Vec<u8>> for Bytes {
    fn encode(&self, record: &Vec<u8>, out: &mut Vec<u8>) {
        out.extend_from_slice(record);
    }

    fn decode(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        Ok(bytes.to_vec())
    }
}
