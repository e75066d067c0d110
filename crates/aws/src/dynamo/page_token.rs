//! Continuation tokens for DynamoDB queries: an opaque encoding of the
//! `LastEvaluatedKey`, accepted only for the list it came from, so a token
//! cannot steer a query into another partition (another tenant's records).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use seccom_domain::error::DomainError;

/// The list a query reads: its key attributes, partition and sort-key prefix.
pub(crate) struct ListKey<'a> {
    /// The table's own key attributes.
    pub(crate) table_keys: &'a [&'a str],
    /// The queried partition: attribute and value.
    pub(crate) partition: (&'a str, &'a str),
    /// The sort attribute and the prefix every item of the list has.
    pub(crate) sort: (&'a str, &'a str),
}

/// Serialises a `LastEvaluatedKey` (string attributes only) as a token.
pub(crate) fn encode(key: &HashMap<String, AttributeValue>) -> String {
    let plain: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(name, value)| value.as_s().ok().map(|v| (name.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).expect("a string map serialises"))
}

/// The `ExclusiveStartKey` a token stands for, if it was issued for `list`.
pub(crate) fn decode(token: &str, list: &ListKey<'_>) -> Result<HashMap<String, AttributeValue>, DomainError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| DomainError::BadPageToken)?;
    let plain: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| DomainError::BadPageToken)?;
    let (partition_attribute, partition_value) = list.partition;
    let (sort_attribute, prefix) = list.sort;
    let expected: BTreeSet<&str> = list
        .table_keys
        .iter()
        .copied()
        .chain([partition_attribute, sort_attribute])
        .collect();
    let belongs = plain.keys().map(String::as_str).collect::<BTreeSet<_>>() == expected
        && plain[partition_attribute] == partition_value
        && plain[sort_attribute].starts_with(prefix);
    if !belongs {
        return Err(DomainError::BadPageToken);
    }
    Ok(plain
        .into_iter()
        .map(|(name, value)| (name, AttributeValue::S(value)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list<'a>(partition: (&'a str, &'a str), prefix: &'a str) -> ListKey<'a> {
        ListKey {
            table_keys: &["pk"],
            partition,
            sort: ("sortKey", prefix),
        }
    }

    #[test]
    fn tokens_only_continue_the_list_they_came_from() {
        let key: HashMap<_, _> = [("pk", "SITE#1"), ("parentKey", "CLIENT#a"), ("sortKey", "SITE#lobby#1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
            .collect();
        let token = encode(&key);
        assert_eq!(decode(&token, &list(("parentKey", "CLIENT#a"), "SITE#")).unwrap(), key);
        assert!(decode(&token, &list(("parentKey", "CLIENT#b"), "SITE#")).is_err());
        assert!(decode(&token, &list(("parentKey", "CLIENT#a"), "CAMERA#")).is_err());
        assert!(decode(&token, &list(("entity", "SITE"), "SITE#")).is_err());
        assert!(decode("!!!", &list(("parentKey", "CLIENT#a"), "SITE#")).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn tokens_from_anyone_are_refused_cleanly(token in proptest::prelude::any::<String>()) {
            let _ = decode(&token, &list(("parentKey", "CLIENT#1"), "SITE#"));
        }

        #[test]
        fn issued_tokens_come_back_as_issued(site in "[a-zA-Z0-9#:._-]{0,40}") {
            let key: HashMap<_, _> = [("pk", format!("SITE#{site}")), ("parentKey", "CLIENT#1".into()), ("sortKey", format!("SITE#{site}"))]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
                .collect();
            proptest::prop_assert_eq!(decode(&encode(&key), &list(("parentKey", "CLIENT#1"), "SITE#")).unwrap(), key);
        }
    }
}
