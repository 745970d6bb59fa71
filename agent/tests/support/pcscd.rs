//! A private pcscd with two vsmartcard (vpcd) readers, and virtual cards to put in them.
//!
//! pcscd 1.9 always serves `/run/pcscd/pcscd.comm`, so each daemon runs in its own mount
//! namespace with a private folder bound over `/run/pcscd` (needs root, like the recipe in
//! `recipes/test-infrastructure.md` §1). Clients find it through `PCSCLITE_CSOCK_NAME`, which
//! libpcsclite reads once per process: one daemon per test binary, started before the first
//! PC/SC call.
//!
//! A card is a TCP connection to the reader's vpcd port: connecting inserts it, closing removes
//! it. The card answers the ATR request and refuses every APDU (6A82).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The driver vsmartcard-vpcd installs.
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// Status word for every APDU: file not found. The agent never sends any; a stray one fails.
const REFUSED: [u8; 2] = [0x6A, 0x82];

/// A running private pcscd. Killed when dropped.
#[derive(Debug)]
pub struct Pcscd {
    child: Child,
    dir: TempDir,
    friendly_name: String,
    port: u16,
}

/// A virtual card sitting in a vpcd reader. Removed when dropped.
#[derive(Debug)]
pub struct VirtualCard {
    stream: TcpStream,
    responder: Option<JoinHandle<()>>,
    apdus: Arc<AtomicUsize>,
}

// === impl Pcscd ===

impl Pcscd {
    /// Start a daemon whose two readers are `<friendly_name> 00 00` and `<friendly_name> 00 01`,
    /// and point this process's PC/SC client at it.
    ///
    /// # Panics
    /// When not root, when pcscd or vpcd is missing, or when the daemon does not come up within
    /// five seconds.
    pub fn start_for_this_process(friendly_name: &str) -> Self {
        let daemon = Self::start(friendly_name);
        point_client_at(&daemon.socket());
        daemon
    }

    /// Start a daemon without touching the environment (for a process that already points its
    /// client at `socket()` of a daemon started elsewhere).
    pub fn start(friendly_name: &str) -> Self {
        assert!(
            Path::new(VPCD_DRIVER).exists(),
            "vsmartcard-vpcd is not installed"
        );
        let dir = tempfile::Builder::new()
            .prefix("tokenwatch-pcscd-")
            .tempdir()
            .expect("tempdir");
        let port = free_port_pair();
        fs::create_dir_all(dir.path().join("conf")).expect("conf dir");
        fs::create_dir_all(dir.path().join("run")).expect("run dir");
        // The mount point must exist in the parent namespace for the bind mount.
        fs::create_dir_all("/run/pcscd").expect("/run/pcscd (tests run as root)");
        fs::write(
            dir.path().join("conf/vpcd"),
            format!(
                "FRIENDLYNAME \"{friendly_name}\"\nDEVICENAME /dev/null:0x{port:X}\nLIBPATH {VPCD_DRIVER}\nCHANNELID 0x{port:X}\n"
            ),
        )
        .expect("reader.conf");
        let log = File::create(dir.path().join("pcscd.log")).expect("log file");
        let script = format!(
            "mount --bind '{run}' /run/pcscd && exec pcscd -f -x -c '{conf}'",
            run = dir.path().join("run").display(),
            conf = dir.path().join("conf").display(),
        );
        // `-x` makes the daemon exit on its own a minute after its last client, should this
        // process die without dropping it.
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("unshare and pcscd are installed");
        let mut daemon = Self {
            child,
            dir,
            friendly_name: friendly_name.to_owned(),
            port,
        };
        daemon.wait_for_socket();
        daemon
    }

    /// The daemon's client socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run/pcscd.comm")
    }

    /// Name of the reader in `slot` (0 or 1), as PC/SC lists it.
    pub fn reader_name(&self, slot: u8) -> String {
        format!("{} 00 {slot:02X}", self.friendly_name)
    }

    /// Put a card answering with `atr` into the reader in `slot` (0 or 1).
    pub fn insert(&self, slot: u8, atr: &[u8]) -> VirtualCard {
        assert!(slot < 2, "a vpcd entry has two slots");
        VirtualCard::connect(self.port + u16::from(slot), atr.to_vec())
    }

    /// What the daemon has logged so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("pcscd.log")).unwrap_or_default()
    }

    fn wait_for_socket(&mut self) {
        let socket = self.socket();
        let log = self.dir.path().join("pcscd.log");
        let child = &mut self.child;
        let ready = wait_until(Duration::from_secs(5), || {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(&log).unwrap_or_default();
                panic!("pcscd exited with {status}: {log}");
            }
            socket.exists().then_some(())
        });
        assert!(ready.is_some(), "pcscd did not start: {}", self.log());
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        // unshare and sh exec into pcscd, so the child is the daemon itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// === impl VirtualCard ===

impl VirtualCard {
    fn connect(port: u16, atr: Vec<u8>) -> Self {
        // vpcd opens its port when pcscd loads the reader, just after the socket appears.
        let stream = wait_until(Duration::from_secs(5), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .unwrap_or_else(|| panic!("vpcd is not listening on port {port}"));
        let reader = stream.try_clone().expect("clone card stream");
        let apdus = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&apdus);
        let responder = thread::Builder::new()
            .name(format!("vcard-{port}"))
            .spawn(move || serve(reader, &atr, &counter))
            .expect("card thread");
        Self {
            stream,
            responder: Some(responder),
            apdus,
        }
    }

    /// How many command APDUs the card has been sent since it was inserted.
    pub fn apdus_received(&self) -> usize {
        self.apdus.load(Ordering::SeqCst)
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        // Closing the connection is pulling the card out; it also ends the responder's read.
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(responder) = self.responder.take() {
            let _ = responder.join();
        }
    }
}

/// Answer vpcd until the connection closes. Every message is a two-byte big-endian length and
/// a payload: one byte is a control code (4 asks for the ATR; power on, off and reset need no
/// answer), more is a command APDU.
fn serve(mut stream: TcpStream, atr: &[u8], apdus: &AtomicUsize) {
    let answer = |stream: &mut TcpStream, payload: &[u8]| -> io::Result<()> {
        let len = u16::try_from(payload.len()).expect("short payload");
        stream.write_all(&len.to_be_bytes())?;
        stream.write_all(payload)
    };
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut message).is_err() {
            return;
        }
        let sent = match message.as_slice() {
            [4] => answer(&mut stream, atr),
            [_] => Ok(()),
            _ => {
                apdus.fetch_add(1, Ordering::SeqCst);
                answer(&mut stream, &REFUSED)
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Point libpcsclite at `socket` for the rest of this process.
#[allow(unsafe_code)]
pub fn point_client_at(socket: &Path) {
    // SAFETY: called once, first thing in the only test of its binary, before any PC/SC call;
    // no other thread of this process reads the environment meanwhile (the harness thread only
    // waits for the test), and libpcsclite reads the variable once, later, on first use.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", socket) };
}

/// Call `probe` until it gives a value or `limit` passes; `None` on timeout.
pub fn wait_until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Two consecutive free TCP ports (vpcd listens on CHANNELID and CHANNELID + 1, machine-wide).
/// Derived from the process id so concurrent test binaries start apart, then probed.
fn free_port_pair() -> u16 {
    let start = 20_000 + (std::process::id() % 10_000) * 2;
    (0..500)
        .map(|step| u16::try_from(start + step * 2).expect("port below 65536"))
        .find(|&port| {
            TcpListener::bind(("0.0.0.0", port)).is_ok()
                && TcpListener::bind(("0.0.0.0", port + 1)).is_ok()
        })
        .expect("a free pair of TCP ports")
}
