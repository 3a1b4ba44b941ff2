//! Where table data lives: resolving locations to URLs and opening/creating Delta tables with the
//! configured object-store credentials.

use std::collections::HashMap;
use std::path::Path;

use deltalake::{DeltaTable, DeltaTableBuilder};
use url::Url;

use crate::error::{EngineError, Result};

/// Object-store settings shared by every table.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Root for managed tables when neither the schema nor the catalog has a managed location.
    pub warehouse: Url,
    /// delta-rs / object_store options (`aws_endpoint`, `aws_region`, `aws_access_key_id`, ...).
    /// Standard `AWS_*` environment variables are read by the S3 store as well.
    pub options: HashMap<String, String>,
}

impl StorageConfig {
    pub fn local(warehouse_dir: &Path) -> Result<Self> {
        Ok(StorageConfig {
            warehouse: dir_url(warehouse_dir)?,
            options: HashMap::new(),
        })
    }

    /// Parses a user-given location: `s3://`, `s3a://`, `file://` or an absolute local path.
    /// `s3a://` (Hadoop's spelling) is returned as `s3://`, so that one object has one name
    /// (in the files a table loaded, in lineage).
    pub fn resolve_location(&self, location: &str) -> Result<Url> {
        let location = location.trim();
        if location.starts_with('/') {
            return dir_url(Path::new(location));
        }
        let mut url = Url::parse(location)
            .map_err(|e| EngineError::invalid(format!("invalid location '{location}': {e}")))?;
        if url.scheme() == "s3a" && url.set_scheme("s3").is_err() {
            return Err(EngineError::invalid(format!(
                "invalid location '{location}'"
            )));
        }
        match url.scheme() {
            "s3" | "file" => Ok(with_trailing_slash(url)),
            other => Err(EngineError::invalid(format!(
                "unsupported location scheme '{other}' in '{location}': use s3://, s3a://, file:// or an absolute path"
            ))),
        }
    }

    /// `root/<segment>/` under a base location. The segment is percent-encoded, so the result
    /// is always directly under `base`.
    pub fn child(base: &Url, segment: &str) -> Result<Url> {
        let mut url = with_trailing_slash(base.clone());
        url.path_segments_mut()
            .map_err(|_| EngineError::Internal(format!("cannot derive a location under {base}")))?
            .pop_if_empty()
            .push(segment)
            .push("");
        Ok(url)
    }

    fn builder(&self, url: &Url) -> Result<DeltaTableBuilder> {
        Ok(DeltaTableBuilder::from_url(url.clone())?.with_storage_options(self.options.clone()))
    }

    /// Loads the latest version of the Delta table at `url`.
    pub async fn open_table(&self, url: &Url) -> Result<DeltaTable> {
        self.builder(url)?.load().await.map_err(|e| match e {
            deltalake::DeltaTableError::NotATable(_) => {
                EngineError::invalid(format!("there is no Delta table at '{url}'"))
            }
            other => other.into(),
        })
    }

    /// A handle to a location that may not hold a table yet (for CREATE).
    pub fn uninitialized_table(&self, url: &Url) -> Result<DeltaTable> {
        Ok(self.builder(url)?.build()?)
    }

    /// True if a Delta log exists at `url`.
    pub async fn table_exists(&self, url: &Url) -> Result<bool> {
        Ok(self
            .uninitialized_table(url)?
            .verify_deltatable_existence()
            .await?)
    }

    /// Removes everything under a managed table's root.
    pub async fn delete_tree(&self, url: &Url) -> Result<()> {
        use futures::{StreamExt, TryStreamExt};
        let table = self.uninitialized_table(url)?;
        let store = table.object_store();
        let locations = store.list(None).map_ok(|m| m.location).boxed();
        store
            .delete_stream(locations)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| EngineError::Storage(format!("removing data under {url}: {e}")))?;
        // A local file system keeps the emptied directories; remove them too.
        if url.scheme() == "file" {
            if let Ok(path) = url.to_file_path() {
                match tokio::fs::remove_dir_all(&path).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(EngineError::Storage(format!(
                            "removing {}: {e}",
                            path.display()
                        )))
                    }
                }
            }
        }
        Ok(())
    }
}

/// A location as external locations compare them: the URL without a trailing `/`, `s3a://`
/// spelled `s3://`. Refused when a path segment is `.` or `..` (however encoded): such a path
/// could name files outside the location it seems to lie in.
pub fn location_key(url: &Url) -> Result<String> {
    let dot_segment = |segment: &str| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    };
    if url
        .path_segments()
        .is_some_and(|mut segments| segments.any(dot_segment))
    {
        return Err(EngineError::invalid(format!(
            "location '{url}' has a '.' or '..' segment: write the path it means"
        )));
    }
    let key = url.as_str().trim_end_matches('/');
    Ok(match key.strip_prefix("s3a://") {
        Some(rest) => format!("s3://{rest}"),
        None => key.to_string(),
    })
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url
}

fn dir_url(path: &Path) -> Result<Url> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| EngineError::Internal(format!("current directory: {e}")))?
            .join(path)
    };
    Url::from_directory_path(&abs).map_err(|_| {
        EngineError::invalid(format!("'{}' is not a valid directory path", abs.display()))
    })
}
