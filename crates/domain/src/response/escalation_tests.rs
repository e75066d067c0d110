//! Escalation against in-memory adapters and a fixed clock: the policy's rules,
//! the first step scheduled by the response, a step telling its contacts and
//! queuing the next, and nothing told once someone acknowledged.

use std::time::Duration;

use chrono::TimeDelta;

use super::outbound::Queued;
use super::world::*;
use super::*;
use crate::controls::{ControlStore, SiteControls};
use crate::detection::{HandlingBody, Intrusions};
use crate::fixtures::{staff, user_of};

const DUTY: &str = "duty@seccom.example";
const KEYHOLDER: &str = "+447946000111";

fn contact(channel: ContactChannel, address: &str) -> EscalationContact {
    EscalationContact {
        channel,
        address: address.into(),
    }
}

fn policy() -> EscalationPolicy {
    EscalationPolicy {
        steps: vec![
            EscalationStep {
                after_seconds: 60,
                notify: vec![contact(ContactChannel::Email, DUTY)],
            },
            EscalationStep {
                after_seconds: 180,
                notify: vec![contact(ContactChannel::Sms, "+44 7946 000111")],
            },
        ],
    }
}

/// A world whose site has [`policy`], and an intrusion it responded to.
async fn responded() -> (World, crate::detection::Intrusion) {
    let w = world().await;
    let controls = SiteControls::new(w.directory.clone(), w.controls.clone(), w.clock.clone());
    controls.set_escalation(&staff(), w.site, policy()).await.unwrap();
    let intrusion = w.opened().await;
    w.responder().respond(&intrusion).await.unwrap();
    (w, intrusion)
}

/// Takes the queue, delivering the client's notifications now and keeping the escalation steps.
async fn steps_waiting(w: &World) -> Vec<(EscalationDue, Duration)> {
    let mut steps = Vec::new();
    for (queued, delay) in w.queue.take_delayed() {
        match queued {
            Queued::Escalation(due) => steps.push((due, delay)),
            other => {
                w.notifier().deliver(&other).await.unwrap();
            }
        }
    }
    steps
}

#[test]
fn a_policy_names_every_field_it_refuses_and_normalises_addresses() {
    let parsed = policy().parse().unwrap();
    assert_eq!(parsed.steps[1].notify[0].address, KEYHOLDER);
    let mut bad = policy();
    bad.steps[1].after_seconds = 60;
    bad.steps[0]
        .notify
        .push(contact(ContactChannel::Email, "+44 7946 000111"));
    bad.steps.push(EscalationStep {
        after_seconds: 0,
        notify: vec![],
    });
    let Err(crate::error::DomainError::Invalid(errors)) = bad.parse() else {
        panic!("a bad policy was accepted")
    };
    let names: Vec<_> = errors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "steps[0].notify[1].address",
            "steps[1].afterSeconds",
            "steps[2].afterSeconds",
            "steps[2].notify"
        ]
    );
}

#[tokio::test]
async fn only_staff_set_a_policy_and_the_client_reads_it() {
    let w = world().await;
    let controls = SiteControls::new(w.directory.clone(), w.controls.clone(), w.clock.clone());
    let client = user_of(w.client.id);
    assert!(matches!(
        controls.set_escalation(&client, w.site, policy()).await,
        Err(crate::error::DomainError::Forbidden(_))
    ));
    assert!(controls.escalation(&client, w.site).await.unwrap().steps.is_empty());
    controls.set_escalation(&staff(), w.site, policy()).await.unwrap();
    assert_eq!(controls.escalation(&client, w.site).await.unwrap().steps.len(), 2);
}

#[tokio::test]
async fn an_unacknowledged_intrusion_tells_each_step_in_turn() {
    let (w, intrusion) = responded().await;
    let steps = steps_waiting(&w).await;
    assert_eq!(steps.len(), 1, "the first step waits on the queue");
    let (first, delay) = steps[0].clone();
    assert_eq!((first.step, delay), (0, Duration::from_secs(60)));
    assert_eq!(w.sent_to(DUTY), 0, "nobody is told before the step is due");

    w.clock.advance(TimeDelta::seconds(60));
    let delivered = w.notifier().deliver(&Queued::Escalation(first.clone())).await.unwrap();
    assert_eq!(delivered, Delivered::Escalated);
    let next = steps_waiting(&w).await;
    assert_eq!(w.sent_to(DUTY), 1, "the duty operator is told");
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].0.step, next[0].1), (1, Duration::from_secs(120)));

    let again = w.notifier().deliver(&Queued::Escalation(first)).await.unwrap();
    assert_eq!(again, Delivered::NotNeeded, "a step delivered twice is taken once");
    assert!(steps_waiting(&w).await.is_empty());

    w.clock.advance(TimeDelta::seconds(120));
    w.notifier()
        .deliver(&Queued::Escalation(next[0].0.clone()))
        .await
        .unwrap();
    assert!(steps_waiting(&w).await.is_empty(), "the last step queues nothing");
    assert_eq!((w.sent_to(DUTY), w.sent_to(KEYHOLDER)), (1, 1));

    let records = w.store.records(intrusion.id).await.unwrap();
    let taken: Vec<_> = records
        .escalations
        .iter()
        .map(|e| (e.step, e.notified.clone()))
        .collect();
    assert_eq!(taken, [(1, vec![DUTY.to_owned()]), (2, vec![KEYHOLDER.to_owned()])]);
    let escalated: Vec<_> = records
        .notifications
        .iter()
        .filter(|n| n.recipient.role == RecipientRole::Escalation)
        .collect();
    assert_eq!(escalated.len(), 2);
    assert!(escalated.iter().all(|n| n.status == NotificationStatus::Sent));
    assert!(escalated[0].subject.starts_with("Not acknowledged"));
}

#[tokio::test]
async fn acknowledging_stops_the_escalation() {
    let (w, intrusion) = responded().await;
    let (first, _) = steps_waiting(&w).await.remove(0);
    Intrusions::new(w.directory.clone(), w.detection.clone())
        .acknowledge(&user_of(w.client.id), intrusion.id, HandlingBody::default())
        .await
        .unwrap();
    w.clock.advance(TimeDelta::seconds(60));
    let delivered = w.notifier().deliver(&Queued::Escalation(first)).await.unwrap();
    assert_eq!(delivered, Delivered::NotNeeded);
    assert!(steps_waiting(&w).await.is_empty(), "no later step either");
    assert_eq!(w.sent_to(DUTY), 0);
    assert!(w.store.records(intrusion.id).await.unwrap().escalations.is_empty());
}

#[tokio::test]
async fn a_step_received_early_goes_back_until_due_and_a_site_without_a_policy_schedules_none() {
    let (w, _) = responded().await;
    let (first, _) = steps_waiting(&w).await.remove(0);
    w.clock.advance(TimeDelta::seconds(20));
    let delivered = w.notifier().deliver(&Queued::Escalation(first.clone())).await.unwrap();
    assert_eq!(delivered, Delivered::NotNeeded);
    let back = steps_waiting(&w).await;
    assert_eq!(back, [(first, Duration::from_secs(40))]);
    assert_eq!(w.sent_to(DUTY), 0);

    w.controls
        .save_escalation(w.site, &EscalationPolicy::default())
        .await
        .unwrap();
    let later = w.opened().await;
    w.responder().respond(&later).await.unwrap();
    assert!(steps_waiting(&w).await.is_empty());
}
