//! The site-login password rule: at least 8 characters with an upper-case letter, a lower-case
//! letter, a digit and a special character.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeakPassword {
    pub missing: Vec<&'static str>,
}

impl std::fmt::Display for WeakPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "The password needs {}.", join_human(&self.missing))
    }
}

impl std::error::Error for WeakPassword {}

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

pub fn check(password: &str) -> Result<(), WeakPassword> {
    let mut missing = Vec::new();
    let n = password.chars().count();
    if n < MIN_LEN {
        missing.push("at least 8 characters");
    }
    if n > MAX_LEN {
        missing.push("at most 256 characters");
    }
    if !password.chars().any(char::is_uppercase) {
        missing.push("an upper-case letter");
    }
    if !password.chars().any(char::is_lowercase) {
        missing.push("a lower-case letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push("a digit");
    }
    if !password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        missing.push("a special character such as ! or #");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WeakPassword { missing })
    }
}

fn join_human(parts: &[&str]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weak_password_is_told_exactly_what_it_lacks() {
        let e = check("password").unwrap_err();
        assert_eq!(
            e.to_string(),
            "The password needs an upper-case letter, a digit and a special character such as ! or #."
        );
        assert_eq!(
            check("Ab1!").unwrap_err().missing,
            vec!["at least 8 characters"]
        );
        assert!(check("Corr3ct-Horse").is_ok());
    }
}
