//! Real SoftHSM2 tokens for tests, set up with SoftHSM's and OpenSC's own tools.
//!
//! SoftHSM reads its configuration (`SOFTHSM2_CONF`) from the environment of the process that
//! loads `libsofthsm2.so`, and the collector under test loads it in the test process. So each
//! test binary gets one private configuration and token folder, set once before the first token
//! is made, and the tests that touch SoftHSM take turns: `C_Initialize`/`C_Finalize` act on the
//! whole process, and one test finalising the module under another would break it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// User PIN of every test token.
pub const PIN: &str = "12345678";
/// Security officer PIN of every test token.
pub const SO_PIN: &str = "87654321";

/// Where Debian installs the SoftHSM2 PKCS#11 module.
const MODULE_PATHS: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// This test binary's SoftHSM2.
#[derive(Debug)]
pub struct SoftHsm {
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The private `softhsm2.conf`.
    pub conf: PathBuf,
    /// Scratch space for certificate files.
    pub work: PathBuf,
}

/// A token as `softhsm2-util --show-slots` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShownToken {
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    pub hardware_version: String,
    pub firmware_version: String,
}

/// The calling test's turn with SoftHSM: held for the whole test.
#[derive(Debug)]
pub struct Turn {
    pub hsm: &'static SoftHsm,
    _guard: MutexGuard<'static, ()>,
}

static HSM: OnceLock<SoftHsm> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());
static TURNS: AtomicUsize = AtomicUsize::new(1);

/// Take this test's turn with the binary's SoftHSM, setting it up on first use.
///
/// Call it first thing in every test of a binary that uses SoftHSM: the first call sets
/// `SOFTHSM2_CONF` for the process.
///
/// # Panics
/// When SoftHSM2 is not installed or its configuration cannot be written.
#[track_caller]
pub fn turn() -> Turn {
    // A test that failed during its turn poisons the lock; the next test still gets its turn.
    let guard = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let hsm = HSM.get_or_init(SoftHsm::create);
    // Each test starts with no tokens: SoftHSM reads the configuration again at C_Initialize.
    let n = TURNS.fetch_add(1, Ordering::Relaxed);
    let parent = hsm.conf.parent().expect("config folder");
    write_conf(&hsm.conf, &parent.join(format!("tokens-{n}")));
    Turn { hsm, _guard: guard }
}

/// Path of the SoftHSM2 PKCS#11 module on this machine.
///
/// # Panics
/// When SoftHSM2 is not installed.
#[track_caller]
pub fn module_path() -> PathBuf {
    MODULE_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("SoftHSM2 is required (Debian package softhsm2)")
}

// === impl SoftHsm ===

impl SoftHsm {
    fn create() -> Self {
        let root = tempfile::Builder::new()
            .prefix("softhsm-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("SoftHSM temp dir")
            // The folder outlives the statics that would have to delete it; it stays under
            // target/ and goes with `cargo clean`.
            .keep();
        let work = root.join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        let conf = root.join("softhsm2.conf");
        write_conf(&conf, &root.join("tokens-0"));
        #[allow(unsafe_code)]
        // SAFETY: this runs once, inside the `OnceLock` initialiser, at the start of the first
        // test to take a turn. Every test of a binary using SoftHSM takes its turn before doing
        // anything else, so no other thread of this binary reads the environment concurrently.
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", &conf);
        }
        Self {
            module: module_path(),
            conf,
            work,
        }
    }

    /// Initialise a fresh token labelled `label` with [`PIN`] and [`SO_PIN`]; returns its
    /// serial as `softhsm2-util --show-slots` reports it.
    ///
    /// # Panics
    /// When `softhsm2-util` fails or the token does not show up.
    #[track_caller]
    pub fn init_token(&self, label: &str) -> ShownToken {
        self.run(Command::new("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            PIN,
        ]));
        self.shown_tokens()
            .into_iter()
            .find(|t| t.label == label)
            .unwrap_or_else(|| panic!("token {label:?} not listed by softhsm2-util"))
    }

    /// The initialised tokens `softhsm2-util --show-slots` lists.
    ///
    /// # Panics
    /// When `softhsm2-util` fails.
    #[track_caller]
    pub fn shown_tokens(&self) -> Vec<ShownToken> {
        let output = self.run(Command::new("softhsm2-util").arg("--show-slots"));
        parse_show_slots(&String::from_utf8_lossy(&output.stdout))
    }

    /// Store `der` on the token labelled `token` as a public X.509 certificate object, logging
    /// in with [`PIN`] as a user would when installing a certificate.
    ///
    /// # Panics
    /// When `pkcs11-tool` fails.
    #[track_caller]
    pub fn import_certificate(&self, token: &str, der: &[u8], id: &str, label: &str) {
        let file = self.work.join(format!("{token}-{id}.der"));
        std::fs::write(&file, der).expect("certificate file");
        self.run(
            Command::new("pkcs11-tool")
                .arg("--module")
                .arg(&self.module)
                .args(["--token-label", token, "--login", "--pin", PIN])
                .arg("--write-object")
                .arg(&file)
                .args(["--type", "cert", "--id", id, "--label", label]),
        );
    }

    /// Store `value` on the token labelled `token` as a public X.509 certificate object without
    /// checking that it is one (`pkcs11-tool` refuses what OpenSSL cannot parse), the way a
    /// broken enrolment tool can leave a token.
    ///
    /// The module is loaded in this process for that, initialised and finalised again, so call
    /// this only during the test's [`turn`].
    ///
    /// # Panics
    /// When the token is missing or SoftHSM refuses the object.
    #[track_caller]
    pub fn store_raw_certificate(&self, token: &str, value: &[u8], label: &str) {
        use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
        use cryptoki::object::{Attribute, CertificateType, ObjectClass};
        use cryptoki::session::UserType;
        use cryptoki::types::AuthPin;

        let pkcs11 = Pkcs11::new(&self.module).expect("load SoftHSM");
        pkcs11
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .expect("C_Initialize");
        let slot = pkcs11
            .get_slots_with_initialized_token()
            .expect("slots")
            .into_iter()
            .find(|slot| {
                pkcs11
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label() == token)
            })
            .unwrap_or_else(|| panic!("token {token:?} not found"));
        {
            let session = pkcs11.open_rw_session(slot).expect("rw session");
            session
                .login(UserType::User, Some(&AuthPin::from(PIN.to_owned())))
                .expect("log in");
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::CertificateType(CertificateType::X_509),
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Label(label.as_bytes().to_vec()),
                    Attribute::Id(vec![0xbd]),
                    Attribute::Subject(b"\x30\x00".to_vec()),
                    Attribute::Value(value.to_vec()),
                ])
                .expect("create certificate object");
            session.logout().expect("log out");
        }
        pkcs11.finalize().expect("C_Finalize");
    }

    /// Try to log in to the token labelled `token` with a wrong PIN; returns what
    /// `pkcs11-tool` printed (it fails with the module's `CKR_*` code).
    ///
    /// # Panics
    /// When the login succeeds.
    #[track_caller]
    pub fn log_in_with_wrong_pin(&self, token: &str) -> String {
        let output = self
            .command("pkcs11-tool")
            .arg("--module")
            .arg(&self.module)
            .args(["--token-label", token, "--login", "--pin", "00000000"])
            .arg("--list-objects")
            .output()
            .expect("pkcs11-tool runs");
        assert!(!output.status.success(), "a wrong PIN was accepted");
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SOFTHSM2_CONF", &self.conf);
        command
    }

    #[track_caller]
    fn run(&self, command: &mut Command) -> Output {
        command.env("SOFTHSM2_CONF", &self.conf);
        let output = command.output().expect("SoftHSM tool runs");
        assert!(
            output.status.success(),
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// Point the SoftHSM configuration `conf` at a new, empty token folder `tokens`.
#[track_caller]
fn write_conf(conf: &Path, tokens: &Path) {
    std::fs::create_dir_all(tokens).expect("token dir");
    std::fs::write(
        conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
}

/// The initialised tokens in `softhsm2-util --show-slots` output.
fn parse_show_slots(text: &str) -> Vec<ShownToken> {
    let mut tokens = Vec::new();
    let mut current: Option<ShownToken> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "Token info:" {
            tokens.extend(current.take());
            current = Some(ShownToken::default());
            continue;
        }
        if line.starts_with("Slot ") {
            tokens.extend(current.take());
            continue;
        }
        let (Some(token), Some((key, value))) = (current.as_mut(), line.split_once(':')) else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "Label" => token.label = value,
            "Serial number" => token.serial = value,
            "Manufacturer ID" => token.manufacturer = value,
            "Model" => token.model = value,
            "Hardware version" => token.hardware_version = value,
            "Firmware version" => token.firmware_version = value,
            _ => {}
        }
    }
    tokens.extend(current);
    tokens.retain(|t| !t.serial.is_empty());
    tokens
}

/// Hex SHA-1 of `der`, computed by OpenSSL rather than by the code under test.
///
/// # Panics
/// When `openssl` fails.
#[track_caller]
pub fn sha1_hex(dir: &Path, der: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new_in(dir).expect("temp file");
    std::fs::write(file.path(), der).expect("write");
    let output = Command::new("openssl")
        .args(["dgst", "-sha1", "-r"])
        .arg(file.path())
        .output()
        .expect("openssl runs");
    assert!(output.status.success(), "openssl dgst failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}
