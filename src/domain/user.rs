//! A user's name and email, and a new user with their first posts.

use crate::domain::post::NewPost;
use crate::domain::text::storable;
use crate::error::{AppError, AppResult};

const NAME_MAX_CHARS: usize = 1000;
const EMAIL_MAX_CHARS: usize = 255;
/// Posts accepted with one new user; they are written in one transaction.
pub const MAX_POSTS_PER_NEW_USER: usize = 100;

/// A user's display name: not blank, at most 1000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn parse(name: String) -> AppResult<Self> {
        let name = storable("name", name)?;
        if name.trim().is_empty() {
            return Err(AppError::invalid("name", "must not be empty"));
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(AppError::invalid(
                "name",
                format!("must be at most {NAME_MAX_CHARS} characters"),
            ));
        }
        Ok(UserName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An email address, in lower case.
///
/// A deliberately small check (one `@`, something on each side, no spaces): the only way to
/// know an address works is to send it mail. Emails are compared and stored in lower case, so
/// uniqueness means the same on every database whatever its collation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(email: String) -> AppResult<Self> {
        let email = storable("email", email)?.trim().to_lowercase();
        if email.chars().count() > EMAIL_MAX_CHARS {
            return Err(AppError::invalid(
                "email",
                format!("must be at most {EMAIL_MAX_CHARS} characters"),
            ));
        }
        let well_formed = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !email.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if !well_formed {
            return Err(AppError::invalid("email", "is not an email address"));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A user to create, with the posts created with them (all or nothing).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: UserName,
    pub email: Email,
    pub posts: Vec<NewPost>,
}

impl NewUser {
    /// Checks every value; errors name the field, e.g. `posts[1].title`.
    pub fn parse(name: String, email: String, posts: Vec<(String, String)>) -> AppResult<Self> {
        let name = UserName::parse(name)?;
        let email = Email::parse(email)?;
        if posts.len() > MAX_POSTS_PER_NEW_USER {
            return Err(AppError::invalid(
                "posts",
                format!("at most {MAX_POSTS_PER_NEW_USER} posts per new user"),
            ));
        }
        let posts = posts
            .into_iter()
            .enumerate()
            .map(|(index, (title, content))| {
                NewPost::parse(title, content)
                    .map_err(|err| err.within(&format!("posts[{index}].")))
            })
            .collect::<AppResult<Vec<_>>>()?;
        NewPost::reject_repeated_titles(&posts, "posts")?;
        Ok(NewUser { name, email, posts })
    }
}

/// Changes to a user; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<UserName>,
    pub email: Option<Email>,
}

impl UserChanges {
    pub fn parse(name: Option<String>, email: Option<String>) -> AppResult<Self> {
        Ok(UserChanges {
            name: name.map(UserName::parse).transpose()?,
            email: email.map(Email::parse).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        let cases = [
            ("Ann@Example.com", Some("ann@example.com")),
            (" ann@example.com ", Some("ann@example.com")),
            ("ann", None),
            ("@example.com", None),
            ("ann@", None),
            ("a b@example.com", None),
            ("a@b@example.com", None),
        ];
        for (input, expected) in cases {
            let got = Email::parse(input.to_string()).ok();
            assert_eq!(got.as_ref().map(Email::as_str), expected, "case {input:?}");
        }
    }

    #[test]
    fn names_must_not_be_blank_or_too_long() {
        assert!(UserName::parse("Ann".into()).is_ok());
        assert!(UserName::parse("  ".into()).is_err());
        assert!(UserName::parse("x".repeat(NAME_MAX_CHARS + 1)).is_err());
        assert!(UserName::parse("é".repeat(NAME_MAX_CHARS)).is_ok());
    }

    #[test]
    fn a_new_user_names_the_post_that_is_wrong() {
        let post = |title: &str| (title.to_string(), String::new());
        let cases = [
            (vec![post("a"), post("")], Some("posts[1].title")),
            (
                vec![post("a"), post("b"), post("a")],
                Some("posts[2].title"),
            ),
            (vec![post("a"), post("b")], None),
        ];
        for (posts, field) in cases {
            let got = NewUser::parse("Ann".into(), "ann@example.com".into(), posts.clone());
            let got_field = match got {
                Err(AppError::InvalidInput { field, .. }) => Some(field),
                _ => None,
            };
            assert_eq!(got_field.as_deref(), field, "case {posts:?}");
        }
        let too_many = vec![post("x"); MAX_POSTS_PER_NEW_USER + 1];
        assert!(NewUser::parse("Ann".into(), "ann@example.com".into(), too_many).is_err());
    }
}
