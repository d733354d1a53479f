//! The records of the tests: a key and its number in the key's sequence,
//! as text, so that a bad entry is easy to write and to read.

use confluo_redis::{codec_fn, Codec};

/// `(key, seq)`.
pub type Record = (u32, u32);

/// `"key:seq"` and back; anything else is refused with a reason.
pub fn codec() -> impl Codec<Record> + Clone + Send + 'static {
    codec_fn(
        |r: &Record, out: &mut Vec<u8>| {
            out.extend_from_slice(format!("{}:{}", r.0, r.1).as_bytes())
        },
        |bytes: &[u8]| {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            let (key, seq) = text.split_once(':').ok_or(format!("no ':' in {text:?}"))?;
            let number = |s: &str| s.parse().map_err(|_| format!("{s:?} is not a number"));
            Ok((number(key)?, number(seq)?))
        },
    )
}

/// `keys` keys with `per_key` records each, interleaved as sensors send.
pub fn records(keys: u32, per_key: u32) -> impl Iterator<Item = Record> {
    (0..per_key).flat_map(move |seq| (0..keys).map(move |key| (key, seq)))
}
