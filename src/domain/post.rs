//! A post's title, and a new post.

use crate::domain::text::storable;
use crate::error::{AppError, AppResult};

const TITLE_MAX_CHARS: usize = 250;

/// A post title: not blank, at most 250 characters. Unique across posts (the database's
/// unique index decides that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(title: String) -> AppResult<Self> {
        let title = storable("title", title)?;
        if title.trim().is_empty() {
            return Err(AppError::invalid("title", "must not be empty"));
        }
        if title.chars().count() > TITLE_MAX_CHARS {
            return Err(AppError::invalid(
                "title",
                format!("must be at most {TITLE_MAX_CHARS} characters"),
            ));
        }
        Ok(Title(title))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A validated title and content, ready to insert.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub title: Title,
    pub content: String,
}

impl NewPost {
    pub fn parse(title: String, content: String) -> AppResult<Self> {
        Ok(NewPost {
            title: Title::parse(title)?,
            content: storable("content", content)?,
        })
    }

    /// Two posts of one input with the same title can never both be written: say which.
    pub fn reject_repeated_titles(posts: &[NewPost], field: &str) -> AppResult<()> {
        for (index, post) in posts.iter().enumerate() {
            if posts[..index]
                .iter()
                .any(|earlier| earlier.title == post.title)
            {
                return Err(AppError::invalid(
                    format!("{field}[{index}].title"),
                    "repeats the title of an earlier post in this input",
                ));
            }
        }
        Ok(())
    }
}

/// Changes to a post; `None` leaves a value as it is. A new author moves the post.
#[derive(Debug, Clone, Default)]
pub struct PostChanges {
    pub title: Option<Title>,
    pub content: Option<String>,
    pub author_id: Option<i32>,
}

impl PostChanges {
    pub fn parse(
        title: Option<String>,
        content: Option<String>,
        author_id: Option<i32>,
    ) -> AppResult<Self> {
        Ok(PostChanges {
            title: title.map(Title::parse).transpose()?,
            content: content
                .map(|content| storable("content", content))
                .transpose()?,
            author_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_must_not_be_blank_or_too_long() {
        let cases = [
            ("Hello".to_string(), true),
            (" ".to_string(), false),
            ("t".repeat(TITLE_MAX_CHARS), true),
            ("t".repeat(TITLE_MAX_CHARS + 1), false),
        ];
        for (title, ok) in cases {
            assert_eq!(Title::parse(title.clone()).is_ok(), ok, "case {title:?}");
        }
    }
}
