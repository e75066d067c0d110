//! Unit tests of arming schedules, with fixed instants around Lisbon's 2026 daylight-saving changes.

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn period(days: &[&str], from: &str, to: &str) -> ArmedPeriod {
    ArmedPeriod {
        days: days.iter().map(|d| parse_day(d).unwrap()).collect(),
        from: DayMinute::parse(from).unwrap(),
        to: DayMinute::parse(to).unwrap(),
    }
}

/// Weeknights 19:00 to 07:00 and whole weekends, in Lisbon, as in the API's example.
fn lisbon_nights() -> ArmingPlan {
    ArmingPlan {
        mode: ArmingMode::Scheduled,
        time_zone: chrono_tz::Europe::Lisbon,
        schedule: vec![
            period(&["mon", "tue", "wed", "thu", "fri"], "19:00", "07:00"),
            period(&["sat", "sun"], "00:00", "24:00"),
        ],
        exceptions: vec![],
    }
}

#[test]
fn times_of_day_are_hours_and_minutes_up_to_midnight() {
    assert_eq!(DayMinute::parse("24:00").unwrap().minutes(), 1440);
    assert_eq!(DayMinute::parse("07:05").unwrap().to_string(), "07:05");
    for bad in ["24:01", "7:00", "19:60", "1900", "", "ab:cd", "-1:00"] {
        assert!(DayMinute::parse(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn a_period_crossing_midnight_covers_the_next_morning() {
    let night = period(&["fri"], "19:00", "07:00");
    assert!(night.covers(Weekday::Fri, 19 * 60));
    assert!(night.covers(Weekday::Sat, 6 * 60 + 59));
    assert!(!night.covers(Weekday::Sat, 7 * 60));
    assert!(
        !night.covers(Weekday::Fri, 6 * 60),
        "Friday morning belongs to Thursday's night"
    );
    assert!(!night.covers(Weekday::Fri, 18 * 60 + 59));
}

#[test]
fn the_same_local_hour_is_a_different_instant_after_the_spring_change() {
    let plan = lisbon_nights();
    // Tuesday 24 March 2026, the end of Monday's night: Lisbon is on UTC (WET).
    assert!(plan.armed_at(utc("2026-03-24T06:59:00Z")));
    assert!(!plan.armed_at(utc("2026-03-24T07:00:00Z")));
    // Tuesday 31 March 2026: Lisbon is on UTC+1 (WEST) since Sunday 01:00 UTC.
    assert!(plan.armed_at(utc("2026-03-31T05:59:00Z")), "06:59 local");
    assert!(!plan.armed_at(utc("2026-03-31T06:00:00Z")), "07:00 local");
    assert!(
        !plan.armed_at(utc("2026-03-30T05:00:00Z")),
        "Monday 06:00: Sunday's period ended at 24:00"
    );
    assert!(!plan.armed_at(utc("2026-03-30T17:59:00Z")), "18:59 local");
    assert!(plan.armed_at(utc("2026-03-30T18:00:00Z")), "19:00 local");
}

#[test]
fn the_next_change_is_found_across_the_spring_change() {
    let plan = lisbon_nights();
    // Friday 27 March, WET: armed at 19:00 local = 19:00 UTC.
    assert_eq!(
        plan.next_change(utc("2026-03-27T12:00:00Z")),
        Some(utc("2026-03-27T19:00:00Z"))
    );
    // Sunday 29 March, the change day: Sunday ends at local midnight, now WEST = 23:00 UTC,
    // and Monday morning is not armed (Sunday's period ends at 24:00).
    assert_eq!(
        plan.next_change(utc("2026-03-29T12:00:00Z")),
        Some(utc("2026-03-29T23:00:00Z"))
    );
    // Monday 30 March, WEST: armed at 19:00 local = 18:00 UTC.
    assert_eq!(
        plan.next_change(utc("2026-03-30T12:00:00Z")),
        Some(utc("2026-03-30T18:00:00Z"))
    );
}

#[test]
fn local_times_that_do_not_exist_or_happen_twice_are_read_as_they_happen() {
    let mut plan = lisbon_nights();
    plan.schedule = vec![period(&["sun"], "01:15", "01:45")];
    // 29 March: 01:00 to 02:00 local does not exist, so the period never comes.
    assert!(!plan.armed_at(utc("2026-03-29T00:30:00Z")), "00:30 WET");
    assert!(!plan.armed_at(utc("2026-03-29T01:30:00Z")), "02:30 WEST");
    // 25 October: 01:00 to 02:00 local happens twice, and the period with it.
    assert!(plan.armed_at(utc("2026-10-25T00:30:00Z")), "01:30 WEST");
    assert!(!plan.armed_at(utc("2026-10-25T00:50:00Z")), "01:50 WEST");
    assert!(!plan.armed_at(utc("2026-10-25T01:00:00Z")), "01:00 WET");
    assert!(plan.armed_at(utc("2026-10-25T01:30:00Z")), "01:30 WET");
    assert_eq!(
        plan.next_change(utc("2026-10-25T00:50:00Z")),
        Some(utc("2026-10-25T01:15:00Z"))
    );
}

#[test]
fn the_autumn_change_moves_the_evening_by_an_hour_in_utc() {
    let plan = lisbon_nights();
    // Friday 23 October, WEST: 19:00 local = 18:00 UTC.
    assert_eq!(
        plan.next_change(utc("2026-10-23T12:00:00Z")),
        Some(utc("2026-10-23T18:00:00Z"))
    );
    // Monday 26 October, WET: 19:00 local = 19:00 UTC.
    assert_eq!(
        plan.next_change(utc("2026-10-26T12:00:00Z")),
        Some(utc("2026-10-26T19:00:00Z"))
    );
}

#[test]
fn an_exception_day_overrides_the_schedule_either_way() {
    let mut plan = lisbon_nights();
    plan.exceptions = vec![
        ArmingException {
            date: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            armed: true,
        },
        ArmingException {
            date: NaiveDate::from_ymd_opt(2026, 12, 26).unwrap(),
            armed: false,
        },
    ];
    assert!(
        plan.armed_at(utc("2026-12-25T12:00:00Z")),
        "Christmas Day, a Friday, armed all day"
    );
    assert!(!plan.armed_at(utc("2026-12-26T12:00:00Z")), "Saturday disarmed");
    assert!(plan.armed_at(utc("2026-12-27T12:00:00Z")), "Sunday as scheduled");
    assert_eq!(
        plan.next_change(utc("2026-12-25T12:00:00Z")),
        Some(utc("2026-12-26T00:00:00Z"))
    );
}

#[test]
fn fixed_modes_never_change_by_themselves() {
    let armed = ArmingPlan::default();
    assert!(armed.armed_at(utc("2026-03-29T01:30:00Z")));
    assert_eq!(armed.next_change(utc("2026-03-29T01:30:00Z")), None);
    let disarmed = ArmingPlan {
        mode: ArmingMode::Disarmed,
        ..ArmingPlan::default()
    };
    assert!(!disarmed.armed_at(utc("2026-03-29T01:30:00Z")));
}

#[test]
fn a_disarm_until_a_time_returns_to_the_schedule_then() {
    let site = SiteArming {
        plan: lisbon_nights(),
        manual: None,
    };
    // Tuesday 1 December, WET: armed since 19:00.
    let at = utc("2026-12-01T20:00:00Z");
    assert!(site.armed_at(at));
    let disarmed = site.set_by_hand(false, Some(utc("2026-12-01T21:00:00Z")), "guard", at, None);
    assert!(!disarmed.armed_at(utc("2026-12-01T20:30:00Z")));
    assert_eq!(
        disarmed.next_change(utc("2026-12-01T20:30:00Z")),
        Some(utc("2026-12-01T21:00:00Z"))
    );
    assert!(disarmed.armed_at(utc("2026-12-01T21:00:00Z")));
    assert!(
        disarmed.armed_at(at - TimeDelta::minutes(1)),
        "the change does not reach back"
    );
}

#[test]
fn a_disarm_without_an_end_lasts_until_the_schedule_next_changes() {
    let site = SiteArming {
        plan: lisbon_nights(),
        manual: None,
    };
    let at = utc("2026-12-01T20:00:00Z");
    let disarmed = site.set_by_hand(false, None, "guard", at, Some("cleaners in".into()));
    let manual = disarmed.manual.clone().unwrap();
    assert_eq!(manual.until, Some(utc("2026-12-02T07:00:00Z")));
    assert_eq!(manual.note.as_deref(), Some("cleaners in"));
    assert!(!disarmed.armed_at(utc("2026-12-01T23:00:00Z")));
    assert!(!disarmed.armed_at(utc("2026-12-02T12:00:00Z")));
    assert!(
        disarmed.armed_at(utc("2026-12-02T19:00:00Z")),
        "the schedule arms again that evening"
    );
    assert_eq!(
        disarmed.next_change(utc("2026-12-01T23:00:00Z")),
        Some(utc("2026-12-02T19:00:00Z")),
        "07:00 changes nothing: the schedule disarms then too"
    );
}

#[test]
fn arming_by_hand_in_the_day_lasts_until_the_evening_then_follows_the_schedule() {
    let site = SiteArming {
        plan: lisbon_nights(),
        manual: None,
    };
    let armed = site.set_by_hand(true, None, "client", utc("2026-12-02T10:00:00Z"), None);
    assert!(armed.armed_at(utc("2026-12-02T12:00:00Z")));
    assert_eq!(
        armed.manual.as_ref().and_then(|m| m.until),
        Some(utc("2026-12-02T19:00:00Z"))
    );
    assert_eq!(
        armed.next_change(utc("2026-12-02T12:00:00Z")),
        Some(utc("2026-12-03T07:00:00Z"))
    );
}

#[test]
fn by_hand_without_an_end_a_fixed_mode_changes_mode() {
    let site = SiteArming::default();
    let disarmed = site.set_by_hand(false, None, "staff", utc("2026-12-02T10:00:00Z"), None);
    assert_eq!(disarmed.plan.mode, ArmingMode::Disarmed);
    assert_eq!(disarmed.manual, None);
    let until = utc("2026-12-02T11:00:00Z");
    let briefly = site.set_by_hand(false, Some(until), "staff", utc("2026-12-02T10:00:00Z"), None);
    assert_eq!(briefly.plan.mode, ArmingMode::Armed);
    assert!(!briefly.armed_at(utc("2026-12-02T10:30:00Z")));
    assert!(briefly.armed_at(until));
    assert_eq!(briefly.next_change(utc("2026-12-02T10:30:00Z")), Some(until));
}

#[test]
fn a_plan_is_stored_in_the_shape_the_api_speaks() {
    let json = serde_json::to_value(SiteArming {
        plan: lisbon_nights(),
        manual: None,
    })
    .unwrap();
    assert_eq!(json["mode"], "scheduled");
    assert_eq!(json["timeZone"], "Europe/Lisbon");
    assert_eq!(json["schedule"][0]["days"][0], "mon");
    assert_eq!(json["schedule"][1]["to"], "24:00");
    let back: SiteArming = serde_json::from_value(json).unwrap();
    assert_eq!(back.plan, lisbon_nights());
}
