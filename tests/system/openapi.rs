//! The published OpenAPI description matches the routes, and the template routes every documented path.

use seccom_system_tests::repository_root;
use seccom_tools::local::alb::path_matches;
use seccom_tools::local::template::{Action, Template};

const PUBLISHED: &str = "docs/api/sites-management-api.openapi.json";

#[test]
fn the_published_description_is_generated_from_the_routes() {
    let generated = sites_management_api::openapi()
        .to_pretty_json()
        .expect("the description serialises")
        + "\n";
    let path = repository_root().join(PUBLISHED);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("docs/api is writable");
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "{PUBLISHED} is stale: regenerate it with `UPDATE_OPENAPI=1 cargo test -p seccom-system-tests openapi`"
    );
}

#[test]
fn every_documented_path_reaches_the_function_through_the_template() {
    let template = Template::load(&repository_root().join("template.yaml")).unwrap();
    let patterns: Vec<&String> = template
        .rules
        .iter()
        .filter(|rule| match &rule.action {
            Action::Forward { target_group } => {
                template.functions[&template.target_groups[target_group].function].binary == "sites-management-api"
            }
            Action::Fixed { .. } => false,
        })
        .flat_map(|rule| &rule.path_patterns)
        .collect();
    let document = sites_management_api::openapi();
    for path in document.paths.paths.keys() {
        for collection in ["cameras", "alarms"] {
            let concrete = path.replace("{collection}", collection).replace(['{', '}'], "");
            assert!(
                patterns.iter().any(|p| path_matches(p, &concrete)),
                "no listener rule routes {concrete}"
            );
        }
    }
}
