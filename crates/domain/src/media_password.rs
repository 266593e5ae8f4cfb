//! The password a customer chooses for their Jellyfin or Emby user. The media server keeps it
//! and checks nothing itself, so boxoffice asks for a length that resists guessing over the
//! network and a second copy to catch typing mistakes.

pub const MIN_LEN: usize = 8;
/// Generous for pass-phrases, and well below what the servers store.
pub const MAX_LEN: usize = 128;

/// Why a chosen password was refused, and the form field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `password` or `confirm`.
    pub field: &'static str,
    pub message: String,
}

pub fn check(password: &str, confirm: &str) -> Result<(), Refused> {
    let n = password.chars().count();
    let refuse = |field, message: String| Err(Refused { field, message });
    if password.trim().is_empty() {
        return refuse("password", "Choose a password.".into());
    }
    if n < MIN_LEN {
        return refuse(
            "password",
            format!("The password needs at least {MIN_LEN} characters."),
        );
    }
    if n > MAX_LEN {
        return refuse(
            "password",
            format!("The password can have at most {MAX_LEN} characters."),
        );
    }
    if password.chars().any(char::is_control) {
        return refuse(
            "password",
            "The password cannot contain control characters.".into(),
        );
    }
    if password != confirm {
        return refuse("confirm", "The two passwords differ.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_or_mismatched_password_is_refused_on_its_field() {
        assert_eq!(check("short", "short").unwrap_err().field, "password");
        assert_eq!(check("        ", "        ").unwrap_err().field, "password");
        assert_eq!(
            check("long enough", "long enougH").unwrap_err().field,
            "confirm"
        );
        assert_eq!(
            check(&"x".repeat(129), &"x".repeat(129)).unwrap_err().field,
            "password"
        );
        assert!(check("correct horse", "correct horse").is_ok());
    }
}
