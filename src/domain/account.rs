//! Accounts: what a password may be, who is asking (the viewer), and who may change what. Pure
//! rules; hashing and sessions are `accounts`'.

use crate::domain::text::storable;
use crate::error::{AppError, AppResult};

/// NIST SP 800-63B: at least 8 characters; long passphrases welcome (up to 1,024 characters,
/// a bound that keeps a hash's work bounded too).
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// A password as a user chose it. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// A password for a new account: the length rules apply.
    pub fn parse(password: String) -> AppResult<Self> {
        let password = storable("password", password)?;
        let chars = password.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(AppError::invalid(
                "password",
                format!("must be at least {PASSWORD_MIN_CHARS} characters"),
            ));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(AppError::invalid(
                "password",
                format!("must be at most {PASSWORD_MAX_CHARS} characters"),
            ));
        }
        Ok(Password(password))
    }

    /// A password offered at log-in: checked against a hash, never refused for its shape
    /// (that would tell which rule an account's password does not break), only bounded.
    pub fn offered(password: String) -> AppResult<Self> {
        if password.chars().count() > PASSWORD_MAX_CHARS {
            return Err(AppError::unauthenticated(
                "the email or the password is wrong",
            ));
        }
        Ok(Password(password))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a user may do beyond their own things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn parse(role: &str) -> Role {
        match role {
            "admin" => Role::Admin,
            _ => Role::User,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

/// Who is asking: the user behind the request's bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i32,
    pub role: Role,
}

impl Viewer {
    pub fn is_admin(self) -> bool {
        self.role == Role::Admin
    }

    /// A user changes only themselves and what is theirs; an admin changes anything.
    pub fn may_act_for(self, user_id: i32) -> AppResult<()> {
        if self.user_id == user_id || self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only its owner or an admin may change this".into(),
            ))
        }
    }

    /// Who may see a user's email: the user and admins.
    pub fn may_see_email_of(self, user_id: i32) -> bool {
        self.user_id == user_id || self.is_admin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_nist_length_rules() {
        let cases = [
            ("short", false),
            ("exactly8", true),
            ("a long passphrase with spaces and émojis 🎉", true),
        ];
        for (password, ok) in cases {
            assert_eq!(
                Password::parse(password.into()).is_ok(),
                ok,
                "case {password}"
            );
        }
        assert!(Password::parse("x".repeat(PASSWORD_MAX_CHARS)).is_ok());
        assert!(Password::parse("x".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
        assert_eq!(
            format!("{:?}", Password("secret123".into())),
            "Password(***)"
        );
    }

    #[test]
    fn users_act_for_themselves_admins_for_anyone() {
        let ann = Viewer {
            user_id: 1,
            role: Role::User,
        };
        let admin = Viewer {
            user_id: 9,
            role: Role::Admin,
        };
        assert!(ann.may_act_for(1).is_ok());
        assert!(matches!(ann.may_act_for(2), Err(AppError::Forbidden(_))));
        assert!(admin.may_act_for(2).is_ok());
        assert!(ann.may_see_email_of(1) && !ann.may_see_email_of(2) && admin.may_see_email_of(2));
    }
}
