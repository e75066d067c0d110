//! IAM as the local stack enforces it. Each function gets its own credentials,
//! and the local DynamoDB and S3 front doors check every request against the
//! inline policy statements the template gives that function, with the
//! template's resource ARNs resolved to the local account, region, tables and
//! buckets: an explicit deny wins, then an allow is needed, as in AWS. A
//! refusal answers as AWS does (`AccessDeniedException` / `AccessDenied`) and
//! is logged with the function, action and resource. Requests signed with the
//! stack's own key (its set-up, tests, the stream poller) act as the account.

use std::collections::BTreeMap;
use std::fmt;

use serde_yaml_ng::Value;

use super::template::{Template, local_bucket_name};
use super::{ACCOUNT, REGION};

/// The access key a function's requests are signed with.
pub fn access_key(function: &str) -> String {
    format!("LOCAL{function}")
}

/// The secret paired with a function's access key.
pub fn secret_key(function: &str) -> String {
    format!("local-secret-{function}")
}

#[derive(Clone, Debug, PartialEq)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    /// `StringLike: { s3:prefix: [...] }`, the only condition the template uses on allows.
    s3_prefixes: Option<Vec<String>>,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    pub function: String,
    pub action: String,
    pub resource: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/{0}Role/{0} is not authorized to perform: {1} on resource: {2} \
             because no identity-based policy allows the {1} action",
            self.function, self.action, self.resource
        )
    }
}

/// Every function's policy, by access key.
#[derive(Clone, Debug, Default)]
pub struct Iam {
    functions: BTreeMap<String, (String, Vec<Statement>)>,
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Resolves a template value to the strings it names in the local stack.
struct Resolver<'a> {
    template: &'a Template,
    /// Buckets' template names (resolved) and their local names.
    renamed: Vec<(String, String)>,
}

impl<'a> Resolver<'a> {
    fn new(template: &'a Template) -> Self {
        let mut resolver = Self {
            template,
            renamed: Vec::new(),
        };
        let renamed = template
            .bucket_names
            .iter()
            .filter_map(|(logical, name)| Some((resolver.one(name)?, local_bucket_name(logical))))
            .collect();
        resolver.renamed = renamed;
        resolver
    }

    fn arn(&self, resource: &str) -> String {
        if self.template.tables.contains_key(resource) {
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{resource}")
        } else if self.template.buckets.iter().any(|b| b == resource) {
            format!("arn:aws:s3:::{}", local_bucket_name(resource))
        } else if self.template.queues.contains_key(resource) {
            super::queues::queue_arn(resource)
        } else {
            format!("arn:aws:local:{REGION}:{ACCOUNT}:{resource}")
        }
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT.into(),
            name if self.template.buckets.iter().any(|b| b == name) => local_bucket_name(name),
            name => self
                .template
                .parameters
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_owned()),
        }
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else { break };
            let name = &rest[start + 2..start + end];
            match name.split_once('.') {
                Some((resource, "Arn")) => out.push_str(&self.arn(resource)),
                _ => out.push_str(&self.reference(name)),
            }
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        for (template_name, local) in &self.renamed {
            out = out.replace(template_name.as_str(), local);
        }
        out
    }

    fn one(&self, value: &Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Tagged(tagged) => match (tagged.tag.to_string().trim_start_matches('!'), &tagged.value) {
                ("Sub", Value::String(text)) => Some(self.substitute(text)),
                ("GetAtt", Value::String(path)) => path.split_once('.').map(|(resource, _)| self.arn(resource)),
                ("Ref", Value::String(name)) => Some(self.reference(name)),
                _ => None,
            },
            _ => None,
        }
    }

    fn all(&self, value: &Value) -> Vec<String> {
        match value {
            Value::Sequence(items) => items.iter().filter_map(|v| self.one(v)).collect(),
            other => self.one(other).into_iter().collect(),
        }
    }
}

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

impl Iam {
    /// Every function's statements from the template.
    pub fn from_template(template: &Template) -> Self {
        let resolver = Resolver::new(template);
        let functions = template
            .functions
            .iter()
            .map(|(name, function)| {
                let statements = function
                    .statements
                    .iter()
                    .map(|statement| Statement {
                        allow: statement["Effect"].as_str() != Some("Deny"),
                        actions: texts(&statement["Action"]),
                        resources: resolver.all(&statement["Resource"]),
                        s3_prefixes: statement["Condition"]["StringLike"].get("s3:prefix").map(texts),
                    })
                    .collect();
                (access_key(name), (name.clone(), statements))
            })
            .collect();
        Self { functions }
    }

    /// Every function's access key and secret, for the S3 emulator to verify signatures.
    pub fn keys(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.functions
            .values()
            .map(|(function, _)| (access_key(function), secret_key(function)))
    }

    /// Whether the holder of `access_key` may perform `action` on `resource`
    /// (with `s3_prefix`, for listing). Keys of no function act as the account.
    pub fn authorize(
        &self,
        access_key: &str,
        action: &str,
        resource: &str,
        s3_prefix: Option<&str>,
    ) -> Result<(), Denial> {
        let Some((function, statements)) = self.functions.get(access_key) else {
            return Ok(());
        };
        let applies = |statement: &Statement| {
            statement
                .actions
                .iter()
                .any(|a| matches(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && statement.resources.iter().any(|r| matches(r, resource))
        };
        let denied = statements.iter().any(|s| !s.allow && applies(s));
        let allowed = statements.iter().any(|s| {
            s.allow
                && applies(s)
                && s.s3_prefixes
                    .as_ref()
                    .is_none_or(|prefixes| prefixes.iter().any(|p| matches(p, s3_prefix.unwrap_or_default())))
        });
        if allowed && !denied {
            Ok(())
        } else {
            let denial = Denial {
                function: function.clone(),
                action: action.to_owned(),
                resource: resource.to_owned(),
            };
            tracing::warn!(
                function = denial.function,
                action = denial.action,
                resource = denial.resource,
                "access denied by the function's policy"
            );
            Err(denial)
        }
    }
}

/// The access key a SigV4 `Authorization` header (or presigned `X-Amz-Credential`) names.
pub fn signing_key(credential_scope: &str) -> Option<&str> {
    let start = credential_scope.find("Credential=").map(|i| i + "Credential=".len())?;
    credential_scope[start..].split('/').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  ResourcePrefix: { Type: String, Default: seccom }
Resources:
  Frames:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${ResourcePrefix}-frames-${AWS::AccountId}-${AWS::Region}"
  Directory:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
  Detector:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: detector } }
    Properties:
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource: [!GetAtt Directory.Arn, !Sub "${Directory.Arn}/index/*"]
            - Effect: Allow
              Action: s3:GetObject
              Resource: !Sub "arn:${AWS::Partition}:s3:::${ResourcePrefix}-frames-${AWS::AccountId}-${AWS::Region}/frames/*"
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !Sub "arn:${AWS::Partition}:s3:::${ResourcePrefix}-frames-${AWS::AccountId}-${AWS::Region}"
              Condition: { StringLike: { s3:prefix: ["frames/*"] } }
            - Effect: Allow
              Action: sns:Publish
              Resource: "*"
            - Effect: Deny
              Action: sns:Publish
              Resource: !Sub "arn:${AWS::Partition}:sns:*:*:*"
"#;

    fn iam() -> Iam {
        Iam::from_template(&Template::parse(TEMPLATE).unwrap())
    }

    #[test]
    fn statements_resolve_to_local_arns_and_decide_each_request() {
        let iam = iam();
        let key = access_key("Detector");
        let table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Directory");
        assert!(iam.authorize(&key, "dynamodb:GetItem", &table, None).is_ok());
        assert!(
            iam.authorize(&key, "dynamodb:Query", &format!("{table}/index/byParent"), None)
                .is_ok()
        );
        let denied = iam.authorize(&key, "dynamodb:PutItem", &table, None).unwrap_err();
        assert_eq!(denied.function, "Detector");
        assert!(
            denied
                .to_string()
                .contains("not authorized to perform: dynamodb:PutItem")
        );
        let bucket = local_bucket_name("Frames");
        assert!(
            iam.authorize(&key, "s3:GetObject", &format!("arn:aws:s3:::{bucket}/frames/x/1"), None)
                .is_ok()
        );
        assert!(
            iam.authorize(&key, "s3:GetObject", &format!("arn:aws:s3:::{bucket}/clips/x"), None)
                .is_err()
        );
    }

    #[test]
    fn conditions_and_explicit_denies_hold() {
        let iam = iam();
        let key = access_key("Detector");
        let bucket = format!("arn:aws:s3:::{}", local_bucket_name("Frames"));
        assert!(iam.authorize(&key, "s3:ListBucket", &bucket, Some("frames/x/")).is_ok());
        assert!(
            iam.authorize(&key, "s3:ListBucket", &bucket, Some("evidence/"))
                .is_err()
        );
        assert!(iam.authorize(&key, "sns:Publish", "*", None).is_ok(), "a text message");
        let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:alarms");
        assert!(
            iam.authorize(&key, "sns:Publish", &topic, None).is_err(),
            "the deny wins"
        );
        assert!(
            iam.authorize("seccom-local", "dynamodb:DeleteTable", "anything", None)
                .is_ok(),
            "the stack's own key"
        );
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(matches("arn:aws:s3:::b/frames/*", "arn:aws:s3:::b/frames/c/1"));
        assert!(!matches("arn:aws:s3:::b/frames/*", "arn:aws:s3:::b/evidence/1"));
        assert!(matches("s3:*", "s3:getobject"));
        assert!(matches("a?c", "abc") && !matches("a?c", "ac"));
    }

    #[test]
    fn signing_keys_are_read_from_authorization_and_presigned_credentials() {
        let header = "AWS4-HMAC-SHA256 Credential=LOCALDetector/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(signing_key(header), Some("LOCALDetector"));
    }
}
