//! The human report: one screen, findings first and worst first, readable in 80 columns.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use chrono::{DateTime, Utc};

use crate::findings::Severity;
use crate::inventory::{
    CollectorOutcome, Components, Container, Inventory, Reader, ServiceState, Token,
};

/// Report width: fits an 80-column terminal with room for the cursor.
const WIDTH: usize = 79;
/// Indent of a finding's message and remediation under its header line.
const INDENT: usize = 12;

/// Write the report for `inventory`; `colour` adds ANSI styles (only on a terminal).
pub fn report(out: &mut dyn Write, inventory: &Inventory, colour: bool) -> io::Result<()> {
    let r = Renderer { colour };
    let host = &inventory.host;
    let os = match &host.os_version {
        Some(version) => format!("{} {version}", host.os),
        None => host.os.clone(),
    };
    writeln!(
        out,
        "{}",
        r.bold(&format!(
            "tokenwatch scan of {} ({os}, {})",
            host.hostname, host.arch
        ))
    )?;
    writeln!(
        out,
        "at {}, agent {}",
        minute(inventory.collected_at),
        host.agent_version
    )?;
    r.findings(out, inventory)?;
    r.readers(out, &inventory.readers)?;
    r.tokens(out, &inventory.tokens)?;
    r.containers(out, &inventory.containers)?;
    r.certificates(out, inventory)?;
    r.components(out, &inventory.components)?;
    r.collectors(out, inventory)
}

struct Renderer {
    colour: bool,
}

// === impl Renderer ===

impl Renderer {
    fn findings(&self, out: &mut dyn Write, inventory: &Inventory) -> io::Result<()> {
        let count = |s: Severity| {
            inventory
                .findings
                .iter()
                .filter(|f| f.severity == s)
                .count()
        };
        let nothing_to_sign_with = inventory.certificates.is_empty()
            && inventory.containers.is_empty()
            && inventory.tokens.is_empty();
        let summary = if inventory.findings.is_empty() && nothing_to_sign_with {
            "none, but no key container, token or certificate was found".to_owned()
        } else if inventory.findings.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "{} critical, {} warning, {} info",
                count(Severity::Critical),
                count(Severity::Warning),
                count(Severity::Info)
            )
        };
        self.heading(out, &format!("FINDINGS: {summary}"))?;
        for finding in &inventory.findings {
            let label = format!("{:<INDENT$}", finding.severity.as_str().to_uppercase());
            writeln!(
                out,
                "{}{}",
                self.severity(finding.severity, &label),
                self.bold(finding.code.as_str())
            )?;
            for text in [&finding.subject, &finding.message] {
                for line in wrap(text, WIDTH - INDENT) {
                    writeln!(out, "{:INDENT$}{line}", "")?;
                }
            }
            for (i, line) in wrap(&finding.remediation, WIDTH - INDENT - 2)
                .into_iter()
                .enumerate()
            {
                let mark = if i == 0 { "→ " } else { "  " };
                writeln!(out, "{:INDENT$}{}", "", self.dim(&format!("{mark}{line}")))?;
            }
        }
        Ok(())
    }

    fn readers(&self, out: &mut dyn Write, readers: &[Reader]) -> io::Result<()> {
        self.heading(out, &format!("READERS ({})", readers.len()))?;
        for reader in readers {
            let card = match (reader.card_present, &reader.token_model) {
                (false, _) => "no card".to_owned(),
                (true, Some(model)) => model.clone(),
                (true, None) => "unknown card".to_owned(),
            };
            let busy = if reader.in_use_exclusively {
                ", in use"
            } else {
                ""
            };
            writeln!(out, "  {}  {card}{busy}", fit(&reader.name, 40))?;
            if let Some(atr) = &reader.atr {
                writeln!(
                    out,
                    "    {}",
                    self.dim(&format!("ATR {}", fit(atr, WIDTH - 8)))
                )?;
            }
        }
        Ok(())
    }

    fn tokens(&self, out: &mut dyn Write, tokens: &[Token]) -> io::Result<()> {
        self.heading(out, &format!("TOKENS ({})", tokens.len()))?;
        for token in tokens {
            let pin = if token.pin.locked {
                "PIN LOCKED"
            } else if token.pin.final_try {
                "PIN final try"
            } else if token.pin.count_low {
                "PIN tries low"
            } else {
                "PIN ok"
            };
            let memory = match (token.free_memory, token.total_memory) {
                (Some(free), Some(total)) => format!("{free}/{total} B free"),
                _ => "memory n/a".to_owned(),
            };
            writeln!(
                out,
                "  {} {}, serial {}",
                fit(&format!("\"{}\"", token.label), 30),
                token.model,
                token.serial
            )?;
            writeln!(
                out,
                "    {pin}, {} certificate(s), {memory}",
                token.certificates.len()
            )?;
        }
        Ok(())
    }

    fn containers(&self, out: &mut dyn Write, containers: &[Container]) -> io::Result<()> {
        self.heading(out, &format!("KEY CONTAINERS ({})", containers.len()))?;
        for container in containers {
            let name = container.name.as_deref().unwrap_or("(name unreadable)");
            let state = if container.complete {
                "complete"
            } else {
                "BROKEN"
            };
            let key = container
                .private_key_not_after
                .map(|d| format!("key until {}", day(d)))
                .unwrap_or_else(|| "key period n/a".to_owned());
            let algorithm = container
                .key_algorithm
                .as_deref()
                .unwrap_or("algorithm n/a");
            writeln!(out, "  {}  {state}, {key}", fit(name, 40))?;
            writeln!(
                out,
                "    {}",
                self.dim(&fit(&format!("{algorithm}, {}", container.path), WIDTH - 4))
            )?;
        }
        Ok(())
    }

    fn certificates(&self, out: &mut dyn Write, inventory: &Inventory) -> io::Result<()> {
        let certs = &inventory.certificates;
        self.heading(
            out,
            &format!("CERTIFICATES ({}), soonest expiry first", certs.len()),
        )?;
        for cert in certs {
            let owner = cert.subject_cn.as_deref().unwrap_or(&cert.subject);
            let left = (cert.not_after - inventory.collected_at).num_days();
            let until = if left < 0 {
                format!("EXPIRED {}", day(cert.not_after))
            } else {
                format!("until {} ({left} d)", day(cert.not_after))
            };
            writeln!(out, "  {}  {until}", fit(owner, 40))?;
            let mut ids = Vec::new();
            for (label, value) in [
                ("INN", &cert.inn),
                ("INNLE", &cert.inn_le),
                ("OGRN", &cert.ogrn),
                ("OGRNIP", &cert.ogrnip),
                ("SNILS", &cert.snils),
            ] {
                if let Some(value) = value {
                    ids.push(format!("{label} {value}"));
                }
            }
            ids.push(format!("sha1 {}", cert.sha1));
            writeln!(out, "    {}", self.dim(&fit(&ids.join(", "), WIDTH - 4)))?;
            let sources: Vec<&str> = cert.sources.iter().map(|s| s.location.as_str()).collect();
            writeln!(
                out,
                "    {}",
                self.dim(&fit(&format!("in {}", sources.join("; ")), WIDTH - 4))
            )?;
        }
        Ok(())
    }

    fn components(&self, out: &mut dyn Write, components: &Components) -> io::Result<()> {
        self.heading(out, "COMPONENTS")?;
        let csp = match &components.cryptopro {
            Some(csp) if csp.installed => {
                let build = csp
                    .build
                    .as_deref()
                    .or(csp.version.as_deref())
                    .unwrap_or("version n/a");
                let licence = match &csp.license {
                    Some(l) if l.demo => "demo licence".to_owned(),
                    Some(l) if l.permanent => "permanent licence".to_owned(),
                    Some(l) => l
                        .expires
                        .map(|e| format!("licence until {}", day(e)))
                        .unwrap_or_else(|| "licence n/a".to_owned()),
                    None => "licence n/a".to_owned(),
                };
                format!("{build}, {licence}")
            }
            _ => "not installed".to_owned(),
        };
        writeln!(out, "  CryptoPro CSP       {csp}")?;
        let service = match components.smart_card_service {
            Some(ServiceState::Running) => "running",
            Some(ServiceState::Stopped) => "NOT RUNNING",
            Some(ServiceState::NotInstalled) => "NOT INSTALLED",
            Some(ServiceState::Unknown) | None => "unknown",
        };
        writeln!(out, "  Smart-card service  {service}")?;
        writeln!(
            out,
            "  CCID driver         {}",
            components.ccid_driver.as_deref().unwrap_or("not found")
        )?;
        let modules: Vec<&str> = components
            .pkcs11_modules
            .iter()
            .map(|m| m.path.as_str())
            .collect();
        writeln!(
            out,
            "  PKCS#11 modules     {}",
            if modules.is_empty() {
                "none".to_owned()
            } else {
                fit(&modules.join(", "), WIDTH - 22)
            }
        )?;
        for middleware in &components.middleware {
            writeln!(
                out,
                "  Middleware          {}",
                fit(
                    &format!("{} ({})", middleware.name, middleware.path),
                    WIDTH - 22
                )
            )?;
        }
        for usb in &components.usb_tokens {
            let seen = match usb.visible_to_pcsc {
                Some(true) => "seen by PC/SC",
                Some(false) => "NOT SEEN BY PC/SC",
                None => "PC/SC state unknown",
            };
            writeln!(
                out,
                "  USB token           {} {} ({}), {seen}",
                usb.model, usb.usb_id, usb.bus_path
            )?;
        }
        Ok(())
    }

    fn collectors(&self, out: &mut dyn Write, inventory: &Inventory) -> io::Result<()> {
        self.heading(out, "COLLECTORS")?;
        for status in &inventory.collectors {
            let outcome = match status.status {
                CollectorOutcome::Ok => "ok",
                CollectorOutcome::Partial => "partial",
                CollectorOutcome::Failed => "FAILED",
                CollectorOutcome::Skipped => "skipped",
            };
            writeln!(
                out,
                "  {:<14}{outcome} ({} ms)",
                status.name, status.duration_ms
            )?;
            for error in &status.errors {
                for line in wrap(error, WIDTH - 6) {
                    writeln!(out, "      {}", self.dim(&line))?;
                }
            }
        }
        Ok(())
    }

    fn heading(&self, out: &mut dyn Write, text: &str) -> io::Result<()> {
        writeln!(out)?;
        writeln!(out, "{}", self.bold(text))
    }

    fn severity(&self, severity: Severity, text: &str) -> String {
        let colour = match severity {
            Severity::Critical => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Info => AnsiColor::Cyan,
        };
        self.paint(Style::new().bold().fg_color(Some(colour.into())), text)
    }

    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.colour {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }
}

/// `text` cut to `width` characters with an ellipsis, padded to `width` when shorter.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text}{:pad$}", "", pad = width - count)
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Word-wrap `text` to lines of at most `width` characters (longer words are split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests;
