//! The local file's side of a transfer, the same for `bbs` and `bbsd`:
//! where an interrupted transfer's bytes resume, and reading the file to
//! send in large blocks rather than one chunk per system call.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{chunk_len, chunks_of, CHUNK};

/// Bytes read per system call when hashing a whole file.
const HASH_BLOCK: usize = 1 << 20;

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
    let mut buffer = vec![0u8; HASH_BLOCK];
    let mut at = 0;
    while at < keep {
        let n = (keep - at).min(buffer.len() as u64) as usize;
        file.read_exact_at(&mut buffer[..n], at)?;
        hasher.update(&buffer[..n]);
        at += n as u64;
    }
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
        }
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
        let bytes = (self.size - offset).min(self.block.len() as u64) as usize;
        self.file.read_exact_at(&mut self.block[..bytes], offset)?;
        self.block_start = chunk;
        self.block_chunks = chunks_of(bytes as u64);
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
