//! Property tests of every parser that reads what outsiders send: object
//! keys, frame bundles, device credentials, command signatures, URLs, polygons,
//! schedules and the validated values (tokens and ALB claims: `seccom-http`; page tokens: `seccom-aws`).
//! Whatever the input, each answers with a value or a clean error, never a panic.

use proptest::prelude::*;

use crate::arming::{ArmingBody, DayMinute, ExceptionBody, ManualBody, PeriodBody};
use crate::credential;
use crate::destinations::Destinations;
use crate::detection::FrameKey;
use crate::detection::bundle::{self, FrameObject};
use crate::detection::zones::Polygon;
use crate::response::signing;
use crate::values::{Email, Name, Phone};

/// Text biased towards what the parsers look for: separators, digits, escapes, unicode.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9_/%+.:@=\\-\\[\\]\u{202E}\u{200B} ]{0,80}",
        "(frames|sck|rtsp|http|https)[:/_][a-z0-9/_.:%\\-]{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn object_keys_parse_or_are_refused(key in tricky()) {
        if let Ok(parsed) = FrameKey::parse(&key) {
            prop_assert_eq!(FrameKey::parse(&parsed.to_string()).unwrap(), parsed);
        }
        if let Ok(FrameObject::Bundle(parsed)) = FrameObject::parse(&key) {
            prop_assert_eq!(FrameObject::parse(&parsed.to_string()).unwrap(), FrameObject::Bundle(parsed));
        }
        let _ = bundle::frame_location(&key);
        let _ = crate::s3_key::from_notification(&key);
    }

    #[test]
    fn bundles_unpack_or_are_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cut in 0usize..4096,
        first in any::<u64>(),
        frames in 0u64..20,
    ) {
        let camera = crate::ids::DeviceId::generate();
        if let Some(key) = bundle::BundleKey::new(camera, first, frames) {
            let _ = bundle::unpack(&key, &bytes);
            let at = chrono::Utc::now();
            let packed = bundle::pack(&[(key.first, at, &bytes), (key.last, at, b"x")]).unwrap();
            let _ = bundle::unpack(&key, &packed[..cut.min(packed.len())]);
            prop_assert_eq!(bundle::unpack(&key, &packed).unwrap().len(), 2);
        }
    }

    #[test]
    fn device_credentials_never_panic(presented in tricky(), stored in tricky()) {
        let _ = credential::claimed_device(&presented);
        prop_assert!(!credential::matches(&presented, &stored) || credential::hash(&presented) == stored);
    }

    #[test]
    fn command_signatures_are_checked_whatever_arrives(
        key in proptest::collection::vec(any::<u8>(), 0..64),
        timestamp in tricky(),
        signature in tricky(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let now = chrono::Utc::now();
        let _ = signing::verify(&key, &timestamp, &signature, &body, now);
        let good = signing::sign(&key, now, &body);
        prop_assert!(signing::verify(&key, &now.timestamp().to_string(), &good, &body, now).is_ok());
    }

    #[test]
    fn urls_are_accepted_or_refused_never_crash(raw in tricky()) {
        let _ = Destinations::default().url(&raw);
    }

    #[test]
    fn values_parse_or_name_their_problem(raw in tricky()) {
        let _ = Name::parse(&raw);
        let _ = Email::parse(&raw);
        let _ = Phone::parse(&raw);
        let _ = DayMinute::parse(&raw);
    }

    #[test]
    fn polygons_of_any_numbers_are_judged(corners in proptest::collection::vec(
        proptest::collection::vec(prop_oneof![any::<f64>(), -1.0..2.0f64], 0..4), 0..40)) {
        if let Ok(polygon) = Polygon::parse(&corners) {
            let _ = polygon.contains([0.5, 0.5]);
        }
    }

    #[test]
    fn arming_plans_from_anyone_are_validated(mode in tricky(), zone in tricky(), day in tricky(),
                                              from in tricky(), to in tricky(), date in tricky(), until in tricky()) {
        let body = ArmingBody {
            mode,
            time_zone: Some(zone),
            schedule: vec![PeriodBody { days: vec![day], from, to }],
            exceptions: vec![ExceptionBody { date, armed: true }],
            end_manual: false,
        };
        if let Ok(plan) = body.parse() {
            let _ = plan.next_change(chrono::Utc::now());
        }
        let _ = ManualBody { until: Some(until), note: None }.parse(chrono::Utc::now());
    }
}
