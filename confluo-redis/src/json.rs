//! A ready [`Codec`] for serde types, as JSON.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Codec;

/// Records as JSON, for any serde type (feature `serde`).
///
/// # Examples
///
/// ```
/// use confluo_redis::{Codec, Json};
///
/// let codec = Json::<(u32, f64)>::new();
/// let mut out = Vec::new();
/// codec.encode(&(7, 21.5), &mut out);
/// assert_eq!(out, b"[7,21.5]");
/// assert_eq!(codec.decode(&out), Ok((7, 21.5)));
/// assert!(codec.decode(b"[7]").is_err());
/// ```
#[derive(Debug)]
pub struct Json<T>(PhantomData<fn() -> T>);

impl<T> Json<T> {
    /// The JSON codec of `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// let codec = confluo_redis::Json::<String>::new();
    /// ```
    pub fn new() -> Self {
        Json(PhantomData)
    }
}

impl<T> Default for Json<T> {
    fn default() -> Self {
        Json::new()
    }
}

impl<T> Clone for Json<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Json<T> {}

impl<T: Serialize + DeserializeOwned> Codec<T> for Json<T> {
    /// # Panics
    ///
    /// If `T`'s `Serialize` fails (a map with non-string keys, a
    /// serializer returning an error): that is a bug of the type, not of
    /// the data.
    fn encode(&self, record: &T, out: &mut Vec<u8>) {
        serde_json::to_writer(out, record).expect("a serde type serializes to JSON");
    }

    fn decode(&self, bytes: &[u8]) -> Result<T, String> {
        serde_json::from_slice(bytes).map_err(|err| err.to_string())
    }
}
