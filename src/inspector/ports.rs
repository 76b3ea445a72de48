//! Recognised ports: what runs there, and how bad it is to expose it.

use serde::Serialize;

/// Inspector's severities, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Untriaged,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Untriaged => "UNTRIAGED",
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// GitHub's `MODERATE`, Ubuntu's `negligible`, ... → a severity.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "CRITICAL" => Severity::Critical,
            "HIGH" | "IMPORTANT" => Severity::High,
            "MEDIUM" | "MODERATE" => Severity::Medium,
            "LOW" | "NEGLIGIBLE" => Severity::Low,
            "INFORMATIONAL" | "INFO" | "NONE" => Severity::Informational,
            "UNTRIAGED" | "UNKNOWN" => Severity::Untriaged,
            _ => return None,
        })
    }
}

/// What a recognised port is, and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Remote administration and file sharing (SSH, RDP, Telnet, SMB, VNC...).
    Admin,
    /// Databases and data stores (MySQL, PostgreSQL, Redis, Elasticsearch...).
    Database,
    /// Web traffic (HTTP, HTTPS): expected on public hosts.
    Web,
    /// Other recognised services (SMTP, DNS, FTP...).
    Other,
}

/// (first port, last port, service, kind). Kept sorted by port.
pub const RECOGNISED: &[(u16, u16, &str, Kind)] = &[
    (20, 21, "FTP", Kind::Other),
    (22, 22, "SSH", Kind::Admin),
    (23, 23, "Telnet", Kind::Admin),
    (25, 25, "SMTP", Kind::Other),
    (53, 53, "DNS", Kind::Other),
    (80, 80, "HTTP", Kind::Web),
    (110, 110, "POP3", Kind::Other),
    (135, 135, "MSRPC", Kind::Admin),
    (137, 139, "NetBIOS", Kind::Admin),
    (143, 143, "IMAP", Kind::Other),
    (389, 389, "LDAP", Kind::Other),
    (443, 443, "HTTPS", Kind::Web),
    (445, 445, "SMB", Kind::Admin),
    (636, 636, "LDAPS", Kind::Other),
    (1433, 1434, "Microsoft SQL Server", Kind::Database),
    (1521, 1521, "Oracle", Kind::Database),
    (2049, 2049, "NFS", Kind::Admin),
    (2375, 2376, "Docker API", Kind::Admin),
    (2379, 2380, "etcd", Kind::Database),
    (3306, 3306, "MySQL", Kind::Database),
    (3389, 3389, "RDP", Kind::Admin),
    (5432, 5432, "PostgreSQL", Kind::Database),
    (5439, 5439, "Redshift", Kind::Database),
    (5601, 5601, "Kibana", Kind::Other),
    (5900, 5900, "VNC", Kind::Admin),
    (5984, 5984, "CouchDB", Kind::Database),
    (6379, 6379, "Redis", Kind::Database),
    (7000, 7001, "Cassandra", Kind::Database),
    (8080, 8080, "HTTP alternate", Kind::Web),
    (8443, 8443, "HTTPS alternate", Kind::Web),
    (8529, 8529, "ArangoDB", Kind::Database),
    (9042, 9042, "Cassandra", Kind::Database),
    (9200, 9200, "Elasticsearch", Kind::Database),
    (9300, 9300, "Elasticsearch", Kind::Database),
    (11211, 11211, "Memcached", Kind::Database),
    (27017, 27019, "MongoDB", Kind::Database),
];

fn kind_severity(k: Kind) -> Severity {
    match k {
        Kind::Admin | Kind::Database => Severity::High,
        Kind::Other => Severity::Medium,
        Kind::Web => Severity::Informational,
    }
}

fn overlapping(
    begin: u16,
    end: u16,
) -> impl Iterator<Item = &'static (u16, u16, &'static str, Kind)> {
    RECOGNISED
        .iter()
        .filter(move |(a, b, _, _)| *a <= end && begin <= *b)
}

/// Highest severity among the recognised ports of the range; a range that
/// holds no recognised port is MEDIUM (an open, unexplained port).
pub fn severity(begin: u16, end: u16) -> Severity {
    let web_only = (begin..=end).all(is_web);
    if web_only {
        return Severity::Informational;
    }
    overlapping(begin, end)
        .map(|(_, _, _, k)| kind_severity(*k))
        .max()
        .unwrap_or(Severity::Medium)
        .max(Severity::Medium)
}

fn is_web(p: u16) -> bool {
    RECOGNISED
        .iter()
        .any(|(a, b, _, k)| *k == Kind::Web && *a <= p && p <= *b)
}

/// Names of the recognised services in the range (deduplicated, port order).
pub fn services(begin: u16, end: u16) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (_, _, name, _) in overlapping(begin, end) {
        if !out.contains(name) {
            out.push(name);
        }
    }
    out
}

/// Whether the range holds a database port (for `db-port-not-internet-reachable`).
pub fn has_database_port(begin: u16, end: u16) -> bool {
    overlapping(begin, end).any(|(_, _, _, k)| *k == Kind::Database)
}

/// Whether the range holds a remote administration or file sharing port.
pub fn has_admin_port(begin: u16, end: u16) -> bool {
    overlapping(begin, end).any(|(_, _, _, k)| *k == Kind::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert_eq!(severity(22, 22), Severity::High);
        assert_eq!(severity(443, 443), Severity::Informational);
        assert_eq!(severity(80, 80), Severity::Informational);
        assert_eq!(severity(25, 25), Severity::Medium);
        assert_eq!(severity(12345, 12345), Severity::Medium);
        assert_eq!(severity(0, 65535), Severity::High);
        assert_eq!(severity(6379, 6379), Severity::High);
        assert_eq!(services(20, 25), vec!["FTP", "SSH", "Telnet", "SMTP"]);
        assert!(has_database_port(3000, 4000));
        assert!(!has_database_port(22, 22));
        assert_eq!(Severity::parse("moderate"), Some(Severity::Medium));
    }
}
