//! A binlog file's name, shared: every event read carries its position, and cloning the
//! name of a position is a reference count, not a copy of the text (measured: the copies
//! were one allocation per event in a catch-up, BENCHMARKS.md).

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of a binlog file (`binlog.000003`, Aurora's `mysql-bin-changelog.000003`); reads
/// as a `&str`, serializes as a string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileName(Arc<str>);

impl FileName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for FileName {
    fn default() -> Self {
        FileName(Arc::from(""))
    }
}

impl Deref for FileName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for FileName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for FileName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<String> for FileName {
    fn from(s: String) -> Self {
        FileName(Arc::from(s))
    }
}

impl From<&str> for FileName {
    fn from(s: &str) -> Self {
        FileName(Arc::from(s))
    }
}

impl From<&String> for FileName {
    fn from(s: &String) -> Self {
        FileName(Arc::from(s.as_str()))
    }
}

impl From<Cow<'_, str>> for FileName {
    fn from(s: Cow<'_, str>) -> Self {
        FileName(Arc::from(s))
    }
}

impl From<FileName> for String {
    fn from(s: FileName) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for FileName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for FileName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for FileName {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<FileName> for str {
    fn eq(&self, other: &FileName) -> bool {
        self == &*other.0
    }
}

impl PartialEq<FileName> for &str {
    fn eq(&self, other: &FileName) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<FileName> for String {
    fn eq(&self, other: &FileName) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for FileName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FileName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(FileName::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_text_and_compare_as_strings() {
        let a = FileName::from("binlog.000003");
        let b = a.clone();
        assert!(
            Arc::ptr_eq(&a.0, &b.0),
            "a clone is a reference, not a copy"
        );
        assert_eq!(a, "binlog.000003");
        assert_eq!("binlog.000003", a);
        assert_eq!(a, String::from("binlog.000003"));
        let earlier = FileName::from("binlog.000002");
        assert!(earlier < a);
        assert_eq!(format!("{a} {a:?}"), "binlog.000003 \"binlog.000003\"");
        assert_eq!(&a[..6], "binlog");
        assert_eq!(FileName::default(), "");
    }

    #[test]
    fn serializes_as_a_string() {
        let a = FileName::from("mysql-bin-changelog.000010");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"mysql-bin-changelog.000010\"");
        assert_eq!(serde_json::from_str::<FileName>(&json).unwrap(), a);
    }
}
