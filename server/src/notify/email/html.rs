//! Writing HTML where every piece of text is escaped by construction: markup can only be a
//! `&'static str` written here, so nothing an agent reported (a certificate's subject, a host
//! name) can become markup in someone's mail client.

/// An HTML document being written.
#[derive(Debug, Default)]
pub(super) struct Html(String);

// === impl Html ===

impl Html {
    /// Markup, as written in the source.
    pub(super) fn tag(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text, escaped for element content and quoted attribute values alike.
    pub(super) fn text(&mut self, text: &str) -> &mut Self {
        for c in text.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// Text on several lines, each line break kept as `<br>`.
    pub(super) fn lines(&mut self, text: &str) -> &mut Self {
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                self.tag("<br>");
            }
            self.text(line);
        }
        self
    }

    pub(super) fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Html;

    #[test]
    fn text_is_escaped_and_markup_is_not() {
        let mut html = Html::default();
        html.tag("<p title=\"")
            .text("a\"b'c")
            .tag("\">")
            .text("<script>alert(1)</script> & Ко")
            .tag("</p>");
        assert_eq!(
            html.into_string(),
            "<p title=\"a&quot;b&#39;c\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; Ко</p>"
        );
    }

    #[test]
    fn line_breaks_become_br() {
        let mut html = Html::default();
        html.lines("one\r\ntwo <b>\nthree");
        assert_eq!(html.into_string(), "one<br>two &lt;b&gt;<br>three");
    }
}
