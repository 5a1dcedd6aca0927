//! User ID rules: `[A-Za-z0-9_-]`, 1 to 32 bytes.

/// Longest user ID, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;

/// Check a user ID, returning a reason that names the problem.
pub fn validate_user_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("user ID is empty".into());
    }
    if id.len() > MAX_USER_ID_BYTES {
        return Err(format!(
            "user ID is {} bytes long; the limit is {MAX_USER_ID_BYTES}",
            id.len()
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "user ID contains {c:?}; only A-Z, a-z, 0-9, '_' and '-' are allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        for id in ["a", "xiaojun", "A-b_9", &"x".repeat(32)] {
            assert_eq!(validate_user_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn rejects_everything_else_with_a_reason() {
        assert!(validate_user_id("").unwrap_err().contains("empty"));
        assert!(validate_user_id(&"x".repeat(33))
            .unwrap_err()
            .contains("33 bytes"));
        for id in ["a b", "a/b", "é", "a\0", "a.b", "<script>"] {
            assert!(
                validate_user_id(id).unwrap_err().contains("only A-Z"),
                "{id}"
            );
        }
    }
}
