//! AWS region names: the public (commercial `aws` partition) regions, which the
//! endpoint serves by default, and the check a credential scope must pass.
//!
//! The list is the `aws` partition of botocore 1.44.5's `endpoints.json` (34
//! regions, 2026). Newer regions can be served with `--regions`.

/// The public AWS regions.
pub const PUBLIC_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The regions a server or command line accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// [`PUBLIC_REGIONS`] (and the keystore's home region).
    Public,
    /// Exactly these (`--regions a,b,c`).
    Only(Vec<String>),
}

impl Regions {
    /// Parses `--regions` (comma-separated region names).
    pub fn parse_list(list: &str) -> Result<Regions, String> {
        let mut out = Vec::new();
        for r in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !super::store::is_region_name(r) {
                return Err(format!(
                    "--regions: {r:?} is not a region name such as us-east-1"
                ));
            }
            if !out.iter().any(|x| x == r) {
                out.push(r.to_string());
            }
        }
        if out.is_empty() {
            return Err("--regions needs at least one region name".into());
        }
        Ok(Regions::Only(out))
    }

    /// Whether requests to `region` are served; `home` (the keystore's home
    /// region) always is.
    pub fn allows(&self, region: &str, home: &str) -> bool {
        region == home
            || match self {
                Regions::Public => PUBLIC_REGIONS.contains(&region),
                Regions::Only(list) => list.iter().any(|r| r == region),
            }
    }

    /// For messages: what is served.
    pub fn describe(&self) -> String {
        match self {
            Regions::Public => format!("the {} public AWS regions", PUBLIC_REGIONS.len()),
            Regions::Only(list) => list.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_listed_regions() {
        let p = Regions::Public;
        assert!(p.allows("eu-central-2", "us-east-1"));
        assert!(!p.allows("xx-fake-9", "us-east-1"));
        assert!(
            p.allows("xx-fake-9", "xx-fake-9"),
            "the home region is always served"
        );
        let only = Regions::parse_list("eu-west-1, us-east-2,eu-west-1").unwrap();
        assert_eq!(
            only,
            Regions::Only(vec!["eu-west-1".into(), "us-east-2".into()])
        );
        assert!(!only.allows("us-west-2", "us-east-1"));
        assert!(Regions::parse_list("Mars").is_err());
        assert!(Regions::parse_list(" , ").is_err());
        assert_eq!(PUBLIC_REGIONS.len(), 34);
        let mut sorted = PUBLIC_REGIONS.to_vec();
        sorted.sort();
        assert_eq!(sorted, PUBLIC_REGIONS);
    }
}
