//! The one asking: a signed-in person, a script with an API token, or the configured token.

use serde::{Deserialize, Serialize};

/// What someone may do. Each role may do everything the ones below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads inventories, alerts and exports.
    Viewer,
    /// Also acknowledges alerts, silences them and opens maintenance windows.
    Operator,
    /// Also changes office settings, enrolment secrets, channels and (seeing every office)
    /// accounts.
    Admin,
}

/// Which offices someone sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Offices {
    All,
    /// These office ids, and nothing of any other office.
    Only(Vec<i64>),
}

/// Who is asking, as every handler sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The account; `None` for the token of the server's configuration.
    pub user_id: Option<i64>,
    pub name: String,
    pub role: Role,
    pub offices: Offices,
    /// How the audit log names them: `user:alice`, `token:alice/backup`, `config-token`.
    pub actor: String,
    /// The session's CSRF token, for a browser session; changes must present it.
    #[serde(skip)]
    pub csrf_token: Option<String>,
}

// === impl Role ===

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

// === impl Offices ===

impl Offices {
    /// Whether `office` is among them.
    pub fn contains(&self, office: i64) -> bool {
        match self {
            Offices::All => true,
            Offices::Only(ids) => ids.contains(&office),
        }
    }

    /// The ids to restrict a query to; `None` when every office is seen. Queries take it as a
    /// `bigint[]` parameter that is null for "all".
    pub fn restriction(&self) -> Option<&[i64]> {
        match self {
            Offices::All => None,
            Offices::Only(ids) => Some(ids),
        }
    }
}

// === impl Principal ===

impl Principal {
    /// The configured API token: an administrator of every office, for scripts written
    /// before accounts existed.
    pub fn configured_token() -> Self {
        Self {
            user_id: None,
            name: "config-token".into(),
            role: Role::Admin,
            offices: Offices::All,
            actor: "config-token".into(),
            csrf_token: None,
        }
    }

    /// Whether the role allows what `needed` allows.
    pub fn has(&self, needed: Role) -> bool {
        self.role >= needed
    }

    /// Whether they see `office`.
    pub fn sees(&self, office: i64) -> bool {
        self.offices.contains(office)
    }

    /// An administrator of every office: the only one who manages accounts and fleet-wide
    /// settings (notification channels).
    pub fn is_global_admin(&self) -> bool {
        self.role == Role::Admin && self.offices == Offices::All
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn someone(role: Role, offices: Offices) -> Principal {
        Principal {
            user_id: Some(1),
            name: "x".into(),
            role,
            offices,
            actor: "user:x".into(),
            csrf_token: None,
        }
    }

    #[test]
    fn roles_include_the_ones_below_them() {
        let operator = someone(Role::Operator, Offices::All);
        assert!(operator.has(Role::Viewer));
        assert!(operator.has(Role::Operator));
        assert!(!operator.has(Role::Admin));
        assert!(!someone(Role::Viewer, Offices::All).has(Role::Operator));
        for role in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(Role::from_name(role.as_str()), Some(role));
        }
        assert_eq!(Role::from_name("root"), None);
    }

    #[test]
    fn a_scoped_principal_sees_its_offices_only() {
        let regional = someone(Role::Admin, Offices::Only(vec![2, 5]));
        assert!(regional.sees(2) && regional.sees(5));
        assert!(!regional.sees(3));
        assert!(!regional.is_global_admin());
        assert_eq!(regional.offices.restriction(), Some(&[2, 5][..]));
        let global = someone(Role::Admin, Offices::All);
        assert!(global.sees(3) && global.is_global_admin());
        assert_eq!(global.offices.restriction(), None);
    }
}
