//! The data the registry is built from: the shipped snapshot, or a directory
//! written by `cnadesk ecosystem sync`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// File names inside a snapshot directory.
pub mod files {
    /// xmpp.org software list.
    pub const SOFTWARE: &str = "software.json";
    /// xmpp.org archive of unmaintained projects.
    pub const ARCHIVE: &str = "software_archive.json";
    /// Listing history (derived).
    pub const HISTORY: &str = "software-history.csv";
    /// DOAP texts by DOAP URL (a JSON object).
    pub const DOAPS: &str = "doap.json";
    /// XEP list (our JSON, or xmpp.org's XML).
    pub const XEPS: &str = "xeplist.json";
    /// XEP list as published by xmpp.org.
    pub const XEPS_XML: &str = "xeplist.xml";
    /// The CVE Program's CNA list.
    pub const CNA_LIST: &str = "CNAsList.json";
    /// What the last sync did, per source.
    pub const SYNC_STATE: &str = "sync.json";
}

/// The raw texts of every source.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// `software.json`.
    pub software: String,
    /// `software_archive.json`.
    pub archive: String,
    /// `software-history.csv` (may be absent).
    pub history: Option<String>,
    /// DOAP file texts by the DOAP URL used in the software list.
    pub doaps: BTreeMap<String, String>,
    /// XEP support transcribed from DOAP files not shipped as files.
    pub derived_support: Option<String>,
    /// The XEP list.
    pub xeps: String,
    /// `CNAsList.json`.
    pub cna_list: String,
    /// Annotations shipped with cnadesk (TOML).
    pub annotations: String,
    /// Generic components (TOML).
    pub components: String,
    /// Where this came from, for people.
    pub origin: String,
}

macro_rules! hosted {
    ($($slug:literal),* $(,)?) => {
        &[$((concat!("/hosted-doap/", $slug, ".doap"),
            include_str!(concat!("../data/xmpp-software/hosted-doap/", $slug, ".doap")))),*]
    };
}

const HOSTED_DOAPS: &[(&str, &str)] = hosted!(
    "artalk-xmpp",
    "badxmpp",
    "chat-o-matic",
    "explore-xep-0392-consistent-color-generation",
    "isode-m-link",
    "jsxc",
    "libervia",
    "libstrophe",
    "matrix",
    "mellium",
    "observe-jabber-network",
    "scansion",
    "search-jabber-network",
    "snikket-app",
    "snikket-server",
    "strophe-js",
    "swift",
    "swiften",
    "xmpp-account-exporter",
    "xmpp-js",
);

const VENDOR_DOAPS: &[(&str, &str)] = &[
    (
        "https://raw.githubusercontent.com/processone/ejabberd/master/ejabberd.doap",
        include_str!("../data/xmpp-software/vendor-doap/ejabberd.doap"),
    ),
    (
        "https://raw.githubusercontent.com/dino/dino/master/dino.doap",
        include_str!("../data/xmpp-software/vendor-doap/dino.doap"),
    ),
    (
        "https://hg.prosody.im/trunk/raw-file/tip/doc/doap.xml",
        include_str!("../data/xmpp-software/vendor-doap/prosody.doap"),
    ),
];

/// The annotations shipped with cnadesk.
pub const SHIPPED_ANNOTATIONS: &str = include_str!("../data/local/annotations.toml");
/// The generic components shipped with cnadesk.
pub const SHIPPED_COMPONENTS: &str = include_str!("../data/local/components.toml");

impl Snapshot {
    /// The snapshot shipped inside cnadesk (sources and licences in
    /// `crates/cnadesk-ecosystem/data/*/README.md`).
    pub fn bundled() -> Snapshot {
        Snapshot {
            software: include_str!("../data/xmpp-software/software.json").to_owned(),
            archive: include_str!("../data/xmpp-software/software_archive.json").to_owned(),
            history: Some(include_str!("../data/xmpp-software/software-history.csv").to_owned()),
            doaps: HOSTED_DOAPS
                .iter()
                .chain(VENDOR_DOAPS)
                .map(|(url, text)| ((*url).to_owned(), (*text).to_owned()))
                .collect(),
            derived_support: Some(
                include_str!("../data/xmpp-software/software-xeps.json").to_owned(),
            ),
            xeps: include_str!("../data/xeps/xeplist.json").to_owned(),
            cna_list: include_str!("../data/cna-list/CNAsList.json").to_owned(),
            annotations: SHIPPED_ANNOTATIONS.to_owned(),
            components: SHIPPED_COMPONENTS.to_owned(),
            origin: "shipped snapshot (xmpp.org data of 2026-08-16, XEP list of 2026-06-30, CNA list of 2024-10-08)".into(),
        }
    }
}

/// What a sync did to one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Where it was fetched from.
    pub from: String,
    /// When the data in use was fetched (RFC 3339), if ever.
    pub fetched_at: Option<String>,
    /// The last attempt's error, when it failed and older data was kept.
    pub error: Option<String>,
}

/// The sync record kept beside the data: one entry per source file or DOAP URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// When the last sync ran (RFC 3339).
    pub last_run: Option<String>,
    /// Per source.
    pub sources: BTreeMap<String, SourceState>,
}
