//! The witness: every signed checkpoint (and prune marker) is also appended, as one
//! self-describing line, to a file outside the audit database — as X-Road time-stamps its
//! message log — and optionally piped to a command (`logger`, a shipper to another host).
//! Someone who can write the database can delete its newest records together with their
//! checkpoints, or every checkpoint, and recompute the chain; the witness still names the
//! heads that were signed, and `audit verify --witness FILE` reports a log that does not
//! reach them or differs from them.
//!
//! A line (fields in this order, separated by one space; hex in lower case):
//!
//! ```text
//! spolis-audit-checkpoint v1 kind=head seq=42 head=<64 hex> signed_at=2026-12-02T07:14:06.123456Z signed_at_micros=1796195646123456 key=<64 hex> signature=<128 hex>
//! ```
//!
//! It verifies with the audit public key alone: the signature covers kind, seq, head and
//! `signed_at_micros` (see `signing`).
//!
//! The file is written before the batch's calls are answered and synced to disk; when it
//! cannot be, those calls fail closed (`AuditUnavailable`) like calls whose records cannot be
//! committed, until it can. The command is fed from a bounded queue on a thread of its own:
//! a slow or failing command is logged and counted, never waited for by the writer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use sha2::Digest;

use super::checkpoint::SignedCheckpoint;
use super::record::format_time;
use super::signing::CheckpointKind;
use super::timestamp::{TimestampError, WitnessedTimestamp};
use crate::error::ErrorChain;

const MAGIC: &str = "spolis-audit-checkpoint";
const VERSION: &str = "v1";

/// Lines waiting for the command before further ones are dropped (and counted).
const COMMAND_QUEUE: usize = 64;
/// How long one run of the command may take before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Checkpoint lines (with their seq) on their way to the time-stamping authority.
type TimestampQueue = SyncSender<(i64, String)>;

/// Where checkpoints are witnessed; cheap to clone. The default witnesses nothing.
#[derive(Clone, Default)]
pub struct Witness {
    file: Option<PathBuf>,
    command: Option<SyncSender<String>>,
    /// Lines the file or the command did not take.
    failures: Counter,
    /// Lines sent to the time-stamping authority (see `timestamp`), and how many of them
    /// are not done with yet.
    tsa: Option<(TimestampQueue, Arc<AtomicUsize>)>,
    /// Lines not time-stamped.
    timestamp_failures: Counter,
}

/// Why the witness did not take a line, or a witness file cannot be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The witness file cannot be opened, read, written or synced.
    #[error("the audit witness {} cannot be {action}: {cause}", .path.display())]
    File { path: PathBuf, action: &'static str, cause: std::io::Error },
    /// The directory of a new witness file cannot be synced, so the file may not survive a crash.
    #[error("the directory of the audit witness {} cannot be synced: {cause}", .path.display())]
    Directory { path: PathBuf, cause: std::io::Error },
    /// A witness file given to read cannot be read.
    #[error("cannot read the witness {}: {cause}", .path.display())]
    Unreadable { path: PathBuf, cause: std::io::Error },
    /// A complete line of a witness file is neither a checkpoint nor a time-stamp.
    #[error("{} line {line}: not a witnessed checkpoint", .path.display())]
    NotALine { path: PathBuf, line: usize },
    /// A reader of the file (a [`visit`] callback) refused a line and stopped the reading.
    #[error("a witness line was refused")]
    Refused,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("file", &self.file).field("command", &self.command.is_some()).field("tsa", &self.tsa.is_some()).finish()
    }
}

impl Witness {
    /// Appends to `file` (created 0600) and, when `command` is not empty, runs it (program
    /// and arguments, no shell) once per checkpoint with the line on its standard input.
    pub fn new(file: Option<PathBuf>, command: &[String]) -> Witness {
        let failures = Counter::default();
        let command = command.split_first().map(|(program, args)| spawn_command(program.clone(), args.to_vec(), failures.clone()));
        Witness { file, command, failures, tsa: None, timestamp_failures: Counter::default() }
    }

    /// Also has every line the file takes time-stamped by the TSA at `url` (RFC 3161 over
    /// HTTP); the tokens are appended to the same file.
    pub fn with_tsa(mut self, url: Option<&str>) -> Result<Witness, TimestampError> {
        if let Some(url) = url {
            let file = self.file.clone().ok_or(TimestampError::NoWitnessFile)?;
            let pending = Arc::new(AtomicUsize::new(0));
            self.tsa = Some((super::timestamp::spawn(url, file, self.timestamp_failures.clone(), pending.clone())?, pending));
        }
        Ok(self)
    }

    /// Waits (at most `within`) until the lines queued for time-stamping are done: at
    /// shutdown, so that the last checkpoint's stamp is not lost with the process.
    pub fn settle(&self, within: Duration) {
        let Some((_, pending)) = &self.tsa else { return };
        let deadline = Instant::now() + within;
        while pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lines the TSA did not stamp (for `/metrics`).
    pub fn timestamp_failures(&self) -> &Counter {
        &self.timestamp_failures
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Lines not taken by the file or the command (for `/metrics`).
    pub fn failures(&self) -> &Counter {
        &self.failures
    }

    /// Witnesses `checkpoint`: the file's line is on disk when this returns `Ok`. The
    /// command only gets the line queued; its failures are logged and counted.
    pub fn record(&self, checkpoint: &SignedCheckpoint) -> Result<(), WitnessError> {
        let line = line(checkpoint);
        if let Some(sender) = &self.command {
            match sender.try_send(line.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    self.failures.inc();
                    tracing::error!(seq = checkpoint.seq, "audit witness command is behind; this checkpoint's line was not given to it");
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.failures.inc();
                    tracing::error!(seq = checkpoint.seq, "audit witness command runner has stopped");
                }
            }
        }
        if let Some(path) = &self.file {
            append_line(path, &line).inspect_err(|_| {
                self.failures.inc();
            })?;
            if let Some((tsa, pending)) = &self.tsa {
                super::timestamp::queue(tsa, pending, checkpoint.seq, line, &self.timestamp_failures);
            }
        }
        Ok(())
    }
}

/// Appends `line` and a newline to `path`, then syncs it (and, for a new file, its
/// directory). A write that fails half-way (a full disk) is cut back off, so that the next
/// line does not land on the end of a broken one; appends of this process are serialized
/// for that.
pub(crate) fn append_line(path: &Path, line: &str) -> Result<(), WitnessError> {
    static APPENDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serialized = APPENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let failed = |action: &'static str| move |cause| WitnessError::File { path: path.to_path_buf(), action, cause };
    let created = !path.exists();
    let mut file = crate::private_files::append(path).map_err(failed("opened"))?;
    let before = file.metadata().map(|m| m.len()).map_err(failed("read"))?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    if let Err(error) = file.write_all(&bytes).and_then(|()| file.sync_data()) {
        let _ = file.set_len(before).and_then(|()| file.sync_data());
        return Err(failed("written")(error));
    }
    if created {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|cause| WitnessError::Directory { path: path.to_path_buf(), cause })?;
        }
    }
    Ok(())
}

/// The witness line of `checkpoint` (without the newline).
pub(crate) fn line(checkpoint: &SignedCheckpoint) -> String {
    let signed_at = chrono::DateTime::from_timestamp_micros(checkpoint.signed_at_micros).map_or_else(|| "-".to_string(), |at| format_time(&at));
    format!(
        "{MAGIC} {VERSION} kind={} seq={} head={} signed_at={signed_at} signed_at_micros={} key={} signature={}",
        checkpoint.kind.as_str(),
        checkpoint.seq,
        hex::encode(checkpoint.head_hash),
        checkpoint.signed_at_micros,
        hex::encode(&checkpoint.public_key),
        hex::encode(&checkpoint.signature),
    )
}

/// A checkpoint as a witness line holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    pub kind: CheckpointKind,
    pub seq: i64,
    pub head_hash: [u8; 32],
    pub signed_at_micros: i64,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
    /// 1-based.
    pub line: usize,
    /// SHA-256 of the line's text (what a time-stamp stamps).
    pub line_sha256: [u8; 32],
}

/// Parses one witness line; `None` when it is not one.
pub(crate) fn parse_line(text: &str, line: usize) -> Option<WitnessedCheckpoint> {
    let mut words = text.split(' ');
    if words.next()? != MAGIC || words.next()? != VERSION {
        return None;
    }
    let mut field = |name: &str| words.next()?.strip_prefix(name)?.strip_prefix('=').map(str::to_string);
    let kind = CheckpointKind::parse(&field("kind")?)?;
    let seq: i64 = field("seq")?.parse().ok()?;
    let head_hash: [u8; 32] = hex::decode(field("head")?).ok()?.try_into().ok()?;
    let signed_at = field("signed_at")?;
    let signed_at_micros: i64 = field("signed_at_micros")?.parse().ok()?;
    let public_key = hex::decode(field("key")?).ok()?;
    let signature = hex::decode(field("signature")?).ok()?;
    if words.next().is_some() {
        return None;
    }
    // The readable time must say what the signed one says.
    let at = chrono::DateTime::from_timestamp_micros(signed_at_micros)?;
    if format_time(&at) != signed_at {
        return None;
    }
    let line_sha256 = sha2::Sha256::digest(text.as_bytes()).into();
    Some(WitnessedCheckpoint { kind, seq, head_hash, signed_at_micros, public_key, signature, line, line_sha256 })
}

/// Every checkpoint of the witness file at `path`, in file order (time-stamp lines apart).
/// A line that is neither is an error naming it; an unterminated last line (a write cut
/// short by a crash) is left out.
#[cfg(test)]
pub(crate) fn read(path: &Path) -> Result<Vec<WitnessedCheckpoint>, WitnessError> {
    read_all(path).map(|(checkpoints, _)| checkpoints)
}

/// Every checkpoint and every time-stamp of the witness file at `path`, in file order.
pub(crate) fn read_all(path: &Path) -> Result<(Vec<WitnessedCheckpoint>, Vec<WitnessedTimestamp>), WitnessError> {
    let (mut checkpoints, mut timestamps) = (Vec::new(), Vec::new());
    visit(
        path,
        |checkpoint| {
            checkpoints.push(checkpoint);
            Ok(())
        },
        |timestamp| {
            timestamps.push(timestamp);
            Ok(())
        },
    )?;
    Ok((checkpoints, timestamps))
}

/// Hands each checkpoint and time-stamp of the witness file at `path` to the callbacks, in
/// file order, reading line by line: a witness of two busy years (millions of lines) is never
/// in memory whole. The first error (a callback's, or a line that is neither) stops it.
pub fn visit(
    path: &Path,
    mut on_checkpoint: impl FnMut(WitnessedCheckpoint) -> Result<(), WitnessError>,
    mut on_timestamp: impl FnMut(WitnessedTimestamp) -> Result<(), WitnessError>,
) -> Result<(), WitnessError> {
    use std::io::BufRead;
    let cannot_read = |cause| WitnessError::Unreadable { path: path.to_path_buf(), cause };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let mut reader = std::io::BufReader::new(file);
    let mut bytes = Vec::with_capacity(512);
    for number in 1.. {
        bytes.clear();
        if reader.read_until(b'\n', &mut bytes).map_err(cannot_read)? == 0 {
            break;
        }
        // A last line without its newline is a write cut short by a crash: left out.
        let Some(line) = bytes.strip_suffix(b"\n") else { break };
        if line.is_empty() {
            continue;
        }
        let unreadable = || WitnessError::NotALine { path: path.to_path_buf(), line: number };
        let line = std::str::from_utf8(line).map_err(|_| unreadable())?;
        if super::timestamp::is_timestamp_line(line) {
            on_timestamp(super::timestamp::parse_line(line, number).ok_or_else(unreadable)?)?;
        } else {
            on_checkpoint(parse_line(line, number).ok_or_else(unreadable)?)?;
        }
    }
    Ok(())
}

/// The thread that runs the command for each queued line.
fn spawn_command(program: String, args: Vec<String>, failures: Counter) -> SyncSender<String> {
    let (sender, lines) = mpsc::sync_channel::<String>(COMMAND_QUEUE);
    let spawned = std::thread::Builder::new().name("audit-witness".into()).spawn(move || {
        for line in lines {
            if let Err(error) = run_command(&program, &args, &line) {
                failures.inc();
                tracing::error!(command = %program, error = %ErrorChain(&error), "audit witness command failed");
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the audit witness command runner");
    }
    sender
}

/// Why the witness command did not take a line.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error("cannot start it")]
    Start(#[source] std::io::Error),
    #[error("cannot wait for it")]
    Wait(#[source] std::io::Error),
    #[error("it exited with {0}")]
    Failed(std::process::ExitStatus),
    #[error("it did not finish within {COMMAND_TIMEOUT:?} and was killed")]
    TimedOut,
}

/// Runs on the command's own thread; its failures are only logged and counted.
fn run_command(program: &str, args: &[String], line: &str) -> Result<(), CommandError> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(CommandError::Start)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(format!("{line}\n").as_bytes());
    }
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().map_err(CommandError::Wait)? {
            return if status.success() { Ok(()) } else { Err(CommandError::Failed(status)) };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CommandError::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::signing::{verify_checkpoint, AuditSigner};

    #[test]
    fn a_witness_line_says_everything_needed_to_check_it_and_nothing_else_parses() {
        let dir = tempfile::tempdir().unwrap();
        let signer = AuditSigner::load_or_create(&dir.path().join("key")).unwrap();
        let checkpoint = SignedCheckpoint::sign(&signer, 42, &[7; 32]);
        let text = line(&checkpoint);
        let parsed = parse_line(&text, 1).unwrap();
        assert_eq!((parsed.kind, parsed.seq, parsed.head_hash), (CheckpointKind::Head, 42, [7; 32]));
        assert!(verify_checkpoint(&parsed.public_key, parsed.kind, parsed.seq, &parsed.head_hash, parsed.signed_at_micros, &parsed.signature));
        for broken in [
            text.replace("seq=42", "seq=43x"),
            text.replace("kind=head", "kind=other"),
            text.replace(" v1 ", " v2 "),
            format!("{text} extra"),
            text.replace("signed_at=20", "signed_at=19"),
            text[..text.len() - 2].to_string() + "zz",
        ] {
            assert_eq!(parse_line(&broken, 1), None, "{broken}");
        }

        let path = dir.path().join("witness.log");
        let witness = Witness::new(Some(path.clone()), &[]);
        witness.record(&checkpoint).unwrap();
        witness.record(&SignedCheckpoint::prune_marker(&signer, 40, &[9; 32])).unwrap();
        // A line cut short by a crash is left out; a damaged complete one is named.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"spolis-audit-checkpoint v1 kind=he").unwrap();
        let read_back = read(&path).unwrap();
        assert_eq!(read_back.iter().map(|c| (c.kind, c.seq, c.line)).collect::<Vec<_>>(), [(CheckpointKind::Head, 42, 1), (CheckpointKind::Prune, 40, 2)]);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"\n").unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("line 3: not a witnessed checkpoint"), "{error}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn the_command_gets_each_line_and_its_failures_are_counted_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let signer = AuditSigner::load_or_create(&dir.path().join("key")).unwrap();
        let out = dir.path().join("shipped");
        let command = ["sh".to_string(), "-c".to_string(), format!("cat >> {}", out.display())];
        let witness = Witness::new(None, &command);
        witness.record(&SignedCheckpoint::sign(&signer, 1, &[1; 32])).unwrap();
        witness.record(&SignedCheckpoint::sign(&signer, 2, &[2; 32])).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(&out).map_or(0, |text| text.lines().count()) < 2 {
            assert!(Instant::now() < deadline, "the command did not get both lines");
            std::thread::sleep(Duration::from_millis(20));
        }
        let shipped = std::fs::read_to_string(&out).unwrap();
        assert_eq!(shipped.lines().filter_map(|l| parse_line(l, 0)).map(|c| c.seq).collect::<Vec<_>>(), [1, 2]);

        let failing = Witness::new(None, &["false".to_string()]);
        failing.record(&SignedCheckpoint::sign(&signer, 3, &[3; 32])).expect("a failing command never fails the writer");
        let deadline = Instant::now() + Duration::from_secs(20);
        while failing.failures().get() == 0 {
            assert!(Instant::now() < deadline, "the command's failure was not counted");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
