//! CryptoPro's certificate stores on Linux, through `certmgr` when CSP is installed.

use std::time::Instant;

use super::store;
use crate::collect::Section;
use crate::config::ScanConfig;

/// List the stores into `section` until `deadline`; false when CSP's certmgr is not installed.
pub(super) fn collect(config: &ScanConfig, deadline: Instant, section: &mut Section) -> bool {
    let certmgr = store::certmgr(&config.paths);
    if !certmgr.is_file() {
        return false;
    }
    store::collect(&certmgr, deadline, section);
    true
}
