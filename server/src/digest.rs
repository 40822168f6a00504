//! Hex SHA-256, the one digest pgfleet uses: for API tokens and sessions
//! (only their hash is kept), idempotency fingerprints, and short names
//! derived from long ones.

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
