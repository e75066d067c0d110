//! The functions the local stack runs in-process, by cargo-lambda binary name,
//! with the environment `template.yaml` gives them in AWS: HTTP functions
//! behind the ALB stand-in, event functions behind S3 notifications, DynamoDB
//! streams and SQS queues.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use aws_config::SdkConfig;
use axum::Router;
use clip_archiver::ClipArchiver;
use device_health::DeviceHealth;
use footage_retention::FootageRetention;
use human_detection::HumanDetection;
use intrusion_responder::IntrusionResponder;
use notifier::NotifierFunction;
use seccom_domain::config::Config;
use seccom_runtime::runner::json_handler;

use super::alb::{Listener, Target};
use super::notifications::{EventFunction, Notifier, Subscription};
use super::queue_mappings::QueueMapping;
use super::sign_in::LocalSignIn;
use super::streams::StreamMapping;
use super::template::{Function, Intrinsic, Template, local_bucket_name};
use super::{ACCOUNT, Endpoints, REGION};

/// A function, ready to be invoked.
enum Built {
    Http(Router),
    Events(EventFunction),
}

/// Builds a function from its settings, as its `main.rs` does in Lambda.
fn build(binary: &str, sdk: &SdkConfig, config: &Config) -> anyhow::Result<Built> {
    match binary {
        "sites-management-api" => Ok(Built::Http(sites_management_api::app(sdk, config)?)),
        "cameras-api" => Ok(Built::Http(cameras_api::app(sdk, config)?)),
        "intrusion-management-api" => Ok(Built::Http(intrusion_management_api::app(sdk, config)?)),
        "client-web-ui" => Ok(Built::Http(client_web_ui::app(sdk, config)?)),
        "manager-web-ui" => Ok(Built::Http(manager_web_ui::app(sdk, config)?)),
        "human-detection" => Ok(Built::Events(json_handler(HumanDetection::new(sdk, config)?))),
        "intrusion-responder" => Ok(Built::Events(json_handler(IntrusionResponder::new(sdk, config)?))),
        "notifier" => Ok(Built::Events(json_handler(NotifierFunction::new(sdk, config)?))),
        "device-health" => Ok(Built::Events(json_handler(DeviceHealth::new(sdk, config)?))),
        "footage-retention" => Ok(Built::Events(json_handler(FootageRetention::new(sdk, config)?))),
        "clip-archiver" => Ok(Built::Events(json_handler(ClipArchiver::new(sdk, config)?))),
        other => bail!("the local stack does not know the function binary {other}"),
    }
}

/// The SDK settings of one function: its own credentials, so the local
/// DynamoDB and S3 hold it to its policy in the template.
fn signed_as(sdk: &SdkConfig, function: &str) -> SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new(
        super::iam::access_key(function),
        super::iam::secret_key(function),
        None,
        None,
        "seccom-local-function",
    );
    sdk.to_builder()
        .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(credentials))
        .build()
}

/// A function's environment in the local stack: template values with table and
/// bucket names resolved, local endpoints and identity settings for what only AWS can resolve.
fn environment(
    name: &str,
    function: &Function,
    template: &Template,
    endpoints: &Endpoints,
    settings: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let local = endpoints.environment();
    let mut variables = BTreeMap::new();
    for (key, value) in &function.environment {
        let resolved = match (local.get(key.as_str()), value) {
            (Some(local_value), _) => local_value.clone(),
            (None, Intrinsic::Literal(text)) => text.clone(),
            (None, Intrinsic::Ref(resource)) if template.buckets.contains(resource) => local_bucket_name(resource),
            (None, Intrinsic::Ref(resource)) if template.queues.contains_key(resource) => endpoints.queue_url(resource),
            // A parameter with a default (a retention period) takes it; one without
            // (an e-mail identity only AWS has) keeps its name as a placeholder.
            (None, Intrinsic::Ref(resource)) if template.parameters.get(resource).is_some_and(|d| !d.is_empty()) => {
                template.parameters[resource].clone()
            }
            (None, Intrinsic::Ref(resource)) => resource.clone(),
            (None, other) => bail!("{name}: {key} = {other:?} has no local value"),
        };
        variables.insert(key.clone(), resolved);
    }
    for (key, value) in local {
        variables.entry(key.to_owned()).or_insert(value);
    }
    variables.extend(settings.iter().map(|(key, value)| (key.clone(), value.clone())));
    Ok(variables)
}

/// Everything the functions are wired into.
pub(super) struct Wiring {
    /// The ALB stand-in's listener, each target group with its function.
    pub listener: Listener,
    /// The S3 notifications, each with its function.
    pub notifier: Notifier,
    /// The DynamoDB stream mappings, each with its function.
    pub streams: Vec<StreamMapping>,
    /// The SQS queue mappings, each with its function.
    pub queues: Vec<QueueMapping>,
    /// The scheduled functions, with their interval.
    pub schedules: Vec<(String, std::time::Duration, EventFunction)>,
    /// Every variable the functions were given, for `cargo lambda watch`.
    pub variables: BTreeMap<String, String>,
}

/// Builds every function of the template and wires it to its event sources.
pub(super) fn wire(
    template: &Template,
    sdk: &SdkConfig,
    endpoints: &Endpoints,
    overrides: &BTreeMap<String, String>,
    sign_in: Arc<LocalSignIn>,
) -> anyhow::Result<Wiring> {
    let mut built = BTreeMap::new();
    let mut variables = BTreeMap::new();
    for (name, function) in &template.functions {
        let settings = environment(name, function, template, endpoints, overrides)?;
        variables.extend(settings.clone());
        let function = build(&function.binary, &signed_as(sdk, name), &Config::from_pairs(settings))
            .with_context(|| format!("cannot start {name}"))?;
        built.insert(name.clone(), function);
    }
    let mut targets = BTreeMap::new();
    for (name, group) in &template.target_groups {
        let Some(Built::Http(router)) = built.get(&group.function) else {
            bail!(
                "target group {name} targets {}, which is not an HTTP function",
                group.function
            );
        };
        let arn = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/0123456789abcdef");
        targets.insert(
            name.clone(),
            Target {
                arn,
                function: router.clone(),
                multi_value_headers: group.multi_value_headers,
            },
        );
    }
    let mut subscriptions = Vec::new();
    for (name, function) in &template.functions {
        for event in &function.s3_events {
            let Some(Built::Events(handler)) = built.get(name) else {
                bail!("{name} has S3 events but is not an event function");
            };
            subscriptions.push(Subscription {
                configuration_id: event.name.clone(),
                bucket: local_bucket_name(&event.bucket),
                prefix: event.prefix.clone(),
                suffix: event.suffix.clone(),
                function_name: name.clone(),
                function: handler.clone(),
            });
        }
    }
    let mut streams = Vec::new();
    for (name, function) in &template.functions {
        for subscription in &function.stream_events {
            let Some(Built::Events(handler)) = built.get(name) else {
                bail!("{name} has stream events but is not an event function");
            };
            streams.push(StreamMapping {
                function_name: name.clone(),
                table: subscription.table.clone(),
                subscription: subscription.clone(),
                function: handler.clone(),
            });
        }
    }
    let mut queues = Vec::new();
    for (name, function) in &template.functions {
        for subscription in &function.queue_events {
            let Some(Built::Events(handler)) = built.get(name) else {
                bail!("{name} has SQS events but is not an event function");
            };
            queues.push(QueueMapping {
                function_name: name.clone(),
                subscription: subscription.clone(),
                function: handler.clone(),
            });
        }
    }
    let mut schedules = Vec::new();
    for (name, function) in &template.functions {
        if let Some(every) = function.schedule {
            let Some(Built::Events(handler)) = built.get(name) else {
                bail!("{name} has a schedule but is not an event function");
            };
            schedules.push((name.clone(), every, handler.clone()));
        }
    }
    let default_action = template
        .default_action
        .clone()
        .context("the template declares no ALB listener")?;
    let listener = Listener {
        rules: template.rules.clone(),
        default_action,
        targets,
        sign_in,
    };
    Ok(Wiring {
        listener,
        notifier: Notifier::new(subscriptions),
        streams,
        queues,
        schedules,
        variables,
    })
}
