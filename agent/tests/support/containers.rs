//! Builds CryptoPro container folders for tests: the six `.key` files, with a `header.key`
//! encoded in the `GostKeyContainerContent` shape of real containers (domain reference §3 and
//! the dbfun fixtures), and ways to leave out, cut or garble any file.

use std::path::{Path, PathBuf};

/// Key algorithms a header can declare, with the parameters CSP writes beside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// 1.2.643.7.1.1.6.1, curve XchA, Streebog-256.
    Gost2012_256,
    /// 1.2.643.7.1.1.6.2, TC26 512 A, Streebog-512.
    Gost2012_512,
    /// 1.2.643.2.2.98, curve XchA, GOST R 34.11-94 CryptoPro parameters.
    Gost2001,
}

impl KeyAlgorithm {
    pub fn oid(self) -> &'static str {
        match self {
            Self::Gost2012_256 => "1.2.643.7.1.1.6.1",
            Self::Gost2012_512 => "1.2.643.7.1.1.6.2",
            Self::Gost2001 => "1.2.643.2.2.98",
        }
    }

    fn parameters(self) -> (&'static str, &'static str) {
        match self {
            Self::Gost2012_256 => ("1.2.643.2.2.36.0", "1.2.643.7.1.1.2.2"),
            Self::Gost2012_512 => ("1.2.643.7.1.2.1.2.1", "1.2.643.7.1.1.2.3"),
            Self::Gost2001 => ("1.2.643.2.2.36.0", "1.2.643.2.2.30.1"),
        }
    }

    fn key_length(self) -> usize {
        match self {
            Self::Gost2012_512 => 64,
            _ => 32,
        }
    }
}

/// Key usage period extension OIDs in `[12]`.
pub const CONTAINER_PERIOD: &str = "1.2.643.2.2.37.3.5";
pub const SIGNATURE_PERIOD: &str = "1.2.643.2.2.37.3.9";
pub const EXCHANGE_PERIOD: &str = "1.2.643.2.2.37.3.10";

/// A key usage period extension: OID and optional notBefore / notAfter (`YYYYMMDDHHMMSSZ`).
#[derive(Clone, Debug)]
pub struct KeyPeriod {
    pub oid: &'static str,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
}

/// What goes into `header.key`.
#[derive(Clone, Debug)]
pub struct HeaderSpec {
    pub algorithm: KeyAlgorithm,
    pub exportable: bool,
    /// DER put into `[5]`.
    pub certificate: Option<Vec<u8>>,
    /// DER put into `[6]`.
    pub secondary_certificate: Option<Vec<u8>>,
    pub periods: Vec<KeyPeriod>,
    pub fingerprint: [u8; 8],
}

impl HeaderSpec {
    pub fn new(algorithm: KeyAlgorithm, exportable: bool) -> Self {
        Self {
            algorithm,
            exportable,
            certificate: None,
            secondary_certificate: None,
            periods: Vec::new(),
            fingerprint: [0x8a, 0x53, 0x99, 0x1c, 0xe8, 0x46, 0xd8, 0xdb],
        }
    }
}

/// How `name.key` spells the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameEncoding {
    Utf8,
    /// As CSP writes Cyrillic names.
    Cp1251,
}

/// A whole container folder.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    pub name: String,
    pub encoding: NameEncoding,
    pub header: HeaderSpec,
    /// Also write `primary2.key` / `masks2.key`.
    pub second_pair: bool,
    /// Files not to write.
    pub omit: Vec<&'static str>,
    /// Files cut to this many bytes.
    pub truncate: Vec<(&'static str, usize)>,
    /// Files replaced by random bytes of the same length.
    pub garble: Vec<&'static str>,
}

impl ContainerSpec {
    pub fn new(name: &str, header: HeaderSpec) -> Self {
        Self {
            name: name.to_owned(),
            encoding: NameEncoding::Utf8,
            header,
            second_pair: true,
            omit: Vec::new(),
            truncate: Vec::new(),
            garble: Vec::new(),
        }
    }
}

/// Write the container described by `spec` into the folder `dir` (created) and return it.
#[track_caller]
pub fn write(dir: &Path, spec: &ContainerSpec) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create container folder");
    for (file, bytes) in files(spec) {
        std::fs::write(dir.join(file), bytes).expect("write key file");
    }
    dir.to_path_buf()
}

/// The container's files as `spec` has them: names and contents, left out, cut or garbled.
pub fn files(spec: &ContainerSpec) -> Vec<(&'static str, Vec<u8>)> {
    let key_length = spec.header.algorithm.key_length();
    let mut files: Vec<(&'static str, Vec<u8>)> = vec![
        ("name.key", name_key(&spec.name, spec.encoding)),
        ("header.key", header_key(&spec.header)),
        ("primary.key", primary_key(key_length)),
        ("masks.key", masks_key(key_length)),
    ];
    if spec.second_pair {
        files.push(("primary2.key", primary_key(key_length)));
        files.push(("masks2.key", masks_key(key_length)));
    }
    files.retain(|(file, _)| !spec.omit.contains(file));
    for (file, bytes) in &mut files {
        if let Some((_, length)) = spec.truncate.iter().find(|(f, _)| f == file) {
            bytes.truncate(*length);
        }
        if spec.garble.contains(file) {
            *bytes = random_bytes(bytes.len());
            // Make sure the garbage does not start like a SEQUENCE by chance.
            bytes[0] = 0xff;
        }
    }
    files
}

/// `name.key`: `SEQUENCE { IA5String name }`, the bytes in the given encoding.
pub fn name_key(name: &str, encoding: NameEncoding) -> Vec<u8> {
    let bytes = match encoding {
        NameEncoding::Utf8 => name.as_bytes().to_vec(),
        NameEncoding::Cp1251 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(name);
            assert!(!unmappable, "{name} has characters CP1251 lacks");
            bytes.into_owned()
        }
    };
    tlv(0x30, &tlv(0x16, &bytes))
}

/// `header.key`: `SEQUENCE { GostKeyContainerContent, OCTET STRING mac }`.
pub fn header_key(spec: &HeaderSpec) -> Vec<u8> {
    let (curve, digest) = spec.algorithm.parameters();
    let algorithm = [
        oid(spec.algorithm.oid()),
        tlv(0x30, &[oid(curve), oid(digest)].concat()),
    ]
    .concat();
    // pkaExportable is bit 0 (0x80); pkaExchange, bit 2 (0x20), is set as in the real fixtures.
    let key_attributes = if spec.exportable { 0xa0 } else { 0x20 };
    let key_parameters = tlv(
        0x30,
        &[tlv(0x03, &[0x05, key_attributes]), tlv(0xa0, &algorithm)].concat(),
    );
    let mut content = vec![
        // [0] containerAlgorithmIdentifier id-CryptoPro-GostPrivateKeys-V2-Full
        tlv(0xa0, &oid("1.2.643.2.2.37.2.1")),
        // kccaSoftPassword, kccaReservePrimary
        tlv(0x03, &[0x06, 0xc0]),
        key_parameters,
        // [2] hmacPassword
        tlv(0x82, &[0x04, 0x5f, 0x0c, 0x1c]),
    ];
    if let Some(cert) = &spec.certificate {
        content.push(tlv(0x85, cert));
    }
    if let Some(cert) = &spec.secondary_certificate {
        content.push(tlv(0x86, cert));
    }
    content.push(tlv(0x8a, &spec.fingerprint));
    if !spec.periods.is_empty() {
        let extensions: Vec<u8> = spec
            .periods
            .iter()
            .flat_map(|period| {
                let mut times = Vec::new();
                if let Some(t) = &period.not_before {
                    times.extend(tlv(0x80, t.as_bytes()));
                }
                if let Some(t) = &period.not_after {
                    times.extend(tlv(0x81, t.as_bytes()));
                }
                tlv(
                    0x30,
                    &[oid(period.oid), tlv(0x04, &tlv(0x30, &times))].concat(),
                )
            })
            .collect();
        content.push(tlv(0xac, &extensions));
    }
    let content = tlv(0x30, &content.concat());
    tlv(
        0x30,
        &[content, tlv(0x04, &[0x1e, 0xa1, 0x0a, 0x5d])].concat(),
    )
}

/// `primary.key`: `SEQUENCE { OCTET STRING key }` of random bytes.
pub fn primary_key(key_length: usize) -> Vec<u8> {
    tlv(0x30, &tlv(0x04, &random_bytes(key_length)))
}

/// `masks.key`: `SEQUENCE { OCTET STRING mask, OCTET STRING salt(12), OCTET STRING mac(4) }`.
pub fn masks_key(key_length: usize) -> Vec<u8> {
    tlv(
        0x30,
        &[
            tlv(0x04, &random_bytes(key_length)),
            tlv(0x04, &random_bytes(12)),
            tlv(0x04, &random_bytes(4)),
        ]
        .concat(),
    )
}

/// One DER TLV with a definite, minimal length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(u8::try_from(length).expect("short length"));
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).expect("length of length"));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// DER OBJECT IDENTIFIER from dotted form.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("numeric arc"))
        .collect();
    let mut body = Vec::new();
    for arc in std::iter::once(arcs[0] * 40 + arcs[1]).chain(arcs[2..].iter().copied()) {
        let mut groups = vec![u8::try_from(arc & 0x7f).expect("7 bits")];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | u8::try_from(rest & 0x7f).expect("7 bits"));
            rest >>= 7;
        }
        groups.reverse();
        body.extend(groups);
    }
    tlv(0x06, &body)
}

/// Random bytes, as key material looks.
pub fn random_bytes(length: usize) -> Vec<u8> {
    let mut bytes = vec![0; length];
    rand::fill(&mut bytes[..]);
    bytes
}
