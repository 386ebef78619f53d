//! cvelib (Red Hat's command-line client of CVE Services, PyPI `cvelib`)
//! drives `cnadesk dev cve-services`: every CNA command, each checked for
//! its effect. A real client written against the real service is the best
//! check that the double speaks CVE Services 2.8.
//!
//! The test makes a Python virtual environment in a temporary directory and
//! installs cvelib 1.8.0 from PyPI into it (or uses the `cve` program named
//! by `CNADESK_TEST_CVELIB`, to run it offline).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const CVELIB: &str = "cvelib==1.8.0";

/// The `cve` program: from `CNADESK_TEST_CVELIB`, or installed into a new
/// virtual environment in `dir`.
fn cvelib(dir: &Path) -> PathBuf {
    if let Some(cve) = std::env::var_os("CNADESK_TEST_CVELIB") {
        return PathBuf::from(cve);
    }
    let venv = dir.join("venv");
    let o = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "python3 -m venv failed (on Debian: apt-get install python3-venv): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", CVELIB])
        .output()
        .expect("pip runs");
    assert!(
        o.status.success(),
        "pip install {CVELIB} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    venv.join("bin/cve")
}

/// One account the double prints.
#[derive(Clone, Debug)]
struct Account {
    org: String,
    user: String,
    key: String,
}

/// `cnadesk dev cve-services` and the accounts it printed: the CNA's
/// organization admin, a user without the ADMIN role, the admin of another
/// CNA.
struct Service {
    child: Child,
    url: String,
    admin: Account,
    plain: Account,
    other: Account,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_service() -> Service {
    let mut child = support::cnadesk(&[
        "dev",
        "cve-services",
        "--bind",
        "127.0.0.1:0",
        "--quota",
        "10",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .expect("cnadesk starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("text");
    let url = next()
        .strip_prefix("CVE Services double listening on ")
        .expect("the URL first")
        .to_owned();
    let mut values = Vec::new();
    let mut org = String::new();
    loop {
        let line = next();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        match name {
            "CVE-API-ORG" => org = value.to_owned(),
            "CVE-API-USER" => values.push((org.clone(), value.to_owned(), String::new())),
            "CVE-API-KEY" => values.last_mut().expect("a user first").2 = value.to_owned(),
            _ => {}
        }
        if name == "CVE-API-KEY" && values.len() == 3 {
            break;
        }
    }
    // Whatever else it prints is read, so that it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let account = |(org, user, key): &(String, String, String)| Account {
        org: org.clone(),
        user: user.clone(),
        key: key.clone(),
    };
    Service {
        url,
        admin: account(&values[0]),
        plain: account(&values[1]),
        other: account(&values[2]),
        child,
    }
}

struct Cve {
    program: PathBuf,
    url: String,
    dir: PathBuf,
}

impl Cve {
    /// `cve ARGS` as `who`, configured the way a user would: the
    /// environment variables cvelib reads.
    fn run(&self, who: &Account, args: &[&str]) -> Output {
        Command::new(&self.program)
            .args(args)
            .current_dir(&self.dir)
            .env("CVE_API_URL", format!("{}/", self.url))
            .env("CVE_ORG", &who.org)
            .env("CVE_USER", &who.user)
            .env("CVE_API_KEY", &who.key)
            .env_remove("CVE_ENVIRONMENT")
            .env_remove("CVE_INTERACTIVE")
            .env_remove("CVE_GENERATOR")
            .output()
            .expect("cve runs")
    }

    /// Output of a command that must succeed.
    fn ok(&self, who: &Account, args: &[&str]) -> String {
        let o = self.run(who, args);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "cve {args:?} failed:\n{out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    /// The JSON of a command that must succeed (`--raw` is added).
    fn json(&self, who: &Account, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--raw");
        let out = self.ok(who, &all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("cve {args:?}: {e}\n{out}"))
    }

    /// The output of a command that must fail.
    fn fails(&self, who: &Account, args: &[&str]) -> String {
        let o = self.run(who, args);
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.status.success(), "cve {args:?} should fail:\n{out}");
        out
    }

    /// The IDs `cve list` shows with these filters.
    fn list(&self, who: &Account, filters: &[&str]) -> Vec<String> {
        let mut args = vec!["list"];
        args.extend_from_slice(filters);
        let listed = self.json(who, &args);
        let mut ids: Vec<String> = listed
            .as_array()
            .unwrap_or_else(|| panic!("a list: {listed}"))
            .iter()
            .map(|i| i["cve_id"].as_str().expect("cve_id").to_owned())
            .collect();
        ids.sort();
        ids
    }

    fn state(&self, who: &Account, id: &str) -> String {
        self.json(who, &["show", id])["state"]
            .as_str()
            .expect("state")
            .to_owned()
    }

    fn quota(&self, who: &Account) -> (i64, i64) {
        let q = self.json(who, &["quota"]);
        (
            q["total_reserved"].as_i64().expect("total_reserved"),
            q["available"].as_i64().expect("available"),
        )
    }

    fn count(&self, who: &Account, state: Option<&str>) -> i64 {
        let mut args = vec!["count"];
        if let Some(s) = state {
            args.extend_from_slice(&["--state", s]);
        }
        self.json(who, &args)["totalCount"]
            .as_i64()
            .expect("totalCount")
    }
}

fn ids_of(reservation: &Value) -> Vec<String> {
    reservation["cve_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("cve_ids: {reservation}"))
        .iter()
        .map(|i| i["cve_id"].as_str().expect("cve_id").to_owned())
        .collect()
}

fn number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

/// A small CNA container that passes the record schema.
fn container(description: &str) -> Value {
    json!({
        "title": "Stanza injection in the example server",
        "descriptions": [{ "lang": "en", "value": description }],
        "affected": [{
            "vendor": "Example",
            "product": "Example XMPP Server",
            "versions": [{ "version": "1.0", "lessThan": "1.4.2", "status": "affected", "versionType": "semver" }],
            "defaultStatus": "unaffected"
        }],
        "problemTypes": [{ "descriptions": [{ "lang": "en", "type": "CWE", "cweId": "CWE-74", "description": "CWE-74 Improper Neutralization of Special Elements in Output Used by a Downstream Component ('Injection')" }] }],
        "metrics": [{ "cvssV3_1": {
            "version": "3.1",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N",
            "baseScore": 6.5,
            "baseSeverity": "MEDIUM"
        } }],
        "references": [{ "url": "https://xmpp.org/advisories/example", "tags": ["vendor-advisory"] }]
    })
}

#[test]
#[ignore = "needs python3 venv and cvelib from PyPI"]
fn cvelib_drives_the_double_through_every_cna_command() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let program = cvelib(tmp.path());
    let service = start_service();
    let cve = Cve {
        program,
        url: service.url.clone(),
        dir: tmp.path().to_owned(),
    };
    let (admin, plain, other) = (&service.admin, &service.plain, &service.other);
    assert_eq!(admin.org, plain.org);
    assert_ne!(admin.org, other.org);

    // ping, quota, org.
    assert!(cve.ok(admin, &["ping"]).contains("OK"));
    assert_eq!(cve.quota(admin), (0, 10));
    let org = cve.json(admin, &["org"]);
    assert_eq!(org["short_name"], admin.org.as_str(), "{org}");
    assert_eq!(org["policies"]["id_quota"], 10, "{org}");
    assert_eq!(org["authority"]["active_roles"], json!(["CNA"]), "{org}");
    let org_uuid = org["UUID"].as_str().expect("UUID").to_owned();
    assert!(cve.ok(admin, &["org"]).contains(&admin.org));

    // Reservations: one (this year, cvelib's default), then, once a
    // second has passed, a sequential and a non-sequential batch and one of
    // next year.
    let first = cve.json(admin, &["reserve"]);
    let [id1] = <[String; 1]>::try_from(ids_of(&first)).expect("one ID");
    let year: i32 = id1[4..8].parse().expect("a year");
    let reserved_at = first["cve_ids"][0]["reserved"]
        .as_str()
        .expect("reserved")
        .to_owned();
    // The whole second after the first reservation: a bound between it and
    // the later ones.
    let cutoff = bump_second(&reserved_at[..19]);
    std::thread::sleep(Duration::from_millis(2100));
    let single = cve.json(admin, &["reserve", "1"]);
    assert_eq!(single["cve_ids"][0]["state"], "RESERVED", "{single}");
    let [id_single] = <[String; 1]>::try_from(ids_of(&single)).expect("one ID");
    let seq = ids_of(&cve.json(admin, &["reserve", "3"]));
    assert_eq!(seq.len(), 3);
    assert!(
        seq.windows(2).all(|w| number(&w[1]) == number(&w[0]) + 1),
        "sequential: {seq:?}"
    );
    let random = ids_of(&cve.json(admin, &["reserve", "2", "--random"]));
    assert_eq!(random.len(), 2);
    assert!(random
        .iter()
        .all(|i| i.starts_with(&format!("CVE-{year}-"))));
    let next_year = (year + 1).to_string();
    let later = ids_of(&cve.json(admin, &["reserve", "--year", &next_year]));
    assert!(
        later[0].starts_with(&format!("CVE-{next_year}-")),
        "{later:?}"
    );
    assert_eq!(cve.quota(admin), (8, 2));
    assert!(cve.ok(admin, &["quota"]).contains("Available:\t2"));
    // Over the quota: the service's refusal.
    assert!(cve
        .fails(admin, &["reserve", "3"])
        .contains("EXCEEDED_ID_QUOTA"));

    // list, with each filter.
    let mut all: Vec<String> = [
        vec![id1.clone(), id_single.clone()],
        seq.clone(),
        random.clone(),
        later.clone(),
    ]
    .concat();
    all.sort();
    assert_eq!(cve.list(admin, &[]), all);
    assert_eq!(cve.list(admin, &["--year", &next_year]), later);
    assert_eq!(cve.list(admin, &["--year", &year.to_string()]).len(), 7);
    assert_eq!(cve.list(admin, &["--state", "reserved"]), all);
    assert!(cve.list(admin, &["--state", "published"]).is_empty());
    assert_eq!(
        cve.list(admin, &["--reserved-lt", &cutoff]),
        vec![id1.clone()]
    );
    assert_eq!(cve.list(admin, &["--reserved-gt", &cutoff]).len(), 7);
    assert!(!cve.list(admin, &["--reserved-gt", &cutoff]).contains(&id1));
    assert!(cve.ok(admin, &["list"]).contains(&id1));

    // show.
    let shown = cve.json(admin, &["show", &id1]);
    assert_eq!(shown["state"], "RESERVED", "{shown}");
    assert_eq!(shown["owning_cna"], admin.org.as_str());
    assert_eq!(shown["requested_by"]["user"], admin.user.as_str());

    // publish (cvelib looks up the org's UUID for providerMetadata), then
    // publish again: the record is updated.
    let file = tmp.path().join("cna.json");
    std::fs::write(&file, container("The first description.").to_string()).expect("write");
    let published = cve.json(
        admin,
        &["publish", &id1, "-f", file.to_str().expect("path")],
    );
    let record = &published["created"];
    assert_eq!(record["cveMetadata"]["state"], "PUBLISHED", "{published}");
    assert_eq!(record["cveMetadata"]["assignerOrgId"], org_uuid.as_str());
    assert_eq!(
        record["containers"]["cna"]["providerMetadata"]["orgId"],
        org_uuid.as_str()
    );
    assert_eq!(cve.state(admin, &id1), "PUBLISHED");
    assert_eq!(
        cve.list(admin, &["--state", "published"]),
        vec![id1.clone()]
    );
    assert_eq!(
        (cve.count(admin, None), cve.count(admin, Some("published"))),
        (1, 1)
    );
    std::fs::write(&file, container("The corrected description.").to_string()).expect("write");
    let updated = cve.json(
        admin,
        &["publish", &id1, "-f", file.to_str().expect("path")],
    );
    assert_eq!(
        updated["message"],
        format!("{id1} record was successfully updated."),
        "{updated}"
    );
    let full = cve.json(admin, &["show", &id1, "--show-record"]);
    let published_record = full.clone();
    let text = full.to_string();
    assert!(text.contains("The corrected description."), "{text}");
    assert!(!text.contains("The first description."));
    assert_eq!(cve.count(admin, None), 1);
    assert!(cve.ok(admin, &["show", &id1, "-r"]).contains("PUBLISHED"));

    // reject without a record, undo-reject, reject with a record (a
    // reserved ID, then the published one).
    let rejected = cve.json(admin, &["reject", &seq[0]]);
    assert_eq!(rejected["updated"]["state"], "REJECTED", "{rejected}");
    assert_eq!(cve.state(admin, &seq[0]), "REJECTED");
    assert_eq!(cve.quota(admin), (6, 4));
    assert_eq!(
        cve.count(admin, Some("rejected")),
        0,
        "no record, nothing to count"
    );
    let back = cve.json(admin, &["undo-reject", &seq[0]]);
    assert_eq!(back["updated"]["state"], "RESERVED", "{back}");
    assert_eq!(cve.quota(admin), (7, 3));
    let reason = tmp.path().join("reject.json");
    std::fs::write(
        &reason,
        json!({ "rejectedReasons": [{ "lang": "en", "value": "Duplicate of another ID." }] })
            .to_string(),
    )
    .expect("write");
    let r = cve.json(
        admin,
        &["reject", &seq[1], "-f", reason.to_str().expect("path")],
    );
    assert_eq!(r["created"]["cveMetadata"]["state"], "REJECTED", "{r}");
    assert_eq!(cve.state(admin, &seq[1]), "REJECTED");
    // A rejected ID with a record cannot go back to RESERVED.
    assert!(cve
        .fails(admin, &["undo-reject", &seq[1]])
        .contains("CANNOT_CHANGE_CVE_ID_WITH_RECORD"));
    let r = cve.json(
        admin,
        &["reject", &id1, "-f", reason.to_str().expect("path")],
    );
    assert_eq!(r["updated"]["cveMetadata"]["state"], "REJECTED", "{r}");
    assert_eq!(cve.state(admin, &id1), "REJECTED");
    let rejected_record = cve.json(admin, &["show", &id1, "--show-record"]);
    assert_eq!(
        (
            cve.count(admin, Some("rejected")),
            cve.count(admin, Some("published"))
        ),
        (2, 0)
    );

    // transfer: the ID moves to the other CNA (and its quota); an
    // organization that does not exist is refused; a moved ID is no longer
    // ours to transfer.
    let moved = cve.json(admin, &["transfer", &random[0], "--new-cna", &other.org]);
    assert_eq!(
        moved["updated"]["owning_cna"],
        other.org.as_str(),
        "{moved}"
    );
    assert!(!cve.list(admin, &[]).contains(&random[0]));
    assert_eq!(cve.list(other, &[]), vec![random[0].clone()]);
    assert_eq!(cve.quota(other), (1, 9));
    assert_eq!(cve.quota(admin).0, 5);
    let theirs = cve.json(other, &["show", &random[0]]);
    assert_eq!(theirs["owning_cna"], other.org.as_str(), "{theirs}");
    let ours = cve.json(admin, &["show", &random[0]]);
    assert_eq!(ours["owning_cna"], "[REDACTED]", "{ours}");
    let refused = cve.fails(admin, &["transfer", &random[1], "--new-cna", "no-such-cna"]);
    assert!(refused.contains("ORG_DNE"), "{refused}");
    assert_eq!(
        cve.json(admin, &["show", &random[1]])["owning_cna"],
        admin.org.as_str()
    );
    assert!(cve
        .fails(admin, &["transfer", &random[0], "--new-cna", &admin.org])
        .contains("ORG_DOES_NOT_OWN_ID"));
    assert!(cve
        .ok(admin, &["transfer", &random[1], "-n", &other.org])
        .contains("Successfully transferred"));
    assert_eq!(cve.list(other, &[]).len(), 2);

    // publish-adp: a CNA is not an ADP.
    let adp = cve.fails(
        admin,
        &[
            "publish-adp",
            &seq[2],
            "-j",
            &json!({ "title": "x" }).to_string(),
        ],
    );
    assert!(adp.contains("ADP_ONLY"), "{adp}");

    // Users: show, list, create, update, reset-key.
    let me = cve.json(admin, &["user"]);
    assert_eq!(me["username"], admin.user.as_str(), "{me}");
    assert_eq!(me["authority"]["active_roles"], json!(["ADMIN"]));
    let them = cve.json(admin, &["user", "-u", &plain.user]);
    assert_eq!(them["authority"]["active_roles"], json!([]), "{them}");
    let users = cve.json(admin, &["org", "users"]);
    assert_eq!(users.as_array().map(Vec::len), Some(2), "{users}");
    let created = cve.json(
        admin,
        &[
            "user",
            "create",
            "-u",
            "newcomer@example.invalid",
            "--name-first",
            "Nia",
            "--name-last",
            "Newcomer",
        ],
    );
    assert_eq!(created["name"]["first"], "Nia", "{created}");
    let newcomer = Account {
        org: admin.org.clone(),
        user: "newcomer@example.invalid".into(),
        key: created["secret"].as_str().expect("secret").to_owned(),
    };
    assert_eq!(cve.quota(&newcomer).0, 4, "the new user's key works");
    assert_eq!(
        cve.json(admin, &["org", "users"]).as_array().map(Vec::len),
        Some(3)
    );
    let changed = cve.json(
        admin,
        &[
            "user",
            "update",
            "-u",
            &newcomer.user,
            "--name-last",
            "Nouvelle",
            "--add-role",
            "ADMIN",
        ],
    );
    assert_eq!(changed["updated"]["name"]["last"], "Nouvelle", "{changed}");
    assert_eq!(
        changed["updated"]["authority"]["active_roles"],
        json!(["ADMIN"])
    );
    let changed = cve.json(
        admin,
        &[
            "user",
            "update",
            "-u",
            &newcomer.user,
            "--remove-role",
            "ADMIN",
            "--mark-inactive",
        ],
    );
    assert_eq!(changed["updated"]["active"], false, "{changed}");
    assert!(
        cve.fails(&newcomer, &["quota"]).contains("401"),
        "an inactive user is refused"
    );
    let renamed = cve.json(
        admin,
        &[
            "user",
            "update",
            "-u",
            &newcomer.user,
            "--mark-active",
            "--new-username",
            "nia@example.invalid",
        ],
    );
    assert_eq!(
        renamed["updated"]["username"], "nia@example.invalid",
        "{renamed}"
    );
    let reset = cve.json(admin, &["user", "reset-key", "-u", &plain.user]);
    let new_key = reset["API-secret"].as_str().expect("API-secret").to_owned();
    assert!(
        cve.fails(plain, &["quota"]).contains("401"),
        "the old key no longer works"
    );
    let plain = Account {
        key: new_key,
        ..plain.clone()
    };
    assert_eq!(cve.quota(&plain).0, 4);

    // What a user without the ADMIN role may and may not do.
    let own = cve.json(
        &plain,
        &["user", "update", "-u", &plain.user, "--name-first", "Pat"],
    );
    assert_eq!(own["updated"]["name"]["first"], "Pat", "{own}");
    let refused = cve.fails(&plain, &["user", "create", "-u", "someone@example.invalid"]);
    assert!(
        refused.contains("NOT_ORG_ADMIN_OR_SECRETARIAT"),
        "{refused}"
    );
    let refused = cve.fails(
        &plain,
        &["user", "update", "-u", &admin.user, "--name-first", "X"],
    );
    assert!(
        refused.contains("NOT_SAME_USER_OR_SECRETARIAT"),
        "{refused}"
    );
    let own_key = cve.json(&plain, &["user", "reset-key", "-u", &plain.user]);
    let plain = Account {
        key: own_key["API-secret"]
            .as_str()
            .expect("API-secret")
            .to_owned(),
        ..plain
    };
    assert_eq!(cve.quota(&plain).0, 4);
    // cvelib looks users up in its own organization: the other CNA has no
    // such user.
    let missing = cve.fails(other, &["user", "-u", &admin.user]);
    assert!(missing.contains("USER_DNE"), "{missing}");

    // validate (local): the records as the double stores them, published
    // and rejected, are valid CVE records for cvelib too.
    for (name, record) in [
        ("published.json", &published_record),
        ("rejected.json", &rejected_record),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, record.to_string()).expect("write");
        let checked = cve.ok(
            admin,
            &["validate", "-s", "full", "-f", path.to_str().expect("path")],
        );
        assert!(!checked.contains("failed"), "{checked}");
    }
}

/// `YYYY-MM-DDTHH:MM:SS` one second later.
fn bump_second(stamp: &str) -> String {
    let t: jiff::civil::DateTime = stamp.parse().expect("a civil time");
    t.checked_add(jiff::SignedDuration::from_secs(1))
        .expect("in range")
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}
