//! What a load reads (`system.ingest.load`, and COPY INTO's listing): the objects under a
//! location (or matching a glob under it), and each
//! object opened as a stream of *units* — a plain file, a `.gz` file, or each member of a
//! `.tar`, `.tar.gz` or `.tgz` archive (a member may itself be `.gz`). Nothing is extracted to
//! disk and no object or member is held whole in memory: the object's bytes are read from its
//! store as a stream, through gzip and tar, straight into the parser.

use std::io::Read;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use url::Url;

use crate::error::{EngineError, Result};

/// How an object's bytes hold its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packing {
    /// One unit: the object.
    Plain,
    /// One unit: the object through gzip.
    Gzip,
    /// Each member is a unit.
    Tar,
    /// Each member of the object through gzip is a unit.
    TarGzip,
}

impl Packing {
    fn of(name: &str) -> Packing {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Packing::TarGzip
        } else if lower.ends_with(".tar") {
            Packing::Tar
        } else if lower.ends_with(".gz") {
            Packing::Gzip
        } else {
            Packing::Plain
        }
    }

    pub(crate) fn is_archive(self) -> bool {
        matches!(self, Packing::Tar | Packing::TarGzip)
    }
}

/// An object to read.
#[derive(Debug, Clone)]
pub(crate) struct SourceObject {
    pub meta: ObjectMeta,
    /// Its URL, as records and `_source_file` name it.
    pub url: String,
    /// Its name relative to the listed location.
    pub relative: String,
    pub packing: Packing,
}

impl SourceObject {
    /// Its base name.
    pub(crate) fn name(&self) -> &str {
        self.meta.location.filename().unwrap_or_default()
    }

    pub(crate) fn record(&self) -> weir_catalog::IngestSource {
        weir_catalog::IngestSource {
            path: self.url.clone(),
            size: self.meta.size as i64,
            modified_ms: self.meta.last_modified.timestamp_millis(),
        }
    }
}

/// Where to list: a location, and a glob over names relative to it when the source held one.
#[derive(Debug)]
pub(crate) struct SourceSpec {
    pub location: String,
    pub glob: Option<glob::Pattern>,
}

impl SourceSpec {
    /// Splits `source` at the last `/` before its first glob character (`*`, `?`, `[`).
    pub(crate) fn parse(source: &str) -> Result<SourceSpec> {
        let Some(first) = source.find(['*', '?', '[']) else {
            return Ok(SourceSpec {
                location: source.to_string(),
                glob: None,
            });
        };
        let cut = source[..first].rfind('/').ok_or_else(|| {
            option_error(format!(
                "source '{source}': a glob needs a directory before it ('/drop/*.csv')"
            ))
        })?;
        let glob = glob::Pattern::new(&source[cut + 1..])
            .map_err(|e| option_error(format!("source '{source}' is not a valid glob: {e}")))?;
        Ok(SourceSpec {
            location: source[..=cut].to_string(),
            glob: Some(glob),
        })
    }
}

pub(crate) fn option_error(message: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "22023",
        message,
    }
}

/// The objects under `prefix` of `store` (recursively; names starting with `_` or `.` are
/// skipped), those matching `glob` when there is one, in name order.
pub(crate) async fn list_objects(
    store: &Arc<dyn ObjectStore>,
    store_url: &Url,
    prefix: &Path,
    glob: Option<&glob::Pattern>,
) -> Result<Vec<SourceObject>> {
    let listed: Vec<ObjectMeta> = store
        .list(Some(prefix))
        .try_collect()
        .await
        .map_err(|e| EngineError::Storage(format!("listing {store_url}/{prefix}: {e}")))?;
    let prefix_text = prefix.as_ref();
    let mut out = Vec::new();
    for meta in listed {
        let full = meta.location.as_ref();
        let relative = full
            .strip_prefix(prefix_text)
            .unwrap_or(full)
            .trim_start_matches('/')
            .to_string();
        if relative
            .split('/')
            .any(|part| part.starts_with('_') || part.starts_with('.'))
        {
            continue;
        }
        if let Some(g) = glob {
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: false,
            };
            if !g.matches_with(&relative, options) {
                continue;
            }
        }
        // Each segment percent-encoded: a name holding `#`, `?` or `%` names this object.
        let mut url = store_url.clone();
        url.path_segments_mut()
            .map_err(|_| EngineError::invalid(format!("file {full}: {store_url} has no path")))?
            .clear()
            .extend(full.split('/'));
        let packing = Packing::of(full);
        out.push(SourceObject {
            meta,
            url: url.to_string(),
            relative,
            packing,
        });
    }
    out.sort_by(|a, b| a.meta.location.cmp(&b.meta.location));
    Ok(out)
}

/// Opens `object` for blocking reads (call from a blocking thread): its bytes as they arrive
/// from the store.
pub(crate) fn open_blocking(
    store: &Arc<dyn ObjectStore>,
    object: &SourceObject,
    handle: &tokio::runtime::Handle,
) -> Result<Box<dyn Read + Send>> {
    let result = handle
        .block_on(store.get(&object.meta.location))
        .map_err(|e| EngineError::Storage(format!("reading {}: {e}", object.url)))?;
    let stream = result
        .into_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    let reader = tokio_util::io::StreamReader::new(stream);
    let bridge = tokio_util::io::SyncIoBridge::new_with_handle(reader, handle.clone());
    Ok(Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        bridge,
    )))
}

/// One unit of an object, handed to `visit` as a reader of its (decompressed) bytes.
pub(crate) struct Unit<'a> {
    /// The archive member's path, for a member.
    pub member: Option<String>,
    /// The unit's size as stored (the object's, or the member's).
    pub size: i64,
    pub reader: &'a mut dyn Read,
}

impl Unit<'_> {
    /// The name its file-name template is matched against.
    pub(crate) fn name<'n>(&'n self, object: &'n SourceObject) -> &'n str {
        match &self.member {
            Some(m) => m.rsplit('/').next().unwrap_or(m),
            None => object.name(),
        }
    }
}

/// Reads every unit of `object` from `bytes` in order, handing each to `visit`, which may
/// leave it unread (tar skips the rest of a member before the next). Members whose base name
/// starts with `.` or `_` are not units.
pub(crate) fn for_each_unit(
    object: &SourceObject,
    bytes: Box<dyn Read + Send>,
    mut visit: impl FnMut(&mut Unit<'_>) -> Result<()>,
) -> Result<()> {
    let io_error = |e: std::io::Error| EngineError::Coded {
        sqlstate: "22000",
        message: format!("reading {}: {e}", object.url),
    };
    match object.packing {
        Packing::Plain => {
            let mut reader = bytes;
            visit(&mut Unit {
                member: None,
                size: object.meta.size as i64,
                reader: &mut reader,
            })
        }
        Packing::Gzip => {
            let mut reader = flate2::read::MultiGzDecoder::new(bytes);
            visit(&mut Unit {
                member: None,
                size: object.meta.size as i64,
                reader: &mut reader,
            })
        }
        Packing::Tar | Packing::TarGzip => {
            let inner: Box<dyn Read> = if object.packing == Packing::TarGzip {
                Box::new(flate2::read::MultiGzDecoder::new(bytes))
            } else {
                bytes
            };
            let mut archive = tar::Archive::new(inner);
            for entry in archive.entries().map_err(io_error)? {
                let mut entry = entry.map_err(io_error)?;
                if !entry.header().entry_type().is_file() {
                    continue;
                }
                let path = entry.path().map_err(io_error)?;
                let member = path.to_string_lossy().trim_start_matches("./").to_string();
                let base = member.rsplit('/').next().unwrap_or(&member);
                if base.starts_with('.') || base.starts_with('_') {
                    continue;
                }
                let size = entry.header().size().map_err(io_error)? as i64;
                if member.to_ascii_lowercase().ends_with(".gz") {
                    let mut reader = flate2::read::MultiGzDecoder::new(&mut entry);
                    visit(&mut Unit {
                        member: Some(member),
                        size,
                        reader: &mut reader,
                    })?;
                } else {
                    visit(&mut Unit {
                        member: Some(member),
                        size,
                        reader: &mut entry,
                    })?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_splits_at_its_directory() {
        let s = SourceSpec::parse("s3://b/drops/2026-*/part_*.tar.gz").expect("spec");
        assert_eq!(s.location, "s3://b/drops/");
        assert!(s.glob.expect("glob").matches("2026-12/part_1.tar.gz"));
        let plain = SourceSpec::parse("/data/drop").expect("spec");
        assert_eq!(
            (plain.location.as_str(), plain.glob.is_none()),
            ("/data/drop", true)
        );
        assert!(SourceSpec::parse("*.csv").is_err());
    }

    #[test]
    fn packing_follows_the_name() {
        assert_eq!(Packing::of("a.TAR.GZ"), Packing::TarGzip);
        assert_eq!(Packing::of("a.tgz"), Packing::TarGzip);
        assert_eq!(Packing::of("a.tar"), Packing::Tar);
        assert_eq!(Packing::of("a.csv.gz"), Packing::Gzip);
        assert_eq!(Packing::of("a.csv"), Packing::Plain);
    }
}
