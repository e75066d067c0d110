//! Verified recipients against in-memory adapters: a new address is told
//! nothing until it follows its link (a webhook: answers its signed challenge),
//! links work once, staff vouch for police and administrators, and the
//! client's own contacts need no confirmation.

use super::outbound::{ConfirmationRequest, Queued};
use super::world::*;
use super::*;
use crate::clock::Clock;
use crate::fixtures::{staff, user_of};

fn recipient(role: RecipientRole, channel: Channel, address: &str) -> Recipient {
    Recipient {
        role,
        channel,
        address: address.into(),
        site_id: None,
        status: RecipientStatus::Confirmed,
    }
}

/// Saves `recipients` as the client's user; answers the confirmation requests queued.
async fn save(w: &World, recipients: Vec<Recipient>) -> Vec<ConfirmationRequest> {
    w.responses()
        .set_preferences(&user_of(w.client.id), w.client.id, PreferencesBody { recipients })
        .await
        .unwrap();
    w.queue
        .take()
        .into_iter()
        .map(|q| match q {
            Queued::Confirmation(request) => request,
            other => panic!("not a confirmation request: {other:?}"),
        })
        .collect()
}

fn token_of(request: &ConfirmationRequest) -> &str {
    request
        .link
        .strip_prefix("https://seccom.example.com/api/recipient-confirmations/")
        .unwrap()
}

async fn told_of_an_intrusion(w: &World) -> Vec<String> {
    w.responder().respond(&w.intrusion()).await.unwrap();
    w.deliver_queued().await.into_iter().map(|(to, _)| to).collect()
}

#[tokio::test]
async fn a_new_address_is_told_nothing_until_it_follows_its_link_once() {
    let w = world().await;
    let requests = save(
        &w,
        vec![
            recipient(RecipientRole::Client, Channel::Email, "owner@example.com"),
            recipient(
                RecipientRole::BuildingAdministrator,
                Channel::Email,
                "desk@tower.example",
            ),
        ],
    )
    .await;
    assert_eq!(requests.len(), 1, "the client's own e-mail needs no confirmation");
    assert_eq!(requests[0].address, "desk@tower.example");
    let saved = w.responses().preferences(&staff(), w.client.id).await.unwrap();
    assert_eq!(
        saved.recipients.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RecipientStatus::VerifiedByStaff, RecipientStatus::AwaitingConfirmation],
        "the status sent in the body is ignored"
    );

    w.notifier()
        .deliver(&Queued::Confirmation(requests[0].clone()))
        .await
        .unwrap();
    let sent = w.channels.sent();
    assert!(sent.last().unwrap().body.contains(&requests[0].link), "{sent:?}");
    assert_eq!(told_of_an_intrusion(&w).await, ["owner@example.com"]);

    let confirmed = w.responses().confirm_recipient(token_of(&requests[0])).await.unwrap();
    assert_eq!(confirmed.status, RecipientStatus::Confirmed);
    assert!(matches!(
        w.responses().confirm_recipient(token_of(&requests[0])).await,
        Err(DomainError::NotFound(_))
    ));
    let mut forged = token_of(&requests[0]).to_owned();
    forged.pop();
    forged.push('A');
    for token in [forged.as_str(), "", "../../etc", &"x".repeat(500)] {
        assert!(matches!(
            w.responses().confirm_recipient(token).await,
            Err(DomainError::NotFound(_))
        ));
    }
    w.clock.advance(chrono::TimeDelta::minutes(1));
    let second = w.intrusion_at(w.clock.now());
    w.responder().respond(&second).await.unwrap();
    let told: Vec<String> = w.deliver_queued().await.into_iter().map(|(to, _)| to).collect();
    assert!(told.contains(&"desk@tower.example".to_owned()), "{told:?}");
}

#[tokio::test]
async fn saving_again_asks_no_one_twice_and_a_removed_recipients_link_confirms_nothing() {
    let w = world().await;
    let desk = recipient(
        RecipientRole::BuildingAdministrator,
        Channel::Email,
        "desk@tower.example",
    );
    let first = save(&w, vec![desk.clone(), desk.clone()]).await;
    assert_eq!(first.len(), 1, "one request per address");
    assert!(save(&w, vec![desk]).await.is_empty(), "still awaiting: not asked again");
    assert!(save(&w, vec![]).await.is_empty());
    assert!(matches!(
        w.responses().confirm_recipient(token_of(&first[0])).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn staff_vouch_for_the_police_and_client_users_may_not() {
    let w = world().await;
    let police = recipient(RecipientRole::Police, Channel::Sms, "+44 20 7946 0999");
    save(&w, vec![police]).await;
    let body = || VerifyBody {
        channel: Channel::Sms,
        address: "+44 20 7946 0999".into(),
    };
    assert!(matches!(
        w.responses()
            .verify_recipient(&user_of(w.client.id), w.client.id, body())
            .await,
        Err(DomainError::Forbidden(_))
    ));
    let verified = w
        .responses()
        .verify_recipient(&staff(), w.client.id, body())
        .await
        .unwrap();
    assert_eq!(verified.recipients[0].status, RecipientStatus::VerifiedByStaff);
    assert_eq!(told_of_an_intrusion(&w).await, ["+442079460999"]);
    let unknown = VerifyBody {
        channel: Channel::Email,
        address: "nobody@example.com".into(),
    };
    assert!(matches!(
        w.responses().verify_recipient(&staff(), w.client.id, unknown).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_webhook_is_challenged_with_a_signed_call_that_carries_its_link() {
    let w = world().await;
    let requests = save(
        &w,
        vec![recipient(RecipientRole::Client, Channel::Webhook, WEBHOOK_URL)],
    )
    .await;
    let delivered = w
        .notifier()
        .deliver(&Queued::Confirmation(requests[0].clone()))
        .await
        .unwrap();
    assert_eq!(delivered, Delivered::Sent);
    let challenge = w.channels.sent().into_iter().find(|s| s.to == WEBHOOK_URL).unwrap();
    assert_eq!(challenge.channel, None, "a signed call");
    let body: serde_json::Value = serde_json::from_str(&challenge.body).unwrap();
    assert_eq!(body["type"], "recipient.confirmation");
    assert_eq!(body["confirmUrl"], requests[0].link.as_str());
    w.channels.fail(WEBHOOK_URL);
    assert_eq!(
        w.notifier()
            .deliver(&Queued::Confirmation(requests[0].clone()))
            .await
            .unwrap(),
        Delivered::Failed,
        "a failed challenge is retried by the queue"
    );
}

fn phones(first: usize, count: usize) -> Vec<Recipient> {
    (first..first + count)
        .map(|i| recipient(RecipientRole::Client, Channel::Sms, &format!("+4420794610{i:02}")))
        .collect()
}

#[tokio::test]
async fn removing_and_adding_again_within_the_hour_sends_nothing_more_and_revives_the_one_link() {
    let w = world().await;
    let first = save(&w, phones(0, MAX_RECIPIENTS)).await;
    assert_eq!(first.len(), MAX_RECIPIENTS);
    for _ in 0..5 {
        assert!(save(&w, vec![]).await.is_empty());
        assert!(
            matches!(
                w.responses().confirm_recipient(token_of(&first[0])).await,
                Err(DomainError::NotFound(_))
            ),
            "a removed recipient's link is dead"
        );
        assert!(
            save(&w, phones(0, MAX_RECIPIENTS)).await.is_empty(),
            "one message an hour per address"
        );
    }
    let confirmed = w.responses().confirm_recipient(token_of(&first[0])).await.unwrap();
    assert_eq!(
        confirmed.address, first[0].address,
        "added back within the hour: its link works again"
    );

    save(&w, vec![]).await;
    w.clock.advance(chrono::TimeDelta::minutes(61));
    let second = save(&w, phones(0, 2)).await;
    assert_eq!(second.len(), 2, "an hour on, a new link goes out");
    assert!(
        matches!(
            w.responses().confirm_recipient(token_of(&first[1])).await,
            Err(DomainError::NotFound(_))
        ),
        "the earlier link died with the new one"
    );
    w.responses().confirm_recipient(token_of(&second[1])).await.unwrap();
}

#[tokio::test]
async fn a_client_sends_at_most_its_daily_confirmations_and_a_refused_save_changes_nothing() {
    let w = world().await;
    let mut sent = 0;
    for batch in 0..2 {
        sent += save(&w, phones(batch * MAX_RECIPIENTS, MAX_RECIPIENTS)).await.len();
        save(&w, vec![]).await;
    }
    assert_eq!(sent, super::recipients::DAILY_CONFIRMATIONS as usize);
    let before = w.responses().preferences(&staff(), w.client.id).await.unwrap();
    let refused = w
        .responses()
        .set_preferences(
            &user_of(w.client.id),
            w.client.id,
            PreferencesBody {
                recipients: phones(40, 1),
            },
        )
        .await;
    let Err(DomainError::TooMany { detail, retry_after }) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert!(detail.contains("SecCom staff"), "{detail}");
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    assert!(w.queue.take().is_empty(), "nothing sent");
    assert_eq!(w.responses().preferences(&staff(), w.client.id).await.unwrap(), before);
    w.clock.advance(chrono::TimeDelta::days(1));
    assert_eq!(save(&w, phones(40, 1)).await.len(), 1, "a new day, a new budget");
}
