//! The functions the ALB stand-in can invoke in-process, by cargo-lambda binary
//! name, with the environment `template.yaml` gives them in AWS.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use aws_config::SdkConfig;
use axum::Router;
use seccom_domain::config::Config;

use super::Endpoints;
use super::alb::{Listener, Target};
use super::template::{Function, Intrinsic, Template};
use super::{ACCOUNT, REGION};

/// Builds a function's router from its settings, as its `main.rs` does in Lambda.
fn build(binary: &str, sdk: &SdkConfig, config: &Config) -> anyhow::Result<Router> {
    match binary {
        "sites-management-api" => Ok(sites_management_api::app(sdk, config)?),
        other => bail!("the local stack does not know the function binary {other}"),
    }
}

/// A function's environment in the local stack: template values with table names
/// resolved, local endpoints and identity settings for what only AWS can resolve.
fn environment(
    name: &str,
    function: &Function,
    endpoints: &Endpoints,
) -> anyhow::Result<BTreeMap<String, String>> {
    let local = endpoints.environment();
    let mut variables = BTreeMap::new();
    for (key, value) in &function.environment {
        let resolved = match (local.get(key.as_str()), value) {
            (Some(local_value), _) => local_value.clone(),
            (None, Intrinsic::Literal(text)) => text.clone(),
            (None, Intrinsic::Ref(resource)) => resource.clone(),
            (None, other) => bail!("{name}: {key} = {other:?} has no local value"),
        };
        variables.insert(key.clone(), resolved);
    }
    for (key, value) in local {
        variables.entry(key.to_owned()).or_insert(value);
    }
    Ok(variables)
}

/// The stand-in's listener: the template's rules, each target group wired to its
/// function; and every variable the functions were given, for `cargo lambda watch`.
pub(super) fn listener(
    template: &Template,
    sdk: &SdkConfig,
    endpoints: &Endpoints,
) -> anyhow::Result<(Listener, BTreeMap<String, String>)> {
    let mut targets = BTreeMap::new();
    let mut all_variables = BTreeMap::new();
    for (name, group) in &template.target_groups {
        let function = template
            .functions
            .get(&group.function)
            .with_context(|| format!("{name} targets an unknown function"))?;
        let variables = environment(&group.function, function, endpoints)?;
        all_variables.extend(variables.clone());
        let router = build(&function.binary, sdk, &Config::from_pairs(variables))
            .with_context(|| format!("cannot start {}", group.function))?;
        let arn = format!(
            "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/0123456789abcdef"
        );
        targets.insert(
            name.clone(),
            Target {
                arn,
                function: router,
                multi_value_headers: group.multi_value_headers,
            },
        );
    }
    let default_action = template
        .default_action
        .clone()
        .context("the template declares no ALB listener")?;
    let listener = Listener {
        rules: template.rules.clone(),
        default_action,
        targets,
    };
    Ok((listener, all_variables))
}
