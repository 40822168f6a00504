//! How server functions' answers (and their errors) travel: JSON, read by
//! the browser as text.
//!
//! server_fn's own JSON encoding reads a response with
//! `serde_json::from_slice`, while the data a page is hydrated with is read
//! with `serde_json::from_str`. The WASM then holds two copies of every
//! wire type's deserializer, one per reader (~60 KB of the first page's
//! code). Reading answers as text too leaves one copy. The bytes on the
//! wire are the same `application/json` either way.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON, decoded from UTF-8 text.
pub struct JsonText;

/// The output encoding of the console's server functions.
pub type JsonAnswer = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = DecodeError;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|_| DecodeError::NotText)?;
        serde_json::from_str(text).map_err(DecodeError::Json)
    }
}

/// An answer that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the answer is not UTF-8 text")]
    NotText,
    #[error("the answer is not the JSON expected: {0}")]
    Json(serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encoded_decodes_and_bad_answers_are_errors() {
        let bytes = <JsonText as Encodes<Vec<u32>>>::encode(&vec![1, 2]).unwrap();
        assert_eq!(&bytes[..], b"[1,2]");
        let back: Vec<u32> = <JsonText as Decodes<Vec<u32>>>::decode(bytes).unwrap();
        assert_eq!(back, [1, 2]);
        let not_text = <JsonText as Decodes<Vec<u32>>>::decode(Bytes::from_static(&[0xff, 0xfe]));
        assert!(matches!(not_text, Err(DecodeError::NotText)));
        let not_json = <JsonText as Decodes<Vec<u32>>>::decode(Bytes::from_static(b"{"));
        assert!(matches!(not_json, Err(DecodeError::Json(_))));
    }
}
