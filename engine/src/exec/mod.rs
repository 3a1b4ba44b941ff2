//! Statement executors: what each kind of statement does, reached from the one dispatch match in
//! `Session::execute_statement`. They check access (`crate::access`), read and change the
//! namespace through the metastore, and write Delta tables through the one commit path
//! (`crate::delta::commit`).

pub(crate) mod ddl;
pub(crate) mod dml;
pub(crate) mod governance;
pub(crate) mod ingest;
pub(crate) mod maintenance;
pub(crate) mod merge;
pub(crate) mod show;
