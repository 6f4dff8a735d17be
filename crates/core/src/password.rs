//! Passwords of CONNECT_MANAGED users: Connect's rule for them, and Argon2id hashes (PHC strings)
//! at rest. Hashing and verifying cost tens of milliseconds of CPU by design, so callers run them
//! on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The hash of a random password nobody knows, made with the parameters every new hash gets
/// (Argon2id, m=19 MiB, t=2, p=1). Checking a sign-in for an unknown username against it costs
/// what checking a real user's hash costs, so the time of the answer does not tell whether the
/// user exists.
const UNKNOWN_USER_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$38B++wyiITJlvAaFW54xew$YSMEWzsx6cgy9JlbCeoy/VUbKHJ/LNYbgW6Ow53lLS4";

/// Whether `password` satisfies Connect's rule for CONNECT_MANAGED users: 8 to 64 characters, no
/// white space, at least one lowercase letter, one uppercase letter and one digit (the model's
/// pattern `^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$`).
pub fn meets_policy(password: &str) -> bool {
    let length = password.chars().count();
    (8..=64).contains(&length)
        && !password.chars().any(char::is_whitespace)
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
}

/// A password could not be hashed (the operating system's random source failed).
#[derive(Debug)]
pub struct HashError(pub String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not hash the password: {}", self.0)
    }
}

impl std::error::Error for HashError {}

/// The Argon2id hash of `password` with a fresh random salt, as a PHC string.
pub fn hash(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `candidate` is the password `stored` was made from. Without a stored hash (no such
/// user, or a user without a password) the candidate is checked against [`UNKNOWN_USER_HASH`]
/// all the same and refused, in the same time. Argon2 compares the digests in constant time.
pub fn verify(stored: Option<&str>, candidate: &str) -> bool {
    let argon2 = Argon2::default();
    match stored {
        Some(hash) => argon2.verify_password(candidate.as_bytes(), hash).is_ok(),
        None => {
            let _always_refused = argon2.verify_password(candidate.as_bytes(), UNKNOWN_USER_HASH);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::Params;
    use argon2::password_hash::phc::PasswordHash;

    #[test]
    fn the_policy_follows_the_model_pattern() {
        assert!(meets_policy("Passw0rd"));
        assert!(meets_policy("Tr1cky-!#€ok"));
        assert!(meets_policy(&format!("Aa1{}", "x".repeat(61))));
        for refused in [
            "Pass0rd",                         // 7 characters
            "password1",                       // no uppercase
            "PASSWORD1",                       // no lowercase
            "Password",                        // no digit
            "Pass word1",                      // white space
            &format!("Aa1{}", "x".repeat(62)), // 65 characters
        ] {
            assert!(!meets_policy(refused), "{refused}");
        }
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("Secr3tPass").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify(Some(&stored), "Secr3tPass"));
        assert!(!verify(Some(&stored), "secr3tPass"));
        assert_ne!(
            hash("Secr3tPass").unwrap(),
            stored,
            "every hash has its own salt"
        );
    }

    #[test]
    fn unknown_users_cost_a_full_verification_and_are_refused() {
        let dummy = PasswordHash::new(UNKNOWN_USER_HASH).unwrap();
        let params = Params::try_from(&dummy).unwrap();
        let defaults = Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (defaults.m_cost(), defaults.t_cost(), defaults.p_cost()),
            "the stand-in hash must cost what a real one costs"
        );
        assert!(dummy.hash.is_some() && dummy.salt.is_some());
        assert!(!verify(None, "Anything1"));
    }
}
