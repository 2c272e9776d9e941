//! Writes the demo register of N persons as a full export (`xsd/RegisterExport.xsd`), as
//! `seed-demo` generates it, without importing it: the input of the import benchmark
//! (`bench/import.sh`, BENCHMARKS.md).
//!
//! Usage: demo_export OUTPUT PERSONS [SEED]

use std::path::PathBuf;

use spolis_adapter::tools::demo_register::{self, DemoOptions};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let output = PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!("usage: demo_export OUTPUT PERSONS [SEED]"))?);
    let persons: u64 = args.next().ok_or_else(|| anyhow::anyhow!("usage: demo_export OUTPUT PERSONS [SEED]"))?.parse()?;
    let seed: u64 = args.next().map_or(Ok(1), |s| s.parse())?;
    let report = demo_register::write_export(&output, &DemoOptions { persons, seed })?;
    eprintln!("{}: {persons} persons in {:.1?}", output.display(), report.elapsed);
    Ok(())
}
