//! Default physical names for resources whose names are unique in an
//! account or region (S3 buckets, IAM roles, policies and instance
//! profiles, load balancers and target groups, DB subnet groups and
//! instances): `<stack>-<name>-<hash>`, the hash being 8 hex digits of the
//! SHA-256 of the resource's URN (and of the inputs whose change replaces
//! it, when set). The same resource always gets the same name (an
//! interrupted create finds its resource again), two stacks or projects do
//! not collide.

use sha2::Digest;

/// `<stack>-<name>-<hash>` in at most `max` characters, each character
/// that `allowed` refuses written `-`.
#[cfg(any(
    feature = "s3",
    feature = "iam",
    feature = "elbv2",
    feature = "rds",
    feature = "autoscaling"
))]
pub(crate) fn default_name(
    stack: &str,
    name: &str,
    urn: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> String {
    let mut base: String = format!("{stack}-{name}")
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .collect();
    base.truncate(max.saturating_sub(9));
    format!("{}-{}", base.trim_matches('-'), short_hash(urn))
}

/// 8 hex digits of the SHA-256 of `key`.
pub(crate) fn short_hash(key: &str) -> String {
    let hash = sha2::Sha256::digest(key.as_bytes());
    hash[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// What a default name hashes: the URN, then each set `variant` (inputs
/// whose change replaces the resource, so that the new copy gets a name of
/// its own). With none set, the URN alone (names made before variants
/// counted stay the same).
#[cfg(any(
    feature = "iam",
    feature = "elbv2",
    feature = "rds",
    feature = "autoscaling"
))]
pub(crate) fn hashed(urn: &str, variant: &[Option<String>]) -> String {
    let mut key = urn.to_string();
    for (i, v) in variant.iter().enumerate() {
        if let Some(v) = v {
            key.push_str(&format!("|{i}={v}"));
        }
    }
    key
}

#[cfg(all(test, feature = "s3"))]
mod tests {
    #[test]
    fn names_fit_and_differ_by_urn() {
        let ok = |c: char| c.is_ascii_alphanumeric() || c == '-';
        let a = super::default_name("aws.app.QA", "web/role", "urn:a", 64, ok);
        assert!(a.starts_with("aws-app-QA-web-role-"), "{a}");
        assert_eq!(a.len(), "aws-app-QA-web-role-".len() + 8);
        assert_ne!(
            a,
            super::default_name("aws.app.QA", "web/role", "urn:b", 64, ok)
        );
        assert_eq!(
            super::default_name(&"s".repeat(100), "x", "u", 64, ok).len(),
            64
        );
    }
}
