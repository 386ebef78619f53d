//! The engine: gathers facts about a report from the registry, tries the
//! policy's rules in order, and explains the result.

use cnadesk_ecosystem::{Listing, MatchKind, Product, Registry};
use serde::{Deserialize, Serialize};

use crate::policy::{Condition, Coverage, Decision, Policy, Rule};

/// What the engine reads from a report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInput {
    /// The product as the reporter names it (a name, URL or package URL).
    pub product: String,
    /// The description (and anything else worth scanning: impact, links).
    #[serde(default)]
    pub description: String,
}

/// A product in an assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    /// Registry key.
    pub key: String,
    /// Name.
    pub name: String,
    /// listed / archived / local.
    pub listing: Listing,
    /// How it was found.
    pub matched_by: MatchKind,
    /// The text that matched.
    pub matched: String,
}

/// Where a report is referred.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// CNA short name.
    pub short_name: String,
    /// Organization name.
    pub name: String,
    /// How to reach it.
    pub contact: Option<String>,
    /// Its published scope.
    pub scope: Option<String>,
    /// Whether it is in the imported CNA list (if not, check cve.org).
    pub in_cna_list: bool,
}

/// A XEP an assessment concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XepRef {
    /// Number.
    pub number: u16,
    /// Title.
    pub title: String,
    /// How many registered products declare support in their DOAP.
    pub declared_implementations: usize,
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// in_scope, refer, out_of_scope or needs_human.
    pub decision: Decision,
    /// The product the decision is about.
    pub product: Option<ProductRef>,
    /// Every product the report's product text matched (more than one: ambiguous).
    pub candidates: Vec<ProductRef>,
    /// The rule that fired.
    pub rule: Option<String>,
    /// The question that rule answers.
    pub question: Option<String>,
    /// The policy version applied.
    pub policy_version: String,
    /// Why, in a sentence or two.
    pub rationale: String,
    /// Where to, when the decision is `refer`.
    pub referral: Option<Referral>,
    /// Tags for the CVE record.
    pub tags: Vec<String>,
    /// XEPs the report concerns.
    pub xeps: Vec<XepRef>,
    /// CVE counting guidance (CNA rule 4.2.14), for protocol-level flaws.
    pub counting: Option<String>,
    /// Things a person should check.
    pub notes: Vec<String>,
}

struct Facts<'a> {
    /// The product field is empty (the description was used instead).
    no_product_text: bool,
    /// Products only the description names, when the product field names none.
    mentioned_only: bool,
    product: Option<&'a Product>,
    matched: Option<ProductRef>,
    candidates: Vec<ProductRef>,
    component: Option<&'a cnadesk_ecosystem::Component>,
    hosted: Option<String>,
    coverage: Option<&'a Coverage>,
    xeps: Vec<u16>,
    product_is_xep: bool,
    vendor_guess: Option<&'a cnadesk_ecosystem::Cna>,
}

fn product_ref(registry: &Registry, m: &cnadesk_ecosystem::Match) -> Option<ProductRef> {
    let p = registry.product(&m.key)?;
    Some(ProductRef {
        key: p.key.clone(),
        name: p.name.clone(),
        listing: p.listing,
        matched_by: m.kind,
        matched: m.matched.clone(),
    })
}

fn gather<'a>(policy: &'a Policy, registry: &'a Registry, input: &ScopeInput) -> Facts<'a> {
    let product_text = input.product.trim();
    let all_text = format!("{product_text}\n{}", input.description);
    let lower = all_text.to_lowercase();
    let product_xeps = registry.xeps_in(product_text);
    let mut matches = if product_text.is_empty() {
        Vec::new()
    } else {
        registry.lookup(product_text)
    };
    let mut mentioned_only = false;
    if matches.is_empty() && product_xeps.is_empty() {
        // Nothing in the product field: URLs and long names in the
        // description. They decide only when the product field is empty;
        // otherwise they are candidates for a person to weigh.
        matches = registry.mentioned(&input.description);
        mentioned_only = !product_text.is_empty() && !matches.is_empty();
    }
    let candidates: Vec<ProductRef> = matches
        .iter()
        .filter_map(|m| product_ref(registry, m))
        .collect();
    let product = match matches.as_slice() {
        [one] if !mentioned_only => registry.product(&one.key),
        _ => None,
    };
    let component = registry
        .components_in(product_text)
        .into_iter()
        .next()
        .or_else(|| {
            if product_text.is_empty() {
                registry
                    .components_in(&input.description)
                    .into_iter()
                    .next()
            } else {
                None
            }
        });
    // Whole words only: "deployment" must not match "deployments-guide".
    let spaced = format!(" {} ", cnadesk_ecosystem::names::words(&all_text).join(" "));
    let hosted = policy
        .hosted_words
        .iter()
        .find(|w| {
            let phrase = cnadesk_ecosystem::names::words(w).join(" ");
            !phrase.is_empty() && spaced.contains(&format!(" {phrase} "))
        })
        .map(|w| format!("it mentions “{w}”"));
    let coverage = policy.coverage.iter().find(|c| {
        c.url_contains.iter().any(|u| lower.contains(u.as_str()))
            || c.words.iter().any(|w| lower.contains(w.as_str()))
            || all_text.split_whitespace().any(|t| {
                cnadesk_ecosystem::names::purl(t)
                    .is_some_and(|(kind, _)| c.purl_types.contains(&kind))
            })
    });
    let mut xeps = product_xeps.clone();
    for x in registry.xeps_in(&input.description) {
        if !xeps.contains(&x) {
            xeps.push(x);
        }
    }
    // A product nobody registered, named as "<vendor> <product>" where the
    // vendor is a CNA's short name ("Cisco Jabber"): that CNA is likely the
    // vendor's. Never for URLs or package URLs (a forge's host is not a vendor).
    let looks_like_address = product_text.split_whitespace().any(|t| {
        cnadesk_ecosystem::names::url_key(t).is_some() || t.starts_with("pkg:") || t.contains('/')
    });
    let vendor_guess = if candidates.is_empty() && !looks_like_address {
        let words = cnadesk_ecosystem::names::words(product_text);
        let first = words.first().cloned().unwrap_or_default();
        registry.cnas().iter().find(|c| {
            words.len() >= 2
                && first.len() >= 4
                && c.types.iter().any(|t| t == "Vendor")
                && cnadesk_ecosystem::names::name_key(&c.short_name) == first
        })
    } else {
        None
    };
    Facts {
        no_product_text: product_text.is_empty(),
        mentioned_only,
        product,
        matched: product.and_then(|_| candidates.first().cloned()),
        candidates,
        component,
        hosted,
        coverage,
        product_is_xep: !product_xeps.is_empty(),
        xeps,
        vendor_guess,
    }
}

fn archived_since(p: &Product, today: &str) -> Option<String> {
    if p.listing == Listing::Archived {
        let when = p
            .history
            .as_ref()
            .and_then(|h| h.archived_on.clone())
            .map(|d| format!(" on {d}"))
            .unwrap_or_default();
        return Some(format!(
            "moved to the XSF archive of unmaintained projects{when}"
        ));
    }
    match &p.annotation.end_of_life {
        Some(eol) if eol.as_str() <= today => Some(format!("end of life since {eol}")),
        _ => None,
    }
}

fn holds(rule: &Rule, f: &Facts, today: &str) -> bool {
    let p = f.product;
    match rule.when {
        Condition::GenericComponent => f.component.is_some() && f.candidates.is_empty(),
        Condition::HostedService => f.hosted.is_some() && f.candidates.is_empty(),
        Condition::SpecificCna => f.coverage.is_some(),
        Condition::VendorCna => {
            p.is_some_and(|p| p.annotation.own_cna.is_some()) || f.vendor_guess.is_some()
        }
        Condition::Fork => p.is_some_and(|p| p.annotation.fork_of.is_some()),
        Condition::Archived => p.is_some_and(|p| archived_since(p, today).is_some()),
        Condition::XmppLibrary => p.is_some_and(Product::is_library),
        Condition::Registered => p.is_some(),
        // About the XEP itself: the product field names it, or names
        // nothing and the description references one.
        Condition::Protocol => {
            !f.xeps.is_empty()
                && (f.product_is_xep || (f.no_product_text && f.candidates.is_empty()))
        }
    }
}

fn referral_to(registry: &Registry, short: &str, fallback_name: Option<&str>) -> Referral {
    match registry.cna(short) {
        Some(c) => Referral {
            short_name: c.short_name.clone(),
            name: c.organization.clone(),
            contact: c.contact().map(str::to_owned),
            scope: Some(c.scope.clone()),
            in_cna_list: true,
        },
        None => Referral {
            short_name: short.to_owned(),
            name: fallback_name.unwrap_or(short).to_owned(),
            contact: None,
            scope: None,
            in_cna_list: false,
        },
    }
}

fn xep_list(registry: &Registry, xeps: &[u16]) -> String {
    let names: Vec<String> = xeps
        .iter()
        .map(|n| match registry.xep(*n) {
            Some(x) if !x.title.is_empty() => format!("XEP-{n:04} ({})", x.title),
            _ => format!("XEP-{n:04}"),
        })
        .collect();
    names.join(" and ")
}

/// "XML parser" → "an XML parser", "TLS library" → "a TLS library".
fn with_article(kind: &str) -> String {
    let first = kind.split_whitespace().next().unwrap_or_default();
    let acronym = first.len() > 1 && first.chars().all(|c| c.is_ascii_uppercase());
    let vowel_sound = match first.chars().next() {
        Some(c) if acronym => "AEFHILMNORSX".contains(c),
        Some(c) => "aeiouAEIOU".contains(c),
        None => false,
    };
    format!("{} {kind}", if vowel_sound { "an" } else { "a" })
}

/// Applies a policy to a report. `today` (YYYY-MM-DD) decides whether an
/// end-of-life date has passed.
pub fn assess(policy: &Policy, registry: &Registry, input: &ScopeInput, today: &str) -> Assessment {
    let f = gather(policy, registry, input);
    let xeps: Vec<XepRef> = f
        .xeps
        .iter()
        .map(|n| XepRef {
            number: *n,
            title: registry
                .xep(*n)
                .map(|x| x.title.clone())
                .unwrap_or_default(),
            declared_implementations: registry.implementations(*n).declared.len(),
        })
        .collect();
    let mut a = Assessment {
        decision: Decision::NeedsHuman,
        product: f.matched.clone(),
        candidates: f.candidates.clone(),
        rule: None,
        question: None,
        policy_version: policy.version.clone(),
        rationale: String::new(),
        referral: None,
        tags: Vec::new(),
        xeps,
        counting: None,
        notes: Vec::new(),
    };
    if today < policy.effective.as_str() {
        a.notes.push(format!(
            "Policy {} takes effect on {}; until then it is applied as a preview.",
            policy.version, policy.effective
        ));
    }
    if f.mentioned_only {
        let names: Vec<String> = f.candidates.iter().map(|c| c.name.clone()).collect();
        a.rationale = format!(
            "“{}” matches no product in the registry; the description names {}. A person must say which product the report concerns (if it is not in the registry, add it).",
            input.product.trim(),
            names.join(", ")
        );
        return a;
    }
    if f.candidates.len() > 1 {
        let names: Vec<String> = f
            .candidates
            .iter()
            .map(|c| format!("{} ({})", c.name, c.listing.label()))
            .collect();
        a.rationale = format!(
            "“{}” matches {} products: {}. A person must say which one the report concerns.",
            input.product.trim(),
            names.len(),
            names.join("; ")
        );
        return a;
    }
    let speaks_of_fork = |t: &str| {
        cnadesk_ecosystem::names::words(t)
            .iter()
            .any(|w| w.starts_with("fork"))
    };
    let registered_fork = f.product.is_some_and(|p| p.annotation.fork_of.is_some());
    if speaks_of_fork(&input.product) && !registered_fork {
        a.product = None;
        a.rationale = format!(
            "“{}” speaks of a fork the registry does not know: identify the fork (name, repository), add it to the registry with the product it forks, and decide again.",
            input.product.trim()
        );
        return a;
    }
    if speaks_of_fork(&input.description) && !registered_fork {
        a.notes.push(
            "The description speaks of a fork: if the report concerns a fork rather than the product named, identify the fork and add it to the registry.".into(),
        );
    }
    let Some(rule) = policy.rules.iter().find(|r| holds(r, &f, today)) else {
        a.rationale = if input.product.trim().is_empty() && input.description.trim().is_empty() {
            "The report names no product; a person must decide.".into()
        } else {
            format!(
                "“{}” matches no product in the registry and no rule applies; a person must decide (if it is XMPP software, add it to the registry).",
                input.product.trim()
            )
        };
        return a;
    };
    a.decision = rule.decision;
    a.rule = Some(rule.id.clone());
    a.question = Some(rule.question.clone());
    a.tags = rule.tags.clone();

    let product_name = f
        .product
        .map(|p| p.name.clone())
        .unwrap_or_else(|| input.product.trim().to_owned());
    let mut cna = String::new();
    let mut evidence = String::new();
    let (mut component, mut kind) = (String::new(), String::new());
    match rule.when {
        Condition::GenericComponent => {
            if let Some(c) = f.component {
                component = c.name.clone();
                kind = c.kind.clone();
                cna = c.cna.clone().unwrap_or_else(|| policy.last_resort.clone());
                if c.cna.is_none() {
                    a.notes.push(format!(
                        "{} has no CNA of its own; contact its maintainers first (CNA rule 4.2.1.1); {} is the CNA of last resort.",
                        c.name, policy.last_resort
                    ));
                }
            }
        }
        Condition::SpecificCna => {
            if let Some(c) = f.coverage {
                cna = c.cna.clone();
                evidence = c.evidence.clone();
            }
        }
        Condition::VendorCna => match f.product.and_then(|p| p.annotation.own_cna.clone()) {
            Some(c) => {
                cna = c;
                evidence = "recorded in the registry".into();
            }
            None => {
                if let Some(c) = f.vendor_guess {
                    cna = c.short_name.clone();
                    evidence = format!(
                        "the product's name starts with the vendor's name, {}; confirm the vendor",
                        c.organization
                    );
                }
            }
        },
        Condition::HostedService => evidence = f.hosted.clone().unwrap_or_default(),
        _ => {}
    }
    if let Some(p) = f.product {
        if evidence.is_empty() {
            evidence = match p.listing {
                Listing::Listed => "listed on xmpp.org".into(),
                Listing::Archived => "archived on xmpp.org".into(),
                Listing::Local => "added to the registry by the team".into(),
            };
        }
    }
    if rule.decision == Decision::Refer {
        let name = f.coverage.and_then(|c| c.cna_name.as_deref());
        let r = referral_to(registry, &cna, name);
        if !r.in_cna_list {
            a.notes.push(format!(
                "{} is not in the imported CNA list; confirm its scope and contact on cve.org before referring.",
                r.short_name
            ));
        }
        a.referral = Some(r);
    }
    let cna_name = a
        .referral
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    a.rationale = rule
        .rationale
        .replace("{product}", &product_name)
        .replace(
            "{category}",
            &f.product
                .map(Product::category_text)
                .unwrap_or_else(|| "product".into()),
        )
        .replace("{cna}", &cna)
        .replace("{cna_name}", &cna_name)
        .replace("{component}", &component)
        .replace("{a_kind}", &with_article(&kind))
        .replace("{kind}", &kind)
        .replace(
            "{fork_of}",
            f.product
                .and_then(|p| p.annotation.fork_of.as_deref())
                .unwrap_or("another product"),
        )
        .replace("{xeps}", &xep_list(registry, &f.xeps))
        .replace(
            "{since}",
            &f.product
                .and_then(|p| archived_since(p, today))
                .unwrap_or_default(),
        )
        .replace("{evidence}", &evidence);

    if rule.when == Condition::Protocol {
        let list = xep_list(registry, &f.xeps);
        a.counting = Some(format!(
            "CNA rule 4.2.14: if {list} can be implemented securely, assign one CVE ID per vulnerable implementation; if it cannot, assign a single CVE ID. If unsure, one per implementation."
        ));
    } else if !f.xeps.is_empty() {
        for x in &a.xeps {
            a.notes.push(format!(
                "The report concerns XEP-{:04} ({}); {} registered implementations declare support. If the flaw is in the protocol rather than in {product_name}, open a protocol-level case (rule 4.2.14 counting).",
                x.number, x.title, x.declared_implementations
            ));
        }
    }
    if rule.when != Condition::GenericComponent {
        for c in registry.components_in(&format!("{}\n{}", input.product, input.description)) {
            a.notes.push(format!(
                "The report mentions {} ({}). If the flaw is in {} itself rather than in how {product_name} uses it, refer it upstream.",
                c.name, c.kind, c.name
            ));
        }
    }
    if rule.when != Condition::HostedService {
        if let Some(h) = &f.hosted {
            if f.product.is_some() {
                a.notes.push(format!(
                    "The report speaks of a hosted service ({h}): it is decided on the software; make sure the flaw is not only a service's configuration."
                ));
            }
        }
    }
    a
}

/// A past decision, for a dry run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastDecision {
    /// What it is about (a report number).
    pub subject: String,
    /// The input the decision was made on.
    pub input: ScopeInput,
    /// The recorded decision.
    pub decision: Decision,
    /// The recorded rule.
    pub rule: Option<String>,
    /// The policy version it was made under.
    pub policy_version: String,
}

/// A past decision the new policy would decide differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunChange {
    /// The past decision.
    pub past: PastDecision,
    /// What the new policy proposes.
    pub proposal: Assessment,
}

/// Re-applies a (new) policy to past decisions and lists those whose
/// decision or rule would change.
pub fn dry_run(
    policy: &Policy,
    registry: &Registry,
    past: &[PastDecision],
    today: &str,
) -> Vec<DryRunChange> {
    past.iter()
        .filter_map(|p| {
            let proposal = assess(policy, registry, &p.input, today);
            (proposal.decision != p.decision || proposal.rule != p.rule).then(|| DryRunChange {
                past: p.clone(),
                proposal,
            })
        })
        .collect()
}
