//! AWS identifiers as their own types: an account id is never taken for a resource id,
//! and an ARN is read once into its parts. Each holds only a well-formed value; JSON holds
//! the plain text.

use serde::{Deserialize, Serialize};

/// A value that is not the identifier it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not an AWS account id (twelve digits): {0:?}")]
    Account(String),
    #[error("not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE): {0:?}")]
    Arn(String),
}

/// An AWS account id: twelve digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// `s` when it is an account id.
    pub fn parse(s: &str) -> Result<AccountId, IdError> {
        if crate::entity::is_account_id(s) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(IdError::Account(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        if crate::entity::is_account_id(&s) {
            Ok(AccountId(s))
        } else {
            Err(IdError::Account(s))
        }
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl std::str::FromStr for AccountId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        AccountId::parse(s)
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for AccountId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for AccountId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for AccountId {
    fn eq(&self, o: &str) -> bool {
        self.0 == o
    }
}

impl PartialEq<&str> for AccountId {
    fn eq(&self, o: &&str) -> bool {
        self.0 == *o
    }
}

/// An Amazon Resource Name, read into its parts:
/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (region and account may be empty, as in
/// IAM's and S3's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Arn {
    text: String,
    /// Byte offsets of the five colons after `arn`.
    colons: [usize; 5],
}

impl Arn {
    /// `s` when it is an ARN.
    pub fn parse(s: &str) -> Result<Arn, IdError> {
        let bad = || IdError::Arn(s.to_string());
        if !s.starts_with("arn:") {
            return Err(bad());
        }
        let mut colons = [0usize; 5];
        let mut found = 0;
        for (i, b) in s.bytes().enumerate().skip(4) {
            if b == b':' {
                colons[found] = i;
                found += 1;
                if found == 5 {
                    break;
                }
            }
        }
        let arn = Arn {
            text: s.to_string(),
            colons: [3, colons[0], colons[1], colons[2], colons[3]],
        };
        // Five fields after `arn`: partition, service, region, account, resource.
        if found < 4
            || arn.partition().is_empty()
            || arn.service().is_empty()
            || arn.resource().is_empty()
            || !(arn.account().is_empty() || crate::entity::is_account_id(arn.account()))
            || s.bytes().any(|b| b.is_ascii_control())
        {
            return Err(bad());
        }
        Ok(arn)
    }

    /// An ARN from its parts.
    pub fn new(
        partition: &str,
        service: &str,
        region: &str,
        account: Option<&AccountId>,
        resource: &str,
    ) -> Result<Arn, IdError> {
        Arn::parse(&format!(
            "arn:{partition}:{service}:{region}:{}:{resource}",
            account.map_or("", |a| a.as_str())
        ))
    }

    fn field(&self, n: usize) -> &str {
        let start = self.colons[n] + 1;
        let end = if n + 1 < self.colons.len() {
            self.colons[n + 1]
        } else {
            self.text.len()
        };
        &self.text[start..end]
    }

    pub fn partition(&self) -> &str {
        self.field(0)
    }

    pub fn service(&self) -> &str {
        self.field(1)
    }

    pub fn region(&self) -> &str {
        self.field(2)
    }

    /// The account, as written (empty for S3 buckets, for example).
    pub fn account(&self) -> &str {
        self.field(3)
    }

    /// Everything after the account: `user/alice`, `role/x`, `bucket-name`.
    pub fn resource(&self) -> &str {
        &self.text[self.colons[4] + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Arn {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Arn::parse(s)
    }
}

impl Serialize for Arn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Arn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Arn::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_id_is_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_ok());
        for bad in [
            "",
            "11112222333",
            "1111222233334",
            "11112222333x",
            " 111122223333",
        ] {
            assert_eq!(
                AccountId::parse(bad),
                Err(IdError::Account(bad.to_string()))
            );
        }
        let a = AccountId::parse("111122223333").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"111122223333\"");
        assert!(serde_json::from_str::<AccountId>("\"12\"").is_err());
    }

    #[test]
    fn an_arn_reads_into_its_parts() {
        let a = Arn::parse("arn:aws:iam::111122223333:role/ops/Admin:x").unwrap();
        assert_eq!(
            (a.partition(), a.service(), a.region(), a.account()),
            ("aws", "iam", "", "111122223333")
        );
        assert_eq!(a.resource(), "role/ops/Admin:x");
        let b = Arn::parse("arn:aws-us-gov:s3:::my-bucket").unwrap();
        assert_eq!((b.account(), b.resource()), ("", "my-bucket"));
        let c = Arn::parse("arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc").unwrap();
        assert_eq!(c.region(), "eu-west-1");
        assert_eq!(
            c.to_string(),
            "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"
        );
        for bad in [
            "",
            "arn:aws:iam::111122223333",
            "arn:aws:iam::111122223333:",
            "arn::iam::111122223333:user/x",
            "arn:aws:iam::12:user/x",
            "arn:aws:iam::111122223333:user/x\n",
            "urn:aws:iam::111122223333:user/x",
        ] {
            assert!(Arn::parse(bad).is_err(), "{bad:?}");
        }
        let account = AccountId::parse("111122223333").unwrap();
        assert_eq!(
            Arn::new("aws", "iam", "", Some(&account), "role/FirebreakResponder")
                .unwrap()
                .as_str(),
            "arn:aws:iam::111122223333:role/FirebreakResponder"
        );
    }
}
