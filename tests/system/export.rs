//! Subject access through the local stack: a client's user downloads every
//! record SecCom keeps about its client, with links to its footage that work,
//! and nothing of another client; staff may export on its behalf.

use reqwest::Method;
use seccom_system_tests::TestStack;

#[tokio::test]
async fn a_client_downloads_its_records_with_working_footage_links() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Exported Ltd").await;
    let other = stack.create_client("Private Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let intrusion = stack.person_seen(&camera).await.id.to_string();
    let user = stack.client_user(&client);

    let document = stack.export(&client, &user).await;
    let http = reqwest::Client::new();
    assert_eq!(document["client"]["id"], client.as_str());
    assert_eq!(document["devices"][0]["id"], camera.as_str());
    let exported = &document["intrusions"][0];
    assert_eq!(exported["id"], intrusion.as_str());
    let snapshot = http
        .get(exported["snapshotUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(snapshot.status().is_success(), "the footage link works");
    assert_eq!(exported["evidenceUrls"].as_array().unwrap().len(), 3);
    assert!(!document.to_string().contains(&other), "nothing of another client");
    let audit = stack
        .call(Method::GET, "/api/audit", Some(&user), None)
        .await
        .expect(200);
    assert_eq!(audit["items"][0]["action"], "exportedRecords");

    stack
        .call(Method::POST, &format!("/api/clients/{other}/export"), Some(&user), None)
        .await
        .assert_problem(404);
    stack
        .call(
            Method::POST,
            &format!("/api/clients/{other}/export"),
            Some(&stack.admin()),
            None,
        )
        .await
        .expect(200);
}
