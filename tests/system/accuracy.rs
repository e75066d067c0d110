//! The detector judges every public test image right at the chosen threshold.

use seccom_detector::{PERSON_THRESHOLD, PersonDetector, SCORE_FLOOR, frame};
use seccom_system_tests::{repository_root, test_image};

#[test]
fn every_test_image_is_judged_right() {
    let detector = PersonDetector::load().unwrap();
    let list = std::fs::read_to_string(repository_root().join("tests/fixtures/images.tsv")).unwrap();
    let mut wrong = Vec::new();
    let mut table = String::from("image | person | score\n");
    for line in list.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (name, expected) = (fields[0], fields[1] == "true");
        let image = frame::decode(&test_image(name)).unwrap();
        let detection = detector.detect(&image).unwrap();
        table.push_str(&format!("{name} | {expected} | {:.3}\n", detection.score));
        if detection.has_person() != expected {
            wrong.push(name);
        }
        if expected {
            assert!(!detection.boxes.is_empty(), "{name}: a person without a box");
            for b in &detection.boxes {
                assert!(b.x1 < b.x2 && b.y1 < b.y2 && b.x2 <= image.width() as f32 && b.y2 <= image.height() as f32);
                assert!(b.score >= SCORE_FLOOR);
            }
        }
    }
    println!("{table}");
    assert!(wrong.is_empty(), "misjudged at {PERSON_THRESHOLD}: {wrong:?}\n{table}");
}
