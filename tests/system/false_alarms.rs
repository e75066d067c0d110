//! False-alarm control through the local stack: camera zones, masks and
//! thresholds and site arming decide, on the real S3 event path, which person
//! frames count; the arming and detection endpoints validate what they take and
//! keep tenants apart; heartbeats tell cameras whether their site is armed.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use seccom_devices::camera::{self, CameraOptions};
use seccom_devices::{DeviceLink, DeviceOptions};
use seccom_system_tests::{Answer, TestStack, test_image};
use serde_json::{Value, json};

fn at(seq: u64) -> DateTime<Utc> {
    Utc::now() - TimeDelta::minutes(1) + TimeDelta::milliseconds(500 * seq as i64)
}

/// The stack with the detector's settings cache at its deployed 30 s: a
/// change applies to the next frame with someone in it all the same.
async fn stack() -> TestStack {
    TestStack::start().await
}

struct Premises {
    client: String,
    site: String,
    camera: String,
}

async fn premises(stack: &TestStack, name: &str) -> Premises {
    let client = stack.create_client(name).await;
    let site = stack.create_site(&client, &format!("{name} depot")).await;
    let camera = stack.create_device(&site, "cameras", "Yard").await;
    Premises { client, site, camera }
}

/// Sends the astronaut picture (a person filling most of the frame, feet at its bottom edge).
async fn people(stack: &TestStack, camera: &str, seqs: std::ops::RangeInclusive<u64>) {
    for seq in seqs {
        stack
            .upload_frame(camera, seq, test_image("astronaut.png"), at(seq))
            .await;
    }
    stack.settled().await;
}

fn square(x1: f64, y1: f64, x2: f64, y2: f64) -> Value {
    json!([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
}

/// The fields a 422 problem names.
fn refused_fields(answer: &Answer) -> Vec<&str> {
    answer.assert_problem(422);
    answer.body["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

async fn staff_reads(stack: &TestStack, path: &str) -> Value {
    stack
        .call(Method::GET, path, Some(&stack.admin()), None)
        .await
        .expect(200)
}

async fn set_detection(stack: &TestStack, camera: &str, settings: Value) {
    stack
        .call(
            Method::PUT,
            &format!("/api/cameras/{camera}/detection"),
            Some(&stack.admin()),
            Some(settings),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn zones_masks_and_thresholds_decide_which_people_count() {
    let stack = stack().await;
    let cases = [
        (
            "a zone elsewhere",
            json!({"zones": [{"name": "gate", "polygon": square(0.0, 0.0, 0.2, 0.2)}]}),
            0,
        ),
        (
            "a zone under the person",
            json!({"zones": [{"name": "yard", "polygon": square(0.0, 0.5, 1.0, 1.0)}]}),
            1,
        ),
        (
            "a mask under the person",
            json!({"masks": [{"polygon": square(0.0, 0.5, 1.0, 1.0)}]}),
            0,
        ),
        ("a score above the person's", json!({"minScore": 0.99}), 0),
        ("a box size above the person's", json!({"minBoxArea": 0.99}), 0),
        ("the defaults", json!({}), 1),
    ];
    for (case, settings, expected) in cases {
        let place = premises(&stack, case).await;
        set_detection(&stack, &place.camera, settings).await;
        people(&stack, &place.camera, 1..=3).await;
        let intrusions = stack.intrusions(&place.camera).await;
        assert_eq!(intrusions.len(), expected, "{case}: {intrusions:?}");
        let frame = stack.frame(&place.camera, 2).await.expect("the frame is stored");
        let stored = serde_json::to_value(&frame.outcome).unwrap();
        assert!(
            !stored["boxes"].as_array().unwrap().is_empty(),
            "{case}: every raw box is kept"
        );
        if case == "a zone under the person" {
            assert_eq!(intrusions[0].zones, vec!["yard".to_owned()]);
        }
    }
}

#[tokio::test]
async fn a_disarmed_site_opens_nothing_and_armed_again_it_does() {
    let stack = stack().await;
    let place = premises(&stack, "Disarmed Ltd").await;
    let admin = stack.admin();
    let arming = format!("/api/sites/{}/arming", place.site);
    let disarmed = stack
        .call(Method::POST, &format!("{arming}/disarm"), Some(&admin), Some(json!({})))
        .await
        .expect(200);
    assert_eq!(disarmed["armedNow"], false);
    assert_eq!(disarmed["mode"], "disarmed");
    people(&stack, &place.camera, 1..=3).await;
    assert!(stack.intrusions(&place.camera).await.is_empty());

    stack
        .call(
            Method::POST,
            &format!("{arming}/arm"),
            Some(&admin),
            Some(json!({"note": "closing time"})),
        )
        .await
        .expect(200);
    people(&stack, &place.camera, 10..=12).await;
    let intrusions = stack.intrusions(&place.camera).await;
    assert_eq!(intrusions.len(), 1, "{intrusions:?}");
    assert_eq!((intrusions[0].first_seq, intrusions[0].last_seq), (10, 12));

    let history = stack
        .call(Method::GET, &format!("{arming}/history"), Some(&admin), None)
        .await
        .expect(200);
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["arm", "disarm"], "newest first");
    assert_eq!(history["items"][0]["note"], "closing time");
    assert!(history["items"][0]["by"].as_str().is_some_and(|by| !by.is_empty()));
}

#[tokio::test]
async fn a_schedule_answers_when_it_next_changes_and_a_disarm_until_returns_to_it() {
    let stack = stack().await;
    let place = premises(&stack, "Scheduled Ltd").await;
    let user = stack.client_user(&place.client);
    let arming = format!("/api/sites/{}/arming", place.site);
    let plan = json!({
        "mode": "scheduled",
        "timeZone": "Europe/Lisbon",
        "schedule": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "24:00"}],
        "exceptions": [{"date": "2031-12-25", "armed": false}]
    });
    let answer = stack
        .call(Method::PUT, &arming, Some(&user), Some(plan))
        .await
        .expect(200);
    assert_eq!(answer["armedNow"], true);
    assert_eq!(answer["timeZone"], "Europe/Lisbon");
    assert_eq!(answer["schedule"][0]["to"], "24:00");
    let until = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    let answer = stack
        .call(
            Method::POST,
            &format!("{arming}/disarm"),
            Some(&user),
            Some(json!({"until": until})),
        )
        .await
        .expect(200);
    assert_eq!(answer["armedNow"], false);
    assert_eq!(
        answer["mode"], "scheduled",
        "the plan stays; a manual change lies over it"
    );
    let next = DateTime::parse_from_rfc3339(answer["nextChangeAt"].as_str().unwrap()).unwrap();
    assert_eq!(next, DateTime::parse_from_rfc3339(&until).unwrap());
    assert_eq!(answer["manual"]["armed"], false);
    let read = stack.call(Method::GET, &arming, Some(&user), None).await.expect(200);
    assert_eq!(read["armedNow"], false);
}

#[tokio::test]
async fn bad_settings_are_refused_naming_each_field() {
    let stack = stack().await;
    let place = premises(&stack, "Careless Ltd").await;
    let admin = stack.admin();
    let refused = stack
        .call(
            Method::PUT,
            &format!("/api/sites/{}/arming", place.site),
            Some(&admin),
            Some(json!({
                "mode": "sometimes",
                "timeZone": "Mars/Olympus",
                "schedule": [{"days": ["funday"], "from": "25:00", "to": "07:00"}],
                "exceptions": [{"date": "2026-02-30", "armed": true}]
            })),
        )
        .await;
    assert_eq!(
        refused_fields(&refused),
        [
            "mode",
            "timeZone",
            "schedule[0].days",
            "schedule[0].from",
            "exceptions[0].date"
        ]
    );
    let refused = stack
        .call(
            Method::PUT,
            &format!("/api/cameras/{}/detection", place.camera),
            Some(&admin),
            Some(json!({
                "zones": [{"name": "bow tie", "polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]}],
                "masks": [{"polygon": [[0, 0], [0.5, 0.5]]}],
                "minScore": 2
            })),
        )
        .await;
    assert_eq!(
        refused_fields(&refused),
        ["zones[0].polygon", "masks[0].polygon", "minScore"]
    );
    stack
        .call(
            Method::POST,
            &format!("/api/sites/{}/arming/disarm", place.site),
            Some(&admin),
            Some(json!({"until": "2001-01-01T00:00:00Z"})),
        )
        .await
        .assert_problem(422);
    let unchanged = stack
        .call(
            Method::GET,
            &format!("/api/cameras/{}/detection", place.camera),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        unchanged,
        json!({"zones": [], "masks": [], "privacy": [], "minScore": 0.5, "minBoxArea": 0.0})
    );
}

#[tokio::test]
async fn a_client_controls_its_own_sites_and_cameras_only() {
    let stack = stack().await;
    let ours = premises(&stack, "Ours Ltd").await;
    let theirs = premises(&stack, "Theirs Ltd").await;
    let user = stack.client_user(&ours.client);
    let zone = json!({"zones": [{"name": "door", "polygon": square(0.2, 0.2, 0.8, 0.8)}]});
    let writes = |p: &Premises| {
        vec![
            (
                Method::PUT,
                format!("/api/sites/{}/arming", p.site),
                json!({"mode": "disarmed"}),
            ),
            (Method::POST, format!("/api/sites/{}/arming/arm", p.site), json!({})),
            (Method::POST, format!("/api/sites/{}/arming/disarm", p.site), json!({})),
            (
                Method::PUT,
                format!("/api/cameras/{}/detection", p.camera),
                zone.clone(),
            ),
        ]
    };
    let reads = |p: &Premises| {
        vec![
            format!("/api/sites/{}/arming", p.site),
            format!("/api/sites/{}/arming/history", p.site),
            format!("/api/cameras/{}/detection", p.camera),
        ]
    };
    for (method, path, body) in writes(&ours) {
        stack.call(method, &path, Some(&user), Some(body)).await.expect(200);
    }
    for path in reads(&ours) {
        stack.call(Method::GET, &path, Some(&user), None).await.expect(200);
    }
    for (method, path, body) in writes(&theirs) {
        stack
            .call(method.clone(), &path, Some(&user), Some(body.clone()))
            .await
            .assert_problem(404);
        stack.call(method, &path, None, Some(body)).await.assert_problem(401);
    }
    for path in reads(&theirs) {
        stack
            .call(Method::GET, &path, Some(&user), None)
            .await
            .assert_problem(404);
    }
    let history = staff_reads(&stack, &format!("/api/sites/{}/arming/history", theirs.site)).await;
    assert!(
        history["items"].as_array().unwrap().is_empty(),
        "nothing of theirs changed"
    );
    let settings = staff_reads(&stack, &format!("/api/cameras/{}/detection", theirs.camera)).await;
    assert!(settings["zones"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn heartbeats_tell_a_camera_whether_its_site_is_armed() {
    let stack = stack().await;
    let client = stack.create_client("Beating Ltd").await;
    let site = stack.create_site(&client, "Warehouse").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Dock").await;
    let link = DeviceLink::new(&stack.url(""), &camera, &credential);
    let armed = link.heartbeat().await.unwrap();
    assert!(armed.armed);
    let until = Utc::now() + TimeDelta::minutes(30);
    stack
        .call(
            Method::POST,
            &format!("/api/sites/{site}/arming/disarm"),
            Some(&stack.admin()),
            Some(json!({"until": until.to_rfc3339()})),
        )
        .await
        .expect(200);
    let answer = stack
        .call(
            Method::POST,
            &format!("/api/devices/{camera}/heartbeat"),
            Some(&credential),
            None,
        )
        .await
        .expect(200);
    assert_eq!(answer["armed"], false);
    let armed_until = DateTime::parse_from_rfc3339(answer["armedUntil"].as_str().unwrap()).unwrap();
    assert!((armed_until.with_timezone(&Utc) - until).num_seconds().abs() <= 1);
}

#[tokio::test]
async fn the_camera_simulator_sends_nothing_while_its_site_is_disarmed() {
    let stack = stack().await;
    let client = stack.create_client("Quiet Nights Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
    let arming = format!("/api/sites/{site}/arming");
    stack
        .call(
            Method::PUT,
            &arming,
            Some(&stack.admin()),
            Some(json!({"mode": "disarmed"})),
        )
        .await
        .expect(200);
    let work = tempfile::tempdir().unwrap();
    let frames = work.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    std::fs::write(frames.join("000.jpg"), test_image("astronaut.png")).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(camera::run(
        CameraOptions {
            device: DeviceOptions {
                api: stack.url(""),
                id: camera.clone(),
                credential,
                listen: "127.0.0.1:0".parse().unwrap(),
                heartbeat_every: std::time::Duration::from_millis(300),
            },
            frames: camera::frames_in(&frames).unwrap(),
            fps: 5.0,
            buffer_dir: work.path().join("buffer"),
            buffer_for: std::time::Duration::from_secs(420),
            once: false,
        },
        stopped,
    ));
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    stack.settled().await;
    for seq in 0..=12 {
        assert!(
            stack.frame(&camera, seq).await.is_none(),
            "frame {seq} was sent while disarmed"
        );
    }
    stack
        .call(
            Method::POST,
            &format!("{arming}/arm"),
            Some(&stack.admin()),
            Some(json!({})),
        )
        .await
        .expect(200);
    let intrusions = stack
        .eventually(30, "an intrusion once armed", || async {
            let found = stack.intrusions(&camera).await;
            (!found.is_empty()).then_some(found)
        })
        .await;
    assert!(
        intrusions[0].first_seq >= 8,
        "recorded frames kept their numbers: {intrusions:?}"
    );
    stop.send_replace(true);
    running.await.unwrap().unwrap();
}
