//! The digest's wording in Russian and English. Kind and severity names and the labels chat
//! messages share come from [`crate::notify::text`]; these are the ones only a digest needs.

use crate::config::Language;
use crate::notify::Kind;

/// What a digest says, in one language.
pub(super) struct Words {
    /// The `lang` attribute of the HTML part.
    pub(super) lang: &'static str,
    /// The first line: "<title> <as_of> <date>".
    pub(super) title: &'static str,
    pub(super) as_of: &'static str,
    /// Section headings, in [`super::digest::ORDER`]'s order of kinds.
    pub(super) sections: [&'static str; 4],
    /// Counts in the subject and under the title: "<label>: <n>", same order.
    pub(super) counts: [&'static str; 4],
    pub(super) certificate: &'static str,
    pub(super) issuer: &'static str,
    pub(super) not_after: &'static str,
    pub(super) key_not_after: &'static str,
    pub(super) started: &'static str,
    pub(super) resolved: &'static str,
    /// For a notification whose alert was resolved before the digest went out.
    pub(super) since_resolved: &'static str,
    /// "…and N more" after a cut host list.
    pub(super) more: fn(usize) -> String,
    pub(super) footer: &'static str,
}

const RU: Words = Words {
    lang: "ru",
    title: "Сводка tokenwatch",
    as_of: "на",
    sections: [
        "Новые проблемы",
        "Стали серьёзнее",
        "Всё ещё не решены",
        "Решены",
    ],
    counts: ["новые", "серьёзнее", "не решены", "решены"],
    certificate: "Сертификат",
    issuer: "издатель",
    not_after: "Действует до",
    key_not_after: "Закрытый ключ действует до",
    started: "Началось",
    resolved: "Решено",
    since_resolved: "Уже решено",
    more: more_ru,
    footer: "Письмо отправил сервер tokenwatch. Отвечать на него не нужно: \
             отметить проблему как взятую в работу можно в tokenwatch.",
};

const EN: Words = Words {
    lang: "en",
    title: "tokenwatch digest",
    as_of: "as of",
    sections: ["New problems", "Got worse", "Still unresolved", "Resolved"],
    counts: ["new", "worse", "still open", "resolved"],
    certificate: "Certificate",
    issuer: "issuer",
    not_after: "Valid until",
    key_not_after: "Private key valid until",
    started: "Started",
    resolved: "Resolved",
    since_resolved: "Since resolved",
    more: more_en,
    footer: "Sent by the tokenwatch server. No need to reply: acknowledge a problem in \
             tokenwatch.",
};

fn more_ru(n: usize) -> String {
    format!("и ещё {n}")
}

fn more_en(n: usize) -> String {
    format!("and {n} more")
}

pub(super) fn words(language: Language) -> &'static Words {
    match language {
        Language::Ru => &RU,
        Language::En => &EN,
    }
}

// === impl Words ===

impl Words {
    pub(super) fn section(&self, kind: Kind) -> &'static str {
        self.sections[index(kind)]
    }

    pub(super) fn count(&self, kind: Kind) -> &'static str {
        self.counts[index(kind)]
    }
}

fn index(kind: Kind) -> usize {
    match kind {
        Kind::Fired => 0,
        Kind::Escalated => 1,
        Kind::Repeat => 2,
        Kind::Resolved => 3,
    }
}
