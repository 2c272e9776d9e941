-- Layout 4: records may be of version 3 (src/audit/record.rs), which adds an administrative
-- record's details (a register import). The SQLite log stores each record as its canonical
-- encoding, so no column changes; the layout moves on so that a build that knows only
-- versions 1 and 2 refuses the log (it says a newer build wrote it) instead of reporting
-- its administrative records as altered. Searching them: `service` is in the encoding.
SELECT 1;
