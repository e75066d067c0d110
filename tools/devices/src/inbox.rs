//! How a simulated device receives commands: a small HTTP server on its
//! registered endpoint that accepts only pushes signed with the device's key,
//! and a heartbeat loop that collects what pushes did not deliver. Each command
//! id is handed on once, whichever way it came first.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use seccom_domain::response::Command;
use seccom_domain::response::signing::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::link::DeviceLink;

/// How a command reached the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Push,
    Heartbeat,
}

/// Where a simulated device talks to SecCom and listens for pushes.
#[derive(Clone, Debug)]
pub struct DeviceOptions {
    /// The API's base URL (the ALB).
    pub api: String,
    pub id: String,
    pub credential: String,
    /// Where the push endpoint listens (port 0 picks one).
    pub listen: SocketAddr,
    pub heartbeat_every: Duration,
}

struct Inbox {
    key: Vec<u8>,
    seen: Mutex<HashSet<String>>,
    sender: mpsc::UnboundedSender<(Command, Via)>,
}

impl Inbox {
    /// Hands a command on unless it was handed on before.
    fn accept(&self, command: Command, via: Via) {
        let fresh = self.seen.lock().expect("the inbox lock").insert(command.id.clone());
        if fresh {
            let _ = self.sender.send((command, via));
        }
    }
}

async fn pushed(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Err(error) = signing::verify(
        &inbox.key,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        Utc::now(),
    ) {
        tracing::warn!(%error, "a pushed command was refused");
        return StatusCode::UNAUTHORIZED;
    }
    match serde_json::from_slice::<Command>(&body) {
        Ok(command) => {
            inbox.accept(command, Via::Push);
            StatusCode::ACCEPTED
        }
        Err(error) => {
            tracing::warn!(%error, "a pushed command is not understood");
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// A device connected to SecCom: its link, and the commands it receives.
pub struct Connection {
    pub link: DeviceLink,
    pub commands: mpsc::UnboundedReceiver<(Command, Via)>,
    /// Where pushes are accepted.
    pub endpoint: String,
    /// Whether the site was armed at the last heartbeat (armed until one says otherwise).
    pub armed: watch::Receiver<bool>,
}

impl Connection {
    /// Starts the push endpoint, registers it, and heartbeats until `stop`.
    pub async fn open(options: &DeviceOptions, stop: watch::Receiver<bool>) -> anyhow::Result<Self> {
        let link = DeviceLink::new(&options.api, &options.id, &options.credential);
        let (sender, commands) = mpsc::unbounded_channel();
        let inbox = Arc::new(Inbox {
            key: link.signing_key(),
            seen: Mutex::new(HashSet::new()),
            sender,
        });
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        let endpoint = format!("http://{}/commands", listener.local_addr()?);
        let router = axum::Router::new()
            .route("/commands", post(pushed))
            .with_state(inbox.clone());
        let mut server_stop = stop.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = server_stop.wait_for(|stopped| *stopped).await;
            };
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "the push endpoint stopped");
            }
        });
        link.register_endpoint(&endpoint).await?;
        let heartbeat_link = link.clone();
        let (armed_sender, armed) = watch::channel(true);
        let every = options.heartbeat_every;
        let mut heartbeat_stop = stop;
        let beat = move || {
            let (link, inbox, armed) = (heartbeat_link.clone(), inbox.clone(), armed_sender.clone());
            async move {
                match link.heartbeat().await {
                    Ok(heartbeat) => {
                        armed.send_replace(heartbeat.armed);
                        for command in heartbeat.commands {
                            inbox.accept(command, Via::Heartbeat);
                        }
                    }
                    Err(error) => tracing::warn!(error = format!("{error:#}"), "heartbeat failed"),
                }
            }
        };
        // The first heartbeat is answered before the device starts, so a camera
        // of a disarmed site sends nothing from its first frame on.
        beat().await;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = heartbeat_stop.wait_for(|stopped| *stopped) => return,
                }
                beat().await;
            }
        });
        Ok(Self {
            link,
            commands,
            endpoint,
            armed,
        })
    }
}
