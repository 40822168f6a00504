//! Cuts the console's linked WASM at its `#[lazy_route]`s into a main module
//! and parts the browser fetches when a page first needs them, with names
//! and a manifest that can be cached forever.
//!
//! `pgfleet-wasm-split INPUT OUT_DIR HASH` writes into OUT_DIR:
//! - `main.wasm`, the main module, for wasm-bindgen to finish;
//! - each part as `NAME.HASH.wasm` and the loader `__wasm_split.HASH.js`,
//!   which the main module imports and which imports `./pgfleet.js`
//!   (the build puts the hashed name of that file in once it exists);
//! - `__wasm_split_manifest.HASH.json`, which leptos reads on the server
//!   (hash.txt's `manifest:` line) to preload the parts of a rendered page.
//!
//! The parts keep no custom sections: the linker's function names were two
//! thirds of each part's bytes, and a browser reads none of them.
//!
//! HASH is the linked WASM's own hash: every file here is made from that
//! file alone, so one hash names them all (the splitter's own names, like
//! `chunk_3`, repeat from build to build).

use std::{collections::HashMap, fs, path::Path};

use anyhow::{bail, Context, Result};
use wasm_split_cli_support::{transform, Options};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, hash] = args.as_slice() else {
        bail!("usage: pgfleet-wasm-split INPUT.wasm OUT_DIR HASH");
    };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("HASH must be hex, not {hash:?}");
    }
    let out_dir = Path::new(out_dir);
    let input_wasm = fs::read(input).with_context(|| format!("reading {input}"))?;
    let main_out = out_dir.join("main.wasm");
    let link_name = format!("./__wasm_split.{hash}.js");

    let mut options = Options::new(&input_wasm);
    options.output_dir = out_dir;
    options.main_out_path = &main_out;
    options.link_name = &link_name;
    options.main_module = "./pgfleet.js";
    let split = transform(options).map_err(|e| anyhow::anyhow!("splitting the WASM: {e:?}"))?;

    let link_path = out_dir.join(&link_name);
    let mut loader = fs::read_to_string(&link_path).with_context(|| format!("reading {}", link_path.display()))?;
    for part in &split.split_modules {
        let stem = part
            .file_stem()
            .and_then(|s| s.to_str())
            .with_context(|| format!("a part without a name: {}", part.display()))?;
        let (from, to) = (format!("\"./{stem}.wasm\""), format!("\"./{stem}.{hash}.wasm\""));
        if !loader.contains(&from) {
            bail!("the loader does not name {from}; the splitter's output has changed shape");
        }
        loader = loader.replace(&from, &to);
        let bytes = fs::read(part).with_context(|| format!("reading {}", part.display()))?;
        let stripped = without_custom_sections(&bytes).with_context(|| format!("reading {}", part.display()))?;
        fs::write(out_dir.join(format!("{stem}.{hash}.wasm")), stripped)?;
        fs::remove_file(part)?;
    }
    fs::write(&link_path, loader)?;

    let manifest: HashMap<&String, Vec<String>> = split
        .prefetch_map
        .iter()
        .map(|(route, parts)| (route, parts.iter().map(|part| format!("{part}.{hash}")).collect()))
        .collect();
    fs::write(out_dir.join(format!("__wasm_split_manifest.{hash}.json")), serde_json::to_string_pretty(&manifest)?)?;
    eprintln!("split into the main module and {} parts", split.split_modules.len());
    Ok(())
}

/// `module` without its custom sections (id 0: names, producers, target
/// features), which only tools read.
fn without_custom_sections(module: &[u8]) -> Result<Vec<u8>> {
    const HEADER: usize = 8;
    if module.len() < HEADER || &module[..4] != b"\0asm" {
        bail!("not a WASM module");
    }
    let mut out = module[..HEADER].to_vec();
    let mut at = HEADER;
    while at < module.len() {
        let id = module[at];
        let (size, size_len) = leb128(&module[at + 1..]).context("a section's size is cut short")?;
        let end = at + 1 + size_len + size;
        if end > module.len() {
            bail!("a section runs past the end of the module");
        }
        if id != 0 {
            out.extend_from_slice(&module[at..end]);
        }
        at = end;
    }
    Ok(out)
}

/// An unsigned LEB128 number at the start of `bytes`, and its length.
fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_sections_go_and_the_rest_stays_byte_for_byte() {
        let header = b"\0asm\x01\0\0\0".to_vec();
        let types = [1u8, 4, 1, 0x60, 0, 0];
        let mut names = vec![0u8, 0x85, 0x01, 4];
        names.extend_from_slice(b"name");
        names.extend(std::iter::repeat(7).take(128));
        let module = [header.clone(), names, types.to_vec()].concat();
        assert_eq!(without_custom_sections(&module).unwrap(), [header, types.to_vec()].concat());
        assert!(without_custom_sections(b"\0asm\x01\0\0\0\x01\x09").is_err());
        assert!(without_custom_sections(b"nope").is_err());
    }
}
