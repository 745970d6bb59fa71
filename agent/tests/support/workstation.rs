//! A workstation-sized tree for the benchmark: HDIMAGE containers with embedded certificates,
//! a folder of certificate files, and PC/SC readers with cards in them.

use std::path::{Path, PathBuf};

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::certificates::summarize;
use tokenwatch_agent::collect::containers::read_container;
use tokenwatch_agent::inventory::{CertificateSource, Media, SourceKind};
use tokenwatch_agent::paths::Paths;

use super::containers::{self, ContainerSpec, HeaderSpec, KeyAlgorithm, KeyPeriod};
use super::gost::{self, Spec};

/// The built tree.
#[derive(Debug)]
pub struct Tree {
    pub root: PathBuf,
    pub cert_dir: PathBuf,
    pub containers: Vec<PathBuf>,
    pub certificate_files: Vec<PathBuf>,
    pub readers: usize,
    /// Environment for the scan process (the private pcscd's socket).
    pub env: Vec<(String, String)>,
}

/// Build `containers` HDIMAGE containers and `certificates` certificate files (DER and PEM, the
/// first `containers` of them also embedded in the containers) under `dir`.
pub fn build(dir: &Path, container_count: usize, certificate_count: usize) -> Tree {
    let root = dir.join("root");
    let cert_dir = root.join("home/user/certs");
    std::fs::create_dir_all(&cert_dir).expect("cert dir");
    let ca = gost::issue(
        dir,
        &Spec::ca("Тестовый УЦ", "20240101000000Z", "20340101000000Z"),
        None,
    );
    std::fs::copy(&ca.cert_pem, cert_dir.join("ca.pem")).expect("copy ca");
    let mut certificate_files = vec![cert_dir.join("ca.pem")];
    let mut containers = Vec::new();
    let hdimage = root.join("var/opt/cprocsp/keys/user");
    for n in 1..certificate_count {
        let mut spec = Spec::person(
            &format!("Сотрудник {n}"),
            "20260101000000Z",
            "20270401000000Z",
        );
        spec.private_key_usage = Some(("20260101000000Z".into(), "20270401000000Z".into()));
        let person = gost::issue(dir, &spec, Some(&ca));
        let file = if n % 2 == 0 {
            let file = cert_dir.join(format!("person-{n}.pem"));
            std::fs::copy(&person.cert_pem, &file).expect("copy pem");
            file
        } else {
            let file = cert_dir.join(format!("person-{n}.cer"));
            std::fs::write(&file, &person.der).expect("write der");
            file
        };
        certificate_files.push(file);
        if containers.len() < container_count {
            let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_256, false);
            header.certificate = Some(person.der.clone());
            header.periods.push(KeyPeriod {
                oid: containers::SIGNATURE_PERIOD,
                not_before: Some("20260101000000Z".into()),
                not_after: Some("20270401000000Z".into()),
            });
            let spec = ContainerSpec::new(&format!("сотрудник-{n}"), header);
            containers.push(containers::write(
                &hdimage.join(format!("sotr{n:04}.000")),
                &spec,
            ));
        }
    }
    Tree {
        root,
        cert_dir,
        containers,
        certificate_files,
        readers: 0,
        env: Vec::new(),
    }
}

/// Read and summarise every file of the tree once, as the collectors do; returns how many
/// files parsed.
pub fn parse_all(tree: &Tree) -> usize {
    let mut parsed = 0;
    for file in &tree.certificate_files {
        let bytes = std::fs::read(file).expect("read certificate");
        let source = CertificateSource {
            kind: SourceKind::File,
            location: file.display().to_string(),
        };
        let ders = tokenwatch_agent::collect::certificates::parse_certificate_file(&bytes)
            .expect("certificate file parses");
        if ders
            .iter()
            .all(|der| summarize(der, source.clone()).is_ok())
        {
            parsed += 1;
        }
    }
    for container in &tree.containers {
        let read = read_container(container, Media::Hdimage, Some("user".into()));
        if read.container.complete && read.certificates.len() == 1 {
            parsed += 1;
        }
    }
    parsed
}

// === impl Tree ===

impl Tree {
    /// The scan configuration the command line below describes.
    pub fn config(&self) -> ScanConfig {
        let mut config = ScanConfig::new(Paths::new(&self.root));
        config.cert_paths = vec![self.cert_dir.clone()];
        config
    }

    /// Arguments of `tokenwatch-agent` for a scan of this tree.
    pub fn scan_args(&self) -> Vec<String> {
        vec![
            "scan".into(),
            "--json".into(),
            "--root".into(),
            self.root.display().to_string(),
            "--cert-path".into(),
            self.cert_dir.display().to_string(),
        ]
    }

    /// Environment of the scan process.
    pub fn scan_env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }
}
