//! Delivery payloads as stored: LZ4-compressed, so SQLite's single writer writes (and its
//! checkpointer copies) about a sixth of the bytes per delivery.
//!
//! Owns: the stored forms of a payload and the tag that names each (`deliveries.payload_encoding`).
//! `identity` is the raw JSON in the `payload` column, as every row before migration 0010 holds
//! it; `lz4` is [`Compressed`] in `payload_compressed`. Compression runs in the request's task
//! (ingress), never inside the group-commit writer; decompression where a payload is read.
//! Never decides what is stored: only how.
//!
//! The `lz4` form is a 4-byte little-endian length of the original, then one LZ4 block. The
//! length is checked against the largest body ingress accepts before anything is allocated, so a
//! damaged row cannot make a reader allocate gigabytes, and the block must decode to exactly that
//! many bytes. LZ4 was chosen over zstd by `cargo bench --bench micro -- compress` (BENCHMARKS.md):
//! pure Rust, a few tens of microseconds per 28 KB payload, and SQLite writes whole 4 KB pages, so
//! zstd's smaller output saved no pages.

use crate::model::MAX_DELIVERY_BYTES as MAX_BODY_BYTES;

/// Bytes of the length header in front of the LZ4 block.
const HEADER: usize = 4;

/// How a delivery's payload is stored; its tag is the `deliveries.payload_encoding` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The raw JSON in `deliveries.payload` (rows stored before migration 0010).
    Identity,
    /// [`Compressed`] in `deliveries.payload_compressed`; `payload` is left empty.
    Lz4,
}

impl Encoding {
    pub const fn tag(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Lz4 => "lz4",
        }
    }

    pub fn from_tag(tag: &str) -> Result<Encoding, PayloadError> {
        match tag {
            "identity" => Ok(Encoding::Identity),
            "lz4" => Ok(Encoding::Lz4),
            other => Err(PayloadError::UnknownEncoding(
                crate::types::truncate_for_error(other),
            )),
        }
    }
}

/// Why a stored payload could not be turned back into the bytes GitHub sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "unknown payload encoding {0:?}: the row was written by a newer Gangway; run that version, or redeliver the webhook from GitHub"
    )]
    UnknownEncoding(String),
    #[error(
        "the compressed payload is missing (payload_encoding says lz4, payload_compressed is NULL): the row is damaged; redeliver the webhook from GitHub"
    )]
    Missing,
    #[error(
        "the compressed payload is truncated ({0} bytes, shorter than its {HEADER}-byte header): the row is damaged; redeliver the webhook from GitHub"
    )]
    Truncated(usize),
    #[error(
        "the compressed payload claims {0} bytes, more than the {MAX_BODY_BYTES} a webhook may have: the row is damaged; redeliver the webhook from GitHub"
    )]
    TooLarge(usize),
    #[error(
        "the compressed payload is corrupt ({0}): the row is damaged; redeliver the webhook from GitHub"
    )]
    Corrupt(String),
    #[error(
        "the stored payload is not UTF-8 text, as every accepted webhook is: the row is damaged; redeliver the webhook from GitHub"
    )]
    NotUtf8,
}

/// A payload in its stored `lz4` form. Only [`Compressed::new`] makes one, so bytes handed to the
/// store as `lz4` are always what [`decompress`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed(Vec<u8>);

impl Compressed {
    /// Compresses `raw` (CPU: tens of microseconds for a typical webhook; callers with large
    /// bodies run it off the async workers).
    pub fn new(raw: &[u8]) -> Compressed {
        // Ingress caps bodies at 25 MiB, far below u32::MAX; the clamp only keeps this total.
        let len = u32::try_from(raw.len()).unwrap_or(u32::MAX);
        let block = lz4_flex::block::compress(raw);
        let mut out = Vec::with_capacity(HEADER + block.len());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&block);
        Compressed(out)
    }

    pub fn encoding(&self) -> Encoding {
        Encoding::Lz4
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The original bytes of an `lz4` payload.
pub fn decompress(stored: &[u8]) -> Result<Vec<u8>, PayloadError> {
    let (header, block) = stored
        .split_first_chunk::<HEADER>()
        .ok_or(PayloadError::Truncated(stored.len()))?;
    let len = usize::try_from(u32::from_le_bytes(*header)).unwrap_or(usize::MAX);
    if len > MAX_BODY_BYTES {
        return Err(PayloadError::TooLarge(len));
    }
    let mut out = vec![0u8; len];
    let written = lz4_flex::block::decompress_into(block, &mut out)
        .map_err(|e| PayloadError::Corrupt(e.to_string()))?;
    if written != len {
        return Err(PayloadError::Corrupt(format!(
            "decoded to {written} bytes, its header says {len}"
        )));
    }
    Ok(out)
}

/// A stored payload as the text GitHub sent: `text` is the `payload` column, `blob` the
/// `payload_compressed` one, `tag` the `payload_encoding` one.
pub fn decode_text(tag: &str, text: String, blob: Option<&[u8]>) -> Result<String, PayloadError> {
    match Encoding::from_tag(tag)? {
        Encoding::Identity => Ok(text),
        Encoding::Lz4 => {
            let bytes = decompress(blob.ok_or(PayloadError::Missing)?)?;
            String::from_utf8(bytes).map_err(|_| PayloadError::NotUtf8)
        }
    }
}

#[cfg(test)]
#[path = "compress_tests.rs"]
mod tests;
