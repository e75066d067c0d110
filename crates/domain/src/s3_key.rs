//! Object keys as S3 event notifications carry them.

/// Decodes a notification's object key: S3 sends `+` for a space and
/// percent-encodes everything else that is not plain.
pub fn from_notification(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn notification_keys_are_url_decoded() {
        assert_eq!(super::from_notification("frames/a%2Bb/c+d%20e"), "frames/a+b/c d e");
    }
}
