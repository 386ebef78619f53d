//! Keys that make names, URLs and package identifiers comparable: case,
//! accents, punctuation and filler words ("IM", "XMPP", "server") do not matter.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Words that do not tell products apart.
const FILLER: &[&str] = &[
    "im",
    "xmpp",
    "jabber",
    "server",
    "client",
    "app",
    "messenger",
    "the",
    "project",
    "library",
    "lib",
];

/// Lower-case words of a text, accents removed, split at anything that is
/// not a letter or digit.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The whole-name key: "Converse.js" → `conversejs`, "Prosody IM" → `prosodyim`.
pub fn name_key(text: &str) -> String {
    words(text).concat()
}

/// The name without filler words: "Prosody IM" → `prosody`,
/// "Tigase XMPP Server" → `tigase`. Empty when nothing distinctive is left.
pub fn core_key(text: &str) -> String {
    words(text)
        .into_iter()
        .filter(|w| !FILLER.contains(&w.as_str()))
        .collect::<Vec<_>>()
        .concat()
}

/// Whether a word is only a filler word.
pub fn is_filler(word: &str) -> bool {
    FILLER.contains(&word)
}

/// Whether a word looks like a version ("0.12.3", "v2", "1.0-rc1").
pub fn is_version(word: &str) -> bool {
    let w = word.strip_prefix('v').unwrap_or(word);
    w.chars().next().is_some_and(|c| c.is_ascii_digit())
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

/// A URL reduced to host and path: no scheme, no `www.`, no query, no
/// trailing slash or `.git`, lower case. `None` when it is not a URL.
pub fn url_key(url: &str) -> Option<String> {
    let url = url
        .trim()
        .trim_end_matches(['.', ',', ')', ';', '>', '"', '\'']);
    let rest = match url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("git://"))
        .or_else(|| url.strip_prefix("ssh://git@"))
    {
        Some(r) => r,
        // "github.com/dino/dino" typed without a scheme.
        None if looks_like_host_path(url) => url,
        None => return None,
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let rest = rest
        .strip_prefix("www.")
        .unwrap_or(rest)
        .to_ascii_lowercase();
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    if rest.is_empty() || !rest.contains('.') {
        return None;
    }
    Some(rest.to_owned())
}

fn looks_like_host_path(text: &str) -> bool {
    let Some((host, path)) = text.split_once('/') else {
        return false;
    };
    let labels: Vec<&str> = host.split('.').collect();
    !path.is_empty()
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// The repository a raw-file or DOAP URL lives in, as a [`url_key`]:
/// `raw.githubusercontent.com/o/r/…` → `github.com/o/r`,
/// `codeberg.org/o/r/raw/…` → `codeberg.org/o/r`, `host/o/r/-/raw/…` → `host/o/r`.
pub fn repository_of(url: &str) -> Option<String> {
    let key = url_key(url)?;
    let parts: Vec<&str> = key.split('/').collect();
    if parts[0] == "raw.githubusercontent.com" && parts.len() >= 3 {
        return Some(format!("github.com/{}/{}", parts[1], parts[2]));
    }
    for marker in ["-", "raw", "blob", "plain"] {
        if let Some(i) = parts.iter().skip(1).position(|p| *p == marker) {
            let cut = i + 1;
            if cut >= 3 {
                return Some(parts[..cut].join("/"));
            }
        }
    }
    None
}

/// Whether `url` (a [`url_key`]) lies at or under `prefix` (a [`url_key`]),
/// comparing whole path segments.
pub fn url_under(url: &str, prefix: &str) -> bool {
    url == prefix || url.strip_prefix(prefix).is_some_and(|r| r.starts_with('/'))
}

/// A package URL (`pkg:type/namespace/name@version`) split into its type
/// and name. `None` when the text is not a purl.
pub fn purl(text: &str) -> Option<(String, String)> {
    let rest = text.trim().strip_prefix("pkg:")?;
    let rest = rest.split(['?', '#']).next()?;
    let (kind, path) = rest.split_once('/')?;
    // The version follows the last `@` of the last segment; an npm scope
    // (`@xmpp/client`) starts a namespace segment instead.
    let path = match path.rsplit_once('/') {
        Some((ns, last)) => format!("{ns}/{}", last.split('@').next().unwrap_or(last)),
        None => path.split('@').next().unwrap_or(path).to_owned(),
    };
    let name = path.rsplit('/').next()?;
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some((kind.to_ascii_lowercase(), path.to_ascii_lowercase()))
}

/// A XEP number as people write it: `280`, `0280`, `XEP-0280`, `xep 280`, `xep0280`.
pub fn xep_number(text: &str) -> Option<u16> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = match lower.strip_prefix("xep") {
        Some(rest) => rest.trim_start_matches([' ', '-', '_', ':']),
        None => lower.as_str(),
    };
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_punctuation_or_filler() {
        assert_eq!(core_key("Prosody IM"), core_key("prosody"));
        assert_eq!(name_key("Converse.js"), name_key("conversejs"));
        assert_eq!(name_key("Pàdé"), "pade");
        assert_eq!(core_key("Tigase XMPP Server"), "tigase");
        assert_eq!(core_key("XMPP"), "");
    }

    #[test]
    fn versions_are_recognised() {
        assert!(is_version("0.12.3"));
        assert!(is_version("v2"));
        assert!(is_version("1.0-rc1"));
        assert!(!is_version("prosody"));
        assert!(!is_version("v"));
    }

    #[test]
    fn urls_reduce_to_host_and_path() {
        assert_eq!(
            url_key("https://www.GitHub.com/dino/dino.git/").as_deref(),
            Some("github.com/dino/dino")
        );
        assert_eq!(url_key("prosody"), None);
        assert_eq!(
            url_key("github.com/dino/dino").as_deref(),
            Some("github.com/dino/dino")
        );
        assert_eq!(url_key("1.2/3"), None);
        assert_eq!(url_key("Prosody/0.12"), None);
        assert!(url_under(
            "github.com/dino/dino/issues/1",
            "github.com/dino/dino"
        ));
        assert!(!url_under(
            "github.com/dino/dinosaur",
            "github.com/dino/dino"
        ));
    }

    #[test]
    fn raw_file_urls_name_their_repository() {
        assert_eq!(
            repository_of("https://raw.githubusercontent.com/dino/dino/master/dino.doap")
                .as_deref(),
            Some("github.com/dino/dino")
        );
        assert_eq!(
            repository_of("https://codeberg.org/poezio/slixmpp/raw/branch/master/doap.xml")
                .as_deref(),
            Some("codeberg.org/poezio/slixmpp")
        );
        assert_eq!(
            repository_of("https://invent.kde.org/network/kaidan/-/raw/master/misc/doap.xml")
                .as_deref(),
            Some("invent.kde.org/network/kaidan")
        );
        assert_eq!(repository_of("https://prosody.im/doap.xml"), None);
    }

    #[test]
    fn purls_split() {
        assert_eq!(
            purl("pkg:hex/xmpp@1.8.0"),
            Some(("hex".into(), "xmpp".into()))
        );
        assert_eq!(
            purl("pkg:maven/org.igniterealtime.smack/smack-core"),
            Some(("maven".into(), "org.igniterealtime.smack/smack-core".into()))
        );
        assert_eq!(purl("hex/xmpp"), None);
        assert_eq!(
            purl("pkg:npm/@xmpp/client@0.13.1"),
            Some(("npm".into(), "@xmpp/client".into()))
        );
    }
    #[test]
    fn xep_numbers_are_read_as_people_write_them() {
        assert_eq!(xep_number("280"), Some(280));
        assert_eq!(xep_number("0280"), Some(280));
        assert_eq!(xep_number(" XEP-0280 "), Some(280));
        assert_eq!(xep_number("xep 45"), Some(45));
        assert_eq!(xep_number("abc"), None);
        assert_eq!(xep_number("-1"), None);
        assert_eq!(xep_number("280x"), None);
        assert_eq!(xep_number(""), None);
        assert_eq!(xep_number("99999999"), None);
        assert_eq!(xep_number("70000"), None);
    }
}
