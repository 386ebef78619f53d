//! Package URLs in CVE records (`affected[].packageURL`, CVE JSON 5.2). The
//! schema only says "a URI of at most 2048 characters"; CVE Services checks
//! the rest in code, and so does this module, rule for rule: the purl must
//! parse, and it must not carry a version, a `vers` qualifier, a qualifier
//! without a value, a percent-encoded `:` (`%3a`), or an empty, `.` or `..`
//! subpath segment.

use std::str::FromStr;

use packageurl::PackageUrl;
use serde_json::Value;

/// What is wrong with a Package URL for a CVE record; `None`: nothing.
pub fn problem(purl: &str) -> Option<String> {
    let parsed = match PackageUrl::from_str(purl) {
        Ok(p) => p,
        Err(e) => return Some(format!("`{purl}` is not a Package URL ({e})")),
    };
    if parsed.version().is_some() {
        return Some(format!(
            "`{purl}` names a version: a Package URL in a CVE record names the package only (versions go in versions[])"
        ));
    }
    if purl.to_ascii_lowercase().contains("%3a") {
        return Some(format!("`{purl}` contains a percent-encoded colon (%3a)"));
    }
    let before_subpath = purl.split('#').next().unwrap_or("");
    if let Some((_, query)) = before_subpath.split_once('?') {
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key.eq_ignore_ascii_case("vers") {
                return Some(format!(
                    "`{purl}` has a `vers` qualifier: version ranges go in versions[]"
                ));
            }
            if value.is_empty() {
                return Some(format!(
                    "`{purl}` has a qualifier without a value (`{key}`)"
                ));
            }
        }
    }
    if let Some((_, subpath)) = purl.split_once('#') {
        let inner = subpath.trim_matches('/');
        if inner.is_empty()
            || inner
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Some(format!(
                "`{purl}` has an empty, `.` or `..` segment in its subpath"
            ));
        }
    }
    None
}

/// A Package URL without its version, in canonical form; `None` when the
/// text is not a Package URL or what remains is one CVE Services refuses.
pub fn without_version(purl: &str) -> Option<String> {
    let mut parsed = PackageUrl::from_str(purl.trim()).ok()?;
    parsed.without_version();
    let text = parsed.to_string();
    problem(&text).is_none().then_some(text)
}

/// The Package URL of a source repository on a forge that has a purl type
/// (`https://github.com/bjc/prosody` → `pkg:github/bjc/prosody`).
pub fn from_repository(url: &str) -> Option<String> {
    let rest = url.trim().trim_end_matches('/').trim_end_matches(".git");
    for (host, kind) in [
        ("https://github.com/", "github"),
        ("https://gitlab.com/", "gitlab"),
        ("https://bitbucket.org/", "bitbucket"),
    ] {
        if let Some(path) = rest.strip_prefix(host) {
            let parts: Vec<&str> = path.split('/').collect();
            if let [owner, name] = parts.as_slice() {
                if !owner.is_empty() && !name.is_empty() {
                    let purl = format!(
                        "pkg:{kind}/{}/{}",
                        owner.to_ascii_lowercase(),
                        name.to_ascii_lowercase()
                    );
                    return problem(&purl).is_none().then_some(purl);
                }
            }
        }
    }
    None
}

/// Every `packageURL` of a record or container that CVE Services would
/// refuse: (JSON pointer, what is wrong).
pub fn problems(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut check = |base: String, affected: Option<&Value>| {
        for (i, item) in affected
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(purl) = item.get("packageURL").and_then(Value::as_str) {
                if let Some(p) = problem(purl) {
                    out.push((format!("{base}/affected/{i}/packageURL"), p));
                }
            }
        }
    };
    if let Some(containers) = doc.get("containers") {
        check(
            "/containers/cna".into(),
            containers.pointer("/cna/affected"),
        );
        for (j, adp) in containers
            .get("adp")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            check(format!("/containers/adp/{j}"), adp.get("affected"));
        }
    } else {
        check(String::new(), doc.get("affected"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn versions_are_dropped() {
        use super::without_version;
        assert_eq!(
            without_version("pkg:hex/xmpp@1.8.0").as_deref(),
            Some("pkg:hex/xmpp")
        );
        assert_eq!(
            without_version("pkg:npm/%40xmpp/client@0.13.1").as_deref(),
            Some("pkg:npm/%40xmpp/client")
        );
        assert_eq!(without_version("xmpp"), None);
    }

    #[test]
    fn forges_give_purls() {
        use super::from_repository;
        assert_eq!(
            from_repository("https://github.com/bjc/prosody.git").as_deref(),
            Some("pkg:github/bjc/prosody")
        );
        assert_eq!(
            from_repository("https://gitlab.com/Gajim/gajim/").as_deref(),
            Some("pkg:gitlab/gajim/gajim")
        );
        assert_eq!(from_repository("https://hg.prosody.im/trunk"), None);
        assert_eq!(from_repository("https://github.com/only-owner"), None);
    }

    #[test]
    fn purls_are_checked_as_cve_services_checks_them() {
        for good in [
            "pkg:github/bjc/prosody",
            "pkg:npm/%40xmpp/client",
            "pkg:deb/debian/prosody?arch=amd64",
            "pkg:maven/org.igniterealtime.smack/smack-core",
            "pkg:golang/example.org/mod#sub/dir",
        ] {
            assert_eq!(problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("prosody", "not a Package URL"),
            ("pkg:github/bjc/prosody@0.12.4", "names a version"),
            (
                "pkg:npm/foo?repository_url=https%3A%2F%2Fexample.org",
                "percent-encoded colon",
            ),
            ("pkg:npm/foo?vers=1", "`vers` qualifier"),
            ("pkg:deb/debian/prosody?arch=", "without a value"),
            ("pkg:golang/example.org/mod#a//b", "subpath"),
            ("pkg:golang/example.org/mod#../x", "subpath"),
        ] {
            let p = problem(bad).unwrap_or_else(|| panic!("{bad} passed"));
            assert!(p.contains(why), "{bad}: {p}");
        }
    }
}
