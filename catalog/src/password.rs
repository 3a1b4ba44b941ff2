//! Password verifiers. Only a salted PBKDF2-HMAC-SHA-256 derivation is stored (the SCRAM
//! `SaltedPassword` of RFC 5802 / RFC 7677), never the password itself.

use std::num::NonZeroU32;

use ring::pbkdf2;

/// RFC 7677's minimum and PostgreSQL's default.
pub const SCRAM_ITERATIONS: u32 = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramSecret {
    pub salt: Vec<u8>,
    pub iterations: u32,
    /// `Hi(SASLprep(password), salt, iterations)`.
    pub salted_password: Vec<u8>,
}

impl ScramSecret {
    pub fn derive(password: &str) -> Self {
        let salt: [u8; 16] = rand::random();
        Self::derive_with_salt(password, &salt, SCRAM_ITERATIONS)
    }

    pub fn derive_with_salt(password: &str, salt: &[u8], iterations: u32) -> Self {
        // PostgreSQL uses the raw password when SASLprep rejects it; so do we.
        let normalized = stringprep::saslprep(password)
            .map(|c| c.into_owned())
            .unwrap_or_else(|_| password.to_string());
        let mut out = vec![0u8; 32];
        let iters = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iters,
            salt,
            normalized.as_bytes(),
            &mut out,
        );
        ScramSecret {
            salt: salt.to_vec(),
            iterations,
            salted_password: out,
        }
    }

    /// The verifier an unknown `user` is checked against, so that a login attempt for a user
    /// who does not exist looks like one with a wrong password: the same exchange, the same
    /// work, and a salt that is the same on every attempt for that name (derived from it with a
    /// key of this process) but tells nothing. No password matches it.
    pub fn decoy_for(user: &str) -> Self {
        use ring::hmac;
        static KEY: std::sync::OnceLock<(hmac::Key, Vec<u8>)> = std::sync::OnceLock::new();
        let (key, salted_password) = KEY.get_or_init(|| {
            let secret: [u8; 32] = rand::random();
            let unmatchable: [u8; 32] = rand::random();
            (
                hmac::Key::new(hmac::HMAC_SHA256, &secret),
                unmatchable.to_vec(),
            )
        });
        let tag = hmac::sign(key, user.as_bytes());
        ScramSecret {
            salt: tag.as_ref()[..16].to_vec(),
            iterations: SCRAM_ITERATIONS,
            salted_password: salted_password.clone(),
        }
    }

    /// Constant-time check of a cleartext password (used by fronts that receive one, e.g. HTTP
    /// Basic in Flight's handshake).
    pub fn verify(&self, password: &str) -> bool {
        let candidate = Self::derive_with_salt(password, &self.salt, self.iterations);
        let (a, b) = (&candidate.salted_password, &self.salted_password);
        // Constant-time comparison: the time taken does not depend on where the bytes differ.
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_password() {
        let s = ScramSecret::derive("s3cret");
        assert!(s.verify("s3cret"));
        assert!(!s.verify("s3creT"));
        assert_eq!(s.salted_password.len(), 32);
    }

    #[test]
    fn decoys_are_stable_per_user_and_match_no_password() {
        let a = ScramSecret::decoy_for("nobody");
        assert_eq!(a, ScramSecret::decoy_for("nobody"));
        assert_ne!(a.salt, ScramSecret::decoy_for("somebody").salt);
        assert_eq!(a.salt.len(), 16);
        assert!(!a.verify(""));
        assert!(!a.verify("nobody"));
    }

    #[test]
    fn same_password_different_salt() {
        assert_ne!(
            ScramSecret::derive("x").salted_password,
            ScramSecret::derive("x").salted_password
        );
    }
}
