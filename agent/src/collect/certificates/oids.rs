//! Object identifiers the summary names, GOST and Russian ones first.
//!
//! Names follow what helpdesk staff see: CryptoPro's and Windows' short attribute names (`E`,
//! `S`, `INN`, `SNILS`) and the algorithm names used in Russian CA documentation.

/// PrivateKeyUsagePeriod.
pub(crate) const PRIVATE_KEY_USAGE_PERIOD: &str = "2.5.29.16";
/// Extended key usage.
pub(crate) const EXTENDED_KEY_USAGE: &str = "2.5.29.37";
/// Certificate policies.
pub(crate) const CERTIFICATE_POLICIES: &str = "2.5.29.32";
/// subjectSignTool: the owner's signing tool (a UTF8String).
pub(crate) const SUBJECT_SIGN_TOOL: &str = "1.2.643.100.111";
/// issuerSignTool: the CA's tools and their conformity certificates.
pub(crate) const ISSUER_SIGN_TOOL: &str = "1.2.643.100.112";
/// The arc of the KC1…KA1 signing-tool class policies of qualified certificates.
pub(crate) const CLASS_SIGN_TOOL_ARC: &str = "1.2.643.100.113.";

pub(crate) const COMMON_NAME: &str = "2.5.4.3";
pub(crate) const ORGANIZATION: &str = "2.5.4.10";
pub(crate) const EMAIL: &str = "1.2.840.113549.1.9.1";
pub(crate) const INN: &str = "1.2.643.3.131.1.1";
pub(crate) const INN_LE: &str = "1.2.643.100.4";
pub(crate) const OGRN: &str = "1.2.643.100.1";
pub(crate) const OGRNIP: &str = "1.2.643.100.5";
pub(crate) const SNILS: &str = "1.2.643.100.3";

/// Short name of a subject or issuer attribute, as CryptoPro prints it; `None` when unknown.
pub(crate) fn attribute_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        COMMON_NAME => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "S",
        "2.5.4.9" => "STREET",
        ORGANIZATION => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.17" => "PostalCode",
        "2.5.4.42" => "G",
        "2.5.4.43" => "I",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        EMAIL => "E",
        "1.2.840.113549.1.9.2" => "unstructuredName",
        INN => "INN",
        INN_LE => "INNLE",
        OGRN => "OGRN",
        OGRNIP => "OGRNIP",
        SNILS => "SNILS",
        _ => return None,
    })
}

/// Name of a signature algorithm.
pub(crate) fn signature_algorithm(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.643.2.2.3" => "GOST R 34.11-94 with GOST R 34.10-2001",
        "1.2.643.2.2.4" => "GOST R 34.11-94 with GOST R 34.10-94",
        "1.2.643.7.1.1.3.2" => "GOST R 34.11-2012 256 with GOST R 34.10-2012 256",
        "1.2.643.7.1.1.3.3" => "GOST R 34.11-2012 512 with GOST R 34.10-2012 512",
        "1.2.840.113549.1.1.4" => "MD5 with RSA",
        "1.2.840.113549.1.1.5" => "SHA-1 with RSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "SHA-256 with RSA",
        "1.2.840.113549.1.1.12" => "SHA-384 with RSA",
        "1.2.840.113549.1.1.13" => "SHA-512 with RSA",
        "1.2.840.10045.4.1" => "ECDSA with SHA-1",
        "1.2.840.10045.4.3.2" => "ECDSA with SHA-256",
        "1.2.840.10045.4.3.3" => "ECDSA with SHA-384",
        "1.2.840.10045.4.3.4" => "ECDSA with SHA-512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return None,
    })
}

/// Name of a public key algorithm whose name needs no key size.
pub(crate) fn public_key_algorithm(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.643.2.2.19" => "GOST R 34.10-2001",
        "1.2.643.2.2.20" => "GOST R 34.10-94",
        "1.2.643.2.2.98" => "GOST R 34.10-2001 DH",
        "1.2.643.7.1.1.1.1" => "GOST R 34.10-2012 256",
        "1.2.643.7.1.1.1.2" => "GOST R 34.10-2012 512",
        "1.3.101.110" => "X25519",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return None,
    })
}

pub(crate) const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub(crate) const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// Name of a named elliptic curve.
pub(crate) fn curve(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        _ => return None,
    })
}

/// RFC 5280 name of an extended key usage; unknown ones stay dotted OIDs.
pub(crate) fn extended_key_usage(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.29.37.0" => "anyExtendedKeyUsage",
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        _ => return None,
    })
}
