//! What records in the wild put where a product, a vendor or a version
//! belongs: placeholders (`n/a`, `unspecified`, `*`) and prose ranges
//! ("before 1.0.4", "2.3 and earlier"). Exports never turn these into
//! products or versions: a placeholder is no value, and a prose range is
//! read as the bound it states.

/// Whether a product, vendor or version field holds no real value.
pub fn is_placeholder(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "n/a"
            | "na"
            | "n.a."
            | "none"
            | "unspecified"
            | "unknown"
            | "*"
            | "-"
            | "all"
            | "all versions"
            | "various"
    )
}

/// A lower bound as exports take it: `None` when it bounds nothing (a
/// placeholder or `0`).
pub fn lower_bound(s: &str) -> Option<&str> {
    let t = s.trim();
    (!is_placeholder(t) && t != "0").then_some(t)
}

/// Whether a string is one version (no spaces, no comparison, not a
/// placeholder).
pub fn is_version(s: &str) -> bool {
    let t = s.trim();
    !is_placeholder(t)
        && !t.chars().any(char::is_whitespace)
        && !t.starts_with(['<', '>', '='])
        && !t.contains(',')
}

/// A product as a reader names it: the vendor and the product, or the
/// product alone when it already says who makes it (`Prosody IM` of vendor
/// `Prosody IM` or `Prosody`), or when the vendor is no name (`n/a`).
pub fn product_name(vendor: &str, product: &str) -> String {
    let lower_words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let v = lower_words(vendor);
    let p = lower_words(product);
    let says_vendor =
        is_placeholder(vendor) || v.is_empty() || p.windows(v.len()).any(|run| run == v.as_slice());
    if says_vendor {
        product.trim().to_owned()
    } else {
        format!("{} {}", vendor.trim(), product.trim())
    }
}

/// A bound a prose range states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Every version below this one.
    Below(String),
    /// Every version up to and including this one.
    UpTo(String),
    /// This version and every later one.
    From(String),
}

/// The bound of a prose range ("before 1.0.4", "prior to 2.0", "< 3",
/// "1.2 and earlier", "up to 1.2", "<= 1.2", "1.2 and later", ">= 1.2");
/// `None` when the text is no such range.
pub fn prose_bound(s: &str) -> Option<Bound> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let version = |rest: &str| {
        let v = rest.trim().trim_end_matches(['.', ')']);
        is_version(v).then(|| v.to_owned())
    };
    for (prefix, make) in [
        ("before ", Bound::Below as fn(String) -> Bound),
        ("prior to ", Bound::Below),
        ("< ", Bound::Below),
        ("<=", Bound::UpTo),
        ("up to ", Bound::UpTo),
        ("through ", Bound::UpTo),
        (">=", Bound::From),
        ("<", Bound::Below),
    ] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            let original = &t[t.len() - rest.len()..];
            return version(original).map(make);
        }
    }
    for (suffix, make) in [
        (" and earlier", Bound::UpTo as fn(String) -> Bound),
        (" and prior", Bound::UpTo),
        (" and below", Bound::UpTo),
        (" and older", Bound::UpTo),
        (" and later", Bound::From),
        (" and above", Bound::From),
        (" and newer", Bound::From),
    ] {
        if let Some(rest) = lower.strip_suffix(suffix) {
            return version(&t[..rest.len()]).map(make);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_prose_are_recognised() {
        for p in ["n/a", "N/A", "unspecified", "*", " ", "All versions"] {
            assert!(is_placeholder(p), "{p}");
            assert!(!is_version(p), "{p}");
        }
        assert!(is_version("0.12.4") && is_version("v1.2-rc1"));
        assert!(!is_version("before 1.0.4") && !is_version("< 2"));
        assert_eq!(lower_bound("0"), None);
        assert_eq!(lower_bound("unspecified"), None);
        assert_eq!(lower_bound("1.2"), Some("1.2"));
        assert_eq!(
            prose_bound("before 1.0.4"),
            Some(Bound::Below("1.0.4".into()))
        );
        assert_eq!(
            prose_bound("Prior to 2.0"),
            Some(Bound::Below("2.0".into()))
        );
        assert_eq!(prose_bound("< 3.1"), Some(Bound::Below("3.1".into())));
        assert_eq!(prose_bound("<= 3.1"), Some(Bound::UpTo("3.1".into())));
        assert_eq!(
            prose_bound("2.3 and earlier"),
            Some(Bound::UpTo("2.3".into()))
        );
        assert_eq!(
            prose_bound("4.0 and later"),
            Some(Bound::From("4.0".into()))
        );
        assert_eq!(prose_bound("0.12.4"), None);
        assert_eq!(prose_bound("before the fix"), None);
    }
}
