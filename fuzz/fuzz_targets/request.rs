//! The typed request parsers on their own: any bytes as the payload element (no envelope to
//! get through first), read as GetApplicationList and as GetQueueStatusList — dates, periods,
//! personal codes, the operator. Nothing may panic (a date split inside a character once did).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spolis_adapter::soap::payload::GetApplicationList;
use spolis_adapter::soap::payload::GetQueueStatusList;
use spolis_adapter::soap::payload::AsSent;
use spolis_adapter::xml::{parse, XmlLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = parse(data, &XmlLimits::default()) else { return };
    let _ = AsSent::collect(&payload);
    let _ = GetApplicationList::parse(&payload);
    let _ = GetQueueStatusList::parse(&payload);
});
