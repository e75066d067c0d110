//! The objects an S3 event notification names, checked: each record must name
//! its bucket and a key (URL-decoded here, as S3 encodes it). A record that
//! does not is logged and passed over: no retry can make it readable.

use aws_lambda_events::s3::{S3Event, S3EventRecord};
use chrono::{DateTime, Utc};

/// One object a notification announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifiedObject {
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
    /// The object's version, in a versioned bucket.
    pub version: Option<String>,
    /// Its size in bytes, as the notification states it.
    pub size: u64,
    /// When S3 sent the notification.
    pub event_time: DateTime<Utc>,
}

impl NotifiedObject {
    /// The object `record` names, or why it names none.
    pub fn read(record: &S3EventRecord) -> Result<Self, &'static str> {
        let bucket = record
            .s3
            .bucket
            .name
            .clone()
            .filter(|name| !name.is_empty())
            .ok_or("the record names no bucket")?;
        let key = record
            .s3
            .object
            .key
            .as_deref()
            .filter(|key| !key.is_empty())
            .map(seccom_domain::s3_key::from_notification)
            .ok_or("the record names no object key")?;
        let size = match record.s3.object.size {
            None => 0,
            Some(size) => u64::try_from(size).map_err(|_| "the record states a negative size")?,
        };
        Ok(Self {
            bucket,
            key,
            version: record.s3.object.version_id.clone(),
            size,
            event_time: record.event_time,
        })
    }

    /// Every object `event` names, in order; records that name none are logged and left out.
    pub fn all(event: &S3Event) -> Vec<Self> {
        event
            .records
            .iter()
            .filter_map(|record| {
                Self::read(record)
                    .inspect_err(
                        |reason| tracing::error!(reason, event = ?record.event_name, "an S3 record passed over"),
                    )
                    .ok()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(records: serde_json::Value) -> S3Event {
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn record(bucket: Option<&str>, key: Option<&str>, size: i64) -> serde_json::Value {
        serde_json::json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2026-12-08T02:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {}, "requestParameters": {}, "responseElements": {},
            "s3": {
                "s3SchemaVersion": "1.0", "configurationId": "frames",
                "bucket": { "name": bucket, "ownerIdentity": {}, "arn": "arn:aws:s3:::b" },
                "object": { "key": key, "size": size, "versionId": "v1", "sequencer": "00" }
            }
        })
    }

    #[test]
    fn a_record_is_read_with_its_key_decoded() {
        let read = NotifiedObject::all(&event(serde_json::json!([record(
            Some("frames-bucket"),
            Some("frames/cam/00000000000000000001+copy%2B1"),
            42
        )])));
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].bucket, "frames-bucket");
        assert_eq!(read[0].key, "frames/cam/00000000000000000001 copy+1");
        assert_eq!((read[0].size, read[0].version.as_deref()), (42, Some("v1")));
        assert_eq!(read[0].event_time.to_rfc3339(), "2026-12-08T02:00:00+00:00");
    }

    #[test]
    fn records_without_a_bucket_or_key_or_with_a_negative_size_are_passed_over() {
        let records = serde_json::json!([
            record(None, Some("frames/x"), 1),
            record(Some("b"), None, 1),
            record(Some("b"), Some(""), 1),
            record(Some("b"), Some("frames/x"), -1),
            record(Some("b"), Some("frames/y"), 1),
        ]);
        let read = NotifiedObject::all(&event(records));
        assert_eq!(read.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["frames/y"]);
    }
}
