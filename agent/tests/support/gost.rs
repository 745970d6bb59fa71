//! Real GOST certificates for tests, made by OpenSSL with the gost engine
//! (Debian package `libengine-gost-openssl`).
//!
//! Certificates are issued with `openssl ca` so that any validity period (also one in the past)
//! can be set, with the Russian subject attributes (INN, INNLE, OGRN, OGRNIP, SNILS), the
//! qualified-certificate extensions and PrivateKeyUsagePeriod.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// GOST key algorithms OpenSSL's gost engine can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Gost2001,
    Gost2012_256,
    Gost2012_512,
}

/// What to put into a certificate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub common_name: String,
    pub organization: Option<String>,
    pub algorithm: Algorithm,
    /// `YYYYMMDDHHMMSSZ`.
    pub not_before: String,
    pub not_after: String,
    pub inn: Option<String>,
    pub inn_le: Option<String>,
    pub ogrn: Option<String>,
    pub ogrnip: Option<String>,
    pub snils: Option<String>,
    pub email: Option<String>,
    /// PrivateKeyUsagePeriod (2.5.29.16) notBefore/notAfter, `YYYYMMDDHHMMSSZ`.
    pub private_key_usage: Option<(String, String)>,
    /// Add subjectSignTool, issuerSignTool and the KC1 policy.
    pub qualified: bool,
    pub is_ca: bool,
}

/// An issued certificate and its key.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub der: Vec<u8>,
    pub spec: Spec,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

// === impl Spec ===

impl Spec {
    /// An end-entity GOST 2012-256 person certificate valid from `not_before` to `not_after`.
    pub fn person(common_name: &str, not_before: &str, not_after: &str) -> Self {
        Self {
            common_name: common_name.to_owned(),
            organization: Some("ООО \"Ромашка\"".to_owned()),
            algorithm: Algorithm::Gost2012_256,
            not_before: not_before.to_owned(),
            not_after: not_after.to_owned(),
            inn: Some("770708389301".to_owned()),
            inn_le: Some("7707083893".to_owned()),
            ogrn: Some("1027700132195".to_owned()),
            ogrnip: None,
            snils: Some("12345678901".to_owned()),
            email: Some("ivanov@example.ru".to_owned()),
            private_key_usage: None,
            qualified: true,
            is_ca: false,
        }
    }

    /// A CA certificate (GOST 2012-512) valid from `not_before` to `not_after`.
    pub fn ca(common_name: &str, not_before: &str, not_after: &str) -> Self {
        Self {
            common_name: common_name.to_owned(),
            organization: Some("Тестовый УЦ".to_owned()),
            algorithm: Algorithm::Gost2012_512,
            not_before: not_before.to_owned(),
            not_after: not_after.to_owned(),
            inn: None,
            inn_le: Some("7707083893".to_owned()),
            ogrn: Some("1027700132195".to_owned()),
            ogrnip: None,
            snils: None,
            email: None,
            private_key_usage: None,
            qualified: false,
            is_ca: true,
        }
    }
}

/// Whether `openssl` with the gost engine works on this machine.
pub fn available() -> bool {
    Command::new("openssl")
        .args(["engine", "gost", "-t"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("available"))
        .unwrap_or(false)
}

/// Issue a certificate for `spec` in `dir`, signed by `issuer` (self-signed when `None`).
///
/// # Panics
/// When OpenSSL fails: the test cannot go on without its fixture.
#[track_caller]
pub fn issue(dir: &Path, spec: &Spec, issuer: Option<&Issued>) -> Issued {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let work = dir.join(format!("gost-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&work).expect("create work dir");
    std::fs::write(work.join("index.txt"), "").expect("index");
    std::fs::write(work.join("serial"), format!("{:04X}\n", 0x1000 + n)).expect("serial");
    let config = work.join("openssl.cnf");
    std::fs::write(&config, config_text(&work, spec)).expect("config");

    let key = work.join("key.pem");
    let csr = work.join("req.csr");
    let cert = work.join("cert.pem");
    let (algorithm, digest) = names(spec.algorithm);
    // The signature digest must suit the signer's key, which is the issuer's when there is one.
    let (_, signing_digest) = names(issuer.map_or(spec.algorithm, |i| i.spec.algorithm));
    run(Command::new("openssl")
        .args(["req", "-new", "-engine", "gost", "-utf8", "-nodes"])
        .arg("-config")
        .arg(&config)
        .args(["-newkey", algorithm, "-pkeyopt", "paramset:A"])
        .arg(format!("-{digest}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .args(["-subj", &subject(spec)]));

    let mut ca = Command::new("openssl");
    ca.args(["ca", "-batch", "-notext", "-engine", "gost", "-utf8"])
        .arg("-config")
        .arg(&config)
        .args([
            "-md",
            signing_digest,
            "-startdate",
            &spec.not_before,
            "-enddate",
            &spec.not_after,
        ])
        .args(["-extensions", "ext"])
        .arg("-in")
        .arg(&csr)
        .arg("-out")
        .arg(&cert);
    match issuer {
        Some(issuer) => {
            ca.arg("-cert")
                .arg(&issuer.cert_pem)
                .arg("-keyfile")
                .arg(&issuer.key_pem);
        }
        None => {
            ca.arg("-selfsign").arg("-keyfile").arg(&key);
        }
    }
    run(&mut ca);

    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl x509 runs");
    assert!(
        der.status.success(),
        "openssl x509 failed: {}",
        String::from_utf8_lossy(&der.stderr)
    );
    Issued {
        cert_pem: cert,
        key_pem: key,
        der: der.stdout,
        spec: spec.clone(),
    }
}

/// DER of PrivateKeyUsagePeriod: SEQUENCE { [0] GeneralizedTime, [1] GeneralizedTime }.
pub fn private_key_usage_period_der(not_before: &str, not_after: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (tag, time) in [(0x80_u8, not_before), (0x81, not_after)] {
        body.push(tag);
        body.push(u8::try_from(time.len()).expect("short time"));
        body.extend_from_slice(time.as_bytes());
    }
    let mut der = vec![0x30, u8::try_from(body.len()).expect("short sequence")];
    der.extend(body);
    der
}

/// OpenSSL's names for the key algorithm and its digest.
fn names(algorithm: Algorithm) -> (&'static str, &'static str) {
    match algorithm {
        Algorithm::Gost2001 => ("gost2001", "md_gost94"),
        Algorithm::Gost2012_256 => ("gost2012_256", "md_gost12_256"),
        Algorithm::Gost2012_512 => ("gost2012_512", "md_gost12_512"),
    }
}

fn subject(spec: &Spec) -> String {
    let mut s = String::from("/C=RU/L=Москва");
    if let Some(o) = &spec.organization {
        write!(s, "/O={}", o.replace('/', "\\/")).expect("write");
    }
    write!(s, "/CN={}", spec.common_name).expect("write");
    for (name, value) in [
        ("INN", &spec.inn),
        ("INNLE", &spec.inn_le),
        ("OGRN", &spec.ogrn),
        ("OGRNIP", &spec.ogrnip),
        ("SNILS", &spec.snils),
        ("emailAddress", &spec.email),
    ] {
        if let Some(value) = value {
            write!(s, "/{name}={value}").expect("write");
        }
    }
    s
}

fn config_text(work: &Path, spec: &Spec) -> String {
    let mut ext = String::new();
    if spec.is_ca {
        ext.push_str("basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign, digitalSignature\n");
    } else {
        ext.push_str("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, nonRepudiation, keyEncipherment, keyAgreement\nextendedKeyUsage = clientAuth, emailProtection\n");
    }
    ext.push_str("subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
    if spec.qualified {
        ext.push_str("certificatePolicies = 1.2.643.100.113.1, 1.2.643.100.113.2\n");
        ext.push_str("subjectSignTool = СКЗИ \"КриптоПро CSP\" (версия 5.0)\n");
        ext.push_str(
            "issuerSignTool = signTool:СКЗИ \"КриптоПро CSP\" (версия 5.0), cATool:ПАК \"Удостоверяющий центр\", \
             signToolCert:Сертификат соответствия № СФ/124-0000, cAToolCert:Сертификат соответствия № СФ/128-0000\n",
        );
    }
    if let Some((from, to)) = &spec.private_key_usage {
        let hex: String = private_key_usage_period_der(from, to)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        writeln!(ext, "2.5.29.16 = DER:{hex}").expect("write");
    }
    format!(
        r#"oid_section = new_oids
[new_oids]
INNLE = 1.2.643.100.4

[ca]
default_ca = tw_ca

[tw_ca]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
policy = policy_any
unique_subject = no
email_in_dn = yes
default_days = 365

[policy_any]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
emailAddress = optional
INN = optional
INNLE = optional
OGRN = optional
OGRNIP = optional
SNILS = optional

[req]
distinguished_name = dn
[dn]

[ext]
{ext}
"#,
        dir = work.display(),
    )
}

#[track_caller]
fn run(command: &mut Command) {
    let output = command.output().expect("openssl runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
