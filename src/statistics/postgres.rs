//! The statistics rebuilt on PostgreSQL, inside the import's transaction: a full import reads
//! the tables it loaded (`register_next_*`) before its switch, so the switch's locks are held
//! no longer than before; a delta reads the live tables after its changes. The instances go
//! on reading the old statistics until the commit.

use tokio::runtime::Runtime;
use tokio_postgres::Transaction;

use super::{entries_sql, events_sql, merge, parse_date, EntryRow, EventRow, PersonGrouper, StoredCell};
use crate::store::postgres::error;
use crate::store::StoreError;

/// Rows fetched from a portal at a time.
const BATCH: i32 = 5000;

const INSERT_CELLS: &str = "INSERT INTO queue_statistics (month, municipality_id, service_kind_id, provider_id, \
     waiting, admitted, offered, declined, granted, refused, removed, median_wait_days, percentile90_wait_days, suppressed) \
     SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::int[], $7::int[], $8::int[], \
     $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::int[])";

/// A portal read in batches.
struct Cursor<'a> {
    rt: &'a Runtime,
    tx: &'a Transaction<'a>,
    portal: tokio_postgres::Portal,
    buffered: std::collections::VecDeque<tokio_postgres::Row>,
    done: bool,
}

impl Cursor<'_> {
    fn next(&mut self) -> Result<Option<tokio_postgres::Row>, StoreError> {
        if self.buffered.is_empty() && !self.done {
            let rows = self.rt.block_on(self.tx.query_portal(&self.portal, BATCH)).map_err(error("statistics: read the register"))?;
            self.done = rows.len() < BATCH as usize;
            self.buffered.extend(rows);
        }
        Ok(self.buffered.pop_front())
    }
}

/// Rebuilds `queue_statistics` from the register tables named with `prefix` (in the caller's
/// transaction).
pub(crate) fn rebuild(rt: &Runtime, tx: &Transaction<'_>, prefix: &str) -> Result<usize, StoreError> {
    let what = "statistics: read the register";
    let bind = |sql: String| rt.block_on(tx.bind(&sql, &[])).map_err(error(what));
    let mut entries = Cursor { rt, tx, portal: bind(entries_sql(prefix))?, buffered: Default::default(), done: false };
    let mut events = Cursor { rt, tx, portal: bind(events_sql(prefix))?, buffered: Default::default(), done: false };
    let mut grouper = PersonGrouper::new();
    let next_entry = || -> Result<Option<(i64, EntryRow)>, StoreError> {
        let Some(row) = entries.next()? else { return Ok(None) };
        let read = || -> Result<_, tokio_postgres::Error> {
            Ok((row.try_get::<_, i64>(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?, row.try_get::<_, String>(5)?, row.try_get::<_, i32>(6)?))
        };
        let (person, application_id, service_kind_id, provider_id, municipality_id, since, active) = read().map_err(error(what))?;
        let queued_since = parse_date(&since, what)?;
        Ok(Some((person, EntryRow { application_id, service_kind_id, provider_id, municipality_id, queued_since, active: active == 1 })))
    };
    let next_event = || -> Result<Option<(i64, EventRow)>, StoreError> {
        let Some(row) = events.next()? else { return Ok(None) };
        let read = || -> Result<_, tokio_postgres::Error> {
            Ok((row.try_get::<_, i64>(0)?, row.try_get(1)?, row.try_get::<_, i32>(2)?, row.try_get::<_, String>(3)?, row.try_get(4)?, row.try_get(5)?, row.try_get(6)?))
        };
        let (person, application_id, kind, date, service_kind_id, provider_id, municipality_id) = read().map_err(error(what))?;
        let date = parse_date(&date, what)?;
        Ok(Some((person, EventRow { application_id, kind: kind as u8, date, service_kind_id, provider_id, municipality_id })))
    };
    merge(&mut grouper, next_entry, next_event, |row| row, |row| row)?;
    let (cells, horizon) = grouper.builder.finish();
    write(rt, tx, &cells, horizon.0)?;
    Ok(cells.len())
}

fn write(rt: &Runtime, tx: &Transaction<'_>, cells: &[StoredCell], horizon: i32) -> Result<(), StoreError> {
    let what = "statistics: store";
    rt.block_on(tx.batch_execute(&format!("{}; {}", super::DELETE_CELLS, super::DELETE_HORIZON))).map_err(error(what))?;
    for chunk in cells.chunks(20_000) {
        let ints = |f: &dyn Fn(&StoredCell) -> i32| chunk.iter().map(f).collect::<Vec<i32>>();
        let ids = |f: &dyn Fn(&StoredCell) -> i64| chunk.iter().map(f).collect::<Vec<i64>>();
        let count = |m: usize| ints(&|c| c.counts[m] as i32);
        let optional = |f: &dyn Fn(&StoredCell) -> Option<u32>| chunk.iter().map(|c| f(c).map(|v| v as i32)).collect::<Vec<Option<i32>>>();
        let (months, municipalities, kinds, providers) =
            (ints(&|c| c.month), ids(&|c| c.municipality_id), ids(&|c| c.service_kind_id), ids(&|c| c.provider_id));
        let counts: Vec<Vec<i32>> = (0..7).map(count).collect();
        let (medians, percentiles) = (optional(&|c| c.median_wait_days), optional(&|c| c.percentile90_wait_days));
        let suppressed: Vec<i32> = chunk.iter().map(|c| i32::from(c.suppressed)).collect();
        rt.block_on(tx.execute(
            INSERT_CELLS,
            &[
                &months, &municipalities, &kinds, &providers, &counts[0], &counts[1], &counts[2], &counts[3], &counts[4], &counts[5],
                &counts[6], &medians, &percentiles, &suppressed,
            ],
        ))
        .map_err(error(what))?;
    }
    let built_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    rt.block_on(tx.execute(super::INSERT_HORIZON, &[&horizon, &built_at])).map_err(error(what))?;
    Ok(())
}
