//! The registry: every product the XSF lists or archived, what its DOAP file
//! declares, what members added, and lookups over all of it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::names::{self, core_key, name_key, url_key, url_under};
use crate::snapshot::Snapshot;
use crate::sources::{self, Cna, Doap, HistoryRow, SourceError, SupportedXep, Xep};

/// Where a product comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// On the xmpp.org software list.
    Listed,
    /// In the xmpp.org archive of unmaintained projects.
    Archived,
    /// Added by a team member.
    Local,
}

impl Listing {
    /// The stable string (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Listing::Listed => "listed",
            Listing::Archived => "archived",
            Listing::Local => "local",
        }
    }

    /// Reads [`Listing::as_str`] back.
    pub fn parse(value: &str) -> Option<Listing> {
        [Listing::Listed, Listing::Archived, Listing::Local]
            .into_iter()
            .find(|l| l.as_str() == value)
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Listing::Listed => "listed by the XSF",
            Listing::Archived => "archived by the XSF (unmaintained)",
            Listing::Local => "added by the team",
        }
    }
}

/// What the team knows about a product beyond the xmpp.org data. Also the
/// whole description of a product a member adds (`added`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Annotation {
    /// The product's name (the xmpp.org name for listed products).
    pub name: String,
    /// Other names it is known by.
    pub aliases: Vec<String>,
    /// Repository URLs.
    pub repositories: Vec<String>,
    /// Package URLs (`pkg:hex/xmpp`).
    pub packages: Vec<String>,
    /// The product this one is a fork of (a product name).
    pub fork_of: Option<String>,
    /// The date support ended (YYYY-MM-DD).
    pub end_of_life: Option<String>,
    /// Security contacts at the vendor (e-mail or URL).
    pub vendor_contacts: Vec<String>,
    /// The short name of the CNA that covers this product (its vendor, or a
    /// more specific CNA), from the CNA list.
    pub own_cna: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// A product a member added (not on the xmpp.org lists).
    pub added: bool,
    /// Categories of an added product.
    pub categories: Vec<String>,
    /// Home page of an added product.
    pub homepage: Option<String>,
}

impl Annotation {
    /// Whether it says nothing.
    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty()
            && self.repositories.is_empty()
            && self.packages.is_empty()
            && self.fork_of.is_none()
            && self.end_of_life.is_none()
            && self.vendor_contacts.is_empty()
            && self.own_cna.is_none()
            && self.note.is_none()
            && !self.added
    }
}

/// A generic component (XML parser, TLS stack, …): not XMPP software.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Name.
    pub name: String,
    /// What it is ("XML parser").
    pub kind: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its own CNA, when it has one.
    #[serde(default)]
    pub cna: Option<String>,
    /// Home and repository URLs.
    #[serde(default)]
    pub urls: Vec<String>,
}

/// One product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Stable key (`prosody-im`).
    pub key: String,
    /// Name as listed.
    pub name: String,
    /// client, server, library, component, tool, integrated-platform.
    pub categories: Vec<String>,
    /// Platforms or languages.
    pub platforms: Vec<String>,
    /// Home page.
    pub homepage: Option<String>,
    /// DOAP URL.
    pub doap_url: Option<String>,
    /// Listed, archived or local.
    pub listing: Listing,
    /// Listing history.
    pub history: Option<HistoryRow>,
    /// The DOAP data, when there is any.
    pub doap: Option<Doap>,
    /// The team's annotation (shipped, or a member's).
    pub annotation: Annotation,
}

impl Product {
    /// The XEPs its DOAP declares.
    pub fn xeps(&self) -> &[SupportedXep] {
        self.doap.as_ref().map_or(&[], |d| &d.xeps)
    }

    /// Its Package URLs, without versions: the team's (`packages`) and
    /// those its repositories give (`https://github.com/bjc/prosody` →
    /// `pkg:github/bjc/prosody`), the team's first.
    pub fn purls(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |p: String| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        for pkg in &self.annotation.packages {
            // A version in the team's purl is dropped: a product has no
            // single version.
            if let Some(p) = cnadesk_cve::purl::without_version(pkg) {
                push(p);
            }
        }
        let repos = self
            .annotation
            .repositories
            .iter()
            .chain(self.doap.iter().flat_map(|d| d.repositories.iter()))
            .chain(self.homepage.iter());
        for url in repos {
            if let Some(p) = cnadesk_cve::purl::from_repository(url) {
                push(p);
            }
        }
        out
    }

    /// Whether it is (only) a library.
    pub fn is_library(&self) -> bool {
        self.categories.iter().any(|c| c == "library")
    }

    /// The categories joined for people ("client", "library and server").
    pub fn category_text(&self) -> String {
        match self.categories.as_slice() {
            [] => "product".into(),
            [one] => one.replace('-', " "),
            more => more.join(" and ").replace('-', " "),
        }
    }

    /// Every URL that identifies it, as [`url_key`]s.
    pub fn url_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |u: Option<String>| {
            // A bare code-hosting host is not an identity.
            if let Some(u) = u.filter(|u| !is_code_host(u)) {
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        };
        push(self.homepage.as_deref().and_then(url_key));
        if let Some(d) = &self.doap {
            push(d.homepage.as_deref().and_then(url_key));
            for r in &d.repositories {
                push(url_key(r));
            }
        }
        if let Some(d) = &self.doap_url {
            push(names::repository_of(d));
        }
        for r in &self.annotation.repositories {
            push(url_key(r));
        }
        if let Some(h) = &self.annotation.homepage {
            push(url_key(h));
        }
        out
    }
}

fn is_code_host(key: &str) -> bool {
    matches!(
        key,
        "github.com" | "gitlab.com" | "codeberg.org" | "sr.ht" | "git.sr.ht" | "bitbucket.org"
    )
}

/// How a product was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// By its name (case, punctuation and filler words ignored).
    Name,
    /// By an alias.
    Alias,
    /// By a URL at or under one of its URLs.
    Url,
    /// By a package URL.
    Package,
    /// A name found inside a longer text.
    Mention,
}

impl MatchKind {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            MatchKind::Name => "name",
            MatchKind::Alias => "alias",
            MatchKind::Url => "URL",
            MatchKind::Package => "package",
            MatchKind::Mention => "name mentioned in the text",
        }
    }
}

/// A product found by a lookup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// The product key.
    pub key: String,
    /// How.
    pub kind: MatchKind,
    /// The text that matched.
    pub matched: String,
}

/// Implementations of one XEP.
#[derive(Clone, Debug)]
pub struct XepImplementations<'a> {
    /// The XEP, when it is on the XEP list.
    pub xep: Option<&'a Xep>,
    /// Products whose DOAP declares it, with what they declare.
    pub declared: Vec<(&'a Product, &'a SupportedXep)>,
    /// Maintained implementations without DOAP data: support unknown.
    pub unknown: Vec<&'a Product>,
}

/// The ecosystem registry.
#[derive(Clone, Debug)]
pub struct Registry {
    products: Vec<Product>,
    by_key: HashMap<String, usize>,
    names: HashMap<String, Vec<(usize, MatchKind)>>,
    urls: Vec<(String, usize)>,
    packages: Vec<(String, usize)>,
    xeps: BTreeMap<u16, Xep>,
    cnas: Vec<Cna>,
    components: Vec<Component>,
    origin: String,
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct AnnotationFile {
    #[serde(default)]
    product: Vec<Annotation>,
}

#[derive(Deserialize)]
struct ComponentFile {
    #[serde(default)]
    component: Vec<Component>,
}

/// Makes a stable key from a name: "Prosody IM" → `prosody-im`.
pub fn slug(name: &str) -> String {
    names::words(name).join("-")
}

impl Registry {
    /// Builds the registry from a snapshot, then applies members'
    /// annotations (by product key; they replace the shipped ones).
    /// Broken DOAP files do not stop the import: they are reported in
    /// [`Registry::warnings`].
    pub fn build(
        snapshot: &Snapshot,
        member_annotations: &[(String, Annotation)],
    ) -> Result<Registry, SourceError> {
        let listed = sources::parse_software("software.json", &snapshot.software)?;
        let archived = sources::parse_software("software_archive.json", &snapshot.archive)?;
        let history: HashMap<String, HistoryRow> = match &snapshot.history {
            Some(text) => sources::parse_history("software-history.csv", text)?
                .into_iter()
                .map(|h| (h.name.clone(), h))
                .collect(),
            None => HashMap::new(),
        };
        let derived = match &snapshot.derived_support {
            Some(text) => sources::parse_derived_support("software-xeps.json", text)?,
            None => BTreeMap::new(),
        };
        let xeps = sources::parse_xeps("xeplist.json", &snapshot.xeps)?
            .into_iter()
            .map(|x| (x.number, x))
            .collect();
        let cnas = sources::parse_cna_list("CNAsList.json", &snapshot.cna_list)?;
        let shipped: AnnotationFile = toml::from_str(&snapshot.annotations)
            .map_err(|e| SourceError::new("annotations.toml", e.to_string()))?;
        let components: ComponentFile = toml::from_str(&snapshot.components)
            .map_err(|e| SourceError::new("components.toml", e.to_string()))?;

        let mut warnings = Vec::new();
        let mut products: Vec<Product> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for e in listed.iter().chain(archived.iter()) {
            *seen.entry(slug(&e.name)).or_insert(0) += 1;
        }
        let mut keys: HashMap<String, usize> = HashMap::new();
        for (entry, listing) in listed
            .into_iter()
            .map(|e| (e, Listing::Listed))
            .chain(archived.into_iter().map(|e| (e, Listing::Archived)))
        {
            // Keys must not depend on list order (annotations are stored by
            // key): a name used twice is told apart by its URL.
            let mut base = slug(&entry.name);
            if seen.get(&base).copied().unwrap_or(0) > 1 {
                let place = entry.url.as_deref().or(entry.doap.as_deref()).unwrap_or("");
                base = slug(&format!("{} {place}", entry.name));
            }
            let n = keys.entry(base.clone()).or_insert(0);
            *n += 1;
            let key = if *n == 1 { base } else { format!("{base}-{n}") };
            let doap = match entry.doap.as_ref().and_then(|u| snapshot.doaps.get(u)) {
                Some(text) => {
                    match sources::parse_doap(entry.doap.as_deref().unwrap_or(""), text) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            warnings
                                .push(format!("{}: DOAP not usable: {}", entry.name, e.message));
                            None
                        }
                    }
                }
                None => derived.get(&entry.name).cloned(),
            };
            products.push(Product {
                key,
                history: history.get(&entry.name).cloned(),
                annotation: Annotation::default(),
                name: entry.name,
                categories: entry.categories,
                platforms: entry.platforms,
                homepage: entry.url,
                doap_url: entry.doap,
                listing,
                doap,
            });
        }
        let mut registry = Registry {
            by_key: HashMap::new(),
            names: HashMap::new(),
            urls: Vec::new(),
            packages: Vec::new(),
            xeps,
            cnas,
            components: components.component,
            origin: snapshot.origin.clone(),
            warnings,
            products,
        };
        for a in shipped.product {
            match registry.products.iter_mut().find(|p| p.name == a.name) {
                Some(p) => p.annotation = a,
                None => registry.warnings.push(format!(
                    "shipped annotation for unknown product `{}`",
                    a.name
                )),
            }
        }
        for (key, a) in member_annotations {
            registry.apply(key, a.clone());
        }
        registry.index();
        Ok(registry)
    }

    fn apply(&mut self, key: &str, a: Annotation) {
        if let Some(p) = self.products.iter_mut().find(|p| p.key == key) {
            p.annotation = a;
            return;
        }
        if a.added {
            self.products.push(Product {
                key: key.to_owned(),
                name: a.name.clone(),
                categories: a.categories.clone(),
                platforms: Vec::new(),
                homepage: a.homepage.clone(),
                doap_url: None,
                listing: Listing::Local,
                history: None,
                doap: None,
                annotation: a,
            });
        } else {
            self.warnings
                .push(format!("annotation for unknown product `{key}` ignored"));
        }
    }

    fn index(&mut self) {
        self.by_key = self
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.clone(), i))
            .collect();
        self.names.clear();
        self.urls.clear();
        self.packages.clear();
        for (i, p) in self.products.iter().enumerate() {
            let mut add = |key: String, kind: MatchKind| {
                if key.is_empty() {
                    return;
                }
                let list = self.names.entry(key).or_default();
                if !list.iter().any(|(j, _)| *j == i) {
                    list.push((i, kind));
                }
            };
            add(name_key(&p.name), MatchKind::Name);
            let core = core_key(&p.name);
            if core.len() >= 4 {
                add(core, MatchKind::Name);
            }
            if let Some(n) = p.doap.as_ref().and_then(|d| d.name.as_deref()) {
                add(name_key(n), MatchKind::Name);
            }
            for alias in &p.annotation.aliases {
                add(name_key(alias), MatchKind::Alias);
                let core = core_key(alias);
                if core.len() >= 4 {
                    add(core, MatchKind::Alias);
                }
            }
            for u in p.url_keys() {
                self.urls.push((u, i));
            }
            for pkg in p.purls() {
                if let Some((kind, path)) = names::purl(&pkg) {
                    self.packages.push((format!("{kind}/{path}"), i));
                }
            }
        }
    }

    /// Every product, listed first, then archived, then local.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// One product by key.
    pub fn product(&self, key: &str) -> Option<&Product> {
        self.by_key.get(key).map(|&i| &self.products[i])
    }

    /// One product by exact name (as listed).
    pub fn product_named(&self, name: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.name == name).or_else(|| {
            let key = name_key(name);
            self.products.iter().find(|p| name_key(&p.name) == key)
        })
    }

    /// The XEP list.
    pub fn xeps(&self) -> &BTreeMap<u16, Xep> {
        &self.xeps
    }

    /// One XEP.
    pub fn xep(&self, number: u16) -> Option<&Xep> {
        self.xeps.get(&number)
    }

    /// The CNA list.
    pub fn cnas(&self) -> &[Cna] {
        &self.cnas
    }

    /// One CNA by short name (case-insensitive).
    pub fn cna(&self, short_name: &str) -> Option<&Cna> {
        self.cnas
            .iter()
            .find(|c| c.short_name.eq_ignore_ascii_case(short_name))
    }

    /// The generic components.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Where the data came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Problems met while importing (unusable DOAP files, stray annotations).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Finds the products a short text (a product name, URL or package URL)
    /// names. Several results mean the text is ambiguous.
    pub fn lookup(&self, text: &str) -> Vec<Match> {
        let mut out: Vec<Match> = Vec::new();
        let push = |out: &mut Vec<Match>, m: Match| {
            if !out.iter().any(|o| o.key == m.key) {
                out.push(m);
            }
        };
        let mut rest = Vec::new();
        for token in text.split_whitespace() {
            if let Some((kind, path)) = names::purl(token) {
                let id = format!("{kind}/{path}");
                let by_pkg: Vec<usize> = self
                    .packages
                    .iter()
                    .filter(|(p, _)| *p == id)
                    .map(|(_, i)| *i)
                    .collect();
                for i in &by_pkg {
                    push(&mut out, self.hit(*i, MatchKind::Package, token));
                }
                if by_pkg.is_empty() {
                    let name = name_key(path.rsplit('/').next().unwrap_or(&path));
                    for m in self.by_name(&name) {
                        push(&mut out, m);
                    }
                }
            } else if let Some(u) = url_key(token) {
                for m in self.by_url(&u, token) {
                    push(&mut out, m);
                }
            } else {
                rest.push(token);
            }
        }
        let rest = rest.join(" ");
        if !rest.trim().is_empty() {
            let words: Vec<String> = names::words(&rest)
                .into_iter()
                .filter(|w| !names::is_version(w))
                .collect();
            let whole = words.concat();
            let said = rest.trim().to_owned();
            let exact = self.by_name(&whole);
            if !exact.is_empty() {
                for mut m in exact {
                    m.matched = said.clone();
                    push(&mut out, m);
                }
            } else {
                let core: String = words
                    .iter()
                    .filter(|w| !names::is_filler(w))
                    .cloned()
                    .collect();
                let by_core = if core.len() >= 3 {
                    self.by_name(&core)
                } else {
                    Vec::new()
                };
                if !by_core.is_empty() {
                    for mut m in by_core {
                        m.matched = said.clone();
                        push(&mut out, m);
                    }
                } else {
                    for m in self.mentions(&words, 4) {
                        push(&mut out, m);
                    }
                }
            }
        }
        out
    }

    /// Products named inside a longer text (a description): URLs, and names
    /// of at least `min_len` characters as whole words.
    pub fn mentioned(&self, text: &str) -> Vec<Match> {
        let mut out: Vec<Match> = Vec::new();
        for token in text.split_whitespace() {
            if let Some(u) = url_key(token) {
                for m in self.by_url(&u, token) {
                    if !out.iter().any(|o| o.key == m.key) {
                        out.push(m);
                    }
                }
            }
        }
        let words: Vec<String> = names::words(text);
        for m in self.mentions(&words, 6) {
            if !out.iter().any(|o| o.key == m.key) {
                out.push(m);
            }
        }
        out
    }

    fn hit(&self, i: usize, kind: MatchKind, matched: &str) -> Match {
        Match {
            key: self.products[i].key.clone(),
            kind,
            matched: matched.to_owned(),
        }
    }

    fn by_name(&self, key: &str) -> Vec<Match> {
        self.names
            .get(key)
            .map(|list| {
                list.iter()
                    .map(|(i, kind)| self.hit(*i, *kind, key))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn by_url(&self, url: &str, original: &str) -> Vec<Match> {
        let best = self
            .urls
            .iter()
            .filter(|(prefix, _)| url_under(url, prefix))
            .map(|(prefix, _)| prefix.len())
            .max();
        let Some(best) = best else {
            return Vec::new();
        };
        let mut out: Vec<Match> = Vec::new();
        for (prefix, i) in &self.urls {
            if prefix.len() == best
                && url_under(url, prefix)
                && !out.iter().any(|m| m.key == self.products[*i].key)
            {
                out.push(self.hit(*i, MatchKind::Url, original));
            }
        }
        out
    }

    /// Names found as runs of whole words, longest first; shorter runs
    /// inside a longer match are dropped.
    fn mentions(&self, words: &[String], min_len: usize) -> Vec<Match> {
        let mut taken = vec![false; words.len()];
        let mut out: Vec<Match> = Vec::new();
        for n in (1..=4.min(words.len())).rev() {
            for start in 0..=words.len() - n {
                if taken[start..start + n].iter().any(|t| *t) {
                    continue;
                }
                let run = &words[start..start + n];
                if n == 1 && (names::is_filler(&run[0]) || names::is_version(&run[0])) {
                    continue;
                }
                let key = run.concat();
                if key.len() < min_len {
                    continue;
                }
                let found = self.by_name(&key);
                if found.is_empty() {
                    continue;
                }
                taken[start..start + n].iter_mut().for_each(|t| *t = true);
                for mut m in found {
                    m.kind = MatchKind::Mention;
                    m.matched = run.join(" ");
                    if !out.iter().any(|o| o.key == m.key) {
                        out.push(m);
                    }
                }
            }
        }
        out
    }

    /// XEP numbers a text refers to: `XEP-0280`, `XEP 280`, `xep-0280.html`,
    /// or a XEP's full title ("Message Carbons").
    pub fn xeps_in(&self, text: &str) -> Vec<u16> {
        let mut out: Vec<u16> = Vec::new();
        let lower = text.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        let mut at = 0;
        while let Some(pos) = lower[at..].find("xep") {
            let mut i = at + pos + 3;
            while i < bytes.len() && matches!(bytes[i], b'-' | b' ' | b'_' | b'#') {
                i += 1;
            }
            let digits: String = lower[i..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<u16>() {
                if self.xeps.contains_key(&n) && !out.contains(&n) {
                    out.push(n);
                }
            }
            at = at + pos + 3;
        }
        let words = names::words(text);
        let joined = format!(" {} ", words.join(" "));
        for x in self.xeps.values() {
            let title = names::words(&x.title);
            if title.len() < 2 || title.concat().len() < 10 {
                continue;
            }
            if joined.contains(&format!(" {} ", title.join(" "))) && !out.contains(&x.number) {
                out.push(x.number);
            }
        }
        out
    }

    /// Generic components a text names (by name, alias or URL).
    pub fn components_in(&self, text: &str) -> Vec<&Component> {
        let words = names::words(text);
        let keys: Vec<String> = (1..=3)
            .flat_map(|n| words.windows(n).map(|w| w.concat()).collect::<Vec<_>>())
            .collect();
        let urls: Vec<String> = text.split_whitespace().filter_map(url_key).collect();
        self.components
            .iter()
            .filter(|c| {
                std::iter::once(&c.name)
                    .chain(&c.aliases)
                    .any(|n| keys.contains(&name_key(n)))
                    || c.urls
                        .iter()
                        .filter_map(|u| url_key(u))
                        .any(|prefix| urls.iter().any(|u| url_under(u, &prefix)))
            })
            .collect()
    }

    /// The implementations of a XEP: those whose DOAP declares it (with the
    /// declared status and version), and the maintained clients, servers
    /// and libraries without DOAP data, whose support is unknown.
    pub fn implementations(&self, xep: u16) -> XepImplementations<'_> {
        let mut declared = Vec::new();
        let mut unknown = Vec::new();
        for p in &self.products {
            match &p.doap {
                Some(d) => {
                    if let Some(s) = d.xeps.iter().find(|x| x.number == xep) {
                        declared.push((p, s));
                    }
                }
                None => {
                    if p.listing != Listing::Archived
                        && p.categories
                            .iter()
                            .any(|c| matches!(c.as_str(), "client" | "server" | "library"))
                    {
                        unknown.push(p);
                    }
                }
            }
        }
        XepImplementations {
            xep: self.xeps.get(&xep),
            declared,
            unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::build(&Snapshot::bundled(), &[]).unwrap()
    }

    #[test]
    fn every_listed_and_archived_project_is_imported() {
        let r = registry();
        let listed = r
            .products()
            .iter()
            .filter(|p| p.listing == Listing::Listed)
            .count();
        let archived = r
            .products()
            .iter()
            .filter(|p| p.listing == Listing::Archived)
            .count();
        assert_eq!((listed, archived), (195, 46));
        assert!(r.warnings().is_empty(), "{:?}", r.warnings());
        let keys: std::collections::HashSet<_> = r.products().iter().map(|p| &p.key).collect();
        assert_eq!(keys.len(), r.products().len(), "keys are unique");
    }

    #[test]
    fn lookup_tolerates_case_punctuation_and_filler() {
        let r = registry();
        let key = |t: &str| r.lookup(t).into_iter().map(|m| m.key).collect::<Vec<_>>();
        assert_eq!(key("prosody"), vec!["prosody-im"]);
        assert_eq!(key("Prosody IM 0.12.4"), vec!["prosody-im"]);
        assert_eq!(key("conversejs"), vec!["converse-js"]);
        assert_eq!(key("Converse.js"), vec!["converse-js"]);
        assert_eq!(
            key("https://github.com/dino/dino/issues/1500"),
            vec!["dino"]
        );
        assert_eq!(
            key("https://hg.prosody.im/trunk/file/tip/net"),
            vec!["prosody-im"]
        );
        assert_eq!(key("pkg:hex/xmpp@1.8"), vec!["erlang-elixir-xmpp"]);
        assert_eq!(key("the ejabberd server"), vec!["ejabberd"]);
        assert!(key("no such thing").is_empty());
        // Two entries share the name "Swift": ambiguity is kept, not hidden,
        // and their keys come from their URLs, not their order in the list.
        let mut swift = key("Swift");
        swift.sort();
        assert_eq!(
            swift,
            vec![
                "swift-hosted-doap-swift-doap",
                "swift-https-swift-im-swift-html"
            ]
        );
    }

    #[test]
    fn xep_280_implementations_come_from_doap() {
        let r = registry();
        let imp = r.implementations(280);
        assert_eq!(imp.xep.unwrap().title, "Message Carbons");
        let names: Vec<&str> = imp.declared.iter().map(|(p, _)| p.name.as_str()).collect();
        for expected in ["ejabberd", "Prosody IM", "Dino", "Openfire"] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let unknown: Vec<&str> = imp.unknown.iter().map(|p| p.name.as_str()).collect();
        assert!(
            unknown.contains(&"Gajim") && unknown.contains(&"Pidgin"),
            "{unknown:?}"
        );
        assert!(
            !unknown.contains(&"as3xmppclient"),
            "archived projects are not offered"
        );
        assert!(imp.unknown.iter().all(|p| p.doap.is_none()));
    }

    #[test]
    fn products_carry_package_urls_and_are_found_by_them() {
        let r = registry();
        // From a repository on a forge (DOAP or the team's annotation).
        let with_purls: Vec<(&str, Vec<String>)> = r
            .products()
            .iter()
            .map(|p| (p.name.as_str(), p.purls()))
            .filter(|(_, purls)| purls.iter().any(|u| u.starts_with("pkg:github/")))
            .collect();
        assert!(with_purls.len() >= 10, "{with_purls:?}");
        for (name, purls) in &with_purls {
            for u in purls {
                assert_eq!(cnadesk_cve::purl::problem(u), None, "{name}: {u}");
            }
            // Each is found again by its purl.
            let found = r.lookup(&purls[0]);
            assert!(
                found
                    .iter()
                    .any(|m| r.product(&m.key).is_some_and(|p| p.name == *name)),
                "{name} not found by {}",
                purls[0]
            );
        }
    }

    #[test]
    fn xeps_are_found_by_number_and_title() {
        let r = registry();
        assert_eq!(r.xeps_in("a carbons flaw (XEP-0280)"), vec![280]);
        assert_eq!(
            r.xeps_in("see xep 0045 and https://xmpp.org/extensions/xep-0384.html"),
            vec![45, 384]
        );
        assert_eq!(r.xeps_in("Message Carbons lets anyone spoof"), vec![280]);
        assert!(r.xeps_in("no reference").is_empty());
    }

    #[test]
    fn member_annotations_replace_shipped_ones_and_add_products() {
        let snapshot = Snapshot::bundled();
        let added = Annotation {
            name: "Example Gateway".into(),
            added: true,
            categories: vec!["component".into()],
            aliases: vec!["exgw".into()],
            ..Annotation::default()
        };
        let prosody = Annotation {
            name: "Prosody IM".into(),
            aliases: vec!["the lua server".into()],
            ..Annotation::default()
        };
        let r = Registry::build(
            &snapshot,
            &[
                ("example-gateway".into(), added),
                ("prosody-im".into(), prosody),
            ],
        )
        .unwrap();
        assert_eq!(r.lookup("exgw")[0].key, "example-gateway");
        assert_eq!(
            r.product("example-gateway").unwrap().listing,
            Listing::Local
        );
        let p = r.product("prosody-im").unwrap();
        assert_eq!(p.annotation.aliases, vec!["the lua server".to_owned()]);
        assert!(
            p.annotation.packages.is_empty(),
            "the member's annotation replaced the shipped one"
        );
    }
}
