//! CloudWatch metrics in the Embedded Metric Format: each function prints
//! one JSON record per batch of work to its log, and CloudWatch turns the
//! record into metrics (namespace `SecCom`, dimension `Function`) without any
//! API call. Locally, `METRICS_FILE` collects the same records in one file for
//! `seccom metrics`.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use seccom_domain::config::{Config, METRICS_FILE};

/// The namespace of every SecCom metric.
pub const NAMESPACE: &str = "SecCom";

/// Where a function's metric records go.
#[derive(Clone, Debug)]
pub struct Metrics {
    function: String,
    file: Option<PathBuf>,
}

impl Metrics {
    /// Metrics of `function`, to its log (or to `METRICS_FILE` when set).
    pub fn from_config(config: &Config, function: &str) -> Self {
        Self {
            function: function.to_owned(),
            file: config.optional(METRICS_FILE).map(PathBuf::from),
        }
    }

    /// The EMF record of these values: (name, value, CloudWatch unit).
    pub fn record(&self, values: &[(&str, f64, &str)]) -> Value {
        self.record_about(values, &[])
    }

    /// The EMF record of these values with `properties` beside them: fields of
    /// the log record (such as `CameraId`) that CloudWatch Logs Insights can
    /// group by, and not dimensions, each of which would be a metric of its
    /// own ($0.30 a month per camera).
    pub fn record_about(&self, values: &[(&str, f64, &str)], properties: &[(&str, &str)]) -> Value {
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit }))
            .collect();
        let mut record = Map::new();
        record.insert(
            "_aws".into(),
            json!({
                "Timestamp": chrono::Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": definitions }],
            }),
        );
        record.insert("Function".into(), json!(self.function));
        for (name, value, _) in values {
            record.insert((*name).into(), json!(value));
        }
        for (name, value) in properties {
            record.insert((*name).into(), json!(value));
        }
        Value::Object(record)
    }

    /// Writes one record; a metric that cannot be written is logged, never an error of the work it counts.
    pub fn emit(&self, values: &[(&str, f64, &str)]) {
        self.emit_about(values, &[]);
    }

    /// Writes one record with `properties` beside its values (see [`Self::record_about`]).
    pub fn emit_about(&self, values: &[(&str, f64, &str)], properties: &[(&str, &str)]) {
        let line = self.record_about(values, properties).to_string();
        match &self.file {
            None => println!("{line}"),
            Some(path) => {
                let written = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|mut file| writeln!(file, "{line}"));
                if let Err(error) = written {
                    tracing::warn!(%error, path = %path.display(), "cannot write a metric record");
                }
            }
        }
    }
}

/// Checks that a record follows the Embedded Metric Format: `_aws` with a
/// millisecond timestamp and metric directives, every dimension and metric
/// named in a directive present at the top level, every metric a number.
pub fn validate(record: &Value) -> Result<(), String> {
    let metadata = record.get("_aws").ok_or("no _aws member")?;
    metadata["Timestamp"]
        .as_i64()
        .ok_or("_aws.Timestamp is not an integer")?;
    let directives = metadata["CloudWatchMetrics"]
        .as_array()
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics is not a non-empty array")?;
    for directive in directives {
        directive["Namespace"].as_str().ok_or("a directive has no Namespace")?;
        for set in directive["Dimensions"]
            .as_array()
            .ok_or("a directive has no Dimensions")?
        {
            for dimension in set.as_array().ok_or("a dimension set is not an array")? {
                let name = dimension.as_str().ok_or("a dimension name is not text")?;
                record[name]
                    .as_str()
                    .ok_or(format!("dimension {name} has no text value"))?;
            }
        }
        for metric in directive["Metrics"].as_array().ok_or("a directive has no Metrics")? {
            let name = metric["Name"].as_str().ok_or("a metric has no Name")?;
            record[name]
                .as_f64()
                .ok_or(format!("metric {name} has no numeric value"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_valid_embedded_metric_format() {
        let metrics = Metrics {
            function: "human-detection".into(),
            file: None,
        };
        let record = metrics.record(&[
            ("FramesProcessed", 3.0, "Count"),
            ("InferenceMilliseconds", 61.5, "Milliseconds"),
        ]);
        assert_eq!(validate(&record), Ok(()));
        assert_eq!(record["FramesProcessed"], 3.0);
        let mut broken = record.clone();
        broken.as_object_mut().unwrap().remove("Function");
        assert!(validate(&broken).is_err());
    }
}
