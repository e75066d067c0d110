//! The local stack keeps its data and its identity provider across restarts.

use reqwest::Method;
use seccom_system_tests::TestStack;

#[tokio::test]
async fn data_and_tokens_survive_a_restart() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Persistent Ltd").await;
    let site = stack.create_site(&client, "Vault").await;
    let camera = stack.create_device(&site, "cameras", "Door").await;
    let token = stack.admin();
    let data_dir = stack.stop().await;

    let restarted = TestStack::start_in(data_dir).await;
    let read = restarted
        .call(Method::GET, &format!("/api/cameras/{camera}"), Some(&token), None)
        .await
        .expect(200);
    assert_eq!(read["name"], "Door");
    assert_eq!(read["clientId"], client.as_str());
    let sites = restarted
        .call(
            Method::GET,
            &format!("/api/sites?clientId={client}"),
            Some(&token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(sites["items"][0]["name"], "Vault");
}
