//! Typed identifiers, so a site id can never be passed where a client id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random identifier for a newly created record.
            pub fn generate() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }
    };
}

identifier!(
    /// A customer of the security company (the tenant).
    ClientId
);
identifier!(
    /// A building of a client.
    SiteId
);
identifier!(
    /// A camera or an alarm installed at a site; both share one id space.
    DeviceId
);

identifier!(
    /// A request to erase a client, a site or a device with everything recorded of it.
    ErasureId
);

identifier!(
    /// An intrusion: a burst of consecutive person frames of one camera.
    IntrusionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_through_text() {
        let id = SiteId::generate();
        assert_eq!(id.to_string().parse::<SiteId>().unwrap(), id);
        assert!("not-a-uuid".parse::<SiteId>().is_err());
    }
}
