//! `seccom alarm run`: an alarm that sounds (prints and records) every
//! activation it receives, once per command.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use seccom_domain::response::CommandAction;
use tokio::sync::watch;

use super::inbox::{Connection, DeviceOptions};

/// Runs an alarm until `stop`, appending one JSON line per activation to `activations`.
pub async fn run(options: &DeviceOptions, activations: PathBuf, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let mut connection = Connection::open(options, stop.clone()).await?;
    tracing::info!(alarm = options.id, endpoint = connection.endpoint, "alarm ready");
    loop {
        let (command, via) = tokio::select! {
            received = connection.commands.recv() => match received {
                Some(received) => received,
                None => return Ok(()),
            },
            _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
        };
        let CommandAction::ActivateAlarm { site_id, camera_id } = &command.action else {
            tracing::warn!(command = command.id, "an alarm ignores commands other than activations");
            continue;
        };
        let line = serde_json::json!({
            "event": "alarmActivated",
            "alarmId": options.id,
            "commandId": command.id,
            "intrusionId": command.intrusion_id,
            "siteId": site_id,
            "cameraId": camera_id,
            "issuedAt": command.issued_at,
            "receivedAt": Utc::now(),
            "via": via,
        });
        println!("{line}");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&activations)
            .with_context(|| format!("cannot record activations in {}", activations.display()))?;
        writeln!(file, "{line}")?;
    }
}
