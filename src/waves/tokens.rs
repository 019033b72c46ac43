//! Survey links: 144 random bits, URL-safe, stored only as a SHA-256 hash.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Bytes of randomness in a token: 144 bits, 24 URL-safe characters, no padding.
const TOKEN_BYTES: usize = 18;

/// A fresh token and the hash that is stored in its place.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a token. Lookups compare hashes, never plaintext.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a string could be a token at all (length and alphabet), checked before any
/// database lookup so junk never reaches it.
pub fn plausible(token: &str) -> bool {
    token.len() == 24
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
        assert!(plausible(&a));
        assert_eq!(hash_a, hash(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!plausible("short") && !plausible(&"é".repeat(12)));
    }
}
