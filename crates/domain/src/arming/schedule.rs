//! When a site is armed, as pure functions of its plan and the time: fixed
//! modes, a weekly schedule in the site's own time zone (periods may cross
//! midnight), dated exceptions, and a manual change that lasts until a time or
//! until the schedule next changes. Local times are read through the IANA
//! database, so daylight-saving changes are exact.

use chrono::{DateTime, Datelike, DurationRound, NaiveDate, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far ahead the next change of a schedule is looked for.
pub const HORIZON: TimeDelta = TimeDelta::days(35);

/// A time of day, in minutes after midnight; 24:00 (1440) ends a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayMinute(u16);

impl DayMinute {
    /// Reads `HH:MM`, 00:00 to 24:00.
    pub fn parse(text: &str) -> Result<Self, String> {
        let refuse = || format!("{text:?} is not a time of day as HH:MM (00:00 to 24:00)");
        let (hours, minutes) = text.split_once(':').ok_or_else(refuse)?;
        if hours.len() != 2 || minutes.len() != 2 {
            return Err(refuse());
        }
        let hours: u16 = hours.parse().map_err(|_| refuse())?;
        let minutes: u16 = minutes.parse().map_err(|_| refuse())?;
        if minutes > 59 || hours > 24 || (hours == 24 && minutes > 0) {
            return Err(refuse());
        }
        Ok(Self(hours * 60 + minutes))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for DayMinute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for DayMinute {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DayMinute {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A day of the week as the API spells it: `mon` to `sun`.
pub fn parse_day(text: &str) -> Result<Weekday, String> {
    Ok(match text {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        other => {
            return Err(format!(
                "{other:?} is not a day; use mon, tue, wed, thu, fri, sat or sun"
            ));
        }
    })
}

/// The API's spelling of a day.
pub fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

mod days {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(days: &[Weekday], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(days.iter().map(|d| super::day_name(*d)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|d| super::parse_day(d).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// A weekly armed period: from `from` on each of `days` to `to`, the next day
/// when `to` is not after `from` (a night shift).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmedPeriod {
    #[serde(with = "days")]
    pub days: Vec<Weekday>,
    pub from: DayMinute,
    pub to: DayMinute,
}

impl ArmedPeriod {
    /// Whether the period covers `minute` of a local `day`.
    pub fn covers(&self, day: Weekday, minute: u16) -> bool {
        let (from, to) = (self.from.minutes(), self.to.minutes());
        if from < to {
            self.days.contains(&day) && from <= minute && minute < to
        } else {
            (self.days.contains(&day) && minute >= from) || (self.days.contains(&day.pred()) && minute < to)
        }
    }
}

/// A local day armed or disarmed whatever the schedule says (a holiday, a stocktake).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmingException {
    pub date: NaiveDate,
    pub armed: bool,
}

/// How a site's arming is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArmingMode {
    /// Always armed.
    Armed,
    /// Never armed.
    Disarmed,
    /// Armed in the schedule's periods, in the site's time zone.
    Scheduled,
}

/// A site's standing arming plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmingPlan {
    pub mode: ArmingMode,
    pub time_zone: Tz,
    #[serde(default)]
    pub schedule: Vec<ArmedPeriod>,
    #[serde(default)]
    pub exceptions: Vec<ArmingException>,
}

impl Default for ArmingPlan {
    /// A site nobody planned is always armed, as every site was before plans existed.
    fn default() -> Self {
        Self {
            mode: ArmingMode::Armed,
            time_zone: Tz::UTC,
            schedule: Vec::new(),
            exceptions: Vec::new(),
        }
    }
}

impl ArmingPlan {
    /// Whether the plan arms the site at `at`.
    pub fn armed_at(&self, at: DateTime<Utc>) -> bool {
        match self.mode {
            ArmingMode::Armed => true,
            ArmingMode::Disarmed => false,
            ArmingMode::Scheduled => {
                let local = at.with_timezone(&self.time_zone);
                if let Some(exception) = self.exceptions.iter().find(|e| e.date == local.date_naive()) {
                    return exception.armed;
                }
                let minute = (local.hour() * 60 + local.minute()) as u16;
                self.schedule.iter().any(|p| p.covers(local.weekday(), minute))
            }
        }
    }

    /// The first moment after `at` when the plan's state changes, if one comes within [`HORIZON`].
    pub fn next_change(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.mode != ArmingMode::Scheduled {
            return None;
        }
        let now = self.armed_at(at);
        let minute = TimeDelta::minutes(1);
        // Every schedule boundary is a whole local minute, and every time zone in use is a
        // whole number of minutes from UTC, so the state can only change on a UTC minute.
        let mut candidate = at.duration_trunc(minute).ok()? + minute;
        let end = at + HORIZON;
        while candidate <= end {
            if self.armed_at(candidate) != now {
                return Some(candidate);
            }
            candidate += minute;
        }
        None
    }
}

/// A person's arming or disarming of a site by hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManualArming {
    pub armed: bool,
    /// When the plan takes over again: the `until` asked for, or the plan's next
    /// change; `None` when neither exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ManualArming {
    fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.at <= at && self.until.is_none_or(|until| at < until)
    }
}

/// A site's arming: its plan, and the manual change in force over it, if any.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteArming {
    #[serde(flatten)]
    pub plan: ArmingPlan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<ManualArming>,
}

impl SiteArming {
    /// Whether the site is armed at `at`.
    pub fn armed_at(&self, at: DateTime<Utc>) -> bool {
        match &self.manual {
            Some(manual) if manual.in_force_at(at) => manual.armed,
            _ => self.plan.armed_at(at),
        }
    }

    /// The manual change in force at `at`, if any.
    pub fn manual_at(&self, at: DateTime<Utc>) -> Option<&ManualArming> {
        self.manual.as_ref().filter(|manual| manual.in_force_at(at))
    }

    /// The arming with `plan` as its standing plan from `at`: a manual change
    /// in force stays until its end, unless `end_manual`.
    pub fn with_plan(&self, plan: ArmingPlan, at: DateTime<Utc>, end_manual: bool) -> Self {
        Self {
            plan,
            manual: self.manual_at(at).filter(|_| !end_manual).cloned(),
        }
    }

    /// The first moment after `at` when the site's state changes, if one comes within [`HORIZON`].
    pub fn next_change(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.manual {
            Some(manual) if manual.in_force_at(at) => {
                let until = manual.until?;
                if self.plan.armed_at(until) != manual.armed {
                    Some(until)
                } else {
                    self.plan.next_change(until)
                }
            }
            _ => self.plan.next_change(at),
        }
    }

    /// The arming after a person arms (`armed`) or disarms the site by hand at
    /// `at`. With a scheduled plan the change lasts until `until` or the
    /// schedule's next change; with a fixed plan and no `until`, the plan's mode itself changes.
    pub fn set_by_hand(
        &self,
        armed: bool,
        until: Option<DateTime<Utc>>,
        by: &str,
        at: DateTime<Utc>,
        note: Option<String>,
    ) -> Self {
        if until.is_none() && self.plan.mode != ArmingMode::Scheduled {
            let mode = if armed { ArmingMode::Armed } else { ArmingMode::Disarmed };
            return Self {
                plan: ArmingPlan {
                    mode,
                    ..self.plan.clone()
                },
                manual: None,
            };
        }
        let until = until.or_else(|| self.plan.next_change(at));
        Self {
            plan: self.plan.clone(),
            manual: Some(ManualArming {
                armed,
                until,
                by: by.to_owned(),
                at,
                note,
            }),
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
