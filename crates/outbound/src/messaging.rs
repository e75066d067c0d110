//! E-mail and SMS: SES and SNS in AWS; locally, files in an outbox folder
//! that `seccom outbox` shows.

use std::path::PathBuf;

use chrono::Utc;
use seccom_domain::config::{Config, MissingSetting, NOTIFY_EMAIL_FROM, OUTBOX_DIR};
use seccom_domain::response::Channel;
use seccom_domain::response::outbound::Message;

/// Where e-mail and SMS go.
#[derive(Clone)]
pub enum Messenger {
    /// SES for e-mail (from `from`), SNS for SMS.
    Aws {
        ses: aws_sdk_sesv2::Client,
        sns: aws_sdk_sns::Client,
        from: Option<String>,
    },
    /// One JSON file per message in a folder.
    Outbox(PathBuf),
}

impl Messenger {
    /// The outbox when `OUTBOX_DIR` is set, SES and SNS otherwise.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        Ok(match config.optional(OUTBOX_DIR) {
            Some(dir) => Self::Outbox(PathBuf::from(dir)),
            None => Self::Aws {
                ses: aws_sdk_sesv2::Client::new(sdk),
                sns: aws_sdk_sns::Client::new(sdk),
                from: config.optional(NOTIFY_EMAIL_FROM).map(str::to_owned),
            },
        })
    }

    /// Sends one e-mail or SMS; the error says why, for the notification's record.
    pub async fn send(&self, message: &Message<'_>) -> Result<(), String> {
        match self {
            Self::Outbox(dir) => {
                let file = dir.join(format!("{}.json", message.id));
                let mut document = serde_json::json!({
                    "channel": message.channel,
                    "to": message.to,
                    "subject": message.subject,
                    "message": message.text,
                    "writtenAt": Utc::now(),
                });
                document[message.about.0] = message.about.1.clone().into();
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    let partial = file.with_extension("partial");
                    tokio::fs::write(&partial, serde_json::to_vec_pretty(&document)?).await?;
                    tokio::fs::rename(&partial, &file).await
                };
                write
                    .await
                    .map_err(|e| format!("cannot write to the outbox {}: {e}", dir.display()))
            }
            Self::Aws { ses, sns, from } => match message.channel {
                Channel::Email => {
                    let from = from.as_deref().ok_or("NOTIFY_EMAIL_FROM is not set")?;
                    let text = |data: &str| {
                        aws_sdk_sesv2::types::Content::builder()
                            .data(data)
                            .charset("UTF-8")
                            .build()
                            .map_err(|e| e.to_string())
                    };
                    let email = aws_sdk_sesv2::types::Message::builder()
                        .subject(text(message.subject)?)
                        .body(aws_sdk_sesv2::types::Body::builder().text(text(message.text)?).build())
                        .build();
                    ses.send_email()
                        .from_email_address(from)
                        .destination(
                            aws_sdk_sesv2::types::Destination::builder()
                                .to_addresses(message.to)
                                .build(),
                        )
                        .content(aws_sdk_sesv2::types::EmailContent::builder().simple(email).build())
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| {
                            format!(
                                "SES refused the e-mail: {}",
                                aws_sdk_sesv2::error::DisplayErrorContext(e)
                            )
                        })
                }
                Channel::Sms => sns
                    .publish()
                    .phone_number(message.to)
                    .message(format!("{}: {}", message.subject, message.text))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("SNS refused the SMS: {}", aws_sdk_sns::error::DisplayErrorContext(e))),
                Channel::Webhook => Err("webhooks are not sent by the messenger".into()),
            },
        }
    }
}
