//! Files over UDP: the command types, and the rule for file names.

/// `get-file-list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFileList;

/// `send-file <path>...`: local paths, uploaded one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFile {
    pub paths: Vec<String>,
}

/// `get-file <name>...`: names in the file area, downloaded one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFile {
    pub names: Vec<String>,
}

/// The longest file name, in bytes (what common file systems allow).
pub const MAX_NAME: usize = 255;

/// Whether `name` may name a file in the file area and in the client's
/// current directory: one path component, nothing that walks up or hides
/// a control character. Both sides check, so a hostile client cannot
/// escape the server's file area and a hostile server cannot make the
/// client write outside its current directory.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// The name a local path is sent under: its last component, as typed
/// (`dir/` gives `dir`, `a/..` gives `..`, which is then refused).
pub fn name_of_path(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return path;
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_or_mislead_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb", "a\u{1b}[2J", &"x".repeat(256)] {
            assert!(!valid_file_name(bad), "{bad:?}");
        }
        for good in ["a.txt", ".hidden", "...", "報告.pdf", "a b", &"x".repeat(255)] {
            assert!(valid_file_name(good), "{good:?}");
        }
    }

    #[test]
    fn the_name_is_the_last_component() {
        assert_eq!(name_of_path("/tmp/x/report.pdf"), "report.pdf");
        assert_eq!(name_of_path("dir/"), "dir");
        assert_eq!(name_of_path("a/.."), "..");
        assert_eq!(name_of_path("/"), "/");
        assert_eq!(name_of_path("plain"), "plain");
    }
}
