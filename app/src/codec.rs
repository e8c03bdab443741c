//! How server functions travel: JSON both ways. The browser reads every answer with the
//! decoder that also reads the data a server-rendered page carries for hydration
//! (`serde_json::from_str`), so the WebAssembly holds one JSON decoder per type, not two
//! (`from_slice` for answers, `from_str` for hydration: about 25 KB gzip).

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON, decoded from text.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

/// Arguments or an answer as JSON in a `POST` body (`#[server(input = Json, output = Json)]`).
pub type Json = Post<JsonText>;
