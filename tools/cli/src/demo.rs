//! `seccom local --demo`: a client, a site, a camera and an alarm, seeded
//! through the APIs as SecCom staff would, with the camera simulator playing
//! real pedestrian footage and the alarm simulator listening, and a running
//! commentary of what the system does with each intrusion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;

use seccom_devices::camera::{self, CameraOptions};
use seccom_devices::{DeviceOptions, alarm};
use seccom_local::idp::{LocalIdp, LocalUser};

/// Where `scripts/fetch-demo-footage` puts the decoded frames of vtest.avi.
pub const DEMO_FRAMES: &str = "target/demo-frames";

/// The seeded records, kept in the data directory so a restarted demo reuses them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seeded {
    client_id: String,
    site_id: String,
    camera_id: String,
    camera_credential: String,
    alarm_id: String,
    alarm_credential: String,
}

async fn post(http: &reqwest::Client, api: &str, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let response = http
        .post(format!("{api}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "POST {path} answered {status}: {answer}");
    Ok(answer)
}

async fn seed(http: &reqwest::Client, api: &str, token: &str, file: &Path) -> anyhow::Result<Seeded> {
    if let Ok(bytes) = std::fs::read(file) {
        return Ok(serde_json::from_slice(&bytes)?);
    }
    let client = post(
        http,
        api,
        token,
        "/api/clients",
        json!({ "name": "Demo Estates", "email": "security@demo-estates.example", "phone": "+44 20 7946 0000" }),
    )
    .await?;
    let client_id = client["id"].as_str().context("a client id")?.to_owned();
    let site = post(
        http,
        api,
        token,
        "/api/sites",
        json!({ "clientId": client_id, "name": "Riverside Offices", "address": "1 River Walk, London" }),
    )
    .await?;
    let site_id = site["id"].as_str().context("a site id")?.to_owned();
    let camera = post(
        http,
        api,
        token,
        &format!("/api/sites/{site_id}/cameras"),
        json!({ "name": "Lobby camera" }),
    )
    .await?;
    let alarm = post(
        http,
        api,
        token,
        &format!("/api/sites/{site_id}/alarms"),
        json!({ "name": "Lobby siren" }),
    )
    .await?;
    let seeded = Seeded {
        client_id,
        site_id,
        camera_id: camera["id"].as_str().context("a camera id")?.to_owned(),
        camera_credential: camera["credential"].as_str().context("a credential")?.to_owned(),
        alarm_id: alarm["id"].as_str().context("an alarm id")?.to_owned(),
        alarm_credential: alarm["credential"].as_str().context("a credential")?.to_owned(),
    };
    std::fs::write(file, serde_json::to_vec_pretty(&seeded)?)?;
    Ok(seeded)
}

/// Seeds the demo records and runs the simulators and the commentary until `stop`.
pub async fn run(api: String, data_dir: PathBuf, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let frames = camera::frames_in(Path::new(DEMO_FRAMES))
        .context("the demo plays pedestrian footage: run scripts/fetch-demo-footage first")?;
    let token = LocalIdp::open(&data_dir)?.id_token(&LocalUser::admin());
    let http = reqwest::Client::new();
    let seeded = seed(&http, &api, &token, &data_dir.join("demo.json")).await?;
    println!(
        "Demo: client {} / site {} / camera {} / alarm {} (ids in {})",
        seeded.client_id,
        seeded.site_id,
        seeded.camera_id,
        seeded.alarm_id,
        data_dir.join("demo.json").display()
    );
    println!(
        "Demo: the camera plays {} frames of vtest.avi at 2 fps; intrusions appear below.",
        frames.len()
    );
    let device = |id: &str, credential: &str| DeviceOptions {
        api: api.clone(),
        id: id.to_owned(),
        credential: credential.to_owned(),
        listen: "127.0.0.1:0".parse().expect("an address"),
        heartbeat_every: Duration::from_secs(5),
    };
    let alarm_options = device(&seeded.alarm_id, &seeded.alarm_credential);
    let activations = data_dir.join("alarms").join(format!("{}.jsonl", seeded.alarm_id));
    std::fs::create_dir_all(activations.parent().expect("a folder"))?;
    let camera_options = CameraOptions {
        device: device(&seeded.camera_id, &seeded.camera_credential),
        frames,
        fps: 2.0,
        buffer_dir: data_dir.join("cameras").join(&seeded.camera_id),
        buffer_for: Duration::from_secs(420),
        once: false,
    };
    let (alarm_ended, camera_ended, ()) = tokio::join!(
        alarm::run(&alarm_options, activations, stop.clone()),
        camera::run(camera_options, stop.clone()),
        commentary(&http, &api, &token, stop),
    );
    alarm_ended.and(camera_ended)
}

/// Prints each intrusion as it opens and each step of its response as it happens.
async fn commentary(http: &reqwest::Client, api: &str, token: &str, mut stop: watch::Receiver<bool>) {
    let mut told: BTreeMap<String, String> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let Ok(list) = get(http, &format!("{api}/api/intrusions?limit=5"), token).await else {
            continue;
        };
        for item in list["items"].as_array().into_iter().flatten() {
            let Some(id) = item["id"].as_str() else { continue };
            let Ok(detail) = get(http, &format!("{api}/api/intrusions/{id}"), token).await else {
                continue;
            };
            let commands: Vec<String> = detail["commands"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "{} {}",
                        c["type"].as_str().unwrap_or("?"),
                        c["deliveredBy"]
                            .as_str()
                            .map_or("waiting".to_owned(), |by| format!("delivered by {by}"))
                    )
                })
                .collect();
            let notifications: Vec<String> = detail["notifications"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "{} to {} {}",
                        n["recipient"]["channel"].as_str().unwrap_or("?"),
                        n["recipient"]["address"].as_str().unwrap_or("?"),
                        n["status"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let response = format!(
                "commands: [{}]; notifications: [{}]; clip: {}",
                commands.join(", "),
                notifications.join(", "),
                detail["clip"]["state"].as_str().unwrap_or("not requested yet"),
            );
            if told.get(id) != Some(&response) {
                println!(
                    "Demo: intrusion {id} (started {}, frames {}-{} so far, peak score {:.2}); {response}",
                    item["startedAt"].as_str().unwrap_or("?"),
                    item["firstSeq"],
                    item["lastSeq"],
                    item["peakScore"].as_f64().unwrap_or_default(),
                );
                told.insert(id.to_owned(), response);
            }
        }
    }
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}
