//! The ecosystem pages: searching the registry, a product's xmpp.org and
//! DOAP data, the implementations of a XEP, and the team's annotations
//! (refused field by field when wrong, audited when saved, used by lookups
//! at once), including products a member adds.

mod support;

use axum::http::StatusCode;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::Role;
use cnadesk_store::prelude::*;
use serde_json::json;
use support::TestApp;

const PROSODY: &str = "/desk/ecosystem/products/prosody-im";

/// The `<section>` with this id (up to its end).
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let marker = format!("<section class=\"card wide\" id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no section `{id}` in:\n{body}"));
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

fn link(key: &str) -> String {
    format!("href=\"/desk/ecosystem/products/{key}\"")
}

#[tokio::test]
async fn search_tolerates_case_punctuation_and_filler() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;

    let r = ada.get("/desk/ecosystem?q=Prosody+IM").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        section(&r.body, "matches").contains(&link("prosody-im")),
        "{}",
        r.body
    );

    let r = ada.get("/desk/ecosystem?q=conversejs").await;
    assert_eq!(r.status, StatusCode::OK);
    let found = section(&r.body, "matches");
    assert!(found.contains(&link("converse-js")), "{found}");
    assert!(found.contains("Converse.js"));

    let r = ada
        .get("/desk/ecosystem?q=https%3A%2F%2Fgithub.com%2Fdino%2Fdino%2Fissues%2F1500")
        .await;
    assert!(section(&r.body, "matches").contains(&link("dino")));

    let r = ada.get("/desk/ecosystem?q=no+such+thing+at+all").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"no-matches\""));

    // Without a search: every product, with the data's origin.
    let r = ada.get("/desk/ecosystem").await;
    assert_eq!(r.status, StatusCode::OK);
    let all = section(&r.body, "products");
    assert!(all.contains(&link("prosody-im")));
    assert!(all.contains(&link("gajim")));
    assert!(r.body.contains(app.state.scope.origin()));
    assert!(r.body.contains("href=\"/desk/ecosystem/new\""));

    // Filters.
    let r = ada.get("/desk/ecosystem?listing=archived").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains(&link("prosody-im")));
    let r = ada.get("/desk/ecosystem?category=client").await;
    assert!(r.body.contains(&link("gajim")));
    assert!(!r.body.contains(&link("prosody-im")), "a server");
}

#[tokio::test]
async fn the_xep_lookup_goes_to_the_xep_page() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let r = ada.get("/desk/ecosystem?xep=0280").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/desk/ecosystem/xeps/280");
    let r = ada.get("/desk/ecosystem?xep=XEP-0045").await;
    assert_eq!(r.location(), "/desk/ecosystem/xeps/45");
    let r = ada.get("/desk/ecosystem?xep=carbons").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("is not a XEP number"));
    let r = ada.get("/desk/ecosystem?xep=9999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("XEP-9999 is not on the XEP list"));
}

#[tokio::test]
async fn a_product_page_shows_xmpp_org_and_doap_data() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let r = ada.get(PROSODY).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<h1>Prosody IM</h1>"));
    assert!(r.body.contains("listed by the XSF"));
    let doap = section(&r.body, "doap");
    assert!(doap.contains("id=\"doap-xeps\""), "{doap}");
    assert!(doap.contains("href=\"/desk/ecosystem/xeps/280\""), "{doap}");
    assert!(doap.contains("XEP-0280"));
    assert!(doap.contains("Message Carbons"));
    // The form shows the shipped annotation.
    let form = section(&r.body, "annotation");
    assert!(form.contains(">Prosody</textarea>"), "{form}");
    assert!(form.contains("pkg:deb/debian/prosody"));

    // Without DOAP data, the page says so.
    let r = ada.get("/desk/ecosystem/products/gajim").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"no-doap\""));

    let r = ada.get("/desk/ecosystem/products/no-such-product").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_xep_page_lists_declared_and_unknown_support() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let r = ada.get("/desk/ecosystem/xeps/280").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("XEP-0280: Message Carbons"));
    assert!(r.body.contains("Standards Track"));
    let declared = section(&r.body, "declared");
    for name in ["ejabberd", "Prosody IM", "Dino", "Openfire"] {
        assert!(
            declared.contains(&format!(">{name}</a>")),
            "{name} missing from {declared}"
        );
    }
    assert!(!declared.contains(">Gajim</a>"));
    let unknown = section(&r.body, "unknown");
    assert!(unknown.contains(">Gajim</a>"), "{unknown}");
    assert!(!unknown.contains(">Prosody IM</a>"));

    assert_eq!(
        ada.get("/desk/ecosystem/xeps/0280").await.status,
        StatusCode::OK
    );
    for bad in ["abc", "9999", "-1", "280x"] {
        assert_eq!(
            ada.get(&format!("/desk/ecosystem/xeps/{bad}")).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_wrong_annotation_is_refused_field_by_field_and_kept() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let r = ada
        .submit(
            PROSODY,
            PROSODY,
            &[
                ("aliases", "Prosody\nLua XMPP server"),
                ("end_of_life", "soon"),
                ("own_cna", "nosuchcna"),
                ("fork_of", "Prosody IM"),
                ("packages", "hex/xmpp"),
                ("repositories", "ftp://example.org/repo"),
                ("note", "kept note"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    for (field, message) in [
        ("end_of_life", "is not a date"),
        ("own_cna", "is not on the CVE Program"),
        ("fork_of", "cannot be a fork of itself"),
        ("packages", "is not a package URL"),
        ("repositories", "is not a web address"),
    ] {
        let marker = format!("id=\"error-{field}\">");
        let at = r
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no error on {field}: {}", r.body));
        assert!(
            r.body[at..].split("</p>").next().unwrap().contains(message),
            "{field}: {message}"
        );
    }
    assert!(!r.body.contains("id=\"error-aliases\""));
    assert!(!r.body.contains("id=\"error-note\""));
    // Every submitted value is still in the form.
    assert!(r.body.contains("value=\"soon\""));
    assert!(r.body.contains("value=\"nosuchcna\""));
    assert!(r.body.contains("value=\"Prosody IM\""));
    assert!(r.body.contains(">hex/xmpp</textarea>"));
    assert!(r.body.contains(">ftp://example.org/repo</textarea>"));
    assert!(r.body.contains(">Prosody\nLua XMPP server</textarea>"));
    assert!(r.body.contains(">kept note</textarea>"));
    // Nothing was saved.
    assert!(app.store.product_annotations().await.unwrap().is_empty());

    // Too long.
    let long = "x".repeat(2001);
    let r = ada.submit(PROSODY, PROSODY, &[("note", &long)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"error-note\""));
    let long = format!("https://example.org/{}", "a".repeat(300));
    let r = ada
        .submit(PROSODY, PROSODY, &[("repositories", &long)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("is too long"));
    assert!(app.store.product_annotations().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_valid_annotation_is_saved_audited_and_used_by_lookups() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let r = ada
        .submit(
            PROSODY,
            PROSODY,
            &[
                ("aliases", "Prosody\r\nLua XMPP server\r\n\r\nProsody"),
                ("own_cna", "MOZILLA"),
                ("end_of_life", "2030-01-31"),
                ("fork_of", "ejabberd"),
                ("packages", "pkg:deb/debian/prosody"),
                ("repositories", "https://hg.prosody.im/trunk/"),
                ("vendor_contacts", "security@prosody.im"),
                ("note", "  A note.  "),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("{PROSODY}?done=saved"));

    let saved = app.store.product_annotations().await.unwrap();
    let a = &saved
        .iter()
        .find(|a| a.key == "prosody-im")
        .expect("saved under the product key")
        .annotation;
    assert_eq!(a["name"], "Prosody IM");
    assert_eq!(a["aliases"], json!(["Prosody", "Lua XMPP server"]));
    assert_eq!(a["own_cna"], "mozilla", "the canonical short name");
    assert_eq!(a["end_of_life"], "2030-01-31");
    assert_eq!(a["fork_of"], "ejabberd");
    assert_eq!(a["packages"], json!(["pkg:deb/debian/prosody"]));
    assert_eq!(a["vendor_contacts"], json!(["security@prosody.im"]));
    assert_eq!(a["note"], "A note.");
    assert_eq!(a["added"], false);

    let events = app.store.audit_events(0, 1000).await.unwrap();
    let e = events
        .iter()
        .find(|e| e.is(AuditAction::EcosystemProductAnnotated))
        .expect("the change is audited");
    assert_eq!(e.payload["product"], "prosody-im");
    assert_eq!(e.payload["after"]["own_cna"], "mozilla");

    // The page shows it.
    let r = ada.get(&r.location()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("The annotation is saved."));
    assert!(r.body.contains("own CNA: mozilla"));
    assert!(r.body.contains("end of life 2030-01-31"));
    assert!(r.body.contains("fork of ejabberd"));
    assert!(r.body.contains("value=\"mozilla\""));

    // Lookups use it at once.
    let r = ada.get("/desk/ecosystem?q=Lua+XMPP+server").await;
    assert!(
        section(&r.body, "matches").contains(&link("prosody-im")),
        "{}",
        r.body
    );
    // And the index shows the badges.
    let r = ada.get("/desk/ecosystem?q=prosody").await;
    assert!(section(&r.body, "matches").contains("own CNA: mozilla"));
}

#[tokio::test]
async fn a_member_adds_a_product_and_duplicates_are_refused() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let r = ada.get("/desk/ecosystem/new").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("name=\"cat_integrated_platform\""));

    let r = ada
        .submit(
            "/desk/ecosystem/new",
            "/desk/ecosystem/products",
            &[
                ("name", "Example Gateway"),
                ("cat_component", "on"),
                ("homepage", "https://gateway.example.org"),
                ("aliases", "exgw"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        "/desk/ecosystem/products/example-gateway?done=added"
    );
    let r = ada.get(&r.location()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<h1>Example Gateway</h1>"));
    assert!(r.body.contains("added by the team"));
    assert!(r.body.contains("https://gateway.example.org"));
    let events = app.store.audit_events(0, 1000).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.is(AuditAction::EcosystemProductAdded)));

    // It is found like any other product.
    let r = ada.get("/desk/ecosystem?q=example+gateway").await;
    assert!(section(&r.body, "matches").contains(&link("example-gateway")));
    let r = ada.get("/desk/ecosystem?q=exgw").await;
    assert!(section(&r.body, "matches").contains(&link("example-gateway")));
    let r = ada.get("/desk/ecosystem?listing=local").await;
    let local = section(&r.body, "products");
    assert!(local.contains(&link("example-gateway")));
    assert!(!local.contains(&link("prosody-im")));

    // Annotating it keeps its definition.
    let page = "/desk/ecosystem/products/example-gateway";
    let r = ada
        .submit(page, page, &[("note", "Seen in a report.")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let saved = app.store.product_annotations().await.unwrap();
    let a = &saved
        .iter()
        .find(|a| a.key == "example-gateway")
        .unwrap()
        .annotation;
    assert_eq!(a["added"], true);
    assert_eq!(a["name"], "Example Gateway");
    assert_eq!(a["categories"], json!(["component"]));
    assert_eq!(a["homepage"], "https://gateway.example.org");
    assert_eq!(a["note"], "Seen in a report.");
    assert_eq!(ada.get(page).await.status, StatusCode::OK);

    // The same name again, in other spellings, is refused.
    for (name, key) in [
        ("prosody im", "prosody-im"),
        ("Prosody", "prosody-im"),
        ("Example  Gateway!", "example-gateway"),
    ] {
        let r = ada
            .submit(
                "/desk/ecosystem/new",
                "/desk/ecosystem/products",
                &[("name", name), ("cat_server", "on")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(r.body.contains("already in the registry"), "{name}");
        assert!(r.body.contains(&link(key)), "{name}");
        assert!(r.body.contains(&format!("value=\"{name}\"")), "{name}");
        assert!(r.body.contains("name=\"cat_server\" value=\"on\" checked"));
    }

    // A name is required; the home page is a web address.
    let r = ada
        .submit(
            "/desk/ecosystem/new",
            "/desk/ecosystem/products",
            &[("name", " "), ("homepage", "gateway.example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"error-name\""));
    assert!(r.body.contains("id=\"error-homepage\""));
    let added = app
        .store
        .product_annotations()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.annotation["added"] == true)
        .count();
    assert_eq!(added, 1, "only Example Gateway");
}
