//! CVSS vectors in words, for readers of advisories.

/// `(metric, value)` in words for each base metric of a CVSS 3.x or 4.0
/// vector; metrics this table does not know are named by their
/// abbreviation. Empty when the string is not a CVSS 3 or 4 vector.
pub fn explain_vector(vector: &str) -> Vec<(String, String)> {
    let mut parts = vector.split('/');
    let version = match parts.next() {
        Some("CVSS:3.0" | "CVSS:3.1") => 3,
        Some("CVSS:4.0") => 4,
        _ => return Vec::new(),
    };
    parts
        .filter_map(|p| p.split_once(':'))
        .map(|(metric, value)| {
            let (name, v) = words(version, metric, value);
            (
                name.map_or_else(|| metric.to_owned(), str::to_owned),
                v.map_or_else(|| value.to_owned(), str::to_owned),
            )
        })
        .collect()
}

fn impact(value: &str) -> Option<&'static str> {
    match value {
        "H" => Some("High"),
        "L" => Some("Low"),
        "N" => Some("None"),
        _ => None,
    }
}

fn words(version: u8, metric: &str, value: &str) -> (Option<&'static str>, Option<&'static str>) {
    match (metric, version) {
        ("AV", _) => (
            Some("Attack vector"),
            match value {
                "N" => Some("Network"),
                "A" => Some("Adjacent network"),
                "L" => Some("Local"),
                "P" => Some("Physical"),
                _ => None,
            },
        ),
        ("AC", _) => (
            Some("Attack complexity"),
            match value {
                "L" => Some("Low"),
                "H" => Some("High"),
                _ => None,
            },
        ),
        ("AT", 4) => (
            Some("Attack requirements"),
            match value {
                "N" => Some("None"),
                "P" => Some("Present"),
                _ => None,
            },
        ),
        ("PR", _) => (Some("Privileges required"), impact(value)),
        ("UI", _) => (
            Some("User interaction"),
            match value {
                "N" => Some("None"),
                "R" => Some("Required"),
                "P" => Some("Passive"),
                "A" => Some("Active"),
                _ => None,
            },
        ),
        ("S", 3) => (
            Some("Scope"),
            match value {
                "U" => Some("Unchanged"),
                "C" => Some("Changed"),
                _ => None,
            },
        ),
        ("C", 3) => (Some("Confidentiality impact"), impact(value)),
        ("I", 3) => (Some("Integrity impact"), impact(value)),
        ("A", 3) => (Some("Availability impact"), impact(value)),
        ("VC", 4) => (
            Some("Confidentiality impact on the vulnerable system"),
            impact(value),
        ),
        ("VI", 4) => (
            Some("Integrity impact on the vulnerable system"),
            impact(value),
        ),
        ("VA", 4) => (
            Some("Availability impact on the vulnerable system"),
            impact(value),
        ),
        ("SC", 4) => (
            Some("Confidentiality impact on other systems"),
            impact(value),
        ),
        ("SI", 4) => (Some("Integrity impact on other systems"), impact(value)),
        ("SA", 4) => (Some("Availability impact on other systems"), impact(value)),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cvss_3_vector_in_words() {
        let words = explain_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N");
        assert_eq!(words.len(), 8);
        assert_eq!(words[0], ("Attack vector".into(), "Network".into()));
        assert_eq!(words[3], ("User interaction".into(), "Required".into()));
        assert_eq!(words[6], ("Integrity impact".into(), "High".into()));
    }

    #[test]
    fn a_cvss_4_vector_in_words_and_unknown_parts_kept() {
        let words =
            explain_vector("CVSS:4.0/AV:L/AC:H/AT:P/PR:L/UI:A/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N/E:X");
        assert_eq!(words[2], ("Attack requirements".into(), "Present".into()));
        assert_eq!(words[4], ("User interaction".into(), "Active".into()));
        assert_eq!(words[11], ("E".into(), "X".into()));
        assert!(explain_vector("AV:N/AC:L").is_empty());
    }
}
