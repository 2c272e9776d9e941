//! The register copied from a SQLite file into PostgreSQL (the demo seeder, migrations of
//! data): every row with the same ids and text, in one transaction, through `COPY`.

use std::path::Path;

use tokio_postgres::Client;

use super::postgres::error;
use super::sqlite::error as sqlite_error;
use super::StoreError;
use crate::database::postgres::{connect, migrate, PostgresOptions};
use crate::database::runtime::block_on;

/// Migrates the PostgreSQL database at `url` and copies the SQLite register at
/// `sqlite_path` into it (see [`import_from_sqlite`]). Blocks the calling thread.
pub fn import_sqlite_register(url: &str, options: &PostgresOptions, sqlite_path: &Path) -> Result<u64, StoreError> {
    block_on(|| async {
        let mut client = connect(url, options).await?;
        migrate(&mut client).await?;
        import_from_sqlite(&mut client, sqlite_path).await
    })
}

/// Whether the PostgreSQL register at `url` holds persons (migrating it first if needed).
/// Blocks the calling thread.
pub fn holds_persons(url: &str, options: &PostgresOptions) -> Result<bool, StoreError> {
    block_on(|| async {
        let mut client = connect(url, options).await?;
        migrate(&mut client).await?;
        let what = "check the register is empty";
        client
            .query_one("SELECT EXISTS (SELECT 1 FROM persons)", &[])
            .await
            .map_err(error(what))?
            .try_get(0)
            .map_err(error(what))
    })
}

/// Copies every register row (and the queue statistics built from them) of the SQLite
/// register at `sqlite_path` into the (migrated, empty) PostgreSQL register, with the same ids and text, in one transaction (`COPY`).
/// Refuses a register that already holds persons. Returns the rows copied.
async fn import_from_sqlite(client: &mut Client, sqlite_path: &Path) -> Result<u64, StoreError> {
    use futures_util::SinkExt;

    let what = "import";
    let source = rusqlite::Connection::open_with_flags(sqlite_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_error("import: open the SQLite register"))?;
    let tx = client.transaction().await.map_err(error(what))?;
    let holds_persons: bool =
        tx.query_one("SELECT EXISTS (SELECT 1 FROM persons)", &[]).await.map_err(error(what))?.try_get(0).map_err(error(what))?;
    if holds_persons {
        return Err(StoreError::Unavailable("import: the PostgreSQL register already holds persons".into()));
    }
    let mut rows = 0u64;
    // The statistics built from the SQLite register describe the same rows: copied with them.
    for table in super::REGISTER_TABLES.iter().chain(&crate::statistics::TABLES) {
        let sink = tx.copy_in(&format!("COPY {table} FROM STDIN")).await.map_err(error(what))?;
        futures_util::pin_mut!(sink);
        let mut statement = source
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .map_err(sqlite_error("import: read the SQLite register"))?;
        let columns = statement.column_count();
        let mut buffer = Vec::with_capacity(1 << 20);
        let mut cursor = statement.query([]).map_err(sqlite_error("import: read the SQLite register"))?;
        while let Some(row) = cursor.next().map_err(sqlite_error("import: read the SQLite register"))? {
            for i in 0..columns {
                if i > 0 {
                    buffer.push(b'\t');
                }
                let value = row.get_ref(i).map_err(sqlite_error("import: read the SQLite register"))?;
                copy_text_value(&mut buffer, value);
            }
            buffer.push(b'\n');
            rows += 1;
            if buffer.len() >= 1 << 20 {
                sink.send(bytes::Bytes::from(std::mem::take(&mut buffer))).await.map_err(error(what))?;
            }
        }
        if !buffer.is_empty() {
            sink.send(bytes::Bytes::from(buffer)).await.map_err(error(what))?;
        }
        sink.finish().await.map_err(error(what))?;
    }
    tx.batch_execute("ANALYZE").await.map_err(error(what))?;
    tx.commit().await.map_err(error(what))?;
    Ok(rows)
}

/// One value in `COPY … FROM STDIN`'s text format: `\N` for NULL, text with backslash,
/// tab and line breaks escaped.
fn copy_text_value(out: &mut Vec<u8>, value: rusqlite::types::ValueRef<'_>) {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        ValueRef::Text(text) | ValueRef::Blob(text) => {
            for &byte in text {
                match byte {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    other => out.push(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_values_are_escaped() {
        let mut out = Vec::new();
        copy_text_value(&mut out, rusqlite::types::ValueRef::Text(b"a\tb\\c\nd"));
        out.push(b'|');
        copy_text_value(&mut out, rusqlite::types::ValueRef::Null);
        assert_eq!(out, b"a\\tb\\\\c\\nd|\\N");
    }
}
