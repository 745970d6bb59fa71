//! Whether a page holds only the dashboard's own markup. maud escapes every `<`, `>`, `&` and
//! `"` of a value it is given, so each raw `<` of a page opens an element the templates wrote;
//! a string that got through unescaped shows up as an element or attribute they never write.

/// The elements the dashboard's templates write.
const ELEMENTS: &[&str] = &[
    "a", "article", "body", "br", "button", "code", "dd", "div", "dl", "dt", "form", "h1", "h2",
    "h3", "head", "header", "html", "input", "label", "li", "link", "main", "meta", "nav",
    "option", "p", "pre", "section", "select", "small", "span", "strong", "table", "tbody", "td",
    "th", "thead", "title", "tr", "ul",
];

/// The attributes they write: none runs script (`on…`) or loads anything (`src`).
const ATTRIBUTES: &[&str] = &[
    "action",
    "autocomplete",
    "charset",
    "checked",
    "class",
    "colspan",
    "content",
    "for",
    "href",
    "id",
    "lang",
    "max",
    "method",
    "min",
    "name",
    "placeholder",
    "rel",
    "required",
    "selected",
    "title",
    "type",
    "value",
];

/// `Err` with what is out of place, else `Ok`.
pub(crate) fn only_known_markup(page: &str) -> Result<(), String> {
    let mut rest = page;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let close = rest.find('>').ok_or("an element is never closed")?;
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        if tag == "!DOCTYPE html" {
            continue;
        }
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let name_end = tag.find(' ').unwrap_or(tag.len());
        let name = &tag[..name_end];
        if !ELEMENTS.contains(&name) {
            return Err(format!("element <{name}> is not the dashboard's"));
        }
        attributes(name, &tag[name_end..])?;
    }
    Ok(())
}

/// ` name="value"` and ` name` pairs, as maud writes them.
fn attributes(element: &str, mut rest: &str) -> Result<(), String> {
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            return Ok(());
        }
        let name_end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let name = &rest[..name_end];
        if !ATTRIBUTES.contains(&name) {
            return Err(format!(
                "attribute {name:?} of <{element}> is not the dashboard's"
            ));
        }
        rest = &rest[name_end..];
        if let Some(quoted) = rest.strip_prefix("=\"") {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("attribute {name} of <{element}> is never closed"))?;
            let value = &quoted[..end];
            if name == "href" && !value.starts_with(['/', '?', '#']) {
                return Err(format!("<{element} href={value:?}> leaves the dashboard"));
            }
            rest = &quoted[end + 1..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboards_markup_passes_and_anything_else_is_named() {
        let page = r#"<!DOCTYPE html><html lang="ru"><body><a class="x" href="/hosts?office=%3C">&lt;script&gt;</a><input type="checkbox" checked></body></html>"#;
        assert_eq!(only_known_markup(page), Ok(()));
        for (bad, problem) in [
            ("<p><script>alert(1)</script></p>", "element <script>"),
            (r#"<p onclick="x">"#, "attribute \"onclick\""),
            (r#"<a href="javascript:alert(1)">"#, "leaves the dashboard"),
            (r#"<p class="x>"#, "never closed"),
            ("<p", "never closed"),
        ] {
            let error = only_known_markup(bad).expect_err(bad);
            assert!(error.contains(problem), "{bad}: {error}");
        }
    }
}
