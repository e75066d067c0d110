//! Reads what the local stack needs from `template.yaml`, so routes, tables,
//! buckets and function settings have one source: the template that deploys them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_yaml_ng::Value;

/// A CloudFormation value: a literal or one of the intrinsic functions used here.
#[derive(Clone, Debug, PartialEq)]
pub enum Intrinsic {
    /// A plain string, number or boolean, as text.
    Literal(String),
    /// `!Ref Name`.
    Ref(String),
    /// `!GetAtt Resource.Attribute`.
    GetAtt(String, String),
    /// Anything else (`!Sub`, `!If`, ...), which only AWS can resolve.
    Other,
}

impl Intrinsic {
    fn of(value: &Value) -> Self {
        match value {
            Value::String(text) => Self::Literal(text.clone()),
            Value::Number(number) => Self::Literal(number.to_string()),
            Value::Bool(flag) => Self::Literal(flag.to_string()),
            Value::Tagged(tagged) => match (tagged.tag.to_string().trim_start_matches('!'), &tagged.value) {
                ("Ref", Value::String(name)) => Self::Ref(name.clone()),
                ("GetAtt", Value::String(path)) => match path.split_once('.') {
                    Some((resource, attribute)) => Self::GetAtt(resource.into(), attribute.into()),
                    None => Self::Other,
                },
                _ => Self::Other,
            },
            Value::Mapping(map) if map.len() == 1 => match map.iter().next() {
                Some((Value::String(key), Value::String(name))) if key == "Ref" => Self::Ref(name.clone()),
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

/// How a listener rule or default action answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Invoke the Lambda function of this target group, after signing the
    /// user in when the rule authenticates (`authenticate-cognito`).
    Forward { target_group: String, authenticate: bool },
    /// Answer with a fixed response.
    Fixed {
        status: u16,
        content_type: String,
        body: String,
    },
}

/// A listener rule: the first matching rule by priority decides.
#[derive(Clone, Debug)]
pub struct ListenerRule {
    pub priority: u32,
    pub path_patterns: Vec<String>,
    pub methods: Vec<String>,
    pub action: Action,
}

/// A Lambda target group.
#[derive(Clone, Debug)]
pub struct TargetGroup {
    pub function: String,
    pub multi_value_headers: bool,
}

/// A function's build and settings.
#[derive(Clone, Debug)]
pub struct Function {
    /// The cargo-lambda binary the function is built from.
    pub binary: String,
    /// Its environment variables, globals first.
    pub environment: BTreeMap<String, Intrinsic>,
    /// The S3 notifications that invoke it.
    pub s3_events: Vec<S3Subscription>,
    /// The DynamoDB streams that invoke it.
    pub stream_events: Vec<StreamSubscription>,
    /// The SQS queues that invoke it.
    pub queue_events: Vec<QueueSubscription>,
    /// How often an EventBridge schedule invokes it, if one does.
    pub schedule: Option<std::time::Duration>,
    /// The statements of its inline policies, as written (see [`super::iam`]).
    pub statements: Vec<Value>,
}

/// A DynamoDB stream event source of a function, as its event source mapping sets it up.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSubscription {
    /// The table's logical id.
    pub table: String,
    pub batch_size: usize,
    /// Retries of a failing batch before it goes to the failure destination.
    pub maximum_retry_attempts: u32,
    /// The `eventName`s the filter lets through; empty lets every record through.
    pub event_names: Vec<String>,
}

/// An SQS event source of a function, as its event source mapping sets it up.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSubscription {
    /// The queue's logical id.
    pub queue: String,
    pub batch_size: usize,
    /// Whether the function names the messages that failed (`ReportBatchItemFailures`);
    /// otherwise a failed invocation leaves the whole batch to be received again.
    pub report_failures: bool,
}

/// An SQS queue definition: what its messages' lifecycle depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueDefinition {
    /// How long a received message stays hidden.
    pub visibility_timeout: std::time::Duration,
    /// The dead-letter queue's logical id and the receives before a message moves there.
    pub redrive: Option<(String, u32)>,
}

/// An S3 event source of a function: objects created in a bucket, filtered by key.
#[derive(Clone, Debug, PartialEq)]
pub struct S3Subscription {
    /// The name of the event in the template, which S3 reports as `configurationId`.
    pub name: String,
    /// The bucket's logical id.
    pub bucket: String,
    pub prefix: String,
    pub suffix: String,
}

/// A DynamoDB table definition.
#[derive(Clone, Debug)]
pub struct Table {
    pub attributes: Vec<(String, String)>,
    pub key: Vec<(String, String)>,
    pub indexes: Vec<Index>,
    /// The attribute holding each item's expiry time, when TTL is enabled.
    pub ttl_attribute: Option<String>,
    /// The stream's view type (`NEW_IMAGE`, ...), when the table has a stream.
    pub stream_view_type: Option<String>,
}

/// A global secondary index.
#[derive(Clone, Debug)]
pub struct Index {
    pub name: String,
    pub key: Vec<(String, String)>,
}

/// What the local stack reads from the template.
#[derive(Debug, Default)]
pub struct Template {
    pub rules: Vec<ListenerRule>,
    pub default_action: Option<Action>,
    pub target_groups: BTreeMap<String, TargetGroup>,
    pub functions: BTreeMap<String, Function>,
    pub tables: BTreeMap<String, Table>,
    pub buckets: Vec<String>,
    /// SQS queues by logical id.
    pub queues: BTreeMap<String, QueueDefinition>,
    /// Buckets' `BucketName`s as written, for resolving policies that name them.
    pub bucket_names: BTreeMap<String, Value>,
    /// Parameters' defaults.
    pub parameters: BTreeMap<String, String>,
}

fn text(value: &Value, what: &str) -> anyhow::Result<String> {
    match Intrinsic::of(value) {
        Intrinsic::Literal(text) => Ok(text),
        other => bail!("{what} must be a literal, found {other:?}"),
    }
}

fn key_schema(value: &Value) -> anyhow::Result<Vec<(String, String)>> {
    value
        .as_sequence()
        .context("KeySchema must be a list")?
        .iter()
        .map(|key| {
            Ok((
                text(&key["AttributeName"], "AttributeName")?,
                text(&key["KeyType"], "KeyType")?,
            ))
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// A rule's actions; `None` for a redirect to HTTPS, which the one plain-HTTP
/// port of the local stack has no use for.
fn action(actions: &Value) -> anyhow::Result<Option<Action>> {
    let mut actions: Vec<&Value> = actions.as_sequence().into_iter().flatten().collect();
    actions.sort_by_key(|a| a["Order"].as_u64().unwrap_or(0));
    let authenticate = actions
        .iter()
        .any(|a| a["Type"].as_str() == Some("authenticate-cognito"));
    let first = actions
        .into_iter()
        .find(|a| a["Type"].as_str() != Some("authenticate-cognito"))
        .context("a rule needs an action")?;
    match first["Type"].as_str() {
        Some("forward") => match Intrinsic::of(&first["TargetGroupArn"]) {
            Intrinsic::Ref(target_group) => Ok(Some(Action::Forward {
                target_group,
                authenticate,
            })),
            other => bail!("forward actions must !Ref a target group, found {other:?}"),
        },
        Some("redirect") => Ok(None),
        Some("fixed-response") => {
            let config = &first["FixedResponseConfig"];
            Ok(Some(Action::Fixed {
                status: text(&config["StatusCode"], "StatusCode")?.parse()?,
                content_type: config["ContentType"].as_str().unwrap_or("text/plain").to_owned(),
                body: config["MessageBody"].as_str().unwrap_or_default().to_owned(),
            }))
        }
        other => bail!("the local ALB does not implement {other:?} actions"),
    }
}

/// The most condition values (path patterns, methods) one ALB listener rule may hold.
const MAX_RULE_VALUES: usize = 5;

/// A listener rule; `None` for rules the local stack has no use for (redirects to HTTPS).
fn listener_rule(name: &str, properties: &Value) -> anyhow::Result<Option<ListenerRule>> {
    let values: usize = properties["Conditions"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|c| {
            strings(&c["Values"]).len()
                + strings(&c["PathPatternConfig"]["Values"]).len()
                + strings(&c["HttpRequestMethodConfig"]["Values"]).len()
        })
        .sum();
    if values > MAX_RULE_VALUES {
        bail!(
            "rule {name} has {values} condition values; an ALB rule holds at most {MAX_RULE_VALUES}, so AWS refuses it"
        );
    }
    let Some(action) = action(&properties["Actions"])? else {
        return Ok(None);
    };
    let mut rule = ListenerRule {
        priority: text(&properties["Priority"], "Priority")?.parse()?,
        path_patterns: Vec::new(),
        methods: Vec::new(),
        action,
    };
    for condition in properties["Conditions"].as_sequence().into_iter().flatten() {
        match condition["Field"].as_str() {
            Some("path-pattern") => {
                rule.path_patterns.extend(strings(&condition["Values"]));
                rule.path_patterns
                    .extend(strings(&condition["PathPatternConfig"]["Values"]));
            }
            Some("http-request-method") => {
                rule.methods
                    .extend(strings(&condition["HttpRequestMethodConfig"]["Values"]));
            }
            other => bail!("rule {name}: the local ALB does not implement {other:?} conditions"),
        }
    }
    Ok(Some(rule))
}

fn target_group(name: &str, properties: &Value) -> anyhow::Result<TargetGroup> {
    let target = properties["Targets"]
        .as_sequence()
        .and_then(|t| t.first())
        .context("no target")?;
    let Intrinsic::GetAtt(function, _) = Intrinsic::of(&target["Id"]) else {
        bail!("target group {name} must target !GetAtt Function.Arn");
    };
    let multi_value_headers = properties["TargetGroupAttributes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|a| {
            a["Key"].as_str() == Some("lambda.multi_value_headers.enabled")
                && matches!(Intrinsic::of(&a["Value"]), Intrinsic::Literal(v) if v == "true")
        });
    Ok(TargetGroup {
        function,
        multi_value_headers,
    })
}

fn s3_subscription(name: &str, event: &Value) -> anyhow::Result<S3Subscription> {
    let properties = &event["Properties"];
    let Intrinsic::Ref(bucket) = Intrinsic::of(&properties["Bucket"]) else {
        bail!("S3 event {name} must !Ref a bucket of the template");
    };
    let rule = |wanted: &str| {
        properties["Filter"]["S3Key"]["Rules"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|r| r["Name"].as_str() == Some(wanted))
            .and_then(|r| r["Value"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(S3Subscription {
        name: name.to_owned(),
        bucket,
        prefix: rule("prefix"),
        suffix: rule("suffix"),
    })
}

fn stream_subscription(name: &str, event: &Value) -> anyhow::Result<StreamSubscription> {
    let properties = &event["Properties"];
    let Intrinsic::GetAtt(table, attribute) = Intrinsic::of(&properties["Stream"]) else {
        bail!("DynamoDB event {name} must !GetAtt a table's StreamArn");
    };
    if attribute != "StreamArn" {
        bail!("DynamoDB event {name} must use {table}.StreamArn");
    }
    let mut event_names = Vec::new();
    for filter in properties["FilterCriteria"]["Filters"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let pattern: serde_json::Value = serde_json::from_str(filter["Pattern"].as_str().unwrap_or("{}"))
            .with_context(|| format!("DynamoDB event {name} has a filter pattern that is not JSON"))?;
        for (key, value) in pattern.as_object().into_iter().flatten() {
            if key != "eventName" {
                bail!("DynamoDB event {name}: the local stack only filters on eventName");
            }
            event_names.extend(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned)),
            );
        }
    }
    let number = |key: &str, default: u64| properties[key].as_u64().unwrap_or(default);
    Ok(StreamSubscription {
        table,
        batch_size: number("BatchSize", 100) as usize,
        maximum_retry_attempts: number("MaximumRetryAttempts", 3) as u32,
        event_names,
    })
}

fn queue_subscription(name: &str, event: &Value) -> anyhow::Result<QueueSubscription> {
    let properties = &event["Properties"];
    let Intrinsic::GetAtt(queue, attribute) = Intrinsic::of(&properties["Queue"]) else {
        bail!("SQS event {name} must !GetAtt a queue's Arn");
    };
    if attribute != "Arn" {
        bail!("SQS event {name} must use {queue}.Arn");
    }
    let report_failures = properties["FunctionResponseTypes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|t| t.as_str() == Some("ReportBatchItemFailures"));
    Ok(QueueSubscription {
        queue,
        batch_size: properties["BatchSize"].as_u64().unwrap_or(10) as usize,
        report_failures,
    })
}

fn queue(name: &str, properties: &Value) -> anyhow::Result<QueueDefinition> {
    let redrive = &properties["RedrivePolicy"];
    let redrive = if redrive.is_null() {
        None
    } else {
        let Intrinsic::GetAtt(target, _) = Intrinsic::of(&redrive["deadLetterTargetArn"]) else {
            bail!("queue {name}: the redrive policy must !GetAtt its dead-letter queue's Arn");
        };
        let receives = redrive["maxReceiveCount"]
            .as_u64()
            .with_context(|| format!("queue {name}: maxReceiveCount"))?;
        Some((target, receives as u32))
    };
    Ok(QueueDefinition {
        visibility_timeout: std::time::Duration::from_secs(properties["VisibilityTimeout"].as_u64().unwrap_or(30)),
        redrive,
    })
}

/// An EventBridge `rate(...)` expression as an interval.
fn rate(expression: &str) -> anyhow::Result<std::time::Duration> {
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .with_context(|| format!("the local stack runs rate(...) schedules only, not {expression}"))?;
    let (count, unit) = inner.split_once(' ').context("rate(<number> <unit>)")?;
    let count: u64 = count.parse().context("rate(<number> <unit>)")?;
    let seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        other => bail!("unknown rate unit {other}"),
    };
    Ok(std::time::Duration::from_secs(count * seconds))
}

fn function(name: &str, resource: &Value, global_environment: &Value) -> anyhow::Result<Function> {
    let properties = &resource["Properties"];
    let binary = text(
        &resource["Metadata"]["BuildProperties"]["Binary"],
        "BuildProperties.Binary",
    )
    .with_context(|| format!("function {name}"))?;
    let mut environment = BTreeMap::new();
    for variables in [global_environment, &properties["Environment"]["Variables"]] {
        for (key, value) in variables.as_mapping().into_iter().flatten() {
            environment.insert(key.as_str().unwrap_or_default().to_owned(), Intrinsic::of(value));
        }
    }
    let s3_events = properties["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, event)| event["Type"].as_str() == Some("S3"))
        .map(|(event_name, event)| s3_subscription(event_name.as_str().unwrap_or_default(), event))
        .collect::<anyhow::Result<_>>()
        .with_context(|| format!("function {name}"))?;
    let stream_events = properties["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, event)| event["Type"].as_str() == Some("DynamoDB"))
        .map(|(event_name, event)| stream_subscription(event_name.as_str().unwrap_or_default(), event))
        .collect::<anyhow::Result<_>>()
        .with_context(|| format!("function {name}"))?;
    let queue_events = properties["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, event)| event["Type"].as_str() == Some("SQS"))
        .map(|(event_name, event)| queue_subscription(event_name.as_str().unwrap_or_default(), event))
        .collect::<anyhow::Result<_>>()
        .with_context(|| format!("function {name}"))?;
    let schedule = properties["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .find(|(_, event)| event["Type"].as_str() == Some("Schedule"))
        .map(|(_, event)| rate(event["Properties"]["Schedule"].as_str().unwrap_or_default()))
        .transpose()
        .with_context(|| format!("function {name}"))?;
    let statements = properties["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|policy| policy["Statement"].as_sequence().cloned().unwrap_or_default())
        .collect();
    Ok(Function {
        statements,
        binary,
        environment,
        s3_events,
        stream_events,
        queue_events,
        schedule,
    })
}

fn table(properties: &Value) -> anyhow::Result<Table> {
    let attributes = properties["AttributeDefinitions"]
        .as_sequence()
        .context("AttributeDefinitions")?
        .iter()
        .map(|a| {
            Ok((
                text(&a["AttributeName"], "AttributeName")?,
                text(&a["AttributeType"], "AttributeType")?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let indexes = properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|i| {
            Ok(Index {
                name: text(&i["IndexName"], "IndexName")?,
                key: key_schema(&i["KeySchema"])?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let ttl = &properties["TimeToLiveSpecification"];
    let ttl_attribute = (ttl["Enabled"].as_bool() == Some(true))
        .then(|| ttl["AttributeName"].as_str().map(str::to_owned))
        .flatten();
    Ok(Table {
        attributes,
        key: key_schema(&properties["KeySchema"])?,
        indexes,
        ttl_attribute,
        stream_view_type: properties["StreamSpecification"]["StreamViewType"]
            .as_str()
            .map(str::to_owned),
    })
}

impl Template {
    /// Reads a SAM template.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let source = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&source).with_context(|| format!("cannot use {}", path.display()))
    }

    /// Parses a SAM template's text.
    pub fn parse(source: &str) -> anyhow::Result<Self> {
        let document: Value = serde_yaml_ng::from_str(source)?;
        let global_environment = &document["Globals"]["Function"]["Environment"]["Variables"];
        let mut template = Self::default();
        for (name, parameter) in document["Parameters"].as_mapping().into_iter().flatten() {
            if let (Some(name), Some(default)) = (name.as_str(), parameter["Default"].as_str()) {
                template.parameters.insert(name.to_owned(), default.to_owned());
            }
        }
        for (name, resource) in document["Resources"]
            .as_mapping()
            .context("the template has no Resources")?
        {
            let name = name.as_str().context("resource names are strings")?.to_owned();
            let properties = &resource["Properties"];
            match resource["Type"].as_str() {
                Some("AWS::ElasticLoadBalancingV2::ListenerRule") => {
                    template.rules.extend(listener_rule(&name, properties)?)
                }
                // The plain-HTTP listener's default answers what no rule routes; the
                // HTTPS listener's rules (the portals) are served on the same local port.
                Some("AWS::ElasticLoadBalancingV2::Listener") if properties["Port"].as_u64() == Some(80) => {
                    template.default_action = action(&properties["DefaultActions"])?;
                }
                Some("AWS::ElasticLoadBalancingV2::TargetGroup") => {
                    let group = target_group(&name, properties)?;
                    template.target_groups.insert(name, group);
                }
                Some("AWS::Serverless::Function") => {
                    let function = function(&name, resource, global_environment)?;
                    template.functions.insert(name, function);
                }
                Some("AWS::DynamoDB::Table") => {
                    let table = table(properties).with_context(|| format!("table {name}"))?;
                    template.tables.insert(name, table);
                }
                Some("AWS::SQS::Queue") => {
                    let queue = queue(&name, properties)?;
                    template.queues.insert(name, queue);
                }
                Some("AWS::S3::Bucket") => {
                    if !properties["BucketName"].is_null() {
                        template
                            .bucket_names
                            .insert(name.clone(), properties["BucketName"].clone());
                    }
                    template.buckets.push(name)
                }
                _ => {}
            }
        }
        template.rules.sort_by_key(|rule| rule.priority);
        Ok(template)
    }
}

/// The local name of a bucket: S3 names are lower-case.
pub fn local_bucket_name(logical_id: &str) -> String {
    format!("seccom-{}", logical_id.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
Globals:
  Function:
    Environment:
      Variables:
        SHARED: one
Resources:
  Api:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: api } }
    Properties:
      Environment: { Variables: { TABLE: !Ref Data, ARN: !GetAtt Data.Arn, SUBBED: !Sub "x-${AWS::Region}" } }
      Events:
        Uploaded:
          Type: S3
          Properties:
            Bucket: !Ref Frames
            Events: s3:ObjectCreated:*
            Filter: { S3Key: { Rules: [{ Name: prefix, Value: frames/ }] } }
  ApiTargets:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      TargetType: lambda
      Targets: [{ Id: !GetAtt Api.Arn }]
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Port: 80
      DefaultActions: [{ Type: fixed-response, FixedResponseConfig: { StatusCode: "404", ContentType: text/plain, MessageBody: nope } }]
  Late:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Priority: 20
      Conditions: [{ Field: path-pattern, PathPatternConfig: { Values: ["/b*"] } }]
      Actions: [{ Type: forward, TargetGroupArn: { Ref: ApiTargets } }]
  Early:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Priority: 10
      Conditions: [{ Field: path-pattern, Values: ["/a*"] }]
      Actions: [{ Type: forward, TargetGroupArn: !Ref ApiTargets }]
  Data:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      TimeToLiveSpecification: { AttributeName: expiresAt, Enabled: true }
  Frames:
    Type: AWS::S3::Bucket
"#;

    #[test]
    fn reads_routes_functions_tables_and_buckets() {
        let template = Template::parse(SAMPLE).unwrap();
        assert_eq!(template.rules.iter().map(|r| r.priority).collect::<Vec<_>>(), [10, 20]);
        assert_eq!(template.rules[0].path_patterns, ["/a*"]);
        assert_eq!(
            template.rules[1].action,
            Action::Forward {
                target_group: "ApiTargets".into(),
                authenticate: false,
            }
        );
        assert_eq!(template.target_groups["ApiTargets"].function, "Api");
        let api = &template.functions["Api"];
        assert_eq!(api.binary, "api");
        assert_eq!(api.environment["SHARED"], Intrinsic::Literal("one".into()));
        assert_eq!(api.environment["TABLE"], Intrinsic::Ref("Data".into()));
        assert_eq!(api.environment["ARN"], Intrinsic::GetAtt("Data".into(), "Arn".into()));
        assert_eq!(api.environment["SUBBED"], Intrinsic::Other);
        assert!(matches!(
            template.default_action,
            Some(Action::Fixed { status: 404, .. })
        ));
        assert_eq!(template.tables["Data"].key, [("pk".to_owned(), "HASH".to_owned())]);
        assert_eq!(template.buckets, ["Frames"]);
        assert_eq!(template.tables["Data"].ttl_attribute.as_deref(), Some("expiresAt"));
        let subscription = S3Subscription {
            name: "Uploaded".into(),
            bucket: "Frames".into(),
            prefix: "frames/".into(),
            suffix: String::new(),
        };
        assert_eq!(api.s3_events, [subscription]);
        assert_eq!(local_bucket_name("Frames"), "seccom-frames");
    }

    #[test]
    fn a_rule_with_more_values_than_the_alb_takes_is_refused() {
        let source = r#"
Resources:
  Crowded:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Priority: 1
      Conditions: [{ Field: path-pattern, PathPatternConfig: { Values: ["/a", "/b", "/c", "/d", "/e", "/f"] } }]
      Actions: [{ Type: redirect, RedirectConfig: { Protocol: HTTPS } }]
"#;
        let error = Template::parse(source).unwrap_err().to_string();
        assert!(error.contains("at most 5"), "{error}");
    }
}
