//! The `seccom` binary as a person runs it: tokens on stdout alone, and a local
//! stack that starts, says where it listens, and answers through its ALB.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn seccom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seccom"))
}

#[test]
fn token_prints_only_a_token() {
    let data = tempfile::tempdir().unwrap();
    let output = seccom()
        .args(["token", "--role", "admin", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(
        !token.contains('\n') && token.split('.').count() == 3,
        "not a JWT: {stdout}"
    );
    assert!(output.stderr.is_empty());

    let client = uuid::Uuid::new_v4().to_string();
    let args = ["token", "--role", "client", "--client-id", &client, "--data-dir"];
    assert!(seccom().args(args).arg(data.path()).output().unwrap().status.success());
    let missing = seccom()
        .args(["token", "--role", "client", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--client-id"));
}

#[tokio::test]
async fn local_starts_prints_its_addresses_and_answers() {
    let data = tempfile::tempdir().unwrap();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let mut child = seccom()
        .args(["local", "--port", "0", "--data-dir"])
        .arg(data.path())
        .arg("--template")
        .arg(&template)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut alb = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.trim_start().starts_with("ALB") {
            alb = line.split_whitespace().last().map(str::to_owned);
        }
        if line.starts_with("Ready.") {
            break;
        }
    }
    let alb = alb.expect("the ALB address is printed");
    let env_file = std::fs::read_to_string(data.path().join("lambda.env")).unwrap();
    assert!(env_file.contains("AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:"));
    assert!(env_file.contains("DIRECTORY_TABLE=DirectoryTable"));

    let token = seccom()
        .args(["token", "--role", "admin", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap()
        .stdout;
    let token = String::from_utf8(token).unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{alb}/api/clients"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answer.status(), 200);
}

#[test]
fn detect_prints_one_json_line_per_file_and_reports_unreadable_ones() {
    let folder = tempfile::tempdir().unwrap();
    let blank = folder.path().join("blank.png");
    image::DynamicImage::new_rgb8(320, 240).save(&blank).unwrap();
    let text = folder.path().join("notes.jpg");
    std::fs::write(&text, "not a picture").unwrap();
    let output = seccom().arg("detect").arg(&blank).arg(&text).output().unwrap();
    assert!(!output.status.success(), "an unreadable file makes the command fail");
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["person"], false);
    assert_eq!(lines[0]["boxes"], serde_json::json!([]));
    assert!(lines[0]["score"].as_f64().unwrap() < 0.5);
    assert!(lines[1]["error"].as_str().unwrap().contains("not an image"));
}
