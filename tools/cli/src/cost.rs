//! `seccom cost`: what SecCom costs on AWS per month for a number of cameras
//! at a frame rate, from measured per-frame work and published prices, beside
//! the always-on container deployment it replaces. See docs/cost.md for where
//! every figure comes from.

use std::fmt::Write;

/// AWS list prices used, US East (N. Virginia), as published on 2026-11-28.
pub mod price {
    /// Lambda on arm64, per GB-second.
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda, per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Lambda's monthly free tier (always free): GB-seconds and requests.
    pub const LAMBDA_FREE_GB_SECONDS: f64 = 400_000.0;
    pub const LAMBDA_FREE_REQUESTS: f64 = 1e6;
    /// S3 Standard: PUT, GET, and storage per GB-month.
    pub const S3_PUT: f64 = 0.005 / 1000.0;
    pub const S3_GET: f64 = 0.0004 / 1000.0;
    pub const S3_GB_MONTH: f64 = 0.023;
    /// DynamoDB on demand: per write and read request unit, storage per GB-month (25 GB free).
    pub const DYNAMODB_WRITE: f64 = 0.625 / 1e6;
    pub const DYNAMODB_READ: f64 = 0.125 / 1e6;
    /// Application Load Balancer: per hour, and per LCU-hour.
    pub const ALB_HOUR: f64 = 0.0225;
    pub const ALB_LCU_HOUR: f64 = 0.008;
    /// The container deployment: two EC2 t3.medium, an ElastiCache cache.t3.micro,
    /// an RDS db.t3.micro (PostgreSQL) with 20 GB of gp2, on demand, per hour or GB-month.
    pub const EC2_T3_MEDIUM_HOUR: f64 = 0.0416;
    pub const ELASTICACHE_T3_MICRO_HOUR: f64 = 0.017;
    pub const RDS_T3_MICRO_HOUR: f64 = 0.017;
    pub const RDS_GP2_GB_MONTH: f64 = 0.115;
}

/// Measured or chosen per-frame work (docs/performance.md, docs/cost.md).
pub mod measured {
    /// The detector's memory size (template.yaml).
    pub const DETECTOR_MEMORY_GB: f64 = 1.0;
    /// Billed detector time per frame at that size: fetch, decode, inference,
    /// DynamoDB reads and writes. Measured on a whole core: 54-63 ms of CPU
    /// (decode and resize 5-6 ms, the rest inference) before the channel-last
    /// depthwise kernel, which runs inference in 0.71x the time (measured side
    /// by side with its AVX2/FMA form; docs/performance.md): 40-46 ms. At 1 GB
    /// Lambda gives 1024/1769 of a vCPU, so about 75 ms of CPU, and four
    /// sequential round trips about 30 ms of I/O.
    pub const DETECTOR_SECONDS_PER_FRAME: f64 = 0.105;
    /// Of that time, the share paid once per upload whatever it carries: the
    /// invocation, the GET, and the reads of the camera and of whether the
    /// frames were seen. Measured side by side: frames sent in bundles of 8 took
    /// BUNDLED_TO_SINGLE of a single frame's detector time each (docs/performance.md),
    /// so the per-upload part u satisfies 1 - u + u/8 = BUNDLED_TO_SINGLE.
    pub const DETECTOR_UPLOAD_SHARE: f64 = (1.0 - BUNDLED_TO_SINGLE) * 8.0 / 7.0;
    /// Detector time per frame in bundles of 8 over that of single frames, with
    /// 5 ms added to every DynamoDB and S3 request (`scripts/bench-detector`).
    pub const BUNDLED_TO_SINGLE: f64 = 0.80;
    /// The devices API's memory size and billed time per upload request.
    pub const UPLOAD_API_MEMORY_GB: f64 = 0.25;
    pub const UPLOAD_API_SECONDS_PER_UPLOAD: f64 = 0.01;
    /// A 768x576 JPEG frame.
    pub const FRAME_MB: f64 = 0.05;
    /// What a frame adds to a bundle besides its bytes: its tar header, its PAX
    /// header with the capture time, and padding to 512 bytes (about 1.8 KB).
    pub const TAR_MB_PER_FRAME: f64 = 0.0018;
    /// A frame's record in DynamoDB, as the query of a bundle's records reads it.
    pub const FRAME_RECORD_KB: f64 = 0.5;
    /// Days a routine frame is kept (the frames bucket's lifecycle rule).
    pub const FRAME_RETENTION_DAYS: f64 = 7.0;
    /// DynamoDB units for frames without a person (most of a camera's frames):
    /// each frame's record is a write; each upload reads its camera and whether
    /// its frames were seen (strongly consistent: a `GetItem` of a single frame,
    /// a `Query` of a bundle's range, 1 unit per 4 KB read). A person frame adds
    /// the rule's two reads, and 4 write units when it extends an intrusion (a
    /// transaction of two writes); arming and settings are cached per container.
    pub const WRITE_UNITS_PER_FRAME: f64 = 1.0;
    /// DynamoDB units of the devices API per upload request: the camera's
    /// credential (an eventually consistent read of an item under 4 KB, half a
    /// unit) and its upload budget (a conditional write). Counted from 2026-12-08.
    pub const UPLOAD_API_READ_UNITS: f64 = 0.5;
    pub const UPLOAD_API_WRITE_UNITS: f64 = 1.0;
    /// ALB capacity units per upload request per second: a new connection each
    /// (the worst case; 25 new connections per second make one LCU).
    pub const LCU_PER_UPLOAD_PER_SECOND: f64 = 1.0 / 25.0;

    /// Read units an upload of `frames` frames takes: its camera, and its frames'
    /// records (one unit for a single frame's `GetItem`, as for a small bundle's `Query`).
    pub fn read_units_per_upload(frames: f64) -> f64 {
        1.0 + (frames * FRAME_RECORD_KB / 4.0).ceil()
    }
}

/// Hours and seconds in the 30-day month used throughout.
pub const HOURS_PER_MONTH: f64 = 720.0;
const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;

/// What is being priced.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub cameras: u32,
    pub fps: f64,
    /// The share of frames sent (1 for continuous; a motion-gated camera sends less).
    pub sent_fraction: f64,
    /// Frames per upload: 1, or a bundle of up to 16.
    pub bundle: u64,
}

/// One month's bill by line, in US dollars.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub frames: f64,
    pub uploads: f64,
    pub lambda_compute: f64,
    pub lambda_requests: f64,
    pub s3_requests: f64,
    pub s3_storage: f64,
    pub dynamodb: f64,
    pub alb_hours: f64,
    pub alb_capacity: f64,
    /// What Lambda's always-free tier takes off.
    pub free_tier: f64,
}

impl Estimate {
    /// The month's total after the free tier.
    pub fn total(&self) -> f64 {
        self.lambda_compute
            + self.lambda_requests
            + self.s3_requests
            + self.s3_storage
            + self.dynamodb
            + self.alb_hours
            + self.alb_capacity
            - self.free_tier
    }
}

/// Prices a scenario on SecCom Serverless.
pub fn serverless(scenario: Scenario) -> Estimate {
    use measured::*;
    use price::*;
    let frames = f64::from(scenario.cameras) * scenario.fps * scenario.sent_fraction * SECONDS_PER_MONTH;
    let bundle = scenario.bundle.max(1) as f64;
    let uploads = frames / bundle;
    let detector_seconds =
        DETECTOR_SECONDS_PER_FRAME * ((1.0 - DETECTOR_UPLOAD_SHARE) + DETECTOR_UPLOAD_SHARE / bundle);
    let gb_seconds =
        frames * DETECTOR_MEMORY_GB * detector_seconds + uploads * UPLOAD_API_MEMORY_GB * UPLOAD_API_SECONDS_PER_UPLOAD;
    let requests = uploads * 2.0;
    let free_tier = gb_seconds.min(LAMBDA_FREE_GB_SECONDS) * LAMBDA_ARM_GB_SECOND
        + requests.min(LAMBDA_FREE_REQUESTS) * LAMBDA_REQUEST;
    let stored_mb = FRAME_MB + if bundle > 1.0 { TAR_MB_PER_FRAME } else { 0.0 };
    Estimate {
        frames,
        uploads,
        lambda_compute: gb_seconds * LAMBDA_ARM_GB_SECOND,
        lambda_requests: requests * LAMBDA_REQUEST,
        s3_requests: uploads * (S3_PUT + S3_GET),
        s3_storage: frames / 30.0 * FRAME_RETENTION_DAYS * stored_mb / 1000.0 * S3_GB_MONTH,
        dynamodb: frames * WRITE_UNITS_PER_FRAME * DYNAMODB_WRITE
            + uploads * read_units_per_upload(bundle) * DYNAMODB_READ
            + uploads * (UPLOAD_API_READ_UNITS * DYNAMODB_READ + UPLOAD_API_WRITE_UNITS * DYNAMODB_WRITE),
        alb_hours: HOURS_PER_MONTH * ALB_HOUR,
        alb_capacity: uploads / SECONDS_PER_MONTH * LCU_PER_UPLOAD_PER_SECOND * HOURS_PER_MONTH * ALB_LCU_HOUR,
        free_tier,
    }
}

/// The always-on container deployment the system replaces, per month, whatever the load.
pub fn containers() -> f64 {
    use price::*;
    HOURS_PER_MONTH * (2.0 * EC2_T3_MEDIUM_HOUR + ELASTICACHE_T3_MICRO_HOUR + RDS_T3_MICRO_HOUR + ALB_HOUR)
        + 20.0 * RDS_GP2_GB_MONTH
}

/// The `seccom cost` report.
pub fn report(scenario: Scenario) -> String {
    let estimate = serverless(scenario);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} camera(s) at {} fps, {:.0} % of frames sent, {} per upload: {:.0} frames in {:.0} uploads a month",
        scenario.cameras,
        scenario.fps,
        scenario.sent_fraction * 100.0,
        scenario.bundle,
        estimate.frames,
        estimate.uploads
    );
    let lines = [
        ("Lambda compute (arm64)", estimate.lambda_compute),
        ("Lambda requests", estimate.lambda_requests),
        ("S3 requests (PUT + GET per upload)", estimate.s3_requests),
        ("S3 storage (frames kept 7 days)", estimate.s3_storage),
        ("DynamoDB on demand", estimate.dynamodb),
        ("ALB hours", estimate.alb_hours),
        ("ALB capacity units", estimate.alb_capacity),
        ("Lambda free tier", -estimate.free_tier),
    ];
    for (label, dollars) in lines {
        let _ = writeln!(out, "  {label:<36} {dollars:>10.2} USD");
    }
    let total = estimate.total();
    let _ = writeln!(out, "  {:<36} {total:>10.2} USD", "Total per month");
    let _ = writeln!(
        out,
        "  {:<36} {:>10.2} USD",
        "Per camera",
        total / f64::from(scenario.cameras.max(1))
    );
    let _ = writeln!(
        out,
        "  {:<36} {:>10.2} USD (fixed, whatever the load)",
        "Container deployment, for comparison",
        containers()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_camera_at_two_frames_a_second_matches_the_hand_calculation() {
        // docs/cost.md works this case out by hand.
        let estimate = serverless(Scenario {
            cameras: 1,
            fps: 2.0,
            sent_fraction: 1.0,
            bundle: 1,
        });
        assert_eq!(estimate.frames, 5_184_000.0);
        let close = |a: f64, b: f64| (a - b).abs() < 0.005;
        assert!(close(estimate.lambda_compute, 7.43), "{}", estimate.lambda_compute);
        assert!(close(estimate.lambda_requests, 2.07), "{}", estimate.lambda_requests);
        assert!(close(estimate.s3_requests, 27.99), "{}", estimate.s3_requests);
        assert!(close(estimate.s3_storage, 1.39), "{}", estimate.s3_storage);
        assert!(close(estimate.dynamodb, 8.10), "{}", estimate.dynamodb);
        assert!(close(estimate.alb_hours, 16.20), "{}", estimate.alb_hours);
        assert!(close(estimate.alb_capacity, 0.46), "{}", estimate.alb_capacity);
        assert!(close(estimate.free_tier, 5.53), "{}", estimate.free_tier);
        assert!(close(estimate.total(), 58.12), "{}", estimate.total());
        assert!(close(containers(), 102.88), "{}", containers());
    }

    /// What one more camera adds to a fleet past the free tier.
    fn marginal(fps: f64, sent_fraction: f64, bundle: u64) -> f64 {
        let fleet = |cameras| {
            serverless(Scenario {
                cameras,
                fps,
                sent_fraction,
                bundle,
            })
            .total()
        };
        fleet(21) - fleet(20)
    }

    #[test]
    fn bundles_bring_the_marginal_camera_within_the_targets() {
        // docs/cost.md tabulates these.
        let close = |a: f64, b: f64| (a - b).abs() < 0.005;
        assert!(close(marginal(2.0, 1.0, 1), 47.45), "{}", marginal(2.0, 1.0, 1));
        assert!(close(marginal(2.0, 0.1, 1), 4.74), "{}", marginal(2.0, 0.1, 1));
        assert!(marginal(2.0, 0.1, 4) < 2.0, "{}", marginal(2.0, 0.1, 4));
        assert!(close(marginal(2.0, 1.0, 8), 14.93), "{}", marginal(2.0, 1.0, 8));
        assert!(marginal(2.0, 1.0, 8) < 15.0, "{}", marginal(2.0, 1.0, 8));
        assert!(marginal(2.0, 1.0, 16) < 15.0, "{}", marginal(2.0, 1.0, 16));
    }
}
