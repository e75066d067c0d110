//! The published OpenAPI descriptions match the routes, and the template routes
//! every documented path to its function.

use seccom_local::alb::path_matches;
use seccom_local::template::{Action, Template};
use seccom_system_tests::repository_root;
use utoipa::openapi::OpenApi;

fn descriptions() -> [(&'static str, OpenApi); 3] {
    [
        ("sites-management-api", sites_management_api::openapi()),
        ("cameras-api", cameras_api::openapi()),
        ("intrusion-management-api", intrusion_management_api::openapi()),
    ]
}

#[test]
fn the_published_descriptions_are_generated_from_the_routes() {
    for (function, document) in descriptions() {
        let generated = document.to_pretty_json().expect("the description serialises") + "\n";
        let published = format!("docs/api/{function}.openapi.json");
        let path = repository_root().join(&published);
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("docs/api is writable");
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == generated,
            "{published} is stale: regenerate it with `UPDATE_OPENAPI=1 cargo test -p seccom-system-tests openapi`"
        );
    }
}

#[test]
fn every_documented_path_reaches_its_function_through_the_template() {
    let template = Template::load(&repository_root().join("template.yaml")).unwrap();
    for (function, document) in descriptions() {
        let patterns: Vec<&String> = template
            .rules
            .iter()
            .filter(|rule| match &rule.action {
                Action::Forward { target_group, .. } => {
                    template.functions[&template.target_groups[target_group].function].binary == function
                }
                Action::Fixed { .. } => false,
            })
            .flat_map(|rule| &rule.path_patterns)
            .collect();
        for path in document.paths.paths.keys() {
            for collection in ["cameras", "alarms"] {
                let concrete = path.replace("{collection}", collection).replace(['{', '}'], "");
                let first_match = template
                    .rules
                    .iter()
                    .find(|rule| rule.path_patterns.iter().any(|p| path_matches(p, &concrete)));
                assert!(
                    first_match.is_some_and(|rule| rule.path_patterns.iter().any(|p| patterns.contains(&p))),
                    "the first listener rule matching {concrete} does not route to {function}"
                );
            }
        }
    }
}

#[test]
fn every_schema_a_description_refers_to_is_in_it() {
    for (function, document) in descriptions() {
        let text = serde_json::to_string(&document).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let defined = &json["components"]["schemas"];
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                !defined[name].is_null(),
                "{function} refers to the missing schema {name}"
            );
        }
    }
}
