//! The local file's side of a transfer, the same for `bbs` and `bbsd`:
//! where an interrupted transfer's bytes resume, an upload's resume key and
//! SHA-256, reading the file to send in large blocks rather than one chunk
//! per system call, and hashing and writing received bytes on a thread of
//! their own ([`HashingWriter`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{chunk_len, chunks_of, Sha256Digest, CHUNK};

/// Bytes read per system call when hashing a whole file.
const HASH_BLOCK: usize = 1 << 20;

/// Bytes of the start and of the end of a file that go into its resume key.
pub const RESUME_KEY_SPAN: u64 = 1 << 20;

/// An upload's resume key (64 hex digits): the SHA-256 of the file's size,
/// its modification time and its first and last [`RESUME_KEY_SPAN`]
/// bytes. It tells "the same local file as last time" without reading the
/// whole file, so the upload request can go at once; the server names the
/// partial file of an interrupted upload by it. A change it cannot see
/// (the middle rewritten and the modification time put back) is caught by
/// the SHA-256 at the end of the transfer, which the resumed bytes then
/// fail: nothing is kept, the partial file goes, the next attempt starts
/// from the beginning.
pub fn resume_key(file: &File) -> io::Result<String> {
    let meta = file.metadata()?;
    let size = meta.len();
    let modified = meta.modified()?;
    // Before 1970 (or a clock gone wrong): the distance the other way, and
    // a flag, so two such times still differ.
    let (before_epoch, since) = match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => (0u8, since),
        Err(e) => (1u8, e.duration()),
    };
    let mut key = Sha256::new();
    key.update(b"bbs resume key 1");
    key.update(size.to_be_bytes());
    key.update([before_epoch]);
    key.update(since.as_secs().to_be_bytes());
    key.update(since.subsec_nanos().to_be_bytes());
    let head = size.min(RESUME_KEY_SPAN);
    let tail_start = size.saturating_sub(RESUME_KEY_SPAN).max(head);
    let mut buffer = vec![0u8; head.max(size - tail_start) as usize];
    for (at, len) in [(0, head), (tail_start, size - tail_start)] {
        file.read_exact_at(&mut buffer[..len as usize], at)?;
        key.update(&buffer[..len as usize]);
    }
    Ok(hex::encode(key.finalize()))
}

/// A block a sender has read: where it starts in the file, the buffer,
/// and how many of its bytes are the file's.
type Block = (u64, Vec<u8>, usize);

/// Blocks that may wait for the hashing thread. Beyond that the sender
/// does not pass them on (it never waits for the hash) and the thread
/// reads them itself.
const TAP_BLOCKS: usize = 8;

/// The sender's end of a tap: a [`ChunkReader`] made with
/// [`ChunkReader::tapped`] passes every block it reads on to the thread
/// hashing the same file ([`sha256_of`]), which then need not read the
/// file a second time (that read was a quarter of its CPU in an upload's
/// profile). Buffers come back for the reader's next blocks.
#[derive(Debug)]
pub struct BlockTap {
    blocks: std_mpsc::SyncSender<Block>,
    spares: std_mpsc::Receiver<Vec<u8>>,
}

/// The hashing thread's end of a [`BlockTap`].
#[derive(Debug)]
pub struct TapOutlet {
    blocks: std_mpsc::Receiver<Block>,
    give_back: std_mpsc::Sender<Vec<u8>>,
}

/// A tap from a sender's reads to a file's hash.
pub fn block_tap() -> (BlockTap, TapOutlet) {
    let (blocks, taken) = std_mpsc::sync_channel(TAP_BLOCKS);
    let (give_back, spares) = std_mpsc::channel();
    (BlockTap { blocks, spares }, TapOutlet { blocks: taken, give_back })
}

/// The SHA-256 of the first `size` bytes of `file`, from the blocks its
/// sender passes on through `outlet` where it can; what the sender skips
/// (an upload resumed after the start) or no longer passes on (the tap was
/// closed) it reads itself, in large positioned reads. Gives up with
/// `Interrupted` once `stop` is set (the transfer it was for ended early).
pub fn sha256_of(file: &File, size: u64, stop: &AtomicBool, outlet: TapOutlet) -> io::Result<Sha256Digest> {
    let mut hasher = Sha256::new();
    let mut at = 0;
    let mut buffer = Vec::new();
    // Until the tap closes: blocks in the order they were read.
    for (offset, block, len) in outlet.blocks.iter() {
        if stop.load(Ordering::Relaxed) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        hash_from_disk(file, &mut hasher, &mut buffer, &mut at, offset.min(size), stop)?;
        let end = (offset + len as u64).min(size);
        if end > at {
            hasher.update(&block[(at - offset) as usize..(end - offset) as usize]);
            at = end;
        }
        let _ = outlet.give_back.send(block);
        if at == size {
            break;
        }
    }
    hash_from_disk(file, &mut hasher, &mut buffer, &mut at, size, stop)?;
    Ok(hasher.finalize().into())
}

/// Feeds bytes `*at..to` of `file` to `hasher` in large positioned reads
/// into `buffer`, moving `at` on; gives up with `Interrupted` once `stop`
/// is set.
fn hash_from_disk(
    file: &File,
    hasher: &mut Sha256,
    buffer: &mut Vec<u8>,
    at: &mut u64,
    to: u64,
    stop: &AtomicBool,
) -> io::Result<()> {
    buffer.resize(HASH_BLOCK, 0);
    while *at < to {
        if stop.load(Ordering::Relaxed) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = (to - *at).min(HASH_BLOCK as u64) as usize;
        file.read_exact_at(&mut buffer[..n], *at)?;
        hasher.update(&buffer[..n]);
        *at += n as u64;
    }
    Ok(())
}

/// Runs of in-order bytes waiting for a [`HashingWriter`]'s thread: while
/// it lags, the receiving task waits, datagrams queue up, and the sender's
/// window closes (flow control reaches back to the sender).
const WRITER_QUEUE: usize = 32;

/// Received bytes on their way to disk: a blocking thread hashes each run
/// of in-order bytes and appends it to the file, so the receiving task only
/// takes in datagrams and acknowledges them (hashing costs more CPU than
/// receiving; done inline it held receiving up). Buffers come back for the
/// next runs, so no batch allocates.
#[derive(Debug)]
pub struct HashingWriter {
    bytes: Option<mpsc::Sender<Vec<u8>>>,
    spares: std_mpsc::Receiver<Vec<u8>>,
    /// The SHA-256 of the whole file once the thread has written and synced
    /// it, taken by [`HashingWriter::finish`].
    done: Option<tokio::task::JoinHandle<io::Result<Sha256Digest>>>,
}

impl HashingWriter {
    /// Starts writing after the end of `file` (opened for appending);
    /// `hasher` has hashed what the file holds already. Needs a tokio
    /// runtime.
    pub fn start(mut file: File, mut hasher: Sha256) -> HashingWriter {
        let (bytes, mut queue) = mpsc::channel::<Vec<u8>>(WRITER_QUEUE);
        let (give_back, spares) = std_mpsc::channel();
        let done = tokio::task::spawn_blocking(move || {
            while let Some(run) = queue.blocking_recv() {
                hasher.update(&run);
                file.write_all(&run)?;
                let _ = give_back.send(run);
            }
            file.sync_all()?;
            Ok(hasher.finalize().into())
        });
        HashingWriter { bytes: Some(bytes), spares, done: Some(done) }
    }

    /// An empty buffer to receive into: one the thread is done with, or new.
    pub fn spare(&self) -> Vec<u8> {
        self.spares.try_recv().unwrap_or_default()
    }

    /// Hands a run of in-order bytes over, waiting while the thread is
    /// `WRITER_QUEUE` (32) runs behind.
    pub async fn write(&mut self, run: Vec<u8>) -> io::Result<()> {
        let Some(bytes) = &self.bytes else { return Err(io::Error::other("the writer is closed")) };
        if bytes.send(run).await.is_err() {
            // The thread stopped: its error says why.
            self.finish().await?;
            return Err(io::Error::other("the writer stopped"));
        }
        Ok(())
    }

    /// No more bytes: the thread finishes what it holds, syncs the file and
    /// completes the hash.
    pub fn close(&mut self) {
        self.bytes = None;
    }

    /// Closes and waits for the thread: the SHA-256 of the whole file, or
    /// `None` if an earlier call took it.
    pub async fn finish(&mut self) -> io::Result<Option<Sha256Digest>> {
        self.close();
        let Some(done) = self.done.take() else { return Ok(None) };
        done.await.map_err(io::Error::other)?.map(Some)
    }
}

/// Chunks read at once when the sender moves on to chunks it never sent.
const READ_BLOCK_CHUNKS: u64 = 512;

/// How many whole chunks a partial file of `len` bytes holds, of a file of
/// `size` bytes (the last, shorter chunk counts once the file is whole).
pub fn whole_chunks(len: u64, size: u64) -> u64 {
    let len = len.min(size);
    if len == size {
        chunks_of(size)
    } else {
        len / CHUNK as u64
    }
}

/// The resume point of the partial file at `path` (an interrupted
/// transfer's bytes, a prefix of the file of `size` bytes): the whole
/// chunks it holds, at most `limit`, after cutting off anything beyond
/// them, and the SHA-256 state fed with those bytes. A missing file holds
/// nothing.
pub fn resume_point(path: &Path, size: u64, limit: u64) -> io::Result<(u64, Sha256)> {
    let mut hasher = Sha256::new();
    let file = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, hasher)),
        Err(e) => return Err(e),
    };
    let chunks = whole_chunks(file.metadata()?.len(), size).min(limit);
    let keep = (chunks * CHUNK as u64).min(size);
    file.set_len(keep)?;
    hash_from_disk(&file, &mut hasher, &mut Vec::new(), &mut 0, keep, &AtomicBool::new(false))?;
    Ok((chunks, hasher))
}

/// Reads the chunks of a file for its sender: chunks never sent come from
/// a block read ahead in one system call; a chunk sent again (behind the
/// block) is read alone.
#[derive(Debug)]
pub struct ChunkReader<'a> {
    file: &'a File,
    size: u64,
    block: Vec<u8>,
    /// The first chunk in `block`, and how many it holds.
    block_start: u64,
    block_chunks: u64,
    single: Vec<u8>,
    /// Where the blocks go once read, if the file is hashed meanwhile.
    tap: Option<BlockTap>,
}

impl<'a> ChunkReader<'a> {
    pub fn new(file: &'a File, size: u64) -> ChunkReader<'a> {
        ChunkReader {
            file,
            size,
            block: vec![0u8; READ_BLOCK_CHUNKS as usize * CHUNK],
            block_start: 0,
            block_chunks: 0,
            single: vec![0u8; CHUNK],
            tap: None,
        }
    }

    /// A reader that passes each block it reads on to `tap` (see
    /// [`BlockTap`]): a block when the reader moves past it, the last
    /// block as a copy at once (the hash must not wait for the end).
    pub fn tapped(file: &'a File, size: u64, tap: BlockTap) -> ChunkReader<'a> {
        ChunkReader { tap: Some(tap), ..ChunkReader::new(file, size) }
    }

    /// Stops passing blocks on (call it once every chunk is across): the
    /// hashing thread reads whatever it has not had.
    pub fn untap(&mut self) {
        self.tap = None;
    }

    /// Hands `block` (its first `len` bytes, from chunk `start`) to the
    /// tap. While the tap is full the block is not passed on (the hashing
    /// thread reads the gap itself); a closed tap is let go.
    fn pass_on(&mut self, start: u64, block: Vec<u8>, len: usize) {
        let Some(tap) = &self.tap else { return };
        if let Err(std_mpsc::TrySendError::Disconnected(_)) = tap.blocks.try_send((start * CHUNK as u64, block, len)) {
            self.tap = None;
        }
    }

    /// A buffer for a block: one back from the tap, or new.
    fn spare_block(&self) -> Vec<u8> {
        let spare = self.tap.as_ref().and_then(|tap| tap.spares.try_recv().ok());
        spare.unwrap_or_else(|| vec![0u8; READ_BLOCK_CHUNKS as usize * CHUNK])
    }

    /// The payload of chunk `chunk`.
    pub fn chunk(&mut self, chunk: u64) -> io::Result<&[u8]> {
        let len = chunk_len(self.size, chunk);
        let offset = chunk * CHUNK as u64;
        if chunk >= self.block_start && chunk < self.block_start + self.block_chunks {
            let at = ((chunk - self.block_start) * CHUNK as u64) as usize;
            return Ok(&self.block[at..at + len]);
        }
        if chunk < self.block_start {
            self.file.read_exact_at(&mut self.single[..len], offset)?;
            return Ok(&self.single[..len]);
        }
        if self.tap.is_some() && self.block_chunks > 0 {
            let last = self.block_start + self.block_chunks - 1;
            let held = (last - self.block_start) as usize * CHUNK + chunk_len(self.size, last);
            let spare = self.spare_block();
            let left = std::mem::replace(&mut self.block, spare);
            self.pass_on(self.block_start, left, held);
        }
        let bytes = (self.size - offset).min(self.block.len() as u64) as usize;
        self.file.read_exact_at(&mut self.block[..bytes], offset)?;
        self.block_start = chunk;
        self.block_chunks = chunks_of(bytes as u64);
        if self.tap.is_some() && offset + bytes as u64 == self.size {
            let mut copy = self.spare_block();
            copy[..bytes].copy_from_slice(&self.block[..bytes]);
            self.pass_on(chunk, copy, bytes);
        }
        Ok(&self.block[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn chunks_read_in_blocks_or_alone_are_the_file_s_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let size = 1300 * CHUNK as u64 + 5;
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::File::create(&path).unwrap().write_all(&bytes).unwrap();
        let file = File::open(&path).unwrap();
        let mut reader = ChunkReader::new(&file, size);
        for chunk in [0, 1, 700, 3, 1299, 1300, 2, 600] {
            let start = (chunk * CHUNK as u64) as usize;
            let expected = &bytes[start..start + chunk_len(size, chunk)];
            assert_eq!(reader.chunk(chunk).unwrap(), expected, "chunk {chunk}");
        }
    }

    /// Hashes `bytes` on a thread fed by a tapped reader that reads
    /// `chunks` in that order, untapping after `untap_after` of them.
    fn hash_through_a_tap(bytes: &[u8], chunks: &[u64], untap_after: usize) -> Sha256Digest {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let size = bytes.len() as u64;
        let (tap, outlet) = block_tap();
        let hashed = File::open(&path).unwrap();
        let hashing = std::thread::spawn(move || sha256_of(&hashed, size, &AtomicBool::new(false), outlet));
        let file = File::open(&path).unwrap();
        let mut reader = ChunkReader::tapped(&file, size, tap);
        for (i, &chunk) in chunks.iter().enumerate() {
            if i == untap_after {
                reader.untap();
            }
            let start = (chunk * CHUNK as u64) as usize;
            assert_eq!(reader.chunk(chunk).unwrap(), &bytes[start..start + chunk_len(size, chunk)]);
        }
        reader.untap();
        hashing.join().unwrap().unwrap()
    }

    #[test]
    fn a_tapped_reader_s_blocks_hash_the_whole_file_whatever_it_skips() {
        let size = 2000 * CHUNK as u64 + 17;
        let bytes: Vec<u8> = (0..size).map(|i| (i * 13 % 253) as u8).collect();
        let expected: Sha256Digest = Sha256::digest(&bytes).into();
        let every = |from: u64| (from..chunks_of(size)).collect::<Vec<_>>();
        // From the start; resumed at chunk 3 (the thread reads the three
        // itself); with retransmissions behind the block; with a gap.
        assert_eq!(hash_through_a_tap(&bytes, &every(0), usize::MAX), expected);
        assert_eq!(hash_through_a_tap(&bytes, &every(3), usize::MAX), expected);
        let mut resent = every(0);
        resent.splice(900..900, [5, 600, 899]);
        assert_eq!(hash_through_a_tap(&bytes, &resent, usize::MAX), expected);
        assert_eq!(hash_through_a_tap(&bytes, &[0, 1, 700, 1600, 2000], usize::MAX), expected);
        // Untapped half-way, or before anything was read, or nothing read.
        assert_eq!(hash_through_a_tap(&bytes, &every(0), 1000), expected);
        assert_eq!(hash_through_a_tap(&bytes, &every(0), 0), expected);
        assert_eq!(hash_through_a_tap(&bytes, &[], usize::MAX), expected);
        // An empty file, a file of exactly one block.
        assert_eq!(hash_through_a_tap(&[], &[], usize::MAX), <[u8; 32]>::from(Sha256::digest([])));
        let block = vec![9u8; READ_BLOCK_CHUNKS as usize * CHUNK];
        let whole: Vec<u64> = (0..READ_BLOCK_CHUNKS).collect();
        assert_eq!(hash_through_a_tap(&block, &whole, usize::MAX), <[u8; 32]>::from(Sha256::digest(&block)));
    }

    #[test]
    fn hashing_stops_when_its_transfer_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![1u8; 3 * HASH_BLOCK]).unwrap();
        let (tap, outlet) = block_tap();
        drop(tap);
        let stopped = AtomicBool::new(true);
        let outcome = sha256_of(&File::open(&path).unwrap(), 3 * HASH_BLOCK as u64, &stopped, outlet);
        assert_eq!(outcome.unwrap_err().kind(), io::ErrorKind::Interrupted);
    }

    #[test]
    fn the_resume_key_sees_size_time_head_and_tail_but_not_the_middle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let size = 3 * RESUME_KEY_SPAN as usize;
        let mut bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let at = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let set_time = |time| File::options().write(true).open(&path).unwrap().set_modified(time).unwrap();
        set_time(at);
        let key = || resume_key(&File::open(&path).unwrap()).unwrap();
        let original = key();
        assert_eq!(original.len(), 64);
        assert_eq!(key(), original, "the same file, the same key");
        set_time(at + std::time::Duration::from_nanos(1));
        assert_ne!(key(), original, "another modification time");
        for (index, what) in [(0, "the first byte"), (size - 1, "the last byte")] {
            bytes[index] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            set_time(at);
            assert_ne!(key(), original, "{what} changed");
            bytes[index] ^= 1;
        }
        bytes[size / 2] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        set_time(at);
        assert_eq!(key(), original, "the middle is not read (the final SHA-256 catches it)");
        // Short files: head and tail overlap, nothing is read twice or past the end.
        for len in [0, 1, RESUME_KEY_SPAN as usize + 1] {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert_eq!(key().len(), 64);
        }
    }

    #[tokio::test]
    async fn the_hashing_writer_appends_and_hashes_what_the_file_held_and_got() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partial");
        let held = vec![b'h'; CHUNK];
        std::fs::write(&path, &held).unwrap();
        let (chunks, hasher) = resume_point(&path, 10 * CHUNK as u64, u64::MAX).unwrap();
        assert_eq!(chunks, 1);
        let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let mut writer = HashingWriter::start(file, hasher);
        for run in [&b"first "[..], b"second"] {
            let mut buffer = writer.spare();
            buffer.extend_from_slice(run);
            writer.write(buffer).await.unwrap();
        }
        let digest = writer.finish().await.unwrap();
        let whole = [&held[..], b"first second"].concat();
        assert_eq!(digest, Some(Sha256::digest(&whole).into()));
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        assert_eq!(writer.finish().await.unwrap(), None, "taken once");
        assert!(writer.write(Vec::new()).await.is_err(), "closed");
    }

    #[test]
    fn the_resume_point_keeps_whole_chunks_and_hashes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partial");
        let size = 10 * CHUNK as u64;
        assert_eq!(resume_point(&path, size, u64::MAX).unwrap().0, 0, "no file, nothing held");
        let bytes = vec![3u8; 3 * CHUNK + 100];
        std::fs::write(&path, &bytes).unwrap();
        let (chunks, hasher) = resume_point(&path, size, u64::MAX).unwrap();
        assert_eq!(chunks, 3);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * CHUNK as u64, "the torn chunk is cut off");
        assert_eq!(hasher.finalize(), Sha256::digest(&bytes[..3 * CHUNK]));
        assert_eq!(resume_point(&path, size, 2).unwrap().0, 2, "never beyond the limit");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * CHUNK as u64);
    }
}
