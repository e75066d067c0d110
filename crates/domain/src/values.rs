//! Validated values: parse once at the edge, then carry types that cannot be invalid.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why one input field was refused; collected so a form can show every problem at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The JSON field name, as the caller sent it.
    pub name: String,
    /// A sentence a person can act on.
    pub reason: String,
}

/// Accumulates field errors while a request body is parsed into domain values.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Parses one field, remembering its error under `name` instead of stopping at the first one.
    pub fn check<T>(&mut self, name: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(reason) => {
                self.0.push(FieldError {
                    name: name.to_owned(),
                    reason,
                });
                None
            }
        }
    }

    /// Adds an error found by a rule that spans the whole request, such as a missing parent.
    pub fn push(&mut self, name: &str, reason: impl Into<String>) {
        self.0.push(FieldError {
            name: name.to_owned(),
            reason: reason.into(),
        });
    }

    /// The collected errors, or `Ok` when every field parsed.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// A `from`..`to` filter of a list: `from` after `to` is a bad query (400), not an empty list.
pub fn ordered_range<T: PartialOrd>(from: Option<T>, to: Option<T>) -> Result<(), crate::error::DomainError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => Err(crate::error::DomainError::InvalidQuery(vec![FieldError {
            name: "from".into(),
            reason: "from must not be after to".into(),
        }])),
        _ => Ok(()),
    }
}

/// Characters that change how text reads without showing: bidirectional
/// overrides and isolates, zero-width characters, line and paragraph separators,
/// the byte order mark. A name with them can pose as another name.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{FEFF}'
    )
}

fn visible_text(raw: &str, max_chars: usize, what: &str) -> Result<String, String> {
    // Lengths are counted as sent, before trimming, as the documents' `maxLength` reads them.
    if raw.chars().count() > max_chars {
        return Err(format!("{what} must be at most {max_chars} characters"));
    }
    // Characters are checked as sent too, as the documents' `pattern` reads
    // them: trimming must not make a line break or a control character acceptable.
    if raw.chars().any(char::is_control) {
        return Err(format!("{what} must be one line without control characters"));
    }
    if raw.chars().any(invisible) {
        return Err(format!(
            "{what} must not contain invisible or direction-changing characters"
        ));
    }
    let text = raw.trim();
    if text.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    Ok(text.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// A display name of a client, site or device: trimmed, 1 to 120 characters, one line.
    Name
);
text_value!(
    /// A postal address of a site: trimmed, 1 to 300 characters, one line.
    Address
);
text_value!(
    /// An e-mail address, checked for shape only: delivery is the proof that matters.
    Email
);
text_value!(
    /// A phone number in E.164 form (`+` and 8 to 15 digits), so SMS gateways accept it.
    Phone
);

impl Name {
    /// Accepts a one-line display name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        visible_text(raw, 120, "name").map(Self)
    }

    /// The key that orders names in lists regardless of case.
    pub fn sort_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl Address {
    /// Accepts a postal address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        visible_text(raw, 300, "address").map(Self)
    }
}

impl Email {
    /// Accepts an RFC 5322 address (parsed by the `email_address` crate) of up to
    /// 254 characters, without display name or whitespace, at a dotted domain.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        let options = email_address::Options::default().without_display_text();
        let valid = raw.chars().count() <= 254
            && !text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || invisible(c))
            && email_address::EmailAddress::parse_with_options(text, options).is_ok_and(|address| {
                let domain = address.domain();
                domain.contains('.') && !domain.starts_with('[') && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err("email must look like name@example.com".into())
        }
    }
}

impl Phone {
    /// Accepts E.164 numbers, ignoring the spaces, dashes and brackets people type.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or_default();
        if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0') {
            Ok(Self(compact))
        } else {
            Err("phone must be in international form, such as +44 20 7946 0958".into())
        }
    }
}

/// Whether `text` uses only the characters a URI may hold (RFC 3986), with
/// every `%` starting an escape: what the API documents' `uri` format means.
fn is_uri_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(index, &byte)| match byte {
        b'%' => bytes
            .get(index + 1..index + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => true,
        _ => b"-._~:/?#[]@!$&'()*+,;=".contains(&byte),
    })
}

/// The longest URL accepted (as the API documents state).
pub const MAX_URL_LENGTH: usize = 2048;

/// Accepts an absolute `http` or `https` URL of at most [`MAX_URL_LENGTH`]
/// characters without embedded credentials: where SecCom posts webhooks and
/// device commands.
pub fn http_url(raw: &str) -> Result<String, String> {
    if raw.chars().count() > MAX_URL_LENGTH {
        return Err(format!("must be at most {MAX_URL_LENGTH} characters"));
    }
    let raw = raw.trim();
    if !is_uri_text(raw) {
        return Err("must be a URI: escape spaces and other characters as %XX".into());
    }
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an absolute http(s) URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_uris_as_rfc_3986_writes_them() {
        assert!(http_url("https://hooks.example.com/a%20b?x=1&y=[2]#top").is_ok());
        for refused in [
            "https://hooks.example.com/a b",
            "https://0G:883/u-_H>E<Le",
            "https://hooks.example.com/%zz",
            "https://hooks.example.com/caf\u{e9}",
            "https://hooks.example.com/{x}",
        ] {
            assert!(http_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn names_are_trimmed_single_lines() {
        assert_eq!(Name::parse("  Lobby  ").unwrap().as_str(), "Lobby");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("two\nlines").is_err());
        // What the documents' pattern refuses, a line break or a control
        // character that trimming would have taken off is refused too.
        for edged in ["\nLobby", "Lobby\r\n", "\tLobby", "Lobby\u{85}"] {
            assert!(Name::parse(edged).is_err(), "{edged:?} accepted");
            assert!(Address::parse(edged).is_err(), "{edged:?} accepted as an address");
        }
        assert!(Name::parse(&"x".repeat(121)).is_err());
        assert_eq!(Name::parse("<script>").unwrap().as_str(), "<script>");
    }

    #[test]
    fn lengths_count_what_was_sent_before_trimming() {
        // The documents' `maxLength` counts the string as sent; so does the API.
        let padded = format!("Lobby{}", " ".repeat(120));
        assert!(Name::parse(&padded).is_err());
        assert!(Email::parse(&format!("ops@example.com{}", " ".repeat(250))).is_err());
        assert!(http_url(&format!("https://example.com/{}", " ".repeat(2048))).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ops@example.com").is_ok());
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "o ps@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(Phone::parse("+44 (20) 7946-0958").unwrap().as_str(), "+442079460958");
        for bad in ["07946 0958", "+12", "+44 abc 123456", "+0123456789"] {
            assert!(Phone::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn field_errors_collect_every_problem() {
        let mut errors = FieldErrors::default();
        assert!(errors.check("name", Name::parse("")).is_none());
        assert!(errors.check("email", Email::parse("x")).is_none());
        assert_eq!(errors.finish().unwrap_err().len(), 2);
    }

    #[test]
    fn names_refuse_characters_that_disguise_them() {
        for disguised in [
            "Lobby\u{202E}ydboL",
            "Lo\u{200B}bby",
            "Lobby\u{2028}2",
            "\u{FEFF}Lobby",
            "Lob\u{2066}by",
        ] {
            assert!(Name::parse(disguised).is_err(), "{disguised:?} accepted");
        }
        assert!(Name::parse("Café Lisboa – Armazém").is_ok());
    }

    #[test]
    fn email_addresses_are_parsed_not_guessed() {
        for bad in [
            "\"><svg/onload=alert(5)>@x.com",
            "Ops <ops@example.com>",
            "ops@[127.0.0.1]",
            "ops@localhost",
            "ops\u{202E}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse("first.last+alerts@example.co.uk").is_ok());
    }
}
