//! The console's built files: the names they have (content-hashed by
//! `.ci/build-site`, listed in `pkg/hash.txt`) and how they are served
//! (the brotli or gzip copy the build made, by `Accept-Encoding`; a year
//! and `immutable` for a hashed name, since a new build is a new name;
//! revalidated for everything else).
//!
//! Without a build (or with one made before names were hashed) the plain
//! names are used, so a server never links to a file that is not there.

use std::path::{Path, PathBuf};

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// Where the build lists its hashes, in leptos' `key: hash` lines.
pub const HASH_FILE: &str = "pkg/hash.txt";

/// The hashed name of the file pages link to by hand, the stylesheet
/// (leptos' `<HydrationScripts>` finds the script and WASM itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assets {
    stylesheet: String,
}

impl Assets {
    /// Reads `site_root/pkg/hash.txt`, once at start.
    pub fn load(site_root: &Path) -> Assets {
        let hashes = std::fs::read_to_string(site_root.join(HASH_FILE)).unwrap_or_default();
        Assets::from_hashes(&hashes)
    }

    fn from_hashes(hashes: &str) -> Assets {
        let hash_of = |key: &str| {
            hashes.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == key).then(|| v.trim().to_string()).filter(|v| is_hash(v))
            })
        };
        let stylesheet = match hash_of("css") {
            Some(hash) => format!("/pkg/pgfleet.{hash}.css"),
            None => "/pkg/pgfleet.css".to_string(),
        };
        Assets { stylesheet }
    }

    /// The hash list leptos should read, when the build made one. Leptos
    /// joins it to the executable's directory; an absolute path replaces that.
    pub fn hash_file(site_root: &Path) -> Option<PathBuf> {
        let path = site_root.join(HASH_FILE);
        let path = if path.is_absolute() { path } else { std::env::current_dir().ok()?.join(path) };
        path.is_file().then_some(path)
    }

    pub fn stylesheet(&self) -> &str {
        &self.stylesheet
    }
}

/// Hex of the length the build writes (16), or longer.
fn is_hash(text: &str) -> bool {
    text.len() >= 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True for `/pkg/NAME.HASH.EXT` (and its `.br`/`.gz` forms, which the
/// server never names in a URL but a client may ask for).
pub fn is_hashed_path(path: &str) -> bool {
    let Some(file) = path.strip_prefix("/pkg/") else { return false };
    file.split('.').skip(1).any(is_hash)
}

/// Sets how long a served file may be kept, and that caches must keep its
/// copies apart by encoding (the build made brotli and gzip ones).
pub fn set_file_headers(path: &str, response: &mut Response) {
    let policy = if is_hashed_path(path) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_hash_list() {
        let assets = Assets::from_hashes("wasm: 0123456789abcdef\njs: 1111111111111111\ncss: 89abcdef01234567\n");
        assert_eq!(assets.stylesheet(), "/pkg/pgfleet.89abcdef01234567.css");
    }

    #[test]
    fn without_a_list_or_with_a_bad_line_the_plain_names_are_used() {
        let assets = Assets::from_hashes("");
        assert_eq!(assets.stylesheet(), "/pkg/pgfleet.css");
        let assets = Assets::from_hashes("css: ../../etc\njs:\n");
        assert_eq!(assets.stylesheet(), "/pkg/pgfleet.css");
    }

    #[test]
    fn only_hashed_package_files_are_immutable() {
        assert!(is_hashed_path("/pkg/pgfleet.0123456789abcdef.wasm"));
        assert!(is_hashed_path("/pkg/pgfleet.0123456789abcdef.wasm.br"));
        assert!(!is_hashed_path("/pkg/pgfleet.wasm"));
        assert!(!is_hashed_path("/pkg/hash.txt"));
        assert!(!is_hashed_path("/status.js"));
        assert!(!is_hashed_path("/favicon.0123456789abcdef.svg"));
    }
}
