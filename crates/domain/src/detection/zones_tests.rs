//! Unit tests of zones, masks and the detection thresholds.

use super::*;

fn corners(points: &[[f64; 2]]) -> Vec<Vec<f64>> {
    points.iter().map(|p| p.to_vec()).collect()
}

fn polygon(points: &[[f64; 2]]) -> Polygon {
    Polygon::parse(&corners(points)).unwrap()
}

const BOTTOM_HALF: [[f64; 2]; 4] = [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]];

fn sighting(boxes: &[[f32; 5]]) -> Sighting {
    Sighting {
        width: 200,
        height: 100,
        score: boxes.iter().map(|b| b[4]).fold(0.0, f32::max),
        boxes: boxes.to_vec(),
    }
}

#[test]
fn polygons_need_three_to_thirty_two_corners_inside_the_frame() {
    assert!(Polygon::parse(&corners(&[[0.0, 0.0], [1.0, 0.0]])).is_err());
    let many: Vec<Vec<f64>> = (0..33)
        .map(|i| {
            let a = f64::from(i) / 33.0 * std::f64::consts::TAU;
            vec![0.5 + 0.4 * a.cos(), 0.5 + 0.4 * a.sin()]
        })
        .collect();
    assert!(Polygon::parse(&many).unwrap_err().contains("32"));
    assert!(Polygon::parse(&many[..32]).is_ok());
    assert!(
        Polygon::parse(&corners(&[[0.0, 0.0], [1.2, 0.0], [1.0, 1.0]]))
            .unwrap_err()
            .contains("outside")
    );
    assert!(
        Polygon::parse(&[vec![0.0, 0.0], vec![1.0], vec![1.0, 1.0]])
            .unwrap_err()
            .contains("pair")
    );
}

#[test]
fn self_intersecting_flat_and_degenerate_polygons_are_refused() {
    let bow_tie = corners(&[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
    assert!(Polygon::parse(&bow_tie).unwrap_err().contains("crosses itself"));
    let flat = corners(&[[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]);
    assert!(Polygon::parse(&flat).is_err());
    let repeated = corners(&[[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]]);
    assert!(Polygon::parse(&repeated).is_err());
    let folded = corners(&[[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [0.5, 1.0]]);
    assert!(Polygon::parse(&folded).is_err());
    assert!(Polygon::parse(&corners(&BOTTOM_HALF)).is_ok());
}

#[test]
fn points_inside_and_outside_a_concave_polygon() {
    let l_shape = polygon(&[[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]);
    assert!(l_shape.contains([0.25, 0.25]));
    assert!(l_shape.contains([0.75, 0.75]));
    assert!(!l_shape.contains([0.75, 0.25]), "the notch");
    assert!(!l_shape.contains([1.5, 0.75]));
}

#[test]
fn defaults_count_every_confident_box_anywhere() {
    let judgement = CameraDetection::default().judge(&sighting(&[
        [10.0, 10.0, 30.0, 40.0, 0.9],
        [100.0, 10.0, 120.0, 30.0, 0.45],
    ]));
    assert_eq!(judgement.counted, vec![0]);
    assert!(judgement.zones.is_empty());
}

#[test]
fn a_person_counts_by_the_point_they_stand_on() {
    let settings = CameraDetection {
        zones: vec![Zone {
            name: Name::parse("yard").unwrap(),
            polygon: polygon(&BOTTOM_HALF),
        }],
        ..CameraDetection::default()
    };
    // Standing at (0.5, 0.8) of the frame: in the yard, though the head is above it.
    let standing_in = settings.judge(&sighting(&[[80.0, 20.0, 120.0, 80.0, 0.9]]));
    assert_eq!(standing_in.counted, vec![0]);
    assert_eq!(standing_in.zones, vec!["yard".to_owned()]);
    // Feet at (0.5, 0.4): above the yard.
    let above = settings.judge(&sighting(&[[80.0, 0.0, 120.0, 40.0, 0.9]]));
    assert!(above.counted.is_empty());
}

#[test]
fn masks_thresholds_and_box_size_exclude_people() {
    let settings = CameraDetection {
        masks: vec![Mask {
            polygon: polygon(&[[0.0, 0.0], [0.3, 0.0], [0.3, 1.0], [0.0, 1.0]]),
        }],
        min_score: 0.7,
        min_box_area: 0.05,
        ..CameraDetection::default()
    };
    let judged = settings.judge(&sighting(&[
        [10.0, 20.0, 50.0, 90.0, 0.95],   // feet at x 0.15: in the mask
        [100.0, 20.0, 140.0, 90.0, 0.65], // below minScore
        [100.0, 80.0, 110.0, 90.0, 0.95], // 0.005 of the frame: too small
        [100.0, 20.0, 140.0, 90.0, 0.75], // counts
    ]));
    assert_eq!(judged.counted, vec![3]);
}

#[test]
fn settings_are_validated_field_by_field() {
    let body = DetectionBody {
        zones: vec![
            ZoneBody {
                name: "yard".into(),
                polygon: corners(&BOTTOM_HALF),
            },
            ZoneBody {
                name: "yard".into(),
                polygon: corners(&[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]),
            },
        ],
        masks: vec![MaskBody {
            polygon: corners(&[[0.0, 0.0], [0.5, 0.5]]),
        }],
        privacy: vec![MaskBody {
            polygon: corners(&[[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]),
        }],
        min_score: Some(0.1),
        min_box_area: Some(2.0),
    };
    let DomainError::Invalid(errors) = body.parse().unwrap_err() else {
        panic!("not a validation error")
    };
    let names: Vec<&str> = errors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "zones[1].name",
            "zones[1].polygon",
            "masks[0].polygon",
            "privacy[0].polygon",
            "minScore",
            "minBoxArea"
        ]
    );
    let parsed = DetectionBody::default().parse().unwrap();
    assert_eq!(parsed, CameraDetection::default());
}

#[test]
fn feet_at_the_bottom_edge_stand_in_a_zone_drawn_to_the_edge() {
    let settings = CameraDetection {
        zones: vec![Zone {
            name: Name::parse("yard").unwrap(),
            polygon: polygon(&BOTTOM_HALF),
        }],
        ..CameraDetection::default()
    };
    let judged = settings.judge(&sighting(&[[80.0, 20.0, 120.0, 100.0, 0.9]]));
    assert_eq!(judged.counted, vec![0]);
}
