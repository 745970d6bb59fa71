//! Distinguished names as certmgr prints them: `KEY=value, KEY="quoted, ""value"""`.

/// A printed name split into its attributes.
#[derive(Debug, Default)]
pub(super) struct Dn {
    attributes: Vec<(String, String)>,
}

// === impl Dn ===

impl Dn {
    /// Split at `, ` outside quotes; values in quotes have `""` for a quote.
    pub(super) fn parse(text: &str) -> Self {
        let mut attributes = Vec::new();
        let mut current = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    current.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                ',' | '+' if !quoted => {
                    push(&mut attributes, &current);
                    current.clear();
                }
                _ => current.push(c),
            }
        }
        push(&mut attributes, &current);
        Self { attributes }
    }

    /// The first value under any of `keys` (compared case-insensitively).
    pub(super) fn get(&self, keys: &[&str]) -> Option<String> {
        self.attributes
            .iter()
            .find(|(key, _)| keys.iter().any(|k| key.to_uppercase() == k.to_uppercase()))
            .map(|(_, value)| value.clone())
            .filter(|v| !v.is_empty())
    }
}

fn push(attributes: &mut Vec<(String, String)>, part: &str) {
    if let Some((key, value)) = part.split_once('=') {
        attributes.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_and_russian_keys() {
        let dn = Dn::parse(
            "OGRN=1027700132195, ИНН ЮЛ=7707083893, ИНН=007707083893, C=RU, \
             CN=\"ООО \"\"АйтиКом\"\"\", E=a@b.ru, СНИЛС=12345678901",
        );
        assert_eq!(dn.get(&["CN"]).as_deref(), Some("ООО \"АйтиКом\""));
        assert_eq!(dn.get(&["INNLE", "ИНН ЮЛ"]).as_deref(), Some("7707083893"));
        assert_eq!(dn.get(&["INN", "ИНН"]).as_deref(), Some("007707083893"));
        assert_eq!(dn.get(&["SNILS", "СНИЛС"]).as_deref(), Some("12345678901"));
        assert_eq!(dn.get(&["e"]).as_deref(), Some("a@b.ru"));
        assert_eq!(dn.get(&["O"]), None);
    }

    #[test]
    fn text_without_attributes_has_none() {
        let dn = Dn::parse("Информация о субъекте");
        assert_eq!(dn.get(&["CN"]), None);
        assert_eq!(Dn::parse("").get(&["CN"]), None);
    }
}
