//! The statistics rebuilt on the embedded store, inside the import's write transaction, so
//! readers see them change together with the register they describe.

use rusqlite::Connection;

use super::{entries_sql, events_sql, merge, parse_date, EntryRow, EventRow, PersonGrouper, StoredCell};
use crate::store::sqlite::error;
use crate::store::StoreError;

const INSERT_CELL: &str = "INSERT INTO queue_statistics (month, municipality_id, service_kind_id, provider_id, \
     waiting, admitted, offered, declined, granted, refused, removed, median_wait_days, percentile90_wait_days, suppressed) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/// Rebuilds `queue_statistics` from the register on `conn` (in the caller's transaction).
pub(crate) fn rebuild(conn: &Connection) -> Result<usize, StoreError> {
    let what = "statistics: read the register";
    let mut grouper = PersonGrouper::new();
    let mut entries_stmt = conn.prepare(&entries_sql("")).map_err(error(what))?;
    let mut events_stmt = conn.prepare(&events_sql("")).map_err(error(what))?;
    let mut entries = entries_stmt.query([]).map_err(error(what))?;
    let mut events = events_stmt.query([]).map_err(error(what))?;
    let next_entry = || -> Result<Option<(i64, EntryRow)>, StoreError> {
        let Some(row) = entries.next().map_err(error(what))? else { return Ok(None) };
        let read = || -> rusqlite::Result<(i64, Option<i64>, i64, i64, Option<i64>, String, i64)> {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
        };
        let (person, application_id, service_kind_id, provider_id, municipality_id, since, active) = read().map_err(error(what))?;
        let queued_since = parse_date(&since, what)?;
        Ok(Some((person, EntryRow { application_id, service_kind_id, provider_id, municipality_id, queued_since, active: active == 1 })))
    };
    let next_event = || -> Result<Option<(i64, EventRow)>, StoreError> {
        let Some(row) = events.next().map_err(error(what))? else { return Ok(None) };
        let read = || -> rusqlite::Result<(i64, Option<i64>, i64, String, i64, Option<i64>, Option<i64>)> {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
        };
        let (person, application_id, kind, date, service_kind_id, provider_id, municipality_id) = read().map_err(error(what))?;
        let date = parse_date(&date, what)?;
        Ok(Some((person, EventRow { application_id, kind: kind as u8, date, service_kind_id, provider_id, municipality_id })))
    };
    merge(&mut grouper, next_entry, next_event, |row| row, |row| row)?;
    drop((entries, events));
    let (cells, horizon) = grouper.builder.finish();
    write(conn, &cells, horizon.0)?;
    Ok(cells.len())
}

fn write(conn: &Connection, cells: &[StoredCell], horizon: i32) -> Result<(), StoreError> {
    let what = "statistics: store";
    conn.execute(super::DELETE_CELLS, []).map_err(error(what))?;
    conn.execute(super::DELETE_HORIZON, []).map_err(error(what))?;
    let mut insert = conn.prepare(INSERT_CELL).map_err(error(what))?;
    for cell in cells {
        let c = cell.counts;
        insert
            .execute(rusqlite::params![
                cell.month,
                cell.municipality_id,
                cell.service_kind_id,
                cell.provider_id,
                c[0], c[1], c[2], c[3], c[4], c[5], c[6],
                cell.median_wait_days,
                cell.percentile90_wait_days,
                cell.suppressed,
            ])
            .map_err(error(what))?;
    }
    let built_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    conn.execute(&super::INSERT_HORIZON.replace('$', "?"), rusqlite::params![horizon, built_at]).map_err(error(what))?;
    Ok(())
}
